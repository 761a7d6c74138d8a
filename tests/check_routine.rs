//! Routine business checks (SPEC §8): the daily self-check, the weekly and
//! the monthly review — pass, warn and fail paths on small fixtures.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use rust_decimal::Decimal;
use serde_json::json;
use storepulse::check::*;
use storepulse::compute::kpi::{KpiSet, KpiValue, PeriodFacts, compute_kpis};
use storepulse::model::facts::*;
use storepulse::model::{Dataset, OrderStatus, ProductStatus, TrafficType};
use storepulse::period::Period;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}
fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
fn local(s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    Shanghai
        .from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}
fn src(file: &str, row: u64) -> SourceRef {
    SourceRef {
        file: file.into(),
        row,
    }
}
fn cfg(toml_text: &str) -> ChecksConfig {
    ChecksConfig::build(&toml::from_str::<RawChecks>(toml_text).unwrap()).unwrap()
}
fn all_present() -> Vec<DatasetInput> {
    Dataset::ALL
        .iter()
        .map(|d| DatasetInput {
            dataset: *d,
            present: true,
            records: 1,
            ..DatasetInput::new(*d, false)
        })
        .collect()
}
fn without(d: Dataset) -> Vec<DatasetInput> {
    all_present()
        .into_iter()
        .filter(|i| i.dataset != d)
        .collect()
}
fn set(pairs: &[(&str, KpiValue)]) -> KpiSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}
fn count(n: i64) -> KpiValue {
    KpiValue::Count(n)
}
fn money(s: &str) -> KpiValue {
    KpiValue::Money(d(s))
}
fn ratio(s: &str) -> KpiValue {
    KpiValue::Ratio(d(s))
}
fn run_one(id: &str, cfg: &ChecksConfig, inputs: &CheckInputs) -> CheckResult {
    let set = CheckSet {
        ids: vec![check_def(id).unwrap().id],
    };
    let english = CheckInputs {
        zh: false,
        ..inputs.clone()
    };
    let mut r = run_checks(&set, cfg, &english);
    assert_eq!(r.len(), 1, "{id}");
    r.remove(0)
}
fn level(id: &str, cfg: &ChecksConfig, inputs: &CheckInputs) -> Level {
    run_one(id, cfg, inputs).level
}

const DAY: &str = "2026-11-22";

fn day_facts() -> PeriodFacts {
    PeriodFacts::empty(Period::day(day(DAY)), Shanghai)
}

/// Seven days of history with the same KPI value, plus any overrides.
fn history(id: &str, value: KpiValue) -> BTreeMap<NaiveDate, KpiSet> {
    (1..=7)
        .map(|i| (day(DAY) - Days::new(i), set(&[(id, value.clone())])))
        .collect()
}

// ---- daily ----

#[test]
fn traffic_move_flags_a_spike_against_both_baselines() {
    let f = day_facts();
    let ds = all_present();
    let hist = history("visitors", count(1000));
    let check = |today: i64, hist: &BTreeMap<NaiveDate, KpiSet>, c: &ChecksConfig| {
        let k = set(&[("visitors", count(today))]);
        let mut i = CheckInputs::new(&f, &k, &ds);
        i.history = hist;
        run_one("traffic_move", c, &i)
    };
    let c = ChecksConfig::default();
    let r = check(1100, &hist, &c);
    assert_eq!(
        (r.level, &r.observed, &r.baseline),
        (Level::Pass, &json!(0.1), &json!(1000.0))
    );
    // 双11: five times the usual traffic.
    let r = check(5000, &hist, &c);
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(4.0)));
    assert!(r.message.contains("is up"), "{}", r.message);
    assert_eq!(
        check(5000, &hist, &cfg("[traffic_move]\nfail = 2")).level,
        Level::Fail
    );
    assert_eq!(check(300, &hist, &c).level, Level::Warn);
    // Same weekday last week was just as high: not a move against both.
    let mut weekly_peak = hist.clone();
    weekly_peak.insert(day(DAY) - Days::new(7), set(&[("visitors", count(4800))]));
    let r = check(5000, &weekly_peak, &c);
    assert_eq!(r.level, Level::Pass);
    assert!(
        r.message.contains("same weekday last week 4800 (+4.2%)"),
        "{}",
        r.message
    );
    // No history: nothing to compare with.
    assert_eq!(check(5000, &BTreeMap::new(), &c).level, Level::Pass);
    // No traffic export: skipped.
    let k = set(&[("visitors", count(5000))]);
    let ds2 = without(Dataset::Traffic);
    let i = CheckInputs::new(&f, &k, &ds2);
    let r = run_one("traffic_move", &c, &i);
    assert_eq!(r.level, Level::Warn);
    assert!(r.message.starts_with("skipped"));
}

