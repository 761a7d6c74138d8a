//! The `[tiers]` config table: raw serde shapes as written in TOML, and the
//! build step that checks them all at once and resolves defaults into
//! [`TierSettings`].
//!
//! Enumerated settings are read as plain strings so that one pass can report
//! every bad value with its key, instead of stopping at the first one serde
//! meets. Sections that belong to a mode not selected (thresholds while
//! scoring by quantiles) are accepted and ignored, so `--set` can switch the
//! mode without editing the file.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::segment::{Preset, RuleCoverage, ScoreRange, SegmentRule, rule_coverage};

/// `[tiers]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiersRaw {
    /// Days of the tier window ending on the as-of date, or `"all"`.
    pub window_days: Option<WindowRaw>,
    /// `"days"` (distinct purchase days) or `"orders"`.
    pub frequency: Option<String>,
    /// `"total"` or `"mean"`.
    pub monetary: Option<String>,
    /// `"quantiles"` or `"thresholds"`.
    pub scoring: Option<String>,
    /// Number of score levels (quantile bins), 2 to 9.
    pub q: Option<i64>,
    pub thresholds: Option<ThresholdsRaw>,
    /// A preset (`rf10`, `rfm11`, `cn8`) or `"custom"`.
    pub segments: Option<String>,
    /// The ordered rules when `segments = "custom"`.
    pub segment_rules: Option<Vec<SegmentRuleRaw>>,
    /// Segments whose members make the "high value at risk" action list.
    pub at_risk_segments: Option<Vec<String>>,
    pub levels: Option<Vec<LevelRaw>>,
    pub lifecycle: Option<LifecycleRaw>,
}

/// `window_days = 365` or `window_days = "all"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum WindowRaw {
    Days(i64),
    Word(String),
}

/// `[tiers.thresholds]`: ascending cut points, `q − 1` per metric.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsRaw {
    /// Days since the last purchase: score `q` up to the first cut, `q − 1`
    /// up to the second, …, 1 beyond the last.
    pub recency: Option<Vec<i64>>,
    /// Score 1 below the first cut, 2 from it, …, `q` from the last.
    pub frequency: Option<Vec<i64>>,
    /// Like frequency, in money.
    pub monetary: Option<Vec<Decimal>>,
}

/// One `[[tiers.segment_rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRuleRaw {
    pub id: Option<String>,
    pub label: Option<String>,
    pub r: Option<ScoreSpecRaw>,
    pub f: Option<ScoreSpecRaw>,
    pub m: Option<ScoreSpecRaw>,
}

/// `r = 5` or `r = [1, 2]` (inclusive); absent means any score.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum ScoreSpecRaw {
    One(i64),
    Range([i64; 2]),
}

/// One `[[tiers.levels]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelRaw {
    pub name: Option<String>,
    /// Net spend in the window from which the level applies.
    pub from: Option<Decimal>,
    /// Points multiplier (default 1.0).
    pub multiplier: Option<Decimal>,
    /// 保级: a member already at this level keeps it while spending at least this.
    pub keep: Option<Decimal>,
}

/// `[tiers.lifecycle]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRaw {
    pub active_days: Option<i64>,
    pub low_stickiness_days: Option<i64>,
}

/// A problem in the `[tiers]` table, naming its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierConfigProblem {
    /// Full dotted key, e.g. `tiers.levels[2].from`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for TierConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The window purchases are scored over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last `n` days up to and including the as-of date.
    Days(u32),
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrequencyBasis {
    /// Distinct purchase days.
    Days,
    /// Purchases (orders), several per day counted separately.
    Orders,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonetaryBasis {
    /// Net amount summed over the window.
    Total,
    /// Total divided by frequency, rounded half-even to 0.01.
    Mean,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scoring {
    Quantiles,
    Thresholds(Thresholds),
}

/// Resolved cut points, each list ascending and `q − 1` long.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    pub recency: Vec<i64>,
    pub frequency: Vec<i64>,
    pub monetary: Vec<Decimal>,
}

/// A member level (会员等级) of the shop's growth plan.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelDef {
    pub name: Arc<str>,
    pub from: Decimal,
    pub multiplier: Decimal,
    pub keep: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleThresholds {
    /// Recency up to this many days is active (活跃).
    pub active_days: u32,
    /// Recency up to this many days (and above `active_days`) is low-stickiness (低粘性).
    pub low_stickiness_days: u32,
}

/// The resolved `[tiers]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSettings {
    pub window: Window,
    pub frequency: FrequencyBasis,
    pub monetary: MonetaryBasis,
    /// Score levels: scores run 1..=q.
    pub q: u8,
    pub scoring: Scoring,
    /// Which preset the rules came from; `None` for custom rules.
    pub preset: Option<Preset>,
    pub rules: Vec<SegmentRule>,
    /// Segments listed as "high value at risk": the preset's choice unless
    /// configured; empty for custom rules unless configured.
    pub at_risk_segments: Vec<String>,
    /// Ascending by `from`; the first starts at 0.
    pub levels: Vec<LevelDef>,
    pub lifecycle: LifecycleThresholds,
}

