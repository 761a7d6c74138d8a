//! Data checks (SPEC §8), the check record, check sets and the
//! `[checks]` config build.

use chrono::NaiveDate;
use chrono_tz::Asia::Shanghai;
use rust_decimal::Decimal;
use serde_json::json;
use storepulse::check::*;
use storepulse::compute::kpi::{KpiSet, KpiValue, PeriodFacts};
use storepulse::model::Dataset;
use storepulse::model::facts::{SourceRef, TrafficFact};
use storepulse::period::{Period, PeriodKind};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
fn facts() -> PeriodFacts {
    PeriodFacts::empty(Period::day(day("2026-11-22")), Shanghai)
}
fn ds(d: Dataset, required: bool, present: bool) -> DatasetInput {
    DatasetInput {
        dataset: d,
        required,
        present,
        files: if present {
            vec![format!("{}.csv", d.name())]
        } else {
            vec![]
        },
        records: if present { 100 } else { 0 },
        row_count_today: if present { 100 } else { 0 },
        ..DatasetInput::new(d, required)
    }
}
fn cfg(toml_text: &str) -> ChecksConfig {
    ChecksConfig::build(&toml::from_str::<RawChecks>(toml_text).unwrap()).unwrap()
}
fn run(
    id: &str,
    cfg: &ChecksConfig,
    f: &PeriodFacts,
    k: &KpiSet,
    d: &[DatasetInput],
) -> Vec<CheckResult> {
    let set = CheckSet {
        ids: vec![check_def(id).unwrap().id],
    };
    let inputs = CheckInputs {
        zh: false,
        ..CheckInputs::new(f, k, d)
    };
    run_checks(&set, cfg, &inputs)
}
fn one(id: &str, cfg: &ChecksConfig, d: DatasetInput) -> CheckResult {
    let mut r = run(id, cfg, &facts(), &KpiSet::new(), &[d]);
    assert_eq!(r.len(), 1, "{id}: {r:?}");
    r.remove(0)
}
fn levels(rs: &[CheckResult]) -> Vec<(&str, Level)> {
    rs.iter().map(|r| (r.id.as_str(), r.level)).collect()
}

#[test]
fn file_present_fails_required_and_skips_optional() {
    let c = ChecksConfig::default();
    let inputs = [
        ds(Dataset::Orders, true, true),
        ds(Dataset::Traffic, true, false),
        ds(Dataset::Members, false, false),
    ];
    let rs = run("file_present", &c, &facts(), &KpiSet::new(), &inputs);
    assert_eq!(
        levels(&rs),
        vec![
            ("file_present.orders", Level::Pass),
            ("file_present.traffic", Level::Fail),
            ("file_present.members", Level::Warn),
        ]
    );
    assert!(rs[2].message.starts_with("skipped"), "{}", rs[2].message);
    // Other data checks say nothing about an absent dataset.
    assert!(run("row_count", &c, &facts(), &KpiSet::new(), &inputs[1..]).is_empty());
}

#[test]
fn not_empty_and_required_columns() {
    let c = ChecksConfig::default();
    let mut empty = ds(Dataset::Orders, true, true);
    empty.records = 0;
    assert_eq!(one("not_empty", &c, empty.clone()).level, Level::Fail);
    empty.required = false;
    assert_eq!(one("not_empty", &c, empty).level, Level::Warn);
    assert_eq!(
        one("not_empty", &c, ds(Dataset::Orders, true, true)).level,
        Level::Pass
    );

    let mut cols = ds(Dataset::Orders, true, true);
    assert_eq!(one("required_columns", &c, cols.clone()).level, Level::Pass);
    cols.missing_columns = vec!["paid_amount".into()];
    let r = one("required_columns", &c, cols.clone());
    assert_eq!(r.level, Level::Fail);
    assert!(r.message.contains("paid_amount"));
    // level = "warn" caps it.
    let capped = cfg("[required_columns]\nlevel = \"warn\"");
    assert_eq!(one("required_columns", &capped, cols).level, Level::Warn);
}

