//! The `[tiers]` table: defaults, every bad key reported at once, presets
//! and the rule coverage report `validate` prints.

use rust_decimal::Decimal;
use storepulse::compute::tiers::{
    FrequencyBasis, MonetaryBasis, Preset, ScoreCell, Scoring, TierSettings, TiersRaw, Window,
    rule_coverage,
};

fn keys(text: &str) -> Vec<String> {
    let problems = TierSettings::from_toml(text).unwrap_err();
    problems.iter().map(|p| p.key.clone()).collect()
}

#[test]
fn defaults_build() {
    let s = TierSettings::default();
    assert_eq!(s.window, Window::Days(365));
    assert_eq!(s.frequency, FrequencyBasis::Days);
    assert_eq!(s.monetary, MonetaryBasis::Total);
    assert_eq!(s.scoring, Scoring::Quantiles);
    assert_eq!(s.q, 5);
    assert_eq!(s.preset, Some(Preset::Rf10));
    assert_eq!(s.rules.len(), 10);
    assert_eq!(s.at_risk_segments, ["at_risk", "cant_lose"]);
    let levels: Vec<(&str, Decimal, Decimal, Option<Decimal>)> = s
        .levels
        .iter()
        .map(|l| (&*l.name, l.from, l.multiplier, l.keep))
        .collect();
    assert_eq!(
        levels,
        vec![
            ("小白", Decimal::from(0), "1.0".parse().unwrap(), None),
            ("素人", Decimal::from(499), "1.2".parse().unwrap(), None),
            ("达人", Decimal::from(999), "1.5".parse().unwrap(), None),
            ("红人", Decimal::from(1999), "2.0".parse().unwrap(), None),
        ]
    );
    assert_eq!(
        (s.lifecycle.active_days, s.lifecycle.low_stickiness_days),
        (30, 90)
    );
    assert_eq!(TierSettings::from_toml("").unwrap(), s);
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let got = keys(
        r#"
window_days = 0
frequency = "visits"
monetary = "median"
scoring = "ranks"
q = 12
segments = "rfm12"
[lifecycle]
active_days = 90
low_stickiness_days = 30
[[levels]]
name = "小白"
from = 10
[[levels]]
name = "小白"
from = 5
multiplier = 0
keep = 7
"#,
    );
    assert_eq!(
        got,
        [
            "tiers.window_days",
            "tiers.frequency",
            "tiers.monetary",
            "tiers.q",
            "tiers.scoring",
            "tiers.segments",
            "tiers.levels[0].from",
            "tiers.levels[1].name",
            "tiers.levels[1].from",
            "tiers.levels[1].multiplier",
            "tiers.levels[1].keep",
            "tiers.lifecycle.low_stickiness_days",
        ]
    );
    assert_eq!(keys("window_days = \"forever\""), ["tiers.window_days"]);
    let msg = TierSettings::from_toml("frequency = \"visits\"").unwrap_err()[0].to_string();
    assert_eq!(
        msg,
        "tiers.frequency: unknown value \"visits\" (expected \"days\" or \"orders\")"
    );
}

#[test]
fn unknown_keys_are_rejected() {
    let problems = TierSettings::from_toml("window = 30").unwrap_err();
    assert!(
        problems[0].message.contains("unknown field `window`"),
        "{problems:?}"
    );
    assert!(TierSettings::from_toml("[lifecycle]\nsilent_days = 200").is_err());
    assert!(TierSettings::from_toml("[[segment_rules]]\nid = \"x\"\nrecency = 5").is_err());
}

#[test]
fn threshold_problems() {
    assert_eq!(keys("scoring = \"thresholds\""), ["tiers.thresholds"]);
    assert_eq!(
        keys(
            r#"
scoring = "thresholds"
[thresholds]
recency = [30, 30, 90, 180]
frequency = [0, 2, 3]
"#
        ),
        [
            "tiers.thresholds.recency[1]",
            "tiers.thresholds.frequency",
            "tiers.thresholds.frequency[0]",
            "tiers.thresholds.monetary",
        ]
    );
    // Thresholds are kept but unused while scoring by quantiles, so `--set
    // tiers.scoring=...` can switch modes.
    assert!(TierSettings::from_toml("[thresholds]\nrecency = [1]").is_ok());
}