#[test]
fn conversion_aov_and_sales_moves() {
    let f = day_facts();
    let ds = all_present();
    let c = ChecksConfig::default();
    for (id, base, calm, moved) in [
        (
            "conversion_rate",
            ratio("0.02"),
            ratio("0.021"),
            ratio("0.01"),
        ),
        ("aov", money("100"), money("110"), money("150")),
        ("gross_sales", money("10000"), money("9000"), money("52000")),
    ] {
        let check_id = match id {
            "aov" => "aov_move",
            "gross_sales" => "sales_move",
            _ => "conversion_move",
        };
        let hist = history(id, base);
        for (value, c, want) in [
            (calm, &c, Level::Pass),
            (moved.clone(), &c, Level::Warn),
            (
                moved,
                &cfg(&format!("[{check_id}]\nfail = 0.4")),
                Level::Fail,
            ),
        ] {
            let k = set(&[(id, value)]);
            let mut i = CheckInputs::new(&f, &k, &ds);
            i.history = &hist;
            assert_eq!(level(check_id, c, &i), want, "{check_id}");
        }
    }
}

fn paid(id: &str, amount: &str, refund: &str, row: u64) -> OrderFact {
    OrderFact {
        order_id: id.into(),
        day: "2026-11-22".parse().unwrap(),
        member_id: format!("m-{id}"),
        created_at: local("2026-11-22 09:00:00"),
        paid_at: Some(local("2026-11-22 10:00:00")),
        status: OrderStatus::Completed,
        paid_amount: d(amount),
        total_amount: None,
        refund_amount: d(refund),
        item_qty: Some(1),
        shop: None,
        phone: None,
        source: src("orders.csv", row),
    }
}

#[test]
fn refund_rate_ceiling() {
    let ds = all_present();
    let c = ChecksConfig::default();
    let mut f = day_facts();
    f.orders_paid = vec![paid("a", "50", "5", 2), paid("b", "50", "0", 3)];
    let k = compute_kpis(&f);
    let i = CheckInputs::new(&f, &k, &ds);
    let r = run_one("refund_rate", &c, &i);
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(0.05)));

    f.orders_paid = vec![paid("a", "50", "5", 2), paid("b", "50", "15", 3)];
    let k = compute_kpis(&f);
    let i = CheckInputs::new(&f, &k, &ds);
    let r = run_one("refund_rate", &c, &i);
    assert_eq!(
        (r.level, &r.observed, &r.threshold),
        (Level::Warn, &json!(0.2), &json!(0.1))
    );
    assert_eq!(r.samples[0].row, 3, "largest refund first");
    assert_eq!(r.samples[0].detail, "order b: refunded ¥15.00 of ¥50.00");
    assert_eq!(
        level("refund_rate", &cfg("[refund_rate]\nfail = 0.15"), &i),
        Level::Fail
    );
    // level = "fail": any breach fails; level = "warn" keeps a fail a warning.
    let strict = cfg("[refund_rate]\nlevel = \"fail\"");
    assert_eq!(level("refund_rate", &strict, &i), Level::Fail);
    let capped = cfg("[refund_rate]\nfail = 0.15\nlevel = \"warn\"");
    assert_eq!(level("refund_rate", &capped, &i), Level::Warn);
    // A pass stays a pass whatever the level.
    let ok = cfg("[refund_rate]\nwarn = 0.5\nlevel = \"fail\"");
    assert_eq!(level("refund_rate", &ok, &i), Level::Pass);

    let empty = day_facts();
    let k = compute_kpis(&empty);
    let i = CheckInputs::new(&empty, &k, &ds);
    assert_eq!(level("refund_rate", &c, &i), Level::Pass);
}

#[test]
fn unpaid_orders_to_chase() {
    let ds = all_present();
    let mut f = day_facts();
    f.orders_created = 10;
    let unpaid = |id: &str, amount: &str, row: u64| OrderFact {
        paid_at: None,
        status: OrderStatus::Unpaid,
        ..paid(id, amount, "0", row)
    };
    f.unpaid_created = vec![unpaid("u1", "30", 5)];
    let k = KpiSet::new();
    let i = CheckInputs::new(&f, &k, &ds);
    let r = run_one("unpaid_orders", &ChecksConfig::default(), &i);
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(0.1)));
    assert_eq!(r.samples.len(), 1);

    f.unpaid_created = vec![
        unpaid("u1", "30", 5),
        unpaid("u2", "80", 6),
        unpaid("u3", "10", 7),
    ];
    let i = CheckInputs::new(&f, &k, &ds);
    let r = run_one("unpaid_orders", &ChecksConfig::default(), &i);
    assert_eq!(r.level, Level::Warn);
    assert!(
        r.message.starts_with("3 unpaid order(s) worth ¥120.00"),
        "{}",
        r.message
    );
    assert_eq!(
        r.samples[0].detail,
        "order u2: ¥80.00 created 2026-11-22 09:00"
    );
    assert_eq!(
        level("unpaid_orders", &cfg("[unpaid_orders]\nfail = 0.25"), &i),
        Level::Fail
    );
}

fn prod(date: NaiveDate, sku: &str, status: ProductStatus, stock: i64, units: i64) -> ProductFact {
    ProductFact {
        date,
        sku_id: sku.into(),
        title: Some(format!("商品{sku}")),
        category: None,
        status: Some(status),
        price: None,
        unit_cost: None,
        stock: Some(stock),
        visitors: None,
        page_views: None,
        cart_users: None,
        fav_users: None,
        paid_buyers: None,
        paid_units: Some(units),
        paid_amount: None,
        refund_amount: None,
        bounce_rate: None,
        listed_at: None,
        row: src("products.xls", 6),
    }
}

