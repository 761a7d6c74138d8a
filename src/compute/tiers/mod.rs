//! Member tiers (SPEC §9): RFM scores and segments, the shop's member levels
//! with their changes, purchase classes A/B/C, lifecycle stages, repurchase
//! cycles and the crm team's action lists, computed from the purchase stream
//! as of a period's last day.
//!
//! Two horizons are used, and the split is deliberate:
//!
//! | from purchases… | feeds |
//! |---|---|
//! | inside the tier window (`window_days` ending on as-of, or all) | frequency, monetary, R/F/M scores, segment, level spend |
//! | up to the as-of date, window or not | first/last purchase, recency, class, lifecycle, repurchase cycle |
//!
//! So a member whose last purchase predates a 365-day window is not
//! "potential" (A) but a silent buyer worth reactivating; the store may
//! stream the whole history or only the window, and the second row is only
//! as long as what it streams. Purchases after the as-of date are skipped.
//!
//! Definitions the SPEC leaves open, fixed here:
//! - `monetary = "mean"` is the window total divided by frequency (per day or
//!   per order, following `frequency`), rounded half-even to 0.01; F × M is
//!   then the total under either setting.
//! - Classes count purchases the way `frequency` does: distinct days by
//!   default (two orders on one day are one purchase, B), orders with
//!   `frequency = "orders"`.
//! - The repurchase cycle always counts distinct days, as SPEC's formula says.
//! - Level spend is the window's net total whatever `monetary` says. Keep
//!   thresholds (保级) only protect the previous level itself: a member below
//!   it and below its keep threshold falls to the level their spend earns.
//! - A previous level name that is not configured any more cannot be
//!   compared: the change is `new` and the old name stays in `level_prev`.
//! - Members listed are the union of the member export, everyone with a
//!   purchase, and everyone in the previous evaluation (members do not
//!   vanish from the programme); rows are in member_id byte order. Members
//!   without a purchase in the window show frequency and monetary 0 and no
//!   scores or segment.
//!
//! Scale: purchases are folded as they stream in ([`PurchaseAggregator`]),
//! so only a compact state per member is held; previous levels are best
//! handed over sorted by member_id (a store query), which joins them without
//! hashing. Rows are borrowed views ([`MemberTier`]) over that state.
//! - A 29 February birthday falls on 28 February in other years.

mod aggregate;
mod config;
mod evaluate;
mod score;
mod segment;
pub mod synthetic;

use chrono::NaiveDate;
use rust_decimal::Decimal;

pub use aggregate::{Aggregate, PurchaseAggregator, sort_purchases};
pub use config::{
    FrequencyBasis, LevelDef, LevelRaw, LifecycleRaw, LifecycleThresholds, MonetaryBasis,
    ScoreSpecRaw, Scoring, SegmentRuleRaw, Thresholds, ThresholdsRaw, TierConfigProblem,
    TierSettings, TiersRaw, Window, WindowRaw,
};
pub use evaluate::{
    ActionCounts, ActionLists, Birthday, MemberBirthday, PreviousLevels, TierResult, TierSummary,
    compute_tiers, evaluate,
};
pub use score::{
    quantile_bin, quantile_bins, quantile_bins_u32, threshold_score_recency, threshold_score_up,
};
pub use segment::{
    Preset, RuleCoverage, ScoreCell, ScoreRange, SegmentRule, classify, rule_coverage,
};

/// Why a tier computation could not run. Every variant is permanent: the
/// same input fails the same way.
#[derive(Debug, thiserror::Error)]
pub enum TierError {
    #[error(
        "purchase {index}: member {member_id:?} on {day} comes after member {prev_member_id:?} \
         on {prev_day}; purchases must be sorted by member_id (byte order), then day"
    )]
    Unsorted {
        /// 1-based position in the stream.
        index: u64,
        member_id: String,
        day: NaiveDate,
        prev_member_id: String,
        prev_day: NaiveDate,
    },
    #[error(
        "purchase {index}: member {member_id:?} on {day} has net amount {net}, which is not a purchase"
    )]
    NotAPurchase {
        index: u64,
        member_id: String,
        day: NaiveDate,
        net: Decimal,
    },
    #[error("purchase {index}: empty member_id")]
    EmptyMemberId { index: u64 },
}

/// Level movement against the previous evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LevelChange {
    Up,
    Down,
    Same,
    /// No previous level to compare with.
    New,
}

impl LevelChange {
    pub const ALL: [LevelChange; 4] = [
        LevelChange::Up,
        LevelChange::Down,
        LevelChange::Same,
        LevelChange::New,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LevelChange::Up => "up",
            LevelChange::Down => "down",
            LevelChange::Same => "same",
            LevelChange::New => "new",
        }
    }
}

/// Purchase class: A no purchase (potential), B one (needs another nudge),
/// C two or more (loyal core).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PurchaseClass {
    A,
    B,
    C,
}

impl PurchaseClass {
    pub const ALL: [PurchaseClass; 3] = [PurchaseClass::A, PurchaseClass::B, PurchaseClass::C];

    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseClass::A => "A",
            PurchaseClass::B => "B",
            PurchaseClass::C => "C",
        }
    }
}

/// Lifecycle stage (人群分层).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    /// 潜在: no purchase.
    Potential,
    /// 活跃: recency ≤ active_days.
    Active,
    /// 低粘性: recency ≤ low_stickiness_days.
    LowStickiness,
    /// 沉默: longer ago.
    Silent,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 4] = [
        Lifecycle::Potential,
        Lifecycle::Active,
        Lifecycle::LowStickiness,
        Lifecycle::Silent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Potential => "potential",
            Lifecycle::Active => "active",
            Lifecycle::LowStickiness => "low_stickiness",
            Lifecycle::Silent => "silent",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Lifecycle::Potential => "潜在",
            Lifecycle::Active => "活跃",
            Lifecycle::LowStickiness => "低粘性",
            Lifecycle::Silent => "沉默",
        }
    }
}

/// One member's row: exactly the columns of member_tiers.csv (SPEC §12).
/// Borrowed from a [`TierResult`], so listing two million members allocates
/// nothing per row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemberTier<'a> {
    pub member_id: &'a str,
    pub first_purchase: Option<NaiveDate>,
    pub last_purchase: Option<NaiveDate>,
    /// as_of − last purchase, in days.
    pub recency_days: Option<u32>,
    /// In the window: distinct days or orders, per `frequency`.
    pub frequency: u32,
    /// In the window: total or mean net amount, per `monetary`.
    pub monetary: Decimal,
    pub r_score: Option<u8>,
    pub f_score: Option<u8>,
    pub m_score: Option<u8>,
    pub segment: Option<&'a str>,
    pub level: &'a str,
    pub level_prev: Option<&'a str>,
    pub level_change: LevelChange,
    pub class: PurchaseClass,
    pub lifecycle: Lifecycle,
    /// (last − first) / (purchase days − 1), rounded half-even to 0.01.
    pub cycle_days: Option<Decimal>,
}