impl Default for TierSettings {
    fn default() -> Self {
        // The defaults are a valid configuration; a failure here is a bug
        // caught by the `defaults_build` test.
        TiersRaw::default()
            .build()
            .expect("the default [tiers] settings are valid")
    }
}

const DEFAULT_LEVELS: [(&str, i64, i64); 4] = [
    ("小白", 0, 10),
    ("素人", 499, 12),
    ("达人", 999, 15),
    ("红人", 1999, 20),
];

/// Far beyond any real plan; keeps level and rule indices small.
const MAX_LEVELS: usize = 100;
const MAX_RULES: usize = 1000;

struct Problems(Vec<TierConfigProblem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(TierConfigProblem {
            key: key.into(),
            message: message.into(),
        });
    }
}

impl TiersRaw {
    /// Checks every key and resolves defaults; returns every problem found.
    pub fn build(&self) -> Result<TierSettings, Vec<TierConfigProblem>> {
        let mut p = Problems(Vec::new());

        let window = match &self.window_days {
            None => Window::Days(365),
            Some(WindowRaw::Word(w)) if w == "all" => Window::All,
            Some(WindowRaw::Days(n)) if (1..=36_600).contains(n) => Window::Days(*n as u32),
            Some(WindowRaw::Days(n)) => {
                p.add(
                    "tiers.window_days",
                    format!("{n} is out of range (1 to 36600 days, or \"all\")"),
                );
                Window::All
            }
            Some(WindowRaw::Word(w)) => {
                p.add(
                    "tiers.window_days",
                    format!("{w:?} is not a number of days or \"all\""),
                );
                Window::All
            }
        };

        let frequency = match self.frequency.as_deref() {
            None | Some("days") => FrequencyBasis::Days,
            Some("orders") => FrequencyBasis::Orders,
            Some(other) => {
                p.add(
                    "tiers.frequency",
                    format!("unknown value {other:?} (expected \"days\" or \"orders\")"),
                );
                FrequencyBasis::Days
            }
        };

        let monetary = match self.monetary.as_deref() {
            None | Some("total") => MonetaryBasis::Total,
            Some("mean") => MonetaryBasis::Mean,
            Some(other) => {
                p.add(
                    "tiers.monetary",
                    format!("unknown value {other:?} (expected \"total\" or \"mean\")"),
                );
                MonetaryBasis::Total
            }
        };

        let q = match self.q {
            None => 5,
            Some(n) if (2..=9).contains(&n) => n as u8,
            Some(n) => {
                p.add("tiers.q", format!("{n} is out of range (2 to 9)"));
                5
            }
        };

        let scoring = match self.scoring.as_deref() {
            None | Some("quantiles") => Scoring::Quantiles,
            Some("thresholds") => {
                Scoring::Thresholds(build_thresholds(self.thresholds.as_ref(), q, &mut p))
            }
            Some(other) => {
                p.add(
                    "tiers.scoring",
                    format!("unknown value {other:?} (expected \"quantiles\" or \"thresholds\")"),
                );
                Scoring::Quantiles
            }
        };

        let (preset, rules) = match self.segments.as_deref() {
            None => match &self.segment_rules {
                // Rules without a preset name can only mean custom rules.
                Some(raw) => (None, build_rules(raw, q, &mut p)),
                None => (Some(Preset::Rf10), Preset::Rf10.rules()),
            },
            Some("custom") => match &self.segment_rules {
                Some(raw) => (None, build_rules(raw, q, &mut p)),
                None => {
                    p.add(
                        "tiers.segment_rules",
                        "segments = \"custom\" needs [[tiers.segment_rules]]",
                    );
                    (None, Vec::new())
                }
            },
            Some(name) => match Preset::from_name(name) {
                Some(preset) => {
                    if self.segment_rules.is_some() {
                        p.add(
                            "tiers.segment_rules",
                            format!(
                                "rules are given but segments = {name:?} selects a preset; \
                                 set segments = \"custom\" to use them"
                            ),
                        );
                    }
                    (Some(preset), preset.rules())
                }
                None => {
                    p.add(
                        "tiers.segments",
                        format!(
                            "unknown preset {name:?} (expected \"rf10\", \"rfm11\", \"cn8\" or \"custom\")"
                        ),
                    );
                    (None, Vec::new())
                }
            },
        };

        let at_risk_segments = match &self.at_risk_segments {
            Some(ids) => {
                for (i, id) in ids.iter().enumerate() {
                    if !rules.is_empty() && !rules.iter().any(|r| r.id.as_ref() == id) {
                        p.add(
                            format!("tiers.at_risk_segments[{i}]"),
                            format!("no segment rule has the id {id:?}"),
                        );
                    }
                }
                ids.clone()
            }
            None => match preset {
                Some(preset) => preset
                    .at_risk_segments()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                None => Vec::new(),
            },
        };

        let levels = build_levels(self.levels.as_deref(), &mut p);
        let lifecycle = build_lifecycle(self.lifecycle.as_ref(), &mut p);

        if p.0.is_empty() {
            Ok(TierSettings {
                window,
                frequency,
                monetary,
                q,
                scoring,
                preset,
                rules,
                at_risk_segments,
                levels,
                lifecycle,
            })
        } else {
            Err(p.0)
        }
    }
}