/// 7 days to 2026-11-22: A sells 2 a day with 10 left (5 days of cover),
/// B 1 a day with 100 left, C sold 3 and is out, D never sells.
fn seven_days(with_c: bool) -> Vec<ProductFact> {
    let mut rows = Vec::new();
    for i in 0..7 {
        let date = day(DAY) - Days::new(i);
        let last = i == 0;
        rows.push(prod(
            date,
            "A",
            ProductStatus::Online,
            if last { 10 } else { 20 },
            2,
        ));
        rows.push(prod(date, "B", ProductStatus::Online, 100, 1));
        if with_c {
            rows.push(prod(
                date,
                "C",
                ProductStatus::Online,
                if last { 0 } else { 3 },
                if i == 3 { 3 } else { 0 },
            ));
        }
        rows.push(prod(date, "D", ProductStatus::Online, 5, 0));
    }
    rows
}

#[test]
fn low_stock_uses_cover_days() {
    let ds = all_present();
    let f = day_facts();
    let k = KpiSet::new();
    let rows = StockWindow::from_rows(&seven_days(true), day(DAY));
    let mut i = CheckInputs::new(&f, &k, &ds);
    i.stock = Some(&rows);
    let r = run_one("low_stock", &ChecksConfig::default(), &i);
    assert_eq!(
        (r.level, &r.observed, &r.baseline),
        (Level::Warn, &json!(1.0), &json!(7.0))
    );
    assert_eq!(
        r.samples[0].detail,
        "A 商品A: stock 10, 14 sold in 7 days, cover 5 days"
    );
    assert_eq!(r.samples[0].file, "products.xls");
    assert_eq!(
        level("low_stock", &cfg("[low_stock]\nsafety_days = 4"), &i),
        Level::Pass
    );
    assert_eq!(
        level("low_stock", &cfg("[low_stock]\nfail = 0"), &i),
        Level::Fail
    );
    let ds2 = without(Dataset::Products);
    let i2 = CheckInputs {
        datasets: &ds2,
        ..i.clone()
    };
    assert!(
        run_one("low_stock", &ChecksConfig::default(), &i2)
            .message
            .starts_with("skipped")
    );
}

#[test]
fn stock_outs_of_recent_sellers() {
    let ds = all_present();
    let f = day_facts();
    let k = KpiSet::new();
    let rows = StockWindow::from_rows(&seven_days(true), day(DAY));
    let mut i = CheckInputs::new(&f, &k, &ds);
    i.stock = Some(&rows);
    let r = run_one("stock_out", &ChecksConfig::default(), &i);
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(1.0)));
    assert_eq!(
        r.samples[0].detail,
        "C 商品C: out of stock, sold 3 in 7 days"
    );
    assert_eq!(
        level("stock_out", &cfg("[stock_out]\nfail = 0"), &i),
        Level::Fail
    );
    let rows = StockWindow::from_rows(&seven_days(false), day(DAY));
    i.stock = Some(&rows);
    assert_eq!(
        level("stock_out", &ChecksConfig::default(), &i),
        Level::Pass
    );
}

fn ad(campaign: &str, spend: &str, revenue: &str, row: u64) -> AdFact {
    AdFact {
        date: day(DAY),
        channel: Some("直通车".into()),
        campaign: campaign.into(),
        spend: d(spend),
        impressions: None,
        clicks: None,
        cart_adds: None,
        orders: None,
        revenue: Some(d(revenue)),
        row: src("ads.csv", row),
    }
}

#[test]
fn ads_roi_floor_above_a_spend_floor() {
    let ds = all_present();
    let k = KpiSet::new();
    let mut f = day_facts();
    // Z's ROI is zero, but it spent too little to judge.
    f.ads = vec![
        ad("X", "200", "500", 2),
        ad("Y", "100", "40", 3),
        ad("Y", "50", "80", 4),
        ad("Z", "50", "0", 5),
    ];
    let i = CheckInputs::new(&f, &k, &ds);
    let r = run_one("ads_roi", &ChecksConfig::default(), &i);
    assert_eq!(r.level, Level::Warn);
    assert_eq!(r.observed, json!(0.8));
    assert_eq!(r.samples.len(), 1);
    assert_eq!(
        (r.samples[0].row, r.samples[0].detail.as_str()),
        (3, "直通车 / Y: spend ¥150.00, revenue ¥120.00, ROI 0.80")
    );
    assert_eq!(
        level("ads_roi", &cfg("[ads_roi]\nfail = 0.9"), &i),
        Level::Fail
    );
    assert_eq!(
        level("ads_roi", &cfg("[ads_roi]\nmin_spend = 500"), &i),
        Level::Pass
    );
    f.ads[1] = ad("Y", "100", "300", 3);
    let i = CheckInputs::new(&f, &k, &ds);
    assert_eq!(level("ads_roi", &ChecksConfig::default(), &i), Level::Pass);
}

fn agent(name: &str, cons: i64, conv: i64, resp: &str, sales: &str, row: u64) -> ServiceFact {
    ServiceFact {
        date: day(DAY),
        agent: name.into(),
        consultations: Some(cons),
        converted_buyers: Some(conv),
        sales: Some(d(sales)),
        avg_response_seconds: Some(d(resp)),
        satisfaction: None,
        row: src("service.csv", row),
    }
}

