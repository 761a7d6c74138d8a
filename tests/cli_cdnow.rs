//! The CDNOW reference check of "Member tiers" end to end: the CDNOW_sample
//! transaction log converted to an orders export, loaded with
//! `storepulse import orders` under a UTC shop, tiers computed by `run-job`
//! of a monthly job for 1997-09 (as of 1997-09-30), and member_tiers.csv
//! compared per customer with the summary lifetimes publishes (in weeks:
//! `x` repeat purchases = distinct days − 1, `t_x` first to last purchase,
//! `T` first purchase to the as-of date).
//!
//! Eight customers' only calibration transactions are $0.00: CDNOW counts
//! them, SPEC §9 does not (a purchase has a net amount above 0), so they have
//! no tier row here (they are not members either) and `x = 0` there.
//!
//! The data is fetched by `scripts/fetch_cdnow.sh` into `target/cdnow/`.

mod support;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use support::Workspace;

fn data_dir() -> PathBuf {
    std::env::var_os("CDNOW_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo().join("target/cdnow"))
}

fn open(name: &str) -> std::io::BufReader<std::fs::File> {
    let path = data_dir().join(name);
    match std::fs::File::open(&path) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => panic!(
            "CDNOW reference data missing ({}: {e}); run scripts/fetch_cdnow.sh first",
            path.display()
        ),
    }
}

struct Txn {
    id: String,
    day: NaiveDate,
    amount: Decimal,
}

/// `<master id> <sample id> <yyyymmdd> <quantity> <amount>` per line.
fn transactions() -> Vec<Txn> {
    open("CDNOW_sample.txt")
        .lines()
        .map(Result::unwrap)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "{l:?}");
            Txn {
                id: f[1].to_string(),
                day: NaiveDate::parse_from_str(f[2], "%Y%m%d").unwrap(),
                amount: f[4].parse().unwrap(),
            }
        })
        .collect()
}

struct Summary {
    x: u32,
    t_x: f64,
    t: f64,
}

fn summary() -> HashMap<String, Summary> {
    let mut rdr = csv::Reader::from_reader(open("cdnow_customers_summary_with_transactions.csv"));
    assert_eq!(rdr.headers().unwrap(), vec!["ID", "x", "t_x", "T", "zbar"]);
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            let id: u32 = r[0].parse().unwrap();
            (
                format!("{id:04}"),
                Summary {
                    x: r[1].parse().unwrap(),
                    t_x: r[2].parse().unwrap(),
                    t: r[3].parse().unwrap(),
                },
            )
        })
        .collect()
}

const JOB: &str = r#"display_name = "CDNOW"
period = "month"
schedule = "0 9 1 * *"
tiers = true
on_fail = "send-flagged"
teams = []

[datasets]
required = ["orders"]
optional = []
"#;

#[test]
fn imported_cdnow_tiers_match_the_published_summary() {
    let txns = transactions();
    assert_eq!(txns.len(), 6919);
    let as_of = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();

    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path().join("inbox")).unwrap();
    std::fs::write(ws.path().join("jobs/cdnow-tiers.toml"), JOB).unwrap();
    let mut csv = String::from("order_id,member_id,created_at,paid_at,status,paid_amount\n");
    for (i, t) in txns.iter().enumerate() {
        let at = format!("{} 00:00:00", t.day);
        csv.push_str(&format!(
            "{},{},{at},{at},completed,{}\n",
            i + 1,
            t.id,
            t.amount
        ));
    }
    let file = ws.path().join("cdnow_orders.csv");
    std::fs::write(&file, csv).unwrap();
    let sets = ["timezone=UTC", "inbox=inbox"];
    ws.run_with(&sets, &["import", "orders", file.to_str().unwrap()])
        .expect_code(0)
        .stderr_has(&["6919 rows, 0 rejected"]);
    let out = ws.run_with(&sets, &["run-job", "cdnow-tiers", "--period", "1997-09"]);
    out.no_panic();
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);

    let published = summary();
    assert_eq!(published.len(), 2357);
    // Customers whose calibration transactions are all $0.00.
    let mut paid = std::collections::BTreeSet::new();
    let mut any = std::collections::BTreeSet::new();
    for t in txns.iter().filter(|t| t.day <= as_of) {
        any.insert(t.id.as_str());
        if t.amount > Decimal::ZERO {
            paid.insert(t.id.as_str());
        }
    }
    let zero_only: Vec<&str> = any.difference(&paid).copied().collect();
    assert_eq!(zero_only.len(), 8, "{zero_only:?}");

    let text = std::fs::read_to_string(
        ws.run_folder("cdnow-tiers", "1997-09")
            .join("member_tiers.csv"),
    )
    .unwrap();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let h = rdr.headers().unwrap().clone();
    let at = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (idc, firstc, lastc, recc, freqc, classc, cyclec) = (
        at("member_id"),
        at("first_purchase"),
        at("last_purchase"),
        at("recency_days"),
        at("frequency"),
        at("class"),
        at("cycle_days"),
    );
    // The summary rounds weeks to 0.01, i.e. up to 0.035 days.
    let close = |days: i64, weeks: f64| (days as f64 / 7.0 - weeks).abs() <= 0.005 + 1e-9;
    let mut checked = std::collections::BTreeSet::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let id = r[idc].to_string();
        let s = published
            .get(&id)
            .unwrap_or_else(|| panic!("{id} is not in the summary"));
        let day = |c: usize| NaiveDate::parse_from_str(&r[c], "%Y-%m-%d").unwrap();
        let (first, last) = (day(firstc), day(lastc));
        let freq: u32 = r[freqc].parse().unwrap();
        assert_eq!(freq - 1, s.x, "{id}: repeat purchases");
        assert!(
            close((last - first).num_days(), s.t_x),
            "{id}: t_x {} vs {first}..{last}",
            s.t_x
        );
        assert!(
            close((as_of - first).num_days(), s.t),
            "{id}: T {} vs first {first}",
            s.t
        );
        assert_eq!(
            r[recc].parse::<i64>().unwrap(),
            (as_of - last).num_days(),
            "{id}: recency"
        );
        assert_eq!(&r[classc], if s.x == 0 { "B" } else { "C" }, "{id}: class");
        assert_eq!(r[cyclec].is_empty(), s.x == 0, "{id}: cycle");
        assert!(checked.insert(id), "listed twice");
    }
    // Everyone with a paid purchase by the as-of date has a row; the $0.00
    // ones have none and a published x of 0.
    assert_eq!(checked.len(), 2357 - 8);
    for z in &zero_only {
        assert!(!checked.contains(*z), "{z}");
        assert_eq!(published[*z].x, 0, "{z}");
    }
    let s = ws.summary("cdnow-tiers", "1997-09");
    assert_eq!(s["tiers"]["scored"], 2357 - 8);
    // The store cycle from the published weeks, within their rounding.
    let cycle: f64 = published.values().map(|s| s.t_x * 7.0).sum::<f64>()
        / published.values().map(|s| f64::from(s.x)).sum::<f64>();
    let ours = s["tiers"]["repurchase_cycle_days"]
        .as_f64()
        .or_else(|| s["tiers"]["repurchase_cycle_days"].as_str()?.parse().ok())
        .unwrap();
    assert!((ours - cycle).abs() < 0.05, "{ours} vs {cycle}");
}