#[test]
fn invalid_values_grade_the_rejected_share_with_samples() {
    let c = ChecksConfig::default();
    let mut d = ds(Dataset::Orders, true, true);
    let r = one("invalid_values", &c, d.clone());
    assert_eq!((r.level, r.observed.clone()), (Level::Pass, json!(0.0)));

    let bad = |n: u64| -> Vec<InvalidRow> {
        (0..n)
            .map(|i| InvalidRow {
                file: "orders.csv".into(),
                row: 10 + i,
                column: "买家实际支付金额".into(),
                reason: "invalid amount \"1,2.3\"".into(),
            })
            .collect()
    };
    d.records = 99;
    d.invalid = bad(1);
    let r = one("invalid_values", &c, d.clone());
    assert_eq!(r.level, Level::Warn);
    assert_eq!(r.observed, json!(0.01));
    assert_eq!(r.threshold, json!(0.0));
    assert_eq!(r.samples[0].row, 10);
    assert_eq!(r.samples[0].file, "orders.csv");

    d.records = 70;
    d.invalid = bad(30);
    let r = one("invalid_values", &c, d);
    assert_eq!(r.level, Level::Fail);
    assert_eq!(r.observed, json!(0.3));
    assert_eq!(r.threshold, json!(0.05));
    assert_eq!(r.samples.len(), MAX_SAMPLES);
}

#[test]
fn duplicates_and_rows_outside_the_period() {
    let c = ChecksConfig::default();
    let mut d = ds(Dataset::Orders, true, true);
    assert_eq!(one("duplicate_keys", &c, d.clone()).level, Level::Pass);
    d.duplicate_keys = vec![DuplicateKey {
        file: "orders.csv".into(),
        row: 7,
        key: "5118609024991".into(),
        first_row: 3,
    }];
    let r = one("duplicate_keys", &c, d.clone());
    assert_eq!(r.level, Level::Warn);
    assert_eq!(r.samples[0].detail, "key 5118609024991 first seen on row 3");
    let strict = cfg("[duplicate_keys]\nfail = 0");
    assert_eq!(one("duplicate_keys", &strict, d.clone()).level, Level::Fail);

    assert_eq!(one("rows_outside_period", &c, d.clone()).level, Level::Pass);
    d.rows_outside_period = 3;
    assert_eq!(one("rows_outside_period", &c, d.clone()).level, Level::Warn);
    let strict = cfg("[rows_outside_period]\nfail = 2");
    assert_eq!(one("rows_outside_period", &strict, d).level, Level::Fail);
}

#[test]
fn row_count_catches_a_partial_export() {
    let c = ChecksConfig::default();
    let mut d = ds(Dataset::Orders, true, true);
    d.trailing_counts = vec![100, 90, 110, 100, 95, 105, 100];
    for (today, level, observed) in [
        (60, Level::Pass, json!(0.6)),
        (50, Level::Pass, json!(0.5)),
        (40, Level::Warn, json!(0.4)),
        (19, Level::Fail, json!(0.19)),
    ] {
        d.row_count_today = today;
        let r = one("row_count", &c, d.clone());
        assert_eq!((r.level, &r.observed), (level, &observed), "{today}");
        assert_eq!(r.baseline, json!(100.0));
    }
    // Even count: median is the mean of the middle two.
    d.trailing_counts = vec![10, 30, 20, 40];
    d.row_count_today = 10;
    assert_eq!(one("row_count", &c, d.clone()).baseline, json!(25.0));
    d.trailing_counts = vec![];
    let r = one("row_count", &c, d);
    assert_eq!(r.level, Level::Pass);
    assert!(r.message.contains("no trailing history"));
}

