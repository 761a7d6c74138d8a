//! member_tiers.csv written from a real tier evaluation into a real folder.
//!

use storepulse::render::tiers_csv;

use std::collections::HashMap;

use chrono::NaiveDate;
use storepulse::compute::tiers::{TierSettings, compute_tiers};
use storepulse::model::facts::Purchase;

fn purchase(id: &str, day: &str, amount: &str) -> Purchase {
    Purchase {
        member_id: id.into(),
        day: day.parse().unwrap(),
        net_amount: amount.parse().unwrap(),
    }
}

#[test]
fn writes_the_file_atomically_with_every_member() {
    let previous: HashMap<String, String> = [("old".to_string(), "素人".to_string())].into();
    let result = compute_tiers(
        &TierSettings::default(),
        NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        "2026-11".parse().unwrap(),
        vec![
            purchase("=cmd", "2026-09-01", "10.5"),
            purchase("=cmd", "2026-10-01", "20"),
            purchase("b", "2026-10-31", "600"),
        ],
        Vec::new(),
        previous,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = tiers_csv::write_member_tiers_file(dir.path(), &result).unwrap();
    assert_eq!(path, dir.path().join("member_tiers.csv"));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["member_tiers.csv"], "no temp file left behind");

    let bytes = std::fs::read(&path).unwrap();
    let text = std::str::from_utf8(bytes.strip_prefix("\u{feff}".as_bytes()).unwrap()).unwrap();
    // Two scored members, so bins are 1 and 5. "=cmd": recency 30 (Oct 1 →
    // Oct 31), 2 days, 30.5 → R 1, F 5, M 1, cant_lose, cycle 30/1. "b":
    // recency 0, 1 day, 600 → R 5, F 1, M 5, new, level 素人. "old" only has
    // a previous level and drops to 小白.
    assert_eq!(
        text,
        "member_id,first_purchase,last_purchase,recency_days,frequency,monetary,r_score,f_score,m_score,segment,level,level_prev,level_change,class,lifecycle,cycle_days\r\n\
         '=cmd,2026-09-01,2026-10-01,30,2,30.5,1,5,1,cant_lose,小白,,new,C,active,30\r\n\
         b,2026-10-31,2026-10-31,0,1,600,5,1,5,new,素人,,new,B,active,\r\n\
         old,,,,0,0,,,,,小白,素人,down,A,potential,\r\n"
    );
}

#[test]
fn a_missing_folder_is_an_error_naming_the_path() {
    let result = compute_tiers(
        &TierSettings::default(),
        NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        "2026-11".parse().unwrap(),
        Vec::new(),
        Vec::new(),
        HashMap::new(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let err = tiers_csv::write_member_tiers_file(&missing, &result).unwrap_err();
    assert!(err.to_string().contains("no-such-folder"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}
