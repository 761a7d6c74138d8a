//! The CDNOW reference: 2,357 customers' transactions (CDNOW_sample) and the
//! per-customer summary Fader & Hardie published for them, as shipped with
//! the `lifetimes` package. The summary's calibration period ends on
//! 1997-09-30 and counts in weeks: `x` repeat purchases (distinct days − 1),
//! `t_x` weeks from first to last purchase, `T` weeks from first purchase to
//! the end of calibration. Every customer's tier row must agree.
//!
//! One deliberate difference: eight customers' only calibration-period
//! transaction is a $0.00 one. CDNOW counts it; SPEC §9 does not (a purchase
//! has a net amount above 0), so those eight are members without a purchase
//! here (class A, potential), and the test checks exactly that.
//!
//! The data is fetched by `scripts/fetch_cdnow.sh` into `target/cdnow/`.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use storepulse::compute::tiers::{
    Lifecycle, PurchaseClass, TierSettings, compute_tiers, sort_purchases,
};
use storepulse::model::facts::{MemberFact, Purchase};

fn data_dir() -> PathBuf {
    std::env::var_os("CDNOW_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/cdnow"))
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

/// Reads CDNOW_sample.txt, one transaction per line:
/// `<master id> <sample id> <yyyymmdd> <quantity> <amount>`. The member is the
/// sample id (`0001`..`2357`, the summary's `ID`); quantity is not needed.
fn load_cdnow_purchases(r: impl BufRead) -> Result<Vec<Purchase>, String> {
    let mut out = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, id, date, _qty, amount] = f[..] else {
            return Err(format!(
                "line {}: expected 5 fields, got {}",
                i + 1,
                f.len()
            ));
        };
        out.push(Purchase {
            member_id: id.to_string(),
            day: NaiveDate::parse_from_str(date, "%Y%m%d")
                .map_err(|e| format!("line {}: date {date:?}: {e}", i + 1))?,
            net_amount: amount
                .parse()
                .map_err(|e| format!("line {}: amount {amount:?}: {e}", i + 1))?,
        });
    }
    Ok(out)
}

fn member(id: &str) -> MemberFact {
    MemberFact {
        member_id: id.to_string(),
        joined_at: None,
        level: None,
        phone: None,
        birthday: None,
        gender: None,
        city: None,
        points: None,
        source: None,
    }
}

struct Summary {
    x: u32,
    t_x: f64,
    t: f64,
}

fn load_summary(r: impl BufRead) -> HashMap<String, Summary> {
    let mut rdr = csv::Reader::from_reader(r);
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers, vec!["ID", "x", "t_x", "T", "zbar"]);
    rdr.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let id: u32 = rec[0].parse().unwrap();
            (
                format!("{id:04}"),
                Summary {
                    x: rec[1].parse().unwrap(),
                    t_x: rec[2].parse().unwrap(),
                    t: rec[3].parse().unwrap(),
                },
            )
        })
        .collect()
}