fn build_thresholds(raw: Option<&ThresholdsRaw>, q: u8, p: &mut Problems) -> Thresholds {
    let want = usize::from(q) - 1;
    let empty = ThresholdsRaw::default();
    // A missing table is one problem, not three missing keys.
    let report_missing = raw.is_some();
    let raw = raw.unwrap_or_else(|| {
        p.add(
            "tiers.thresholds",
            "scoring = \"thresholds\" needs [tiers.thresholds] with recency, frequency and monetary",
        );
        &empty
    });

    fn check<T: PartialOrd + Copy + fmt::Display>(
        key: &str,
        list: Option<&Vec<T>>,
        want: usize,
        min: T,
        p: &mut Problems,
        report_missing: bool,
    ) -> Vec<T> {
        let key = format!("tiers.thresholds.{key}");
        let Some(list) = list else {
            if report_missing {
                p.add(key, format!("missing: give {want} ascending cut points"));
            }
            return Vec::new();
        };
        if list.len() != want {
            p.add(
                key.clone(),
                format!(
                    "has {} cut points; q = {} needs {want}",
                    list.len(),
                    want + 1
                ),
            );
        }
        for (i, v) in list.iter().enumerate() {
            if *v < min {
                p.add(format!("{key}[{i}]"), format!("{v} is below {min}"));
            }
            if i > 0 && list[i - 1] >= *v {
                p.add(
                    format!("{key}[{i}]"),
                    format!("{v} is not above the previous cut point {}", list[i - 1]),
                );
            }
        }
        list.clone()
    }

    Thresholds {
        recency: check("recency", raw.recency.as_ref(), want, 0, p, report_missing),
        frequency: check(
            "frequency",
            raw.frequency.as_ref(),
            want,
            1,
            p,
            report_missing,
        ),
        monetary: check(
            "monetary",
            raw.monetary.as_ref(),
            want,
            Decimal::ZERO,
            p,
            report_missing,
        ),
    }
}

fn build_range(key: String, spec: Option<ScoreSpecRaw>, q: u8, p: &mut Problems) -> ScoreRange {
    let (lo, hi) = match spec {
        None => return ScoreRange::new(1, q),
        Some(ScoreSpecRaw::One(n)) => (n, n),
        Some(ScoreSpecRaw::Range([lo, hi])) => (lo, hi),
    };
    let q_i = i64::from(q);
    if lo < 1 || hi > q_i || lo > hi {
        p.add(
            key,
            format!("[{lo}, {hi}] is not a score range within 1..={q} (low ≤ high)"),
        );
        return ScoreRange::new(1, q);
    }
    ScoreRange::new(lo as u8, hi as u8)
}

fn build_rules(raw: &[SegmentRuleRaw], q: u8, p: &mut Problems) -> Vec<SegmentRule> {
    if raw.is_empty() {
        p.add("tiers.segment_rules", "no rules given");
    }
    if raw.len() > MAX_RULES {
        p.add(
            "tiers.segment_rules",
            format!("{} rules; at most {MAX_RULES} are supported", raw.len()),
        );
    }
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let key = format!("tiers.segment_rules[{i}]");
        let id = match r.id.as_deref() {
            None => {
                p.add(format!("{key}.id"), "missing");
                format!("rule{i}")
            }
            Some(id) => {
                let ok = !id.is_empty()
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    p.add(
                        format!("{key}.id"),
                        format!("{id:?} must be non-empty lowercase ASCII letters, digits or _"),
                    );
                }
                if !seen.insert(id.to_string()) {
                    p.add(
                        format!("{key}.id"),
                        format!("{id:?} is used by an earlier rule"),
                    );
                }
                id.to_string()
            }
        };
        rules.push(SegmentRule {
            id: id.into(),
            label: r.label.clone().map(Arc::from),
            r: build_range(format!("{key}.r"), r.r, q, p),
            f: build_range(format!("{key}.f"), r.f, q, p),
            m: build_range(format!("{key}.m"), r.m, q, p),
        });
    }
    rules
}