#[test]
fn service_response_ceiling() {
    let ds = all_present();
    let mut f = day_facts();
    f.service = vec![
        agent("a", 100, 30, "20", "0", 2),
        agent("b", 50, 10, "50", "0", 3),
    ];
    let k = compute_kpis(&f);
    let i = CheckInputs::new(&f, &k, &ds);
    let r = run_one("service_response", &ChecksConfig::default(), &i);
    // (100 × 20 + 50 × 50) / 150 = 30: at the ceiling, not above it.
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(30.0)));
    assert_eq!(r.samples[0].detail, "b: 50 s over 50 consultation(s)");
    f.service[1] = agent("b", 50, 10, "80", "0", 3);
    let k = compute_kpis(&f);
    let i = CheckInputs::new(&f, &k, &ds);
    assert_eq!(
        level("service_response", &ChecksConfig::default(), &i),
        Level::Warn
    );
    assert_eq!(
        level(
            "service_response",
            &cfg("[service_response]\nfail = 35"),
            &i
        ),
        Level::Fail
    );
}

#[test]
fn month_to_date_target_pace() {
    let ds = all_present();
    let mut f = day_facts();
    let hist: BTreeMap<NaiveDate, KpiSet> = (1..22)
        .map(|n| {
            (
                NaiveDate::from_ymd_opt(2026, 11, n).unwrap(),
                set(&[("gross_sales", money("100"))]),
            )
        })
        .collect();
    let k = set(&[("gross_sales", money("100"))]);
    let target = |t: &str| TargetFact {
        month: "2026-11".into(),
        metric: "gross_sales".into(),
        target: d(t),
    };
    let check = |f: &PeriodFacts, c: &ChecksConfig| {
        let mut i = CheckInputs::new(f, &k, &ds);
        i.history = &hist;
        run_one("target_pace", c, &i)
    };
    assert_eq!(check(&f, &ChecksConfig::default()).level, Level::Pass);
    // 2200 done of 3000 after 22 of 30 days: exactly on pace.
    f.targets = vec![target("3000")];
    let r = check(&f, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(1.0)));
    // Of 4000: (2200 / 4000) / (22 / 30) = 0.75.
    f.targets = vec![target("4000")];
    let r = check(&f, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(0.75)));
    assert_eq!(
        check(&f, &cfg("[target_pace]\nfail = 0.8")).level,
        Level::Fail
    );
}

// ---- weekly ----

fn week_facts() -> PeriodFacts {
    PeriodFacts::empty("2026-W47".parse().unwrap(), Shanghai)
}

fn weekly(id: &str, cur: &KpiSet, prev: &KpiSet, c: &ChecksConfig) -> CheckResult {
    let f = week_facts();
    let ds = all_present();
    let mut i = CheckInputs::new(&f, cur, &ds);
    i.previous = Some(prev);
    run_one(id, c, &i)
}

#[test]
fn orders_down_while_sales_up_is_explained_by_order_value() {
    let c = ChecksConfig::default();
    let prev = set(&[
        ("paid_orders", count(10)),
        ("gross_sales", money("1000")),
        ("avg_order_value", money("100")),
        ("aov", money("125")),
    ]);
    let cur = set(&[
        ("paid_orders", count(8)),
        ("gross_sales", money("1200")),
        ("avg_order_value", money("150")),
        ("aov", money("200")),
    ]);
    let r = weekly("orders_down_sales_up", &cur, &prev, &c);
    assert_eq!(r.level, Level::Warn);
    assert!(
        r.message
            .contains("paid orders -20% while gross sales +20%"),
        "{}",
        r.message
    );
    assert!(
        r.message
            .contains("average order value +50%, aov per buyer +60%"),
        "{}",
        r.message
    );
    assert_eq!(
        weekly("orders_down_sales_up", &prev, &prev, &c).level,
        Level::Pass
    );
    // Without a previous period there is nothing to ask.
    let f = week_facts();
    let ds = all_present();
    assert_eq!(
        level("orders_down_sales_up", &c, &CheckInputs::new(&f, &cur, &ds)),
        Level::Pass
    );
}

#[test]
fn aov_up_while_margin_down() {
    let c = ChecksConfig::default();
    let prev = set(&[("aov", money("100")), ("gross_margin", ratio("0.4"))]);
    let cur = set(&[("aov", money("120")), ("gross_margin", ratio("0.3"))]);
    let r = weekly("aov_up_margin_down", &cur, &prev, &c);
    assert_eq!(r.level, Level::Warn);
    assert!(
        r.message
            .starts_with("aov +20%, gross margin 40% → 30% (-10 points)"),
        "{}",
        r.message
    );
    let better = set(&[("aov", money("120")), ("gross_margin", ratio("0.45"))]);
    assert_eq!(
        weekly("aov_up_margin_down", &better, &prev, &c).level,
        Level::Pass
    );
    let unknown = set(&[("aov", money("120")), ("gross_margin", KpiValue::Missing)]);
    let r = weekly("aov_up_margin_down", &unknown, &prev, &c);
    assert_eq!(r.level, Level::Warn);
    assert!(r.message.starts_with("skipped"));
}

