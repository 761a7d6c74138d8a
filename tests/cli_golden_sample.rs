//! Golden dumps of the workbooks the real pipeline writes for the sample
//! shop: every team of `daily-ops` for 2026-11-22 and the crm workbook of
//! `monthly-members` for 2026-10. The generated-at line is the one thing
//! masked; everything else (KPIs, checks, tiers, masking) must match, for
//! the first rows of each sheet.
//! `UPDATE_GOLDEN=1 cargo test --test cli_golden_sample` rewrites them.

mod support;

#[path = "golden/fixture.rs"]
mod fixture;

use std::path::Path;

use support::Workspace;

/// Rows kept per sheet: the crm action lists run to thousands of members,
/// and their head shows order and masking as well as the whole would.
const ROWS_PER_SHEET: usize = 120;

fn check(dir: &Path, file: &str, golden: &str) {
    let actual = fixture::mask(&fixture::dump(&dir.join(file)), ROWS_PER_SHEET);
    fixture::check_golden(&format!("sample/{golden}"), &actual);
}

#[test]
fn sample_workbooks_match_their_goldens() {
    let ws = Workspace::new();
    ws.run(&["run-job", "daily-ops", "--date", "2026-11-22"])
        .no_panic();
    let daily = ws.run_folder("daily-ops", "2026-11-22");
    for (team, golden) in [
        ("运营", "ops.txt"),
        ("客服", "service.txt"),
        ("美工", "design.txt"),
        ("推广", "marketing.txt"),
        ("仓储", "warehouse.txt"),
        ("管理层", "management.txt"),
    ] {
        check(&daily, &format!("{team}_日报_2026-11-22.xlsx"), golden);
    }
    ws.run(&["run-job", "monthly-members", "--period", "2026-10"])
        .no_panic();
    let monthly = ws.run_folder("monthly-members", "2026-10");
    check(&monthly, "会员_会员月报_2026-10.xlsx", "crm.txt");
}
