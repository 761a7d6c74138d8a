//! Acceptance of "Foundation: real shop exports in, a complete run out"
//! through the real binary: the README's main command on a fresh state,
//! its numbers recomputed here straight from the GBK exports, a second run
//! that changes nothing, a corrected re-export that replaces its day, a
//! multi-day `import` split by day, and `validate` on a good and a broken
//! config. The bad-input corpus is in `cli_bad_inputs.rs`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{
    Workspace, csv_records, orders_file, read_gbk, sample_inbox, traffic_total_visitors, write_gbk,
    write_half_orders_export,
};

/// Column positions in the sample's orders export, found by header name.
struct OrderCols {
    member: usize,
    amount: usize,
    created: usize,
    paid: usize,
}

fn order_cols(header: &csv::StringRecord) -> OrderCols {
    let at = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    OrderCols {
        member: at("买家会员名"),
        amount: at("买家实际支付金额"),
        created: at("订单创建时间"),
        paid: at("订单付款时间"),
    }
}

/// paid_orders, gross_sales and paying_buyers of `day`, computed from the
/// order exports of `files_of` (an order paid on `day` may have been
/// created the day before): orders whose 订单付款时间 (shop time, no offset)
/// falls on `day`.
fn paid_on(day: &str, files_of: &[&str]) -> (u64, Decimal, usize) {
    let (mut n, mut sum, mut buyers) = (0u64, Decimal::ZERO, BTreeSet::new());
    for f in files_of {
        let recs = csv_records(&read_gbk(&orders_file(&sample_inbox(), f)));
        let c = order_cols(&recs[0]);
        for r in &recs[1..] {
            if r[c.paid].starts_with(day) {
                n += 1;
                sum += Decimal::from_str(&r[c.amount]).unwrap();
                buyers.insert(r[c.member].to_string());
            }
        }
    }
    (n, sum, buyers.len())
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(
        v.as_str()
            .unwrap_or_else(|| panic!("not a decimal string: {v}")),
    )
    .unwrap()
}

