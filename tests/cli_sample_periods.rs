//! Acceptance of "Routine checks and KPIs" and of the sample part of
//! "Member tiers" through the real binary, over one prepared state of the
//! whole sample inbox: the weekly and monthly jobs write complete
//! summary.json files, 双11 shows up as the traffic and sales spike it is, a
//! truncated export fails the row-count check and holds the run, and the
//! monthly job writes member_tiers.csv whose every row agrees with the
//! order exports read here independently.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;
use storepulse::check::{Family, check_catalog};
use storepulse::compute::kpi::kpi_catalog;
use support::{
    Workspace, check, csv_records, orders_file, read_gbk, sample_inbox, traffic_total_visitors,
    write_gbk,
};

/// The state after the README's run: the whole sample inbox ingested.
fn full_state() -> &'static [u8] {
    static STATE: OnceLock<Vec<u8>> = OnceLock::new();
    STATE.get_or_init(|| {
        Workspace::new().prepare_state(&["run-job", "daily-ops", "--date", "2026-11-22"])
    })
}

fn prepared() -> Workspace {
    let ws = Workspace::new();
    ws.use_state_bytes(full_state());
    ws
}

/// Every KPI of the catalogue is a key of `kpis` and of `comparisons`, each
/// comparison has its fields, and the decomposition multiplies out.
fn assert_complete(s: &Value, family: Family) {
    let kpis = s["kpis"].as_object().unwrap();
    let comparisons = s["comparisons"].as_object().unwrap();
    for def in kpi_catalog() {
        assert!(kpis.contains_key(def.id), "kpis lack {}", def.id);
        let c = comparisons
            .get(def.id)
            .unwrap_or_else(|| panic!("comparisons lack {}", def.id));
        for field in ["previous", "change", "year_ago"] {
            assert!(c.get(field).is_some(), "{}: no {field}: {c}", def.id);
        }
        if family == Family::Daily {
            assert!(c.get("week_ago").is_some(), "{}: no week_ago: {c}", def.id);
        }
    }
    // The sample has every dataset, so no KPI is missing over a whole
    // period except those that need a year of history.
    let missing: Vec<&String> = kpis
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k)
        .collect();
    assert!(missing.is_empty(), "missing KPIs: {missing:?}");

    let d = &s["decomposition"];
    let factors = d["factors"].as_array().unwrap();
    let names: Vec<&str> = factors
        .iter()
        .map(|f| f["factor"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["visitors", "conversion_rate", "aov"]);
    let dec = |v: &Value| match v {
        Value::String(t) => Decimal::from_str(t).unwrap(),
        other => Decimal::from_str(&other.to_string()).unwrap(),
    };
    let change = dec(&d["change"]);
    assert_eq!(
        change,
        dec(&d["current_gross_sales"]) - dec(&d["previous_gross_sales"])
    );
    assert_eq!(dec(&d["current_gross_sales"]), dec(&kpis["gross_sales"]));
    let parts: Decimal = factors.iter().map(|f| dec(&f["contribution"])).sum();
    assert!(
        (parts - change).abs() <= Decimal::new(5, 2),
        "contributions {parts} vs change {change}"
    );

    // Every check of the period's family ran, and every data check per
    // dataset, each a full record.
    let ids: BTreeSet<String> = s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            for field in [
                "id",
                "title",
                "level",
                "observed",
                "threshold",
                "baseline",
                "message",
                "samples",
            ] {
                assert!(c.get(field).is_some(), "check without {field}: {c}");
            }
            c["id"].as_str().unwrap().to_string()
        })
        .collect();
    for def in check_catalog() {
        if def.family == family {
            assert!(
                ids.contains(def.id),
                "check {} did not run: {ids:?}",
                def.id
            );
        }
    }
    for id in [
        "file_present.orders",
        "row_count.orders",
        "invalid_values.orders",
    ] {
        assert!(ids.contains(id), "{id}");
    }
}

#[test]
fn weekly_review_of_w47_is_complete() {
    let ws = prepared();
    let out = ws.run(&["run-job", "weekly-review", "--period", "2026-W47"]);
    out.no_panic();
    let s = ws.summary("weekly-review", "2026-W47");
    out.expect_code(if s["status"] == "held" { 1 } else { 0 });
    assert_eq!(s["period"]["kind"], "week");
    assert_eq!(s["period"]["start"], "2026-11-16");
    assert_eq!(s["period"]["end"], "2026-11-23");
    assert_complete(&s, Family::Weekly);
    // Visitors over the week: the seven shop-total rows.
    let days = (16..=22).map(|d| format!("2026-11-{d}"));
    let visitors: i64 = days.map(|d| traffic_total_visitors(&d)).sum();
    assert_eq!(s["kpis"]["visitors"].as_i64(), Some(visitors));
}

