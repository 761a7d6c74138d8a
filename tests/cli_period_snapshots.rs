//! Week and month KPI snapshots through the real binary: a run stores its
//! own period's KPIs and compares with the stored ones of the period
//! before; an import changing a day of that period drops its snapshot (and
//! the later ones), so the next comparison is computed from the rows again.

mod support;

use serde_json::Value;
use support::{Workspace, csv_records, write_half_orders_export};

fn snapshot_value(ws: &Workspace, period: &str, kpi: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(ws.state()).unwrap();
    conn.query_row(
        "SELECT value FROM period_kpis WHERE period = ?1 AND kpi = ?2",
        [period, kpi],
        |r| r.get(0),
    )
    .ok()
}

fn previous_sales(ws: &Workspace) -> Value {
    let s = ws.summary("weekly-review", "2026-W47");
    s["comparisons"]["gross_sales"]["previous"].clone()
}

#[test]
fn a_week_compares_with_the_stored_week_before_until_its_rows_change() {
    let ws = Workspace::new();
    // The week before runs first and keeps its KPIs.
    ws.run(&[
        "run-job",
        "weekly-review",
        "--date",
        "2026-11-15",
        "--no-send",
    ])
    .no_panic();
    let stored = snapshot_value(&ws, "2026-W46", "gross_sales").expect("its own week kept");
    assert!(snapshot_value(&ws, "2026-W47", "gross_sales").is_none());
    let week = [
        "run-job",
        "weekly-review",
        "--date",
        "2026-11-22",
        "--no-send",
    ];
    ws.run(&week).no_panic();
    let first = ws.summary("weekly-review", "2026-W47");
    assert!(snapshot_value(&ws, "2026-W47", "gross_sales").is_some());
    assert_eq!(
        serde_json::from_str::<Value>(&stored).unwrap(),
        first["comparisons"]["gross_sales"]["previous"]
    );

    // The same comparisons as a store that never ran the week before.
    let fresh = Workspace::new();
    fresh.run(&week).no_panic();
    assert_eq!(
        fresh.summary("weekly-review", "2026-W47")["comparisons"],
        first["comparisons"]
    );

    // A re-run reads the stored week rather than its rows: a value put
    // there shows up as the previous week's.
    let conn = rusqlite::Connection::open(ws.state()).unwrap();
    conn.execute(
        "UPDATE period_kpis SET value = '\"1.00\"' WHERE period = '2026-W46' AND kpi = 'gross_sales'",
        [],
    )
    .unwrap();
    drop(conn);
    ws.run(&week).no_panic();
    assert_eq!(previous_sales(&ws), Value::from("1.00"));

    // A corrected export of a day of that week drops its snapshot.
    let file = ws.path().join("orders_2026-11-12_corrected.csv");
    let half = write_half_orders_export("2026-11-12", &file);
    assert!(csv_records(&half).len() > 10);
    ws.run(&["import", "orders", file.to_str().unwrap()])
        .expect_code(0);
    assert_eq!(snapshot_value(&ws, "2026-W46", "gross_sales"), None);
    // Orders reach forward (new or returning buyers, late payments): the
    // weeks after go too.
    assert_eq!(snapshot_value(&ws, "2026-W47", "gross_sales"), None);

    ws.run(&week).no_panic();
    let again = previous_sales(&ws);
    assert_ne!(again, Value::from("1.00"));
    assert_ne!(
        again, first["comparisons"]["gross_sales"]["previous"],
        "half of the 12th's orders are gone"
    );
}

/// A month compared with the stored month before equals one compared with
/// the month computed from its rows, targets included: they are applied
/// to a stored month when it is read, never kept in it.
#[test]
fn a_stored_month_compares_like_a_computed_one_targets_included() {
    let month = |ws: &Workspace, m: &str| {
        ws.run(&["run-job", "monthly-members", "--period", m, "--no-send"])
            .no_panic();
    };
    let warm = Workspace::new();
    month(&warm, "2026-09");
    // September's own run kept its KPIs, without the target ones.
    assert!(snapshot_value(&warm, "2026-09", "gross_sales").is_some());
    assert_eq!(
        snapshot_value(&warm, "2026-09", "target_completion.gross_sales"),
        None
    );
    month(&warm, "2026-10");
    let cold = Workspace::new();
    month(&cold, "2026-10");
    let (w, c) = (
        warm.summary("monthly-members", "2026-10"),
        cold.summary("monthly-members", "2026-10"),
    );
    let completion = &w["comparisons"]["target_completion.gross_sales"]["previous"];
    assert!(completion.is_number(), "{completion}");
    assert_eq!(w["comparisons"], c["comparisons"]);
    assert_eq!(w["kpis"], c["kpis"]);
}
