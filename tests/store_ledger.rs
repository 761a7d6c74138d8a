//! The run ledger, KPI snapshots, member level evaluations, tier
//! snapshots and the outbox table's shape.

#[path = "common/store_support.rs"]
mod support;

use std::collections::BTreeMap;

use storepulse::store::{RunStatus, StoreError};
use support::*;

#[test]
fn the_ledger_keeps_every_attempt_of_a_run() {
    let mut ts = fresh();
    let s = &mut ts.store;
    assert_eq!(s.next_attempt("daily", "2026-11-22").unwrap(), 1);
    assert!(s.last_run("daily").unwrap().is_none());

    let first = s
        .begin_run("daily", "2026-11-22", 1, t("2026-11-23T01:00:00.250Z"))
        .unwrap();
    let running = s.runs_with_status("running").unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].status, "running");
    assert_eq!(running[0].finished, None);
    s.finish_run(
        first,
        "interrupted",
        Some("SIGTERM"),
        t("2026-11-23T01:00:05Z"),
    )
    .unwrap();

    // The same run again: a new attempt under the same identity.
    assert_eq!(s.next_attempt("daily", "2026-11-22").unwrap(), 2);
    let second = s
        .begin_run("daily", "2026-11-22", 2, t("2026-11-23T01:05:00Z"))
        .unwrap();
    s.finish_run(second, "success", None, t("2026-11-23T01:05:02Z"))
        .unwrap();
    let weekly = s
        .begin_run("weekly", "2026-W47", 1, t("2026-11-23T02:00:00Z"))
        .unwrap();
    s.finish_run(
        weekly,
        "held",
        Some("check orders.row_count failed"),
        t("2026-11-23T02:00:03Z"),
    )
    .unwrap();

    // An attempt number cannot be used twice.
    let dup = s.begin_run("daily", "2026-11-22", 2, t("2026-11-23T03:00:00Z"));
    assert!(dup.is_err());

    let attempts = s.run_attempts("daily", "2026-11-22").unwrap();
    let got: Vec<_> = attempts
        .iter()
        .map(|r| (r.attempt, r.status.as_str(), r.error.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![(1, "interrupted", Some("SIGTERM")), (2, "success", None)]
    );
    assert_eq!(
        attempts[0].started,
        t("2026-11-23T01:00:00.250Z"),
        "milliseconds kept"
    );
    assert_eq!(attempts[1].finished, Some(t("2026-11-23T01:05:02Z")));
    assert_eq!(attempts[1].run_status().unwrap(), RunStatus::Success);

    let all = s.runs(None, 10).unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![weekly, second, first], "newest first");
    assert_eq!(s.runs(None, 1).unwrap().len(), 1);
    assert_eq!(s.runs(Some("daily"), 10).unwrap().len(), 2);
    assert_eq!(s.last_run("daily").unwrap().unwrap().id, second);
    assert_eq!(
        s.latest_attempt("daily", "2026-11-22")
            .unwrap()
            .unwrap()
            .attempt,
        2
    );
    assert!(s.latest_attempt("daily", "2026-11-21").unwrap().is_none());
    assert_eq!(s.runs_with_status("interrupted").unwrap()[0].id, first);
    assert!(s.runs_with_status("running").unwrap().is_empty());
}

#[test]
fn the_ledger_refuses_unknown_statuses_and_runs() {
    let mut ts = fresh();
    let id = ts
        .store
        .begin_run("daily", "2026-11-22", 1, t("2026-11-23T01:00:00Z"))
        .unwrap();
    let err = ts
        .store
        .finish_run(id, "done", None, t("2026-11-23T01:00:01Z"))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownRunStatus(ref s) if s == "done"),
        "{err}"
    );
    assert!(ts.store.runs_with_status("finished").is_err());
    let err = ts
        .store
        .finish_run(id + 100, "failed", None, t("2026-11-23T01:00:01Z"))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::RunNotFound(n) if n == id + 100),
        "{err}"
    );
    for st in RunStatus::ALL {
        assert_eq!(st.as_str().parse::<RunStatus>().unwrap(), st);
    }
}

fn kpis(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_owned)))
        .collect()
}