fn total_row(visitors: i64, paid: Option<&str>) -> TrafficFact {
    TrafficFact {
        date: day("2026-11-22"),
        source: None,
        visitors,
        page_views: None,
        bounce_rate: None,
        avg_stay_seconds: None,
        cart_users: None,
        order_buyers: None,
        paying_buyers: None,
        paid_amount: paid.map(|p| p.parse().unwrap()),
        new_followers: None,
        row: SourceRef {
            file: "traffic.xls".into(),
            row: 6,
        },
    }
}

#[test]
fn orders_and_traffic_reconcile() {
    let inputs = [
        ds(Dataset::Orders, true, true),
        ds(Dataset::Traffic, true, true),
    ];
    let mut f = facts();
    f.traffic = vec![total_row(1000, Some("100"))];
    let sales = |s: &str| -> KpiSet {
        [(
            "gross_sales".to_string(),
            KpiValue::Money(s.parse().unwrap()),
        )]
        .into_iter()
        .collect()
    };
    let c = ChecksConfig::default();
    let r = &run("reconciliation", &c, &f, &sales("101.00"), &inputs)[0];
    assert_eq!(
        (r.id.as_str(), r.level),
        ("reconciliation.orders_traffic", Level::Pass)
    );
    assert_eq!(r.observed, json!(0.01));
    assert_eq!(r.baseline, json!("100"));
    let r = &run("reconciliation", &c, &f, &sales("97"), &inputs)[0];
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(0.03)));
    let strict = cfg("[reconciliation]\nfail = 0.05");
    assert_eq!(
        run("reconciliation", &strict, &f, &sales("110"), &inputs)[0].level,
        Level::Fail
    );
    // Without traffic the pair is not reconciled at all.
    assert!(run("reconciliation", &c, &f, &sales("1"), &inputs[..1]).is_empty());
    f.traffic = vec![total_row(1000, None)];
    assert_eq!(
        run("reconciliation", &c, &f, &sales("1"), &inputs)[0].level,
        Level::Pass
    );
}

#[test]
fn traffic_total_row_warns_for_summed_sources() {
    let inputs = [ds(Dataset::Traffic, true, true)];
    let c = ChecksConfig::default();
    let mut f = facts();
    f.traffic = vec![total_row(10, None)];
    assert_eq!(
        run("traffic_total_row", &c, &f, &KpiSet::new(), &inputs)[0].level,
        Level::Pass
    );
    f.traffic[0].source = Some("手淘搜索".into());
    let r = &run("traffic_total_row", &c, &f, &KpiSet::new(), &inputs)[0];
    assert_eq!(r.level, Level::Warn);
    assert_eq!(r.samples[0].detail, "2026-11-22: no total row");
}

#[test]
fn results_serialise_with_the_spec_field_names() {
    let mut d = ds(Dataset::Orders, true, true);
    d.trailing_counts = vec![100];
    d.row_count_today = 10;
    let r = one("row_count", &ChecksConfig::default(), d);
    let j = serde_json::to_value(&r).unwrap();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "id",
        "title",
        "level",
        "observed",
        "threshold",
        "baseline",
        "message",
        "samples",
    ];
    want.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, want);
    assert_eq!(j["level"], json!("fail"));
    assert_eq!(j["title"], json!("Row count · orders"));
    assert_eq!(
        r.message,
        "orders: 10 row(s), 10% of the trailing 7-day median 100"
    );
    let f = facts();
    let k = KpiSet::new();
    let inputs = [DatasetInput {
        present: true,
        row_count_today: 10,
        trailing_counts: vec![100],
        ..DatasetInput::new(Dataset::Orders, true)
    }];
    let set = CheckSet {
        ids: vec!["row_count"],
    };
    let zh = run_checks(
        &set,
        &ChecksConfig::default(),
        &CheckInputs::new(&f, &k, &inputs),
    );
    assert_eq!(zh[0].title, "行数 · orders");
    assert_eq!(zh[0].message, "orders：10 行，为前 7 天中位数 100 的 10%");
    assert_eq!(j["threshold"], json!(0.2));
    let s = serde_json::to_value(Sample {
        file: "a.csv".into(),
        row: 3,
        detail: "x".into(),
    })
    .unwrap();
    assert_eq!(s, json!({"file": "a.csv", "row": 3, "detail": "x"}));
}