#[test]
fn readme_command_rerun_and_corrected_reexport() {
    // The README's main command on a fresh state.
    let ws = Workspace::new();
    let out = ws.run(&["run-job", "daily-ops", "--date", "2026-11-22"]);
    out.expect_code(0).stderr_has(&["daily-ops 2026-11-22:"]);
    let s = ws.summary("daily-ops", "2026-11-22");
    assert_eq!(s["job"], "daily-ops");
    assert_eq!(s["period"]["kind"], "day");
    assert_eq!(s["period"]["start"], "2026-11-22");
    assert_eq!(s["period"]["end"], "2026-11-23");

    let inputs = s["inputs"].as_array().unwrap();
    let datasets: BTreeSet<&str> = inputs
        .iter()
        .map(|i| i["dataset"].as_str().unwrap())
        .collect();
    assert_eq!(
        datasets,
        BTreeSet::from([
            "ads",
            "members",
            "order_items",
            "orders",
            "products",
            "service",
            "traffic"
        ])
    );
    assert_eq!(inputs.len(), 7, "{inputs:?}");
    let orders_in = inputs.iter().find(|i| i["dataset"] == "orders").unwrap();
    let orders_path = orders_file(&sample_inbox(), "2026-11-22");
    let orders_text = read_gbk(&orders_path);
    assert_eq!(
        orders_in["rows"].as_u64().unwrap() as usize,
        csv_records(&orders_text).len() - 1
    );
    assert_eq!(orders_in["rejected"], 0);
    assert_eq!(orders_in["file"], "2026-11-22/ExportOrderList20261122.csv");
    assert_eq!(
        orders_in["sha256"],
        hex::encode(Sha256::digest(std::fs::read(&orders_path).unwrap()))
    );

    // The headline KPIs against an independent reading of the exports.
    let k = &s["kpis"];
    let (paid, gross, buyers) = paid_on("2026-11-22", &["2026-11-21", "2026-11-22"]);
    assert!(paid > 300, "{paid}");
    assert_eq!(k["paid_orders"].as_u64(), Some(paid));
    assert_eq!(dec(&k["gross_sales"]), gross);
    assert_eq!(k["paying_buyers"].as_u64(), Some(buyers as u64));
    let visitors = traffic_total_visitors("2026-11-22");
    assert_eq!(k["visitors"].as_i64(), Some(visitors));
    let conv = k["conversion_rate"].as_f64().unwrap();
    assert!(
        (conv - buyers as f64 / visitors as f64).abs() < 1e-9,
        "{conv}"
    );
    assert_eq!(
        dec(&k["aov"]).round_dp(6),
        (gross / Decimal::from(buyers)).round_dp(6)
    );

    // The exports of one shop agree: orders' gross sales are the traffic
    // workbook's 支付金额 to the cent.
    let rec = support::check(&s, "reconciliation.orders_traffic");
    assert_eq!(rec["level"], "pass", "{rec}");
    assert_eq!(rec["observed"].as_f64(), Some(0.0), "{rec}");

    // Running the same job again ingests nothing and changes no count.
    let before = ws.counts();
    assert_eq!(before["orders"], ws.orders_per_day().values().sum::<i64>());
    let again = ws.run(&["run-job", "daily-ops", "--date", "2026-11-22"]);
    again.expect_code(0);
    assert!(!again.stderr.contains("re-export"), "{}", again.stderr);
    assert_eq!(ws.counts(), before);

    // A corrected export of 2026-11-22 with five orders fewer, in a copy of
    // the inbox over a copy of that state: the day's rows are replaced and
    // the replacement is reported.
    let fixed = Workspace::with_inbox_copy(&[]);
    fixed.use_state(&ws.state());
    let per_day = fixed.orders_per_day();
    let path = orders_file(&fixed.inbox, "2026-11-22");
    let text = read_gbk(&path);
    let lines: Vec<&str> = text.lines().collect();
    let dropped: Vec<&str> = lines[1..6].to_vec();
    let kept: Vec<&str> = std::iter::once(lines[0])
        .chain(lines[6..].iter().copied())
        .collect();
    write_gbk(&path, &(kept.join("\n") + "\n"));
    let out = fixed.run(&["run-job", "daily-ops", "--date", "2026-11-22"]);
    out.expect_code(0)
        .stderr_has(&["re-export changed", "dataset=orders", "date=2026-11-22"]);
    let after = fixed.orders_per_day();
    assert_eq!(after["2026-11-22"], per_day["2026-11-22"] - 5);
    let others = |m: &BTreeMap<String, i64>| {
        m.iter()
            .filter(|(d, _)| d.as_str() != "2026-11-22")
            .map(|(d, n)| (d.clone(), *n))
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&after), others(&per_day));
    let mut expected = before.clone();
    *expected.get_mut("orders").unwrap() -= 5;
    assert_eq!(fixed.counts(), expected);
    // And the day's figures follow: the dropped orders paid that day are gone.
    let c = order_cols(&csv_records(lines[0])[0]);
    let (mut lost, mut lost_sum) = (0u64, Decimal::ZERO);
    for l in &dropped {
        let r = &csv_records(l)[0];
        if r[c.paid].starts_with("2026-11-22") {
            lost += 1;
            lost_sum += Decimal::from_str(&r[c.amount]).unwrap();
        }
    }
    assert!(
        lost > 0,
        "the first five orders of the day were paid that day"
    );
    let s2 = fixed.summary("daily-ops", "2026-11-22");
    assert_eq!(s2["kpis"]["paid_orders"].as_u64(), Some(paid - lost));
    assert_eq!(dec(&s2["kpis"]["gross_sales"]), gross - lost_sum);
}

#[test]
fn import_splits_a_multi_day_orders_export_by_day() {
    let ws = Workspace::new();
    // Three days of the sample in one UTF-8 file, one header.
    let days = ["2026-11-18", "2026-11-19", "2026-11-20"];
    let mut text = String::new();
    let mut expected = BTreeMap::new();
    for (i, d) in days.iter().enumerate() {
        let t = read_gbk(&orders_file(&sample_inbox(), d));
        let recs = csv_records(&t);
        let c = order_cols(&recs[0]);
        // Each day's file holds the orders created that day.
        assert!(recs[1..].iter().all(|r| r[c.created].starts_with(d)));
        expected.insert(d.to_string(), (recs.len() - 1) as i64);
        let body: Vec<&str> = t.lines().skip(usize::from(i > 0)).collect();
        text.push_str(&body.join("\n"));
        text.push('\n');
    }
    let file = ws.path().join("orders_3days.csv");
    std::fs::write(&file, &text).unwrap();
    let out = ws.run(&["import", "orders", file.to_str().unwrap()]);
    let total: i64 = expected.values().sum();
    out.expect_code(0)
        .stderr_has(&[&format!("{total} rows, 0 rejected")]);
    assert_eq!(ws.orders_per_day(), expected);
    // The same file again is recognised by its content.
    let before = ws.counts();
    ws.run(&["import", "orders", file.to_str().unwrap()])
        .expect_code(0)
        .stderr_has(&["already imported"]);
    assert_eq!(ws.counts(), before);
}