#[test]
fn all_grew_names_what_did_not() {
    let c = ChecksConfig::default();
    let prev = set(&[
        ("gross_sales", money("100")),
        ("gross_margin", ratio("0.3")),
        ("paid_orders", count(10)),
    ]);
    let up = set(&[
        ("gross_sales", money("110")),
        ("gross_margin", ratio("0.33")),
        ("paid_orders", count(11)),
    ]);
    let r = weekly("all_grew", &up, &prev, &c);
    assert_eq!(r.level, Level::Pass);
    assert_eq!(
        r.message,
        "sales, margin and orders all grew: sales +10%, margin +10%, orders +10%"
    );
    let mixed = set(&[
        ("gross_sales", money("110")),
        ("gross_margin", ratio("0.33")),
        ("paid_orders", count(9)),
    ]);
    let r = weekly("all_grew", &mixed, &prev, &c);
    assert_eq!(
        (r.level, r.message.as_str()),
        (Level::Warn, "did not grow: orders -10%")
    );
}

fn factors(visitors: i64, buyers: i64, gross: &str) -> KpiSet {
    set(&[
        ("visitors", count(visitors)),
        ("gross_sales", money(gross)),
        (
            "conversion_rate",
            KpiValue::Ratio(Decimal::from(buyers) / Decimal::from(visitors)),
        ),
        ("aov", KpiValue::Money(d(gross) / Decimal::from(buyers))),
    ])
}

#[test]
fn decomposition_says_why_sales_moved() {
    let c = ChecksConfig::default();
    let prev = factors(1000, 20, "2000");
    // Visitors fell by a quarter, nothing else moved.
    let r = weekly("decomposition", &factors(750, 15, "1500"), &prev, &c);
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(-0.25)));
    assert!(r.message.ends_with("mostly visitors"), "{}", r.message);
    assert!(
        r.samples[0]
            .detail
            .starts_with("visitors: 1000 → 750, contribution −¥500.00"),
        "{}",
        r.samples[0].detail
    );
    assert_eq!(
        weekly(
            "decomposition",
            &factors(750, 15, "1500"),
            &prev,
            &cfg("[decomposition]\nfail = -0.2")
        )
        .level,
        Level::Fail
    );
    assert_eq!(
        weekly("decomposition", &factors(1100, 22, "2200"), &prev, &c).level,
        Level::Pass
    );
}

fn source_row(date: &str, source: &str, visitors: i64) -> TrafficFact {
    TrafficFact {
        date: day(date),
        source: Some(source.into()),
        visitors,
        page_views: None,
        bounce_rate: None,
        avg_stay_seconds: None,
        cart_users: None,
        order_buyers: None,
        paying_buyers: None,
        paid_amount: None,
        new_followers: None,
        row: src("traffic.xls", 7),
    }
}

#[test]
fn traffic_mix_shift_in_share_points() {
    let ds = all_present();
    let k = KpiSet::new();
    let types = HashMap::from([
        ("手淘搜索".to_string(), TrafficType::Free),
        ("直通车".to_string(), TrafficType::Paid),
    ]);
    let mut prev = PeriodFacts::empty("2026-W46".parse().unwrap(), Shanghai);
    prev.traffic_types = types.clone();
    prev.traffic = vec![
        source_row("2026-11-10", "手淘搜索", 600),
        source_row("2026-11-11", "直通车", 400),
    ];
    let check = |free: i64, paid: i64, c: &ChecksConfig| {
        let mut f = week_facts();
        f.traffic_types = types.clone();
        f.traffic = vec![
            source_row("2026-11-17", "手淘搜索", free),
            source_row("2026-11-18", "直通车", paid),
        ];
        let mut i = CheckInputs::new(&f, &k, &ds);
        let pk = KpiSet::new();
        i.previous = Some(&pk);
        i.previous_facts = Some(&prev);
        run_one("traffic_mix", c, &i)
    };
    let r = check(500, 500, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(0.1)));
    let r = check(300, 700, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(0.3)));
    assert_eq!(r.samples[0].detail, "free: 60% → 30% (-30 points)");
    assert_eq!(
        check(300, 700, &cfg("[traffic_mix]\nfail = 0.25")).level,
        Level::Fail
    );
}

#[test]
fn product_movers_top_and_bottom() {
    let ds = all_present();
    let k = KpiSet::new();
    let sold = |date: &str, sku: &str, amount: &str| ProductFact {
        paid_amount: Some(d(amount)),
        ..prod(day(date), sku, ProductStatus::Online, 1, 1)
    };
    let mut prev = PeriodFacts::empty("2026-W46".parse().unwrap(), Shanghai);
    prev.products = vec![
        sold("2026-11-10", "A", "1000"),
        sold("2026-11-10", "B", "500"),
    ];
    let check = |a: &str, c: &ChecksConfig| {
        let mut f = week_facts();
        f.products = vec![
            sold("2026-11-17", "A", a),
            sold("2026-11-17", "B", "600"),
            sold("2026-11-18", "C", "200"),
        ];
        let mut i = CheckInputs::new(&f, &k, &ds);
        let pk = KpiSet::new();
        i.previous = Some(&pk);
        i.previous_facts = Some(&prev);
        run_one("product_movers", c, &i)
    };
    let r = check("300", &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(0.7)));
    let details: Vec<&str> = r.samples.iter().map(|s| s.detail.as_str()).collect();
    assert_eq!(
        details,
        vec![
            "▲ C 商品C: ¥0.00 → ¥200.00 (+¥200.00)",
            "▲ B 商品B: ¥500.00 → ¥600.00 (+¥100.00)",
            "▼ A 商品A: ¥1000.00 → ¥300.00 (−¥700.00)",
        ]
    );
    assert_eq!(
        check("300", &cfg("[product_movers]\nfail = 0.6")).level,
        Level::Fail
    );
    assert_eq!(check("900", &ChecksConfig::default()).level, Level::Pass);
}