#[test]
fn monthly_members_of_october_is_complete_and_writes_the_tiers() {
    let ws = prepared();
    let out = ws.run(&["run-job", "monthly-members", "--period", "2026-10"]);
    out.no_panic();
    let s = ws.summary("monthly-members", "2026-10");
    out.expect_code(if s["status"] == "held" { 1 } else { 0 });
    assert_eq!(s["period"]["kind"], "month");
    assert_eq!(s["period"]["start"], "2026-10-01");
    assert_eq!(s["period"]["end"], "2026-11-01");
    assert_complete(&s, Family::Monthly);

    let tiers = &s["tiers"];
    for key in [
        "segments",
        "levels",
        "classes",
        "lifecycle",
        "changes",
        "repurchase_cycle_days",
    ] {
        assert!(tiers.get(key).is_some(), "tiers lack {key}: {tiers}");
    }
    let csv_path = ws
        .run_folder("monthly-members", "2026-10")
        .join("member_tiers.csv");
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no UTF-8 BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "member_id",
            "first_purchase",
            "last_purchase",
            "recency_days",
            "frequency",
            "monetary",
            "r_score",
            "f_score",
            "m_score",
            "segment",
            "level",
            "level_prev",
            "level_change",
            "class",
            "lifecycle",
            "cycle_days"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let total = |block: &str| -> u64 {
        tiers[block]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum()
    };
    assert_eq!(total("classes"), rows.len() as u64);
    assert_eq!(total("lifecycle"), rows.len() as u64);
    assert_eq!(total("levels"), rows.len() as u64);

    // Each member's purchases, read here from the exports: a paid order that
    // is not closed with paid − refund > 0, on its paid day, up to 2026-10-31.
    let as_of = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    let mut bought: BTreeMap<String, (BTreeSet<NaiveDate>, Decimal)> = BTreeMap::new();
    let mut day = NaiveDate::from_ymd_opt(2026, 8, 15).unwrap();
    while day <= as_of {
        let recs = csv_records(&read_gbk(&orders_file(&sample_inbox(), &day.to_string())));
        let at = |name: &str| recs[0].iter().position(|h| h == name).unwrap();
        let (member, paid_at, status, paid, refund) = (
            at("买家会员名"),
            at("订单付款时间"),
            at("订单状态"),
            at("买家实际支付金额"),
            at("退款金额"),
        );
        for r in &recs[1..] {
            if r[paid_at].is_empty() || &r[status] == "交易关闭" {
                continue;
            }
            let paid_day = NaiveDate::parse_from_str(&r[paid_at][..10], "%Y-%m-%d").unwrap();
            let net = Decimal::from_str(&r[paid]).unwrap()
                - Decimal::from_str(&r[refund]).unwrap_or_default();
            if paid_day > as_of || net <= Decimal::ZERO {
                continue;
            }
            let e = bought.entry(r[member].to_string()).or_default();
            e.0.insert(paid_day);
            e.1 += net;
        }
        day = day.succ_opt().unwrap();
    }
    let mut buyers = 0;
    let mut seen = BTreeSet::new();
    for r in &rows {
        let id = &r[0];
        assert!(seen.insert(id.to_string()), "{id} listed twice");
        let freq: u32 = r[4].parse().unwrap();
        let class = &r[13];
        let lifecycle = &r[14];
        match bought.get(id) {
            None => {
                assert_eq!((freq, class, lifecycle), (0, "A", "potential"), "{id}");
                assert!(r[1].is_empty() && r[2].is_empty(), "{id}");
            }
            Some((days, net)) => {
                buyers += 1;
                let first = *days.first().unwrap();
                let last = *days.last().unwrap();
                assert_eq!(freq as usize, days.len(), "{id}: frequency");
                assert_eq!(Decimal::from_str(&r[5]).unwrap(), *net, "{id}: monetary");
                assert_eq!(r[1], first.to_string(), "{id}");
                assert_eq!(r[2], last.to_string(), "{id}");
                let recency = (as_of - last).num_days();
                assert_eq!(r[3].parse::<i64>().unwrap(), recency, "{id}: recency");
                assert_eq!(class, if freq == 1 { "B" } else { "C" }, "{id}");
                let layer = match recency {
                    0..=30 => "active",
                    31..=90 => "low_stickiness",
                    _ => "silent",
                };
                assert_eq!(lifecycle, layer, "{id}");
                if freq >= 2 {
                    let cycle = Decimal::from((last - first).num_days()) / Decimal::from(freq - 1);
                    let shown = Decimal::from_str(&r[15]).unwrap();
                    assert!(
                        (shown - cycle).abs() < Decimal::new(1, 2),
                        "{id}: cycle {shown} vs {cycle}"
                    );
                } else {
                    assert!(r[15].is_empty(), "{id}: cycle of a single purchase");
                }
                for score in [&r[6], &r[7], &r[8]] {
                    assert!(
                        matches!(score, "1" | "2" | "3" | "4" | "5"),
                        "{id}: score {score}"
                    );
                }
            }
        }
    }
    assert_eq!(buyers, bought.len(), "every buyer has a tier row");
    assert_eq!(tiers["scored"].as_u64(), Some(buyers as u64));
    assert_eq!(total("segments"), buyers as u64);
}