#[test]
fn worst_level_and_check_sets() {
    let mk = |l: Level| CheckResult {
        level: l,
        ..CheckResult::error("x", "x", "x")
    };
    assert_eq!(worst_level(&[]), Level::Pass);
    assert_eq!(
        worst_level(&[mk(Level::Pass), mk(Level::Warn)]),
        Level::Warn
    );
    assert_eq!(
        worst_level(&[mk(Level::Fail), mk(Level::Warn)]),
        Level::Fail
    );
    assert_eq!(
        worst_level(&[mk(Level::Fail), mk(Level::Error)]),
        Level::Error
    );

    let daily = CheckSet::for_period(PeriodKind::Day);
    assert!(daily.ids.contains(&"row_count") && daily.ids.contains(&"low_stock"));
    assert!(!daily.ids.contains(&"traffic_mix") && !daily.ids.contains(&"zero_sellers"));
    let weekly = CheckSet::for_period(PeriodKind::Week);
    assert!(weekly.ids.contains(&"decomposition") && weekly.ids.contains(&"reconciliation"));
    assert!(!weekly.ids.contains(&"target_pace"));
    let monthly = CheckSet::for_period(PeriodKind::Month);
    assert!(monthly.ids.contains(&"repurchase_cycle") && monthly.ids.contains(&"file_present"));
    let all: usize = [&daily, &weekly, &monthly]
        .iter()
        .map(|s| s.ids.len())
        .sum();
    let data = check_catalog()
        .iter()
        .filter(|d| d.family == Family::Data)
        .count();
    assert_eq!(all, check_catalog().len() + 2 * data);
}

#[test]
fn disabled_checks_do_not_run() {
    let c = cfg("[file_present]\nenabled = false");
    assert!(
        run(
            "file_present",
            &c,
            &facts(),
            &KpiSet::new(),
            &[ds(Dataset::Orders, true, false)]
        )
        .is_empty()
    );
}

#[test]
fn config_build_reports_every_problem_with_its_key() {
    let raw: RawChecks = toml::from_str(
        r#"
        [row_count]
        warn = 0.1
        fail = 0.3
        level = "loud"
        [low_stock]
        safety_days = 0
        top = 3
        [nonsense]
        enabled = true
        [file_present]
        warn = 1
        [zero_sellers]
        days = 30.5
        "#,
    )
    .unwrap();
    let errors = ChecksConfig::build(&raw).unwrap_err();
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "checks.file_present.warn",
            "checks.low_stock.safety_days",
            "checks.low_stock.top",
            "checks.nonsense",
            "checks.row_count.level",
            "checks.row_count.fail",
            "checks.zero_sellers.days",
        ]
    );
    assert!(
        errors[5]
            .to_string()
            .starts_with("checks.row_count.fail: fail threshold 0.3 is above")
    );
    // Unknown keys inside a table are refused by the raw struct.
    assert!(toml::from_str::<RawChecks>("[row_count]\nwarm = 0.5").is_err());

    let c =
        cfg("[low_stock]\nsafety_days = 10\n[zero_sellers]\ndays = 60\n[row_count]\nwarn = 0.6");
    assert_eq!(c.safety_days(), Decimal::from(10));
    assert_eq!(c.zero_seller_days(), 60);
    assert_eq!(
        c.get("row_count").unwrap().warn,
        Some("0.6".parse().unwrap())
    );
    assert_eq!(
        c.get("row_count").unwrap().fail,
        Some("0.2".parse().unwrap())
    );
    assert_eq!(ChecksConfig::default().zero_seller_days(), 90);
}