#[test]
fn new_versus_returning_buyers() {
    let c = ChecksConfig::default();
    let prev = set(&[("new_buyers", count(10)), ("returning_buyers", count(20))]);
    let steady = set(&[
        ("new_buyers", count(9)),
        ("returning_buyers", count(22)),
        ("new_buyer_sales", money("30")),
        ("gross_sales", money("120")),
    ]);
    let r = weekly("new_vs_returning", &steady, &prev, &c);
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(0.1)));
    assert!(
        r.message.ends_with("new buyers bring 25% of sales"),
        "{}",
        r.message
    );
    let fewer_new = set(&[("new_buyers", count(5)), ("returning_buyers", count(22))]);
    assert_eq!(
        weekly("new_vs_returning", &fewer_new, &prev, &c).level,
        Level::Warn
    );
    assert_eq!(
        weekly(
            "new_vs_returning",
            &fewer_new,
            &prev,
            &cfg("[new_vs_returning]\nfail = 0.4")
        )
        .level,
        Level::Fail
    );
}

// ---- monthly ----

fn month_facts() -> PeriodFacts {
    PeriodFacts::empty("2026-10".parse().unwrap(), Shanghai)
}

#[test]
fn target_completion_for_the_month() {
    let ds = all_present();
    let mut f = month_facts();
    f.orders_paid = vec![OrderFact {
        paid_at: Some(local("2026-10-15 10:00:00")),
        ..paid("a", "900", "0", 2)
    }];
    let check = |f: &PeriodFacts, c: &ChecksConfig| {
        let k = compute_kpis(f);
        run_one("target_completion", c, &CheckInputs::new(f, &k, &ds))
    };
    assert_eq!(check(&f, &ChecksConfig::default()).level, Level::Pass);
    let target = |t: &str| TargetFact {
        month: "2026-10".into(),
        metric: "gross_sales".into(),
        target: d(t),
    };
    f.targets = vec![target("800")];
    let r = check(&f, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(1.125)));
    f.targets = vec![target("1000")];
    let r = check(&f, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(0.9)));
    assert_eq!(r.samples[0].detail, "gross_sales: 900 of target 1000 (90%)");
    assert_eq!(
        check(&f, &cfg("[target_completion]\nfail = 0.95")).level,
        Level::Fail
    );
}

#[test]
fn member_growth_against_last_month() {
    let f = month_facts();
    let k = KpiSet::new();
    let ds = all_present();
    let check = |m: Option<MemberGrowth>, ds: &[DatasetInput], c: &ChecksConfig| {
        let mut i = CheckInputs::new(&f, &k, ds);
        i.members = m;
        run_one("member_growth", c, &i)
    };
    let g = |start, end, joined, prev| {
        Some(MemberGrowth {
            members_at_start: start,
            members_at_end: end,
            joined_in_period: joined,
            joined_previous_period: prev,
        })
    };
    let c = ChecksConfig::default();
    assert_eq!(
        check(g(1000, 1100, 100, Some(100)), &ds, &c).level,
        Level::Pass
    );
    let r = check(g(1000, 1050, 50, Some(100)), &ds, &c);
    assert_eq!(
        (r.level, &r.observed, &r.baseline),
        (Level::Warn, &json!(0.5), &json!(100))
    );
    assert_eq!(
        check(
            g(1000, 1050, 50, Some(100)),
            &ds,
            &cfg("[member_growth]\nfail = 0.4")
        )
        .level,
        Level::Fail
    );
    let r = check(g(1000, 990, 100, Some(100)), &ds, &c);
    assert_eq!(r.level, Level::Warn);
    assert!(r.message.ends_with("the member base shrank"));
    // monthly-members: members optional; without it the check is skipped.
    let r = check(g(1, 1, 1, None), &without(Dataset::Members), &c);
    assert_eq!(r.level, Level::Warn);
    assert_eq!(r.message, "skipped: no members export");
    let r = check(
        g(1, 1, 1, None),
        &without(Dataset::Members),
        &cfg("[member_growth]\nlevel = \"fail\""),
    );
    assert_eq!(r.level, Level::Warn, "a skipped check stays a warning");
    assert!(check(None, &ds, &c).message.starts_with("skipped"));
}