#[test]
fn double_eleven_shows_as_a_traffic_and_sales_spike() {
    let ws = prepared();
    let out = ws.run(&["run-job", "daily-ops", "--date", "2026-11-11"]);
    out.no_panic();
    let s = ws.summary("daily-ops", "2026-11-11");
    out.expect_code(if s["status"] == "held" { 1 } else { 0 });
    assert_complete(&s, Family::Daily);

    // Visitors against the trailing 7-day mean and the same weekday a week
    // earlier, from the traffic workbooks: the smaller move is observed.
    let today = traffic_total_visitors("2026-11-11") as f64;
    let trailing: Vec<f64> = (4..=10)
        .map(|d| traffic_total_visitors(&format!("2026-11-{d:02}")) as f64)
        .collect();
    let mean = trailing.iter().sum::<f64>() / 7.0;
    let week_ago = trailing[0];
    let moved = (today / mean - 1.0)
        .abs()
        .min((today / week_ago - 1.0).abs());
    assert!(today > 3.0 * mean, "{today} vs {mean}");
    let t = check(&s, "traffic_move");
    assert_eq!(t["level"], "warn", "{t}");
    assert!((t["baseline"].as_f64().unwrap() - mean).abs() < 1e-6, "{t}");
    assert!(
        (t["observed"].as_f64().unwrap() - moved).abs() < 1e-9,
        "{t}"
    );

    let sales = check(&s, "sales_move");
    assert_eq!(sales["level"], "warn", "{sales}");
    assert!(sales["observed"].as_f64().unwrap() > 2.0, "{sales}");
}

#[test]
fn a_truncated_orders_export_fails_row_count_and_holds_the_run() {
    let ws = Workspace::with_inbox_copy(&[]);
    ws.use_state_bytes(full_state());
    let path = orders_file(&ws.inbox, "2026-11-22");
    let text = read_gbk(&path);
    let lines: Vec<&str> = text.lines().collect();
    let keep = (lines.len() - 1) / 10;
    write_gbk(&path, &(lines[..=keep].join("\n") + "\n"));
    let out = ws.run(&["run-job", "daily-ops", "--date", "2026-11-22"]);
    out.expect_code(1).stderr_has(&["re-export changed"]);
    let s = ws.summary("daily-ops", "2026-11-22");
    assert_eq!(s["status"], "held");
    let rc = check(&s, "row_count.orders");
    assert_eq!(rc["level"], "fail", "{rc}");
    assert_eq!(rc["observed"].as_f64().map(|o| o < 0.2), Some(true), "{rc}");
    assert_eq!(ws.orders_per_day()["2026-11-22"], keep as i64);
    // Nothing went to the teams.
    for d in s["deliveries"].as_array().unwrap() {
        assert!(
            !matches!(d["status"].as_str(), Some("sent" | "queued")),
            "{d}"
        );
    }
    let history = ws.run(&["history", "daily-ops", "--limit", "1"]);
    history.expect_code(0);
    assert!(history.stdout.contains("held"), "{}", history.stdout);
}
