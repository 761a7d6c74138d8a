//! README stays true: every KPI id, check id and dataset a user can meet is
//! documented there.

use storepulse::check::check_catalog;
use storepulse::compute::kpi::kpi_catalog;
use storepulse::model::Dataset;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md at the crate root")
}

#[test]
fn every_kpi_id_is_documented() {
    let text = readme();
    let missing: Vec<_> = kpi_catalog()
        .iter()
        .filter(|k| !text.contains(&format!("`{}`", k.id)))
        .map(|k| k.id)
        .collect();
    assert!(missing.is_empty(), "KPIs missing from README: {missing:?}");
}

#[test]
fn every_check_id_is_documented() {
    let text = readme();
    let missing: Vec<_> = check_catalog()
        .iter()
        .filter(|c| !text.contains(&format!("`{}`", c.id)))
        .map(|c| c.id)
        .collect();
    assert!(
        missing.is_empty(),
        "checks missing from README: {missing:?}"
    );
}

#[test]
fn every_dataset_is_named_in_the_config_reference() {
    let text = readme();
    for d in Dataset::ALL {
        assert!(text.contains(d.name()), "dataset {d} missing from README");
    }
}