#[test]
fn every_customer_matches_the_published_summary() {
    let mut purchases = load_cdnow_purchases(open("CDNOW_sample.txt")).unwrap();
    assert_eq!(purchases.len(), 6919);
    let as_of = NaiveDate::from_ymd_opt(1997, 9, 30).unwrap();
    // Customers whose calibration transactions are all $0.00.
    let mut paid_ids: Vec<&str> = purchases
        .iter()
        .filter(|p| p.day <= as_of && p.net_amount > Decimal::ZERO)
        .map(|p| p.member_id.as_str())
        .collect();
    paid_ids.sort_unstable();
    paid_ids.dedup();
    let mut zero_only: Vec<String> = purchases
        .iter()
        .filter(|p| p.day <= as_of && paid_ids.binary_search(&p.member_id.as_str()).is_err())
        .map(|p| p.member_id.clone())
        .collect();
    zero_only.sort_unstable();
    zero_only.dedup();
    assert_eq!(zero_only.len(), 8, "{zero_only:?}");

    // What an import keeps: only purchases (net > 0).
    purchases.retain(|p| p.net_amount > Decimal::ZERO);
    sort_purchases(&mut purchases);
    let summary = load_summary(open("cdnow_customers_summary_with_transactions.csv"));
    assert_eq!(summary.len(), 2357);
    let members: Vec<MemberFact> = summary.keys().map(|id| member(id)).collect();

    let settings = TierSettings::from_toml("window_days = \"all\"\nfrequency = \"days\"").unwrap();
    let result = compute_tiers(
        &settings,
        as_of,
        "1997-10".parse().unwrap(),
        purchases,
        members,
        HashMap::new(),
    )
    .unwrap();
    assert_eq!(result.len(), 2357);
    assert_eq!(result.summary.scored, 2357 - 8);

    // The summary rounds weeks to 0.01, i.e. up to 0.035 days.
    let close = |days: i64, weeks: f64| (days as f64 / 7.0 - weeks).abs() <= 0.005 + 1e-9;
    let (mut span_days, mut repeats) = (0i64, 0u64);
    let mut checked = 0;
    for row in result.rows() {
        let s = summary
            .get(row.member_id)
            .unwrap_or_else(|| panic!("{} is not in the summary", row.member_id));
        checked += 1;
        if zero_only.iter().any(|z| z == row.member_id) {
            assert_eq!(s.x, 0, "{}: a $0.00 order and nothing else", row.member_id);
            assert_eq!(
                (row.class, row.lifecycle, row.first_purchase, row.frequency),
                (PurchaseClass::A, Lifecycle::Potential, None, 0)
            );
            continue;
        }
        let first = row.first_purchase.unwrap();
        let last = row.last_purchase.unwrap();
        let id = row.member_id;
        assert_eq!(row.frequency - 1, s.x, "{id}: repeat purchases");
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
            i64::from(row.recency_days.unwrap()),
            (as_of - last).num_days(),
            "{id}: recency"
        );
        let class = if s.x == 0 {
            PurchaseClass::B
        } else {
            PurchaseClass::C
        };
        assert_eq!(row.class, class, "{id}: class");
        assert_eq!(row.cycle_days.is_some(), s.x > 0, "{id}: cycle");
        assert!(row.monetary > Decimal::ZERO);
        if s.x > 0 {
            span_days += (last - first).num_days();
            repeats += u64::from(s.x);
        }
    }
    assert_eq!(checked, 2357);

    // The store cycle, recomputed from the published weeks, agrees to within
    // their rounding.
    // (The $0.00-only customers have x = 0 and add nothing.)
    let published: f64 = summary.values().map(|s| s.t_x * 7.0).sum::<f64>()
        / summary.values().map(|s| f64::from(s.x)).sum::<f64>();
    let ours = result.summary.repurchase_cycle_days.unwrap();
    assert_eq!(
        ours,
        (Decimal::from(span_days) / Decimal::from(repeats)).round_dp(2)
    );
    assert!(
        (rust_decimal::prelude::ToPrimitive::to_f64(&ours).unwrap() - published).abs() < 0.05,
        "{ours} vs {published}"
    );
}

#[test]
fn loader_reports_bad_lines() {
    let err = load_cdnow_purchases(" 00004 0001 19970101  2\n".as_bytes()).unwrap_err();
    assert_eq!(err, "line 1: expected 5 fields, got 4");
    let err = load_cdnow_purchases(" 00004 0001 19971301 2 1.00\n".as_bytes()).unwrap_err();
    assert!(err.starts_with("line 1: date \"19971301\""), "{err}");
    let ok = load_cdnow_purchases(" 00004 0001 19970101  2   29.33\n\n".as_bytes()).unwrap();
    assert_eq!(ok[0].net_amount, "29.33".parse::<Decimal>().unwrap());
}