#[test]
fn repurchase_rate_against_last_month() {
    let f = month_facts();
    let ds = all_present();
    let c = ChecksConfig::default();
    let prev = set(&[("repurchase_rate", ratio("0.1"))]);
    let check = |rate: &str, c: &ChecksConfig| {
        let k = set(&[("repurchase_rate", ratio(rate))]);
        let mut i = CheckInputs::new(&f, &k, &ds);
        i.previous = Some(&prev);
        run_one("repurchase_rate", c, &i)
    };
    assert_eq!(check("0.1", &c).level, Level::Pass);
    let r = check("0.05", &c);
    assert_eq!(
        (r.level, &r.observed, &r.baseline),
        (Level::Warn, &json!(0.5), &json!(0.1))
    );
    assert_eq!(
        check("0.05", &cfg("[repurchase_rate]\nfail = 0.3")).level,
        Level::Fail
    );
}

#[test]
fn tier_migration_net_downgrades() {
    let f = month_facts();
    let k = KpiSet::new();
    let ds = all_present();
    let check = |t: Option<TierChanges>, c: &ChecksConfig| {
        let mut i = CheckInputs::new(&f, &k, &ds);
        i.tier_changes = t;
        run_one("tier_migration", c, &i)
    };
    let c = ChecksConfig::default();
    let t = |up, down, same| {
        Some(TierChanges {
            up,
            down,
            same,
            new: 3,
        })
    };
    assert_eq!(check(t(10, 5, 85), &c).level, Level::Pass);
    let r = check(t(5, 10, 85), &c);
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(0.05)));
    assert_eq!(r.message, "levels: 5 up, 10 down, 85 same, 3 new");
    assert_eq!(
        check(t(5, 10, 85), &cfg("[tier_migration]\nfail = 0.04")).level,
        Level::Fail
    );
    assert!(check(None, &c).message.starts_with("skipped"));
}

#[test]
fn zero_sellers_still_online_with_stock() {
    let ds = all_present();
    let k = KpiSet::new();
    let end = day("2026-10-31");
    let mut f = month_facts();
    let mut fresh = prod(end, "D", ProductStatus::Online, 4, 0);
    fresh.listed_at = Some(local("2026-10-21 10:00:00"));
    let mut old = prod(end, "E", ProductStatus::Online, 6, 0);
    old.listed_at = Some(local("2026-01-01 10:00:00"));
    f.products = vec![
        prod(end, "A", ProductStatus::Online, 10, 0),
        prod(end, "B", ProductStatus::Online, 5, 0),
        prod(end, "C", ProductStatus::Delisted, 9, 0),
        fresh,
        old,
        prod(end, "F", ProductStatus::Online, 0, 0),
    ];
    let mut sold = HashSet::from(["B".to_string()]);
    // With a stock window, its last day's rows are the candidates (the
    // SKUs whose sales were looked up), not the period's rows.
    let window = StockWindow::from_rows(&f.products[3..], end);
    let mut i = CheckInputs::new(&f, &k, &ds);
    i.sold_in_window = Some(&sold);
    i.stock = Some(&window);
    let r = run_one("zero_sellers", &ChecksConfig::default(), &i);
    let details: Vec<&str> = r.samples.iter().map(|s| s.detail.as_str()).collect();
    assert_eq!(details, vec!["E 商品E: stock 6"]);
    let check = |sold: &HashSet<String>, c: &ChecksConfig| {
        let mut i = CheckInputs::new(&f, &k, &ds);
        i.sold_in_window = Some(sold);
        run_one("zero_sellers", c, &i)
    };
    let r = check(&sold, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Warn, &json!(2.0)));
    let details: Vec<&str> = r.samples.iter().map(|s| s.detail.as_str()).collect();
    assert_eq!(details, vec!["A 商品A: stock 10", "E 商品E: stock 6"]);
    assert_eq!(
        check(&sold, &cfg("[zero_sellers]\nfail = 1")).level,
        Level::Fail
    );
    sold.insert("A".into());
    sold.insert("E".into());
    assert_eq!(check(&sold, &ChecksConfig::default()).level, Level::Pass);
    let i = CheckInputs::new(&f, &k, &ds);
    assert!(
        run_one("zero_sellers", &ChecksConfig::default(), &i)
            .message
            .starts_with("skipped")
    );
}

#[test]
fn sell_through_floor() {
    let ds = all_present();
    let end = day("2026-10-31");
    let mut f = month_facts();
    // 4 sold, 22 in stock at the end: 4 / 26.
    f.products = vec![
        prod(end, "A", ProductStatus::Online, 10, 3),
        prod(end, "B", ProductStatus::Online, 0, 1),
        prod(end, "D", ProductStatus::Online, 12, 0),
    ];
    let k = compute_kpis(&f);
    let i = CheckInputs::new(&f, &k, &ds);
    let r = run_one("sell_through", &ChecksConfig::default(), &i);
    assert_eq!(r.level, Level::Warn);
    assert_eq!(r.message, "sell-through 15.4%");
    assert_eq!(r.samples[0].detail, "D: sold 0, stock 12, sell-through 0%");
    assert_eq!(
        level("sell_through", &cfg("[sell_through]\nwarn = 0.1"), &i),
        Level::Pass
    );
    assert_eq!(
        level("sell_through", &cfg("[sell_through]\nfail = 0.16"), &i),
        Level::Fail
    );
}