#[test]
fn custom_rules() {
    let s = TierSettings::from_toml(
        r#"
segments = "custom"
at_risk_segments = ["slipping"]
[[segment_rules]]
id = "best"
label = "最佳"
r = [4, 5]
f = 5
[[segment_rules]]
id = "slipping"
r = [1, 2]
"#,
    )
    .unwrap();
    assert_eq!(s.preset, None);
    assert_eq!(s.rules.len(), 2);
    assert_eq!(s.rules[0].label.as_deref(), Some("最佳"));
    assert!(s.rules[0].matches(4, 5, 1) && !s.rules[0].matches(3, 5, 1));
    assert!(s.rules[1].matches(2, 1, 5));

    // Rules without `segments` mean custom too.
    assert!(
        TierSettings::from_toml("[[segment_rules]]\nid = \"all\"")
            .unwrap()
            .preset
            .is_none()
    );

    assert_eq!(
        keys(
            r#"
segments = "custom"
at_risk_segments = ["nope"]
[[segment_rules]]
id = "Bad Id"
r = [3, 1]
[[segment_rules]]
f = [0, 2]
[[segment_rules]]
id = "x"
m = 6
[[segment_rules]]
id = "x"
"#
        ),
        [
            "tiers.segment_rules[0].id",
            "tiers.segment_rules[0].r",
            "tiers.segment_rules[1].id",
            "tiers.segment_rules[1].f",
            "tiers.segment_rules[2].m",
            "tiers.segment_rules[3].id",
            "tiers.at_risk_segments[0]",
        ]
    );
    assert_eq!(keys("segments = \"custom\""), ["tiers.segment_rules"]);
    assert_eq!(
        keys("segments = \"rf10\"\n[[segment_rules]]\nid = \"a\""),
        ["tiers.segment_rules"]
    );
}

#[test]
fn presets_cover_every_cell_and_reach_every_rule() {
    for preset in [Preset::Rf10, Preset::Rfm11, Preset::Cn8] {
        let cov = rule_coverage(&preset.rules(), 5);
        assert!(cov.is_clean(), "{}: {cov:?}", preset.name());
        let s = TierSettings::from_toml(&format!("segments = \"{}\"", preset.name())).unwrap();
        assert_eq!(s.preset, Some(preset));
        for id in &s.at_risk_segments {
            assert!(s.rules.iter().any(|r| &*r.id == id.as_str()));
        }
    }
    assert_eq!(Preset::Rfm11.rules().len(), 11);
    let cn8 = Preset::Cn8.rules();
    assert_eq!(cn8.len(), 8);
    assert_eq!(cn8[0].label.as_deref(), Some("重要价值客户"));
    // High means score ≥ 3.
    assert_eq!(storepulse::compute::tiers::classify(&cn8, 3, 3, 3), Some(0));
    assert_eq!(storepulse::compute::tiers::classify(&cn8, 2, 2, 2), Some(7));
    assert_eq!(storepulse::compute::tiers::classify(&cn8, 5, 1, 4), Some(1));
}

#[test]
fn coverage_reports_dead_rules_and_holes() {
    let s = TierSettings::from_toml(
        r#"
q = 2
[[segment_rules]]
id = "top"
r = 2
[[segment_rules]]
id = "shadowed"
r = 2
f = 1
[[segment_rules]]
id = "low_f"
r = 1
f = 1
"#,
    )
    .unwrap();
    let cov = rule_coverage(&s.rules, s.q);
    assert_eq!(cov.never_matching, ["shadowed"]);
    assert_eq!(
        cov.uncovered,
        [
            ScoreCell { r: 1, f: 2, m: 1 },
            ScoreCell { r: 1, f: 2, m: 2 }
        ]
    );
    // A preset written for q = 5 used with q = 3: rules needing a 4 or 5 are dead.
    let s = TierSettings::from_toml("q = 3").unwrap();
    let cov = s.coverage();
    assert_eq!(
        cov.never_matching,
        [
            "champions",
            "loyal",
            "potential_loyalist",
            "new",
            "promising",
            "cant_lose"
        ]
    );
    assert!(cov.uncovered.is_empty());
}

#[test]
fn raw_default_is_the_empty_table() {
    assert_eq!(
        TiersRaw::default().build().unwrap(),
        TierSettings::default()
    );
}