/// Undated order lines are filed under their order's day, so two line
/// files imported on the same day keep each other's lines, and only lines
/// of orders the store does not have go under the day of the import,
/// marked stray.
#[test]
fn imported_order_lines_are_filed_under_their_orders_days() {
    let ws = Workspace::new();
    let days = ["2026-11-18", "2026-11-19"];
    // Both days' orders in one file, then each day's lines in its own file.
    let mut orders = String::new();
    for (i, d) in days.iter().enumerate() {
        let t = read_gbk(&orders_file(&sample_inbox(), d));
        let body: Vec<&str> = t.lines().skip(usize::from(i > 0)).collect();
        orders.push_str(&body.join("\n"));
        orders.push('\n');
    }
    let file = ws.path().join("orders_2days.csv");
    std::fs::write(&file, &orders).unwrap();
    ws.run(&["import", "orders", file.to_str().unwrap()])
        .expect_code(0);
    let mut expected = BTreeMap::new();
    for d in days {
        let name = format!("ExportOrderDetailList{}.csv", d.replace('-', ""));
        let text = read_gbk(&sample_inbox().join(d).join(&name));
        let lines = csv_records(&text).len() as i64 - 1;
        assert!(lines > 100, "{name}: {lines} lines");
        expected.insert(d.to_string(), lines);
        let copy = ws.path().join(&name);
        std::fs::write(&copy, &text).unwrap();
        ws.run(&["import", "order_items", copy.to_str().unwrap()])
            .expect_code(0);
    }
    // One line of an order the store does not have.
    let stray = ws.path().join("stray_lines.csv");
    std::fs::write(
        &stray,
        "订单编号,标题,价格,购买数量,商家编码\nNOSUCHORDER,x,1.00,1,SKU-X\n",
    )
    .unwrap();
    ws.run(&["import", "order_items", stray.to_str().unwrap()])
        .expect_code(0);
    let conn = rusqlite::Connection::open(ws.state()).unwrap();
    let per_day: BTreeMap<String, i64> = conn
        .prepare(
            "SELECT day, count(*) FROM order_items WHERE order_id <> 'NOSUCHORDER' GROUP BY day",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(per_day, expected);
    // Lines under their order's day are at home; the other is stray.
    let (stray_day, flag): (String, i64) = conn
        .query_row(
            "SELECT day, stray FROM order_items WHERE order_id = 'NOSUCHORDER'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(flag, 1);
    let strays: i64 = conn
        .query_row(
            "SELECT count(*) FROM order_items WHERE stray = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(strays, 1);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string();
    assert_eq!(stray_day, today);
}

#[test]
fn validate_passes_the_shipped_config() {
    let ws = Workspace::new();
    ws.run(&["validate"])
        .expect_code(0)
        .stderr_has(&["ok:", "3 jobs", "7 teams"]);
}

#[test]
fn validate_reports_every_problem_of_a_broken_config_at_once() {
    let ws = Workspace::new();
    let edit = |rel: &str, f: &dyn Fn(String) -> String| {
        let p = ws.path().join(rel);
        let t = std::fs::read_to_string(&p).unwrap();
        let changed = f(t.clone());
        assert_ne!(changed, t, "{rel} unchanged");
        std::fs::write(&p, changed).unwrap();
    };
    edit("storepulse.toml", &|t| {
        t.replace(
            "timezone = \"Asia/Shanghai\"",
            "timezone = \"Mars/Olympus\"",
        )
        .replace("pii = \"full\"", "pii = \"some\"")
            + "\n[tiers]\nfrequency = \"weekly\"\n"
    });
    edit("jobs/daily-ops.toml", &|t| {
        t.replace("period = \"day\"", "period = \"fortnight\"")
    });
    edit("jobs/weekly-review.toml", &|t| {
        format!("colour = \"blue\"\n{t}\n[checks.row_count]\nwarn = \"half\"\n")
    });
    edit("jobs/monthly-members.toml", &|t| {
        t.replace("schedule = \"0 9 1 * *\"", "schedule = \"61 9 1 * *\"")
    });
    let out = ws.run_with(
        &[
            "datasets.ads.source=http",
            "datasets.ads.http.url=ftp://exports.example.com/{date}.csv",
        ],
        &["validate"],
    );
    out.expect_code(2).stderr_has(&[
        "storepulse.toml: datasets.ads.http.url",
        "storepulse.toml: timezone",
        "Mars/Olympus",
        "pii",
        "jobs/daily-ops.toml: period",
        "fortnight",
        "jobs/weekly-review.toml: colour",
        "jobs/monthly-members.toml: schedule",
        "storepulse.toml: tiers.frequency",
        "jobs/weekly-review.toml: checks.row_count.warn",
    ]);
    // `run-job` refuses the same config with the same list, before any work.
    let run = ws.run(&["run-job", "daily-ops", "--date", "2026-11-22"]);
    run.expect_code(2)
        .stderr_has(&["jobs/weekly-review.toml: colour"]);
    assert!(!ws.state().exists());
}

#[test]
fn usage_and_input_errors_exit_2_and_3_with_their_cause() {
    let ws = Workspace::with_inbox_copy(&["2026-11-22"]);
    ws.run(&["run-job", "no-such-job", "--date", "2026-11-22"])
        .expect_code(2)
        .stderr_has(&["no job named \"no-such-job\"", "daily-ops"]);
    ws.run(&["run-job", "daily-ops", "--period", "2026-W47"])
        .expect_code(2)
        .stderr_has(&["reports on a day", "2026-W47 is a week"]);
    ws.run(&["run-job", "daily-ops", "--date", "2026-13-01"])
        .expect_code(2);
    ws.run(&["import", "orders", "/no/such/export.csv"])
        .expect_code(3)
        .stderr_has(&["/no/such/export.csv"]);
    ws.run_with(
        &["inbox=/no/such/inbox"],
        &["run-job", "daily-ops", "--date", "2026-11-22"],
    )
    .expect_code(3)
    .stderr_has(&["inbox folder /no/such/inbox does not exist"]);
    // A required export missing for the day: nothing is written.
    ws.run(&["run-job", "daily-ops", "--date", "2026-11-23"])
        .expect_code(3)
        .stderr_has(&["orders: no export for 2026-11-23", "requires it"]);
    assert_eq!(ws.out_files(), Vec::<String>::new());
}

/// Daily snapshots are a cache of the stored rows: an `import` that
/// replaces a day already snapshotted makes the next run compare with the
/// imported rows, not with what the day held before.
#[test]
fn an_import_over_a_snapshotted_day_changes_the_next_comparison() {
    let ws = Workspace::new();
    ws.run(&["run-job", "daily-ops", "--date", "2026-11-22", "--no-send"])
        .no_panic();
    let previous = |ws: &Workspace| {
        let s = ws.summary("daily-ops", "2026-11-22");
        s["comparisons"]["paid_orders"]["previous"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}", s["comparisons"]["paid_orders"]))
    };
    let (before, _, _) = paid_on("2026-11-21", &["2026-11-20", "2026-11-21"]);
    assert_eq!(previous(&ws), before);

    // A corrected export of the 21st that keeps every other order.
    let file = ws.path().join("orders_2026-11-21_corrected.csv");
    let half = write_half_orders_export("2026-11-21", &file);
    ws.run(&["import", "orders", file.to_str().unwrap()])
        .expect_code(0);

    let recs = csv_records(&half);
    let c = order_cols(&recs[0]);
    let paid_21 = |rs: &[csv::StringRecord]| {
        rs.iter()
            .filter(|r| r[c.paid].starts_with("2026-11-21"))
            .count() as u64
    };
    let from_20 =
        paid_21(&csv_records(&read_gbk(&orders_file(&sample_inbox(), "2026-11-20")))[1..]);
    let after = from_20 + paid_21(&recs[1..]);
    assert!(after < before, "the correction drops paid orders");

    ws.run(&["run-job", "daily-ops", "--date", "2026-11-22", "--no-send"])
        .no_panic();
    assert_eq!(previous(&ws), after);
}