#[test]
fn service_leaderboard_ranks_agents() {
    let ds = all_present();
    let mut f = month_facts();
    let at = |a: ServiceFact| ServiceFact {
        date: day("2026-10-10"),
        ..a
    };
    f.service = vec![
        at(agent("a", 100, 30, "20", "5000", 2)),
        at(agent("b", 50, 10, "40", "1000", 3)),
        at(agent("c", 10, 0, "90", "0", 4)),
    ];
    let check = |f: &PeriodFacts, c: &ChecksConfig| {
        let k = compute_kpis(f);
        run_one("service_leaderboard", c, &CheckInputs::new(f, &k, &ds))
    };
    // Shop 40 / 160 = 25 %; b converts 20 %, 0.8 of it; c has too few consultations.
    let r = check(&f, &ChecksConfig::default());
    assert_eq!((r.level, &r.observed), (Level::Pass, &json!(0.8)));
    assert_eq!(
        r.samples[0].detail,
        "#1 a: sales ¥5000.00, conversion 30% of 100 consultation(s), response 20 s"
    );
    assert_eq!(r.samples.len(), 3);
    // b converts 5 of 50: 0.1 / (35 / 160) ≈ 0.457.
    f.service[1] = at(agent("b", 50, 5, "40", "1000", 3));
    assert_eq!(check(&f, &ChecksConfig::default()).level, Level::Warn);
    assert_eq!(
        check(&f, &cfg("[service_leaderboard]\nfail = 0.48")).level,
        Level::Fail
    );
}

#[test]
fn repurchase_cycle_and_cadence() {
    let f = month_facts();
    let k = KpiSet::new();
    let ds = all_present();
    let check = |rc: Option<RepurchaseCycle>| {
        let mut i = CheckInputs::new(&f, &k, &ds);
        i.repurchase = rc;
        run_one("repurchase_cycle", &ChecksConfig::default(), &i)
    };
    let r = check(Some(RepurchaseCycle {
        store_cycle_days: Some(d("15")),
        repeat_buyers: 40,
    }));
    assert_eq!(
        (r.level, &r.observed, &r.baseline),
        (Level::Pass, &json!(15.0), &json!(23.0))
    );
    assert_eq!(
        r.message,
        "repurchase cycle 15 days over 40 repeat buyer(s): run a member campaign every 23 days"
    );
    let r = check(Some(RepurchaseCycle {
        store_cycle_days: None,
        repeat_buyers: 0,
    }));
    assert_eq!(r.level, Level::Warn);
    assert!(check(None).message.starts_with("skipped"));
}

#[test]
fn a_monthly_run_without_optional_datasets_only_warns() {
    let mut f = month_facts();
    f.orders_paid = vec![OrderFact {
        paid_at: Some(local("2026-10-15 10:00:00")),
        ..paid("a", "900", "0", 2)
    }];
    f.orders_created = 1;
    let k = compute_kpis(&f);
    let mut orders = DatasetInput::new(Dataset::Orders, true);
    orders.present = true;
    orders.records = 1;
    orders.row_count_today = 1;
    let ds = vec![
        orders,
        DatasetInput::new(Dataset::Members, false),
        DatasetInput::new(Dataset::Products, false),
        DatasetInput::new(Dataset::Service, false),
    ];
    let i = CheckInputs::new(&f, &k, &ds);
    let results = run_checks(
        &CheckSet::for_period(f.period.kind()),
        &ChecksConfig::default(),
        &i,
    );
    assert_eq!(worst_level(&results), Level::Warn);
    let skipped: Vec<&str> = results
        .iter()
        .filter(|r| r.observed == json!("skipped"))
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        skipped,
        vec![
            "file_present.members",
            "file_present.products",
            "file_present.service",
            "member_growth",
            "tier_migration",
            "zero_sellers",
            "sell_through",
            "service_leaderboard",
            "repurchase_cycle",
        ]
    );
}

#[test]
fn messages_follow_the_locale() {
    let ds = without(Dataset::Ads);
    let mut f = day_facts();
    f.orders_created = 4;
    f.unpaid_created = vec![OrderFact {
        paid_at: None,
        status: OrderStatus::Unpaid,
        ..paid("u1", "30", "0", 5)
    }];
    let k = KpiSet::new();
    let zh = CheckInputs::new(&f, &k, &ds);
    let set = CheckSet {
        ids: vec!["unpaid_orders", "ads_roi"],
    };
    let rs = run_checks(&set, &ChecksConfig::default(), &zh);
    assert_eq!(rs[0].title, "待催付订单");
    assert_eq!(
        rs[0].message,
        "1 笔未付款订单待催付，金额 ¥30.00（占下单 4 笔的 25%）"
    );
    assert_eq!(
        rs[0].samples[0].detail,
        "订单 u1：¥30.00，下单于 2026-11-22 09:00"
    );
    assert_eq!(
        (rs[1].level, rs[1].message.as_str()),
        (Level::Warn, "已跳过：没有推广数据")
    );
    assert_eq!(rs[1].observed, json!("skipped"));
    let en = CheckInputs { zh: false, ..zh };
    let rs = run_checks(&set, &ChecksConfig::default(), &en);
    assert_eq!(rs[0].title, "Unpaid orders to chase");
    assert_eq!(
        rs[0].message,
        "1 unpaid order(s) worth ¥30.00 to chase (25% of 4 created)"
    );
    assert_eq!(rs[1].message, "skipped: no ads export");
}
