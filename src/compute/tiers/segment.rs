//! Segments: ordered rules over the R, F and M scores, first match wins,
//! and the three presets.
//!
//! Presets are written for the default `q = 5`; with another `q` some cells
//! go uncovered or some rules unreachable, which [`rule_coverage`] reports.
//!
//! `rf10` (the default) is the R × F grid of SPEC §9, M not used:
//!
//! | R \ F | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 1–2 | hibernating | hibernating | at_risk | at_risk | cant_lose |
//! | 3 | about_to_sleep | about_to_sleep | need_attention | loyal | loyal |
//! | 4 | promising | potential_loyalist | potential_loyalist | loyal | loyal |
//! | 5 | new | potential_loyalist | potential_loyalist | champions | champions |
//!
//! `rfm11`, the classic eleven RFM segments, as ordered rules (a missing
//! score means any):
//!
//! | # | id | R | F | M |
//! |---|---|---|---|---|
//! | 1 | champions | 4–5 | 4–5 | 4–5 |
//! | 2 | loyal_customers | 3–5 | 3–5 | |
//! | 3 | potential_loyalist | 4–5 | 2 | |
//! | 4 | new_customers | 5 | 1 | |
//! | 5 | promising | 4 | 1 | |
//! | 6 | need_attention | 3 | 2 | |
//! | 7 | about_to_sleep | 2–3 | 1–2 | |
//! | 8 | cant_lose | 1–2 | 4–5 | 4–5 |
//! | 9 | at_risk | 1–2 | 3–5 | |
//! | 10 | hibernating | 1 | 2 | |
//! | 11 | lost | 1 | 1 | |
//!
//! `cn8`, the Chinese eight-class RFM model (RFM 八大客户类型): each of R, F
//! and M is high (重要/高, score ≥ 3) or low; M decides 重要 vs 一般:
//!
//! | id | label | R | F | M |
//! |---|---|---|---|---|
//! | important_value | 重要价值客户 | high | high | high |
//! | important_develop | 重要发展客户 | high | low | high |
//! | important_retain | 重要保持客户 | low | high | high |
//! | important_recover | 重要挽留客户 | low | low | high |
//! | general_value | 一般价值客户 | high | high | low |
//! | general_develop | 一般发展客户 | high | low | low |
//! | general_retain | 一般保持客户 | low | high | low |
//! | general_recover | 一般挽留客户 | low | low | low |
//!
//! The "high value at risk" action list defaults to `at_risk` and
//! `cant_lose` for rf10 and rfm11, and to `important_retain` and
//! `important_recover` for cn8.

use std::sync::Arc;

/// An inclusive score range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreRange {
    pub lo: u8,
    pub hi: u8,
}

impl ScoreRange {
    pub fn new(lo: u8, hi: u8) -> ScoreRange {
        ScoreRange { lo, hi }
    }

    pub fn contains(&self, score: u8) -> bool {
        self.lo <= score && score <= self.hi
    }
}

/// One segment rule: a member whose scores fall in all three ranges belongs
/// to the segment, unless an earlier rule matched.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRule {
    /// ASCII id, as written to member_tiers.csv and summary.json.
    pub id: Arc<str>,
    /// Display label (Chinese for the presets).
    pub label: Option<Arc<str>>,
    pub r: ScoreRange,
    pub f: ScoreRange,
    pub m: ScoreRange,
}

impl SegmentRule {
    pub fn matches(&self, r: u8, f: u8, m: u8) -> bool {
        self.r.contains(r) && self.f.contains(f) && self.m.contains(m)
    }
}

/// A segment preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Rf10,
    Rfm11,
    Cn8,
}

type RawRule = (&'static str, &'static str, (u8, u8), (u8, u8), (u8, u8));

const ANY: (u8, u8) = (1, 5);
const HIGH: (u8, u8) = (3, 5);
const LOW: (u8, u8) = (1, 2);

const RF10: [RawRule; 10] = [
    ("champions", "冠军客户", (5, 5), (4, 5), ANY),
    ("loyal", "忠诚客户", (3, 4), (4, 5), ANY),
    ("potential_loyalist", "潜力客户", (4, 5), (2, 3), ANY),
    ("new", "新客户", (5, 5), (1, 1), ANY),
    ("promising", "有望客户", (4, 4), (1, 1), ANY),
    ("need_attention", "需要关注", (3, 3), (3, 3), ANY),
    ("about_to_sleep", "即将沉睡", (3, 3), (1, 2), ANY),
    ("cant_lose", "不能流失", (1, 2), (5, 5), ANY),
    ("at_risk", "流失风险", (1, 2), (3, 4), ANY),
    ("hibernating", "休眠客户", (1, 2), (1, 2), ANY),
];

