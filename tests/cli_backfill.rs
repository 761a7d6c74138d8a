//! `backfill` through the real binary on the sample shop: a daily job's
//! days run side by side (the inbox ingested once first) and each day's
//! summary must be what a `run-job` of that day alone gives; a tier job's
//! months run one after another so each evaluation sees the one before.

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::Workspace;

/// Check id → level, from a summary.
fn levels(summary: &Value) -> BTreeMap<String, String> {
    summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["level"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_backfilled_day_matches_its_own_run() {
    let days = [
        "2026-11-16",
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
    ];
    let backfilled = Workspace::new();
    let out = backfilled.run(&[
        "backfill",
        "daily-ops",
        "--from",
        days[0],
        "--to",
        days[6],
        "--no-send",
    ]);
    out.no_panic();
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}",
        out.code,
        out.stderr
    );

    // One run per day in the ledger, each with its folder.
    let conn = rusqlite::Connection::open(backfilled.state()).unwrap();
    let periods: Vec<String> = conn
        .prepare("SELECT period FROM runs WHERE job = 'daily-ops' ORDER BY period")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(periods, days);

    let single = Workspace::new();
    for day in days {
        let one = single.run(&["run-job", "daily-ops", "--date", day, "--no-send"]);
        one.no_panic();
        let a = backfilled.summary("daily-ops", day);
        let b = single.summary("daily-ops", day);
        assert!(a["kpis"]["gross_sales"].is_string(), "{day}: {}", a["kpis"]);
        assert_eq!(a["kpis"], b["kpis"], "{day}: KPIs");
        assert_eq!(a["comparisons"], b["comparisons"], "{day}: comparisons");
        assert_eq!(levels(&a), levels(&b), "{day}: check levels");
        assert_eq!(a["status"], b["status"], "{day}: status");
    }
}

#[test]
fn a_tier_job_backfills_month_after_month() {
    let ws = Workspace::new();
    let out = ws.run(&[
        "backfill",
        "monthly-members",
        "--from",
        "2026-09-01",
        "--to",
        "2026-10-31",
        "--no-send",
    ]);
    out.no_panic();
    assert!(
        out.code == 0 || out.code == 1,
        "exit {}: {}",
        out.code,
        out.stderr
    );
    let sep = ws.summary("monthly-members", "2026-09");
    let oct = ws.summary("monthly-members", "2026-10");
    // September is the first evaluation: every member is new. October is
    // compared with September, so members keep, gain or lose a level.
    let changes = |s: &Value| -> BTreeMap<String, u64> {
        s["tiers"]["changes"]
            .as_object()
            .unwrap_or_else(|| panic!("changes: {}", s["tiers"]))
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
            .collect()
    };
    let first = changes(&sep);
    assert!(first.get("new").copied().unwrap_or(0) > 0, "{first:?}");
    assert_eq!(first.get("same").copied().unwrap_or(0), 0, "{first:?}");
    let second = changes(&oct);
    assert!(second.get("same").copied().unwrap_or(0) > 0, "{second:?}");
}