#[test]
fn daily_kpis_are_replaced_per_day_and_read_by_range() {
    let mut ts = fresh();
    let s = &mut ts.store;
    let v = s.rows_version().unwrap();
    s.put_daily_kpis(
        d("2026-11-21"),
        &kpis(&[("gross_sales", Some("100.5")), ("visitors", Some("900"))]),
        v,
    )
    .unwrap();
    s.put_daily_kpis(
        d("2026-11-22"),
        &kpis(&[("gross_sales", Some("1")), ("roi", None)]),
        v,
    )
    .unwrap();
    // Recomputing the 22nd replaces it whole.
    s.put_daily_kpis(
        d("2026-11-22"),
        &kpis(&[("gross_sales", Some("2")), ("aov", None)]),
        v,
    )
    .unwrap();
    s.put_daily_kpis(d("2026-11-23"), &kpis(&[("gross_sales", Some("3"))]), v)
        .unwrap();

    let got = s.daily_kpis(d("2026-11-21"), d("2026-11-23")).unwrap();
    assert_eq!(
        got,
        BTreeMap::from([
            (
                d("2026-11-21"),
                kpis(&[("gross_sales", Some("100.5")), ("visitors", Some("900"))])
            ),
            (
                d("2026-11-22"),
                kpis(&[("aov", None), ("gross_sales", Some("2"))])
            ),
        ])
    );
    assert!(
        s.daily_kpis(d("2026-10-01"), d("2026-11-01"))
            .unwrap()
            .is_empty()
    );
}

fn levels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(m, l)| (m.to_string(), l.to_string()))
        .collect()
}

#[test]
fn the_previous_level_evaluation_is_the_latest_strictly_before() {
    let mut ts = fresh();
    let s = &mut ts.store;
    s.put_member_levels(d("2026-09-30"), &levels(&[("m1", "小白")]))
        .unwrap();
    s.put_member_levels(d("2026-10-31"), &levels(&[("m1", "素人"), ("m2", "小白")]))
        .unwrap();
    s.put_member_levels(d("2026-11-30"), &levels(&[("m1", "达人")]))
        .unwrap();

    let as_map = levels;
    assert!(s.member_levels_before(d("2026-09-30")).unwrap().is_empty());
    assert_eq!(
        s.member_levels_before(d("2026-10-31")).unwrap(),
        as_map(&[("m1", "小白")])
    );
    // Re-running November's evaluation compares with October, not itself.
    assert_eq!(
        s.member_levels_before(d("2026-11-30")).unwrap(),
        as_map(&[("m1", "素人"), ("m2", "小白")])
    );
    assert_eq!(
        s.member_levels_before(d("2026-12-01")).unwrap(),
        as_map(&[("m1", "达人")])
    );

    // Re-evaluating a date replaces that evaluation whole.
    s.put_member_levels(d("2026-10-31"), &levels(&[("m3", "红人")]))
        .unwrap();
    assert_eq!(
        s.member_levels_before(d("2026-11-30")).unwrap(),
        as_map(&[("m3", "红人")])
    );
}

#[test]
fn tier_snapshots_round_trip() {
    let mut ts = fresh();
    let summary = serde_json::json!({"segments": {"champions": 12, "new": 3}, "repurchase_cycle_days": "41.5"});
    ts.store
        .put_tier_snapshot("monthly", "2026-11", &summary)
        .unwrap();
    assert_eq!(
        ts.store.tier_snapshot("monthly", "2026-11").unwrap(),
        Some(summary)
    );
    let newer = serde_json::json!({"segments": {}});
    ts.store
        .put_tier_snapshot("monthly", "2026-11", &newer)
        .unwrap();
    assert_eq!(
        ts.store.tier_snapshot("monthly", "2026-11").unwrap(),
        Some(newer)
    );
    assert_eq!(ts.store.tier_snapshot("monthly", "2026-10").unwrap(), None);
}

#[test]
fn the_outbox_table_is_there_for_the_delivery_stage() {
    let ts = fresh();
    let conn = ts.store.connection();
    conn.execute(
        "INSERT INTO outbox (job, period, team, message_id, recipients, subject, eml, status, \
         created_at, updated_at) VALUES ('daily', '2026-11-22', 'ops', '<x@y>', 'a@b', 's', \
         x'0102', 'pending', 1, 1)",
        [],
    )
    .unwrap();
    let (attempts, resend, sent): (i64, i64, Option<i64>) = conn
        .query_row("SELECT attempts, resend, sent_at FROM outbox", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((attempts, resend, sent), (0, 0, None));
    let indexed: String = conn
        .query_row(
            "SELECT group_concat(name) FROM pragma_index_info('outbox_job_period_team')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexed, "job,period,team");
}