const RFM11: [RawRule; 11] = [
    ("champions", "冠军客户", (4, 5), (4, 5), (4, 5)),
    ("loyal_customers", "忠诚客户", (3, 5), (3, 5), ANY),
    ("potential_loyalist", "潜力客户", (4, 5), (2, 2), ANY),
    ("new_customers", "新客户", (5, 5), (1, 1), ANY),
    ("promising", "有望客户", (4, 4), (1, 1), ANY),
    ("need_attention", "需要关注", (3, 3), (2, 2), ANY),
    ("about_to_sleep", "即将沉睡", (2, 3), (1, 2), ANY),
    ("cant_lose", "不能流失", (1, 2), (4, 5), (4, 5)),
    ("at_risk", "流失风险", (1, 2), (3, 5), ANY),
    ("hibernating", "休眠客户", (1, 1), (2, 2), ANY),
    ("lost", "已流失", (1, 1), (1, 1), ANY),
];

const CN8: [RawRule; 8] = [
    ("important_value", "重要价值客户", HIGH, HIGH, HIGH),
    ("important_develop", "重要发展客户", HIGH, LOW, HIGH),
    ("important_retain", "重要保持客户", LOW, HIGH, HIGH),
    ("important_recover", "重要挽留客户", LOW, LOW, HIGH),
    ("general_value", "一般价值客户", HIGH, HIGH, LOW),
    ("general_develop", "一般发展客户", HIGH, LOW, LOW),
    ("general_retain", "一般保持客户", LOW, HIGH, LOW),
    ("general_recover", "一般挽留客户", LOW, LOW, LOW),
];

impl Preset {
    pub fn from_name(name: &str) -> Option<Preset> {
        match name {
            "rf10" => Some(Preset::Rf10),
            "rfm11" => Some(Preset::Rfm11),
            "cn8" => Some(Preset::Cn8),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Rf10 => "rf10",
            Preset::Rfm11 => "rfm11",
            Preset::Cn8 => "cn8",
        }
    }

    /// The preset's rules in match order.
    pub fn rules(self) -> Vec<SegmentRule> {
        let raw: &[RawRule] = match self {
            Preset::Rf10 => &RF10,
            Preset::Rfm11 => &RFM11,
            Preset::Cn8 => &CN8,
        };
        raw.iter()
            .map(|&(id, label, r, f, m)| SegmentRule {
                id: Arc::from(id),
                label: Some(Arc::from(label)),
                r: ScoreRange::new(r.0, r.1),
                f: ScoreRange::new(f.0, f.1),
                m: ScoreRange::new(m.0, m.1),
            })
            .collect()
    }

    /// Segments of high-value members drifting away.
    pub fn at_risk_segments(self) -> &'static [&'static str] {
        match self {
            Preset::Rf10 | Preset::Rfm11 => &["at_risk", "cant_lose"],
            Preset::Cn8 => &["important_retain", "important_recover"],
        }
    }
}

/// Index of the first rule matching the scores.
pub fn classify(rules: &[SegmentRule], r: u8, f: u8, m: u8) -> Option<usize> {
    rules.iter().position(|rule| rule.matches(r, f, m))
}

/// A score cell (R, F, M).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScoreCell {
    pub r: u8,
    pub f: u8,
    pub m: u8,
}

/// What `validate` reports about a rule list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCoverage {
    /// Ids of rules that no score cell reaches (out of range, or every cell
    /// they match is taken by an earlier rule).
    pub never_matching: Vec<String>,
    /// Cells no rule covers, in (R, F, M) order; members there get no segment.
    pub uncovered: Vec<ScoreCell>,
}

impl RuleCoverage {
    pub fn is_clean(&self) -> bool {
        self.never_matching.is_empty() && self.uncovered.is_empty()
    }
}

/// Walks all q³ score cells and reports unreachable rules and uncovered cells.
pub fn rule_coverage(rules: &[SegmentRule], q: u8) -> RuleCoverage {
    let mut reached = vec![false; rules.len()];
    let mut uncovered = Vec::new();
    for r in 1..=q {
        for f in 1..=q {
            for m in 1..=q {
                match classify(rules, r, f, m) {
                    Some(i) => reached[i] = true,
                    None => uncovered.push(ScoreCell { r, f, m }),
                }
            }
        }
    }
    RuleCoverage {
        never_matching: rules
            .iter()
            .zip(&reached)
            .filter(|(_, hit)| !**hit)
            .map(|(rule, _)| rule.id.to_string())
            .collect(),
        uncovered,
    }
}
