//! One golden text dump per shipped layout over the fixed fixture shop.
//! `UPDATE_GOLDEN=1 cargo test --test render_golden` rewrites the files in
//! tests/golden/; otherwise every sheet's cells must match them.

#[path = "golden/fixture.rs"]
mod fixture;

use storepulse::config::{Locale, Pii};
use storepulse::render::{load_labels, load_layouts, render_workbook};

const LAYOUTS: &[(&str, &str, Pii)] = &[
    ("ops", "运营", Pii::Full),
    ("service", "客服", Pii::Full),
    ("design", "美工", Pii::Masked),
    ("marketing", "推广", Pii::Masked),
    ("crm", "会员", Pii::Masked),
    ("warehouse", "仓储", Pii::Masked),
    ("management", "管理层", Pii::Masked),
];

#[test]
fn every_layout_matches_its_golden_dump() {
    let fx = fixture::fixture();
    let layouts = load_layouts(&fixture::templates()).unwrap();
    let labels = load_labels(&fixture::templates(), Locale::ZhCn).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (layout, team_name, pii) in LAYOUTS {
        let team = fixture::team(layout, team_name, *pii, Locale::ZhCn);
        let data = fx.data(&team, true);
        let l = layouts.get(layout).unwrap();
        let out = render_workbook(l, &data, &labels, dir.path()).unwrap();
        fixture::check_golden(
            &format!("{layout}.txt"),
            &fixture::mask(&fixture::dump(&out.path), usize::MAX),
        );
    }
}

#[test]
fn english_ops_matches_its_golden_dump() {
    let fx = fixture::fixture();
    let layouts = load_layouts(&fixture::templates()).unwrap();
    let labels = load_labels(&fixture::templates(), Locale::En).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let team = fixture::team("ops", "Ops", Pii::Masked, Locale::En);
    let out = render_workbook(
        layouts.get("ops").unwrap(),
        &fx.data(&team, true),
        &labels,
        dir.path(),
    )
    .unwrap();
    fixture::check_golden(
        "ops.en.txt",
        &fixture::mask(&fixture::dump(&out.path), usize::MAX),
    );
}

/// Writes every layout's workbook over the fixture into `$RENDER_OUT`, for
/// scripts/render_png.sh to turn into pictures.
#[test]
#[ignore = "writes files for scripts/render_png.sh"]
fn write_fixture_workbooks() {
    let out = std::path::PathBuf::from(std::env::var("RENDER_OUT").expect("RENDER_OUT"));
    let fx = fixture::fixture();
    let layouts = load_layouts(&fixture::templates()).unwrap();
    let labels = load_labels(&fixture::templates(), Locale::ZhCn).unwrap();
    for (layout, team_name, pii) in LAYOUTS {
        let team = fixture::team(layout, team_name, *pii, Locale::ZhCn);
        let out = render_workbook(
            layouts.get(layout).unwrap(),
            &fx.data(&team, true),
            &labels,
            &out,
        )
        .unwrap();
        assert!(out.path.exists());
    }
}