fn build_levels(raw: Option<&[LevelRaw]>, p: &mut Problems) -> Vec<LevelDef> {
    let Some(raw) = raw else {
        return DEFAULT_LEVELS
            .iter()
            .map(|(name, from, mult)| LevelDef {
                name: Arc::from(*name),
                from: Decimal::from(*from),
                multiplier: Decimal::new(*mult, 1),
                keep: None,
            })
            .collect();
    };
    if raw.is_empty() {
        p.add("tiers.levels", "no levels given");
    }
    if raw.len() > MAX_LEVELS {
        p.add(
            "tiers.levels",
            format!("{} levels; at most {MAX_LEVELS} are supported", raw.len()),
        );
    }
    let mut seen = HashSet::new();
    let mut levels: Vec<LevelDef> = Vec::with_capacity(raw.len());
    for (i, l) in raw.iter().enumerate() {
        let key = format!("tiers.levels[{i}]");
        let name = match l.name.as_deref().map(str::trim) {
            None | Some("") => {
                p.add(format!("{key}.name"), "missing");
                format!("level{i}")
            }
            Some(n) => {
                if !seen.insert(n.to_string()) {
                    p.add(
                        format!("{key}.name"),
                        format!("{n:?} is used by an earlier level"),
                    );
                }
                n.to_string()
            }
        };
        let from = match l.from {
            None => {
                p.add(format!("{key}.from"), "missing");
                Decimal::ZERO
            }
            Some(from) => from,
        };
        if i == 0 && from != Decimal::ZERO {
            p.add(
                format!("{key}.from"),
                format!(
                    "the first level must start at 0 (so every member has a level), not {from}"
                ),
            );
        }
        if let Some(prev) = levels.last()
            && from <= prev.from
        {
            p.add(
                format!("{key}.from"),
                format!("{from} is not above the previous level's {}", prev.from),
            );
        }
        let multiplier = l.multiplier.unwrap_or(Decimal::ONE);
        if multiplier <= Decimal::ZERO {
            p.add(
                format!("{key}.multiplier"),
                format!("{multiplier} must be positive"),
            );
        }
        if let Some(keep) = l.keep {
            if i == 0 {
                p.add(
                    format!("{key}.keep"),
                    "the lowest level cannot be lost, so it has no keep threshold",
                );
            } else if keep < Decimal::ZERO || keep >= from {
                p.add(
                    format!("{key}.keep"),
                    format!("{keep} must be at least 0 and below the level's from ({from})"),
                );
            }
        }
        levels.push(LevelDef {
            name: Arc::from(name),
            from,
            multiplier,
            keep: l.keep,
        });
    }
    levels
}

fn build_lifecycle(raw: Option<&LifecycleRaw>, p: &mut Problems) -> LifecycleThresholds {
    let raw = raw.cloned().unwrap_or_default();
    let mut days = |key: &str, v: Option<i64>, default: u32| match v {
        None => default,
        Some(n) if (0..=36_600).contains(&n) => n as u32,
        Some(n) => {
            p.add(
                format!("tiers.lifecycle.{key}"),
                format!("{n} is out of range (0 to 36600 days)"),
            );
            default
        }
    };
    let active_days = days("active_days", raw.active_days, 30);
    let low_stickiness_days = days("low_stickiness_days", raw.low_stickiness_days, 90);
    if active_days >= low_stickiness_days {
        p.add(
            "tiers.lifecycle.low_stickiness_days",
            format!("{low_stickiness_days} must be above active_days ({active_days})"),
        );
    }
    LifecycleThresholds {
        active_days,
        low_stickiness_days,
    }
}

impl TierSettings {
    /// What `validate` reports about the segment rules: rules that can never
    /// match and score cells no rule covers.
    pub fn coverage(&self) -> RuleCoverage {
        rule_coverage(&self.rules, self.q)
    }

    /// Builds settings from the text of a `[tiers]` table body (for tests and
    /// tools; the config stage deserialises the whole file instead).
    pub fn from_toml(text: &str) -> Result<TierSettings, Vec<TierConfigProblem>> {
        let raw: TiersRaw = toml::from_str(text).map_err(|e| {
            vec![TierConfigProblem {
                key: "tiers".into(),
                message: e.to_string(),
            }]
        })?;
        raw.build()
    }
}
