//! Data checks and the operations team's routine business checks (SPEC §8).
//!
//! Every check is a pure function of what the run has already loaded: an
//! ingest summary per dataset ([`DatasetInput`]), the period's facts and
//! KPIs, the previous period and daily KPI snapshots. Each produces a
//! [`CheckResult`] record; the worst level decides the run's status.
//! Which checks run follows the job's period ([`CheckSet`]); thresholds,
//! levels and switches come from the job's `[checks.<id>]` tables
//! ([`ChecksConfig`]). A check that needs an optional dataset the run does
//! not have reports a warn-level "skipped" rather than failing.
//!
//! Titles, messages and sample details are in the run's locale (`zh-CN`
//! or English). A skipped check is recognisable in any locale by its
//! `observed` value, the string `"skipped"`.

/// A message in the run's language: the Chinese text for `zh-CN`, the
/// English one otherwise. Both take the same arguments.
macro_rules! tr {
    ($ctx:expr, $zh:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        if $ctx.zh {
            format!($zh $(, $arg)*)
        } else {
            format!($en $(, $arg)*)
        }
    };
}

mod catalog;
mod config;
mod daily;
mod data;
mod monthly;
mod weekly;

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::compute::kpi::{KpiSet, PeriodFacts};
use crate::model::Dataset;
use crate::model::facts::{SourceRef, StockWindow};
use crate::period::{Period, PeriodKind};

pub use catalog::{CheckDef, Direction, Family, check_catalog, check_def};
pub use config::{CheckConfigError, CheckSettings, ChecksConfig, RawCheck, RawChecks};

/// Most sample rows a result carries.
pub const MAX_SAMPLES: usize = 20;

/// A check's verdict, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Pass,
    Warn,
    Fail,
    /// The check itself could not be evaluated.
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "fail",
            Level::Error => "error",
        }
    }
}

/// One row behind a result, pointing at its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub file: String,
    /// 1-based row in that file; 0 when the sample is not a source row
    /// (an aggregate such as a campaign or an agent).
    pub row: u64,
    pub detail: String,
}

impl Sample {
    pub fn at(src: &SourceRef, detail: impl Into<String>) -> Sample {
        Sample {
            file: src.file.to_string(),
            row: src.row,
            detail: detail.into(),
        }
    }

    /// A sample that is a derived line rather than a source row.
    pub fn note(detail: impl Into<String>) -> Sample {
        Sample {
            file: String::new(),
            row: 0,
            detail: detail.into(),
        }
    }
}

/// The record of one check, as summary.json, the ledger and the checks
/// sheet carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check id, with `.<dataset>` for data checks (`row_count.orders`).
    pub id: String,
    pub title: String,
    pub level: Level,
    pub observed: Json,
    /// The threshold the observed value was held against (the fail one
    /// when it failed, else the warn one); null for rule checks.
    pub threshold: Json,
    /// What the observed value was compared with (median, mean, previous).
    pub baseline: Json,
    pub message: String,
    /// At most [`MAX_SAMPLES`].
    pub samples: Vec<Sample>,
}

impl CheckResult {
    /// A check that could not be evaluated.
    pub fn error(
        id: impl Into<String>,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        CheckResult {
            id: id.into(),
            title: title.into(),
            level: Level::Error,
            observed: Json::Null,
            threshold: Json::Null,
            baseline: Json::Null,
            message: message.into(),
            samples: Vec::new(),
        }
    }
}

/// The worst level of a run's results (`pass` for none).
pub fn worst_level(results: &[CheckResult]) -> Level {
    results.iter().map(|r| r.level).max().unwrap_or(Level::Pass)
}

/// A row the parser rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidRow {
    pub file: String,
    pub row: u64,
    pub column: String,
    pub reason: String,
}

/// A key seen on more than one row.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateKey {
    pub file: String,
    pub row: u64,
    /// The key as text (`order_id`, or `date/sku_id` for per-day datasets).
    pub key: String,
    /// Row of the first occurrence.
    pub first_row: u64,
}

/// What ingest learned about one dataset for the run's period.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInput {
    pub dataset: Dataset,
    /// The job lists the dataset as required (else optional).
    pub required: bool,
    /// An export was found for the period.
    pub present: bool,
    pub files: Vec<String>,
    /// Accepted data rows.
    pub records: u64,
    /// Required columns the header did not have.
    pub missing_columns: Vec<String>,
    pub invalid: Vec<InvalidRow>,
    pub duplicate_keys: Vec<DuplicateKey>,
    pub rows_outside_period: u64,
    /// Rows for the run's day (the row-count check's numerator).
    pub row_count_today: u64,
    /// Rows of each of the previous 7 days that had an export.
    pub trailing_counts: Vec<u64>,
}

impl DatasetInput {
    /// A dataset with no export found and nothing counted yet.
    pub fn new(dataset: Dataset, required: bool) -> DatasetInput {
        DatasetInput {
            dataset,
            required,
            present: false,
            files: Vec::new(),
            records: 0,
            missing_columns: Vec::new(),
            invalid: Vec::new(),
            duplicate_keys: Vec::new(),
            rows_outside_period: 0,
            row_count_today: 0,
            trailing_counts: Vec::new(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.dataset.name()
    }
}

/// Member counts for the member-growth check (members dataset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberGrowth {
    pub members_at_start: u64,
    pub members_at_end: u64,
    pub joined_in_period: u64,
    pub joined_previous_period: Option<u64>,
}

/// Level changes from the member-tier evaluation (SPEC §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TierChanges {
    pub up: u64,
    pub down: u64,
    pub same: u64,
    pub new: u64,
}

/// The store-level repurchase cycle from the tier computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepurchaseCycle {
    /// Σ(last − first) / Σ(purchase days − 1) over repeat buyers; `None`
    /// without repeat buyers.
    pub store_cycle_days: Option<Decimal>,
    pub repeat_buyers: u64,
}

/// Everything the checks read.
#[derive(Debug, Clone)]
pub struct CheckInputs<'a> {
    /// Titles in Chinese (`zh-CN`) or English.
    pub zh: bool,
    pub datasets: &'a [DatasetInput],
    pub facts: &'a PeriodFacts,
    pub kpis: &'a KpiSet,
    /// The previous period's facts (weekly mix and movers).
    pub previous_facts: Option<&'a PeriodFacts>,
    /// The previous period's KPIs.
    pub previous: Option<&'a KpiSet>,
    /// Daily KPI snapshots; the daily moves read the 7 days before the
    /// period and the target pace the month to date (including the day).
    pub history: &'a BTreeMap<NaiveDate, KpiSet>,
    /// The stock window up to the period's last day; without one the
    /// stock checks read the period's own product rows.
    pub stock: Option<&'a StockWindow>,
    /// SKUs that sold (a products export day with paid units > 0) in the
    /// `zero_sellers.days` ending with the period's last day
    /// ([`ChecksConfig::zero_seller_days`]).
    pub sold_in_window: Option<&'a HashSet<String>>,
    pub members: Option<MemberGrowth>,
    pub tier_changes: Option<TierChanges>,
    pub repurchase: Option<RepurchaseCycle>,
}

impl<'a> CheckInputs<'a> {
    /// Inputs with no history and none of the optional extras.
    pub fn new(facts: &'a PeriodFacts, kpis: &'a KpiSet, datasets: &'a [DatasetInput]) -> Self {
        static EMPTY: BTreeMap<NaiveDate, KpiSet> = BTreeMap::new();
        CheckInputs {
            zh: true,
            datasets,
            facts,
            kpis,
            previous_facts: None,
            previous: None,
            history: &EMPTY,
            stock: None,
            sold_in_window: None,
            members: None,
            tier_changes: None,
            repurchase: None,
        }
    }

    pub fn period(&self) -> Period {
        self.facts.period
    }

    /// Whether the run has the dataset. A dataset without an ingest summary
    /// is taken as absent.
    pub fn has(&self, d: Dataset) -> bool {
        self.datasets.iter().any(|i| i.dataset == d && i.present)
    }
}

/// The checks a job runs: the data checks plus its period's family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSet {
    pub ids: Vec<&'static str>,
}

impl CheckSet {
    /// day → daily self-check, week → weekly review, month → monthly review.
    pub fn for_period(kind: PeriodKind) -> CheckSet {
        let family = match kind {
            PeriodKind::Day => Family::Daily,
            PeriodKind::Week => Family::Weekly,
            PeriodKind::Month => Family::Monthly,
        };
        CheckSet {
            ids: check_catalog()
                .iter()
                .filter(|d| d.family == Family::Data || d.family == family)
                .map(|d| d.id)
                .collect(),
        }
    }
}

/// Runs the enabled checks of a set, in catalogue order.
pub fn run_checks(set: &CheckSet, cfg: &ChecksConfig, inputs: &CheckInputs) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for id in &set.ids {
        let (Some(def), Some(settings)) = (check_def(id), cfg.get(id)) else {
            continue;
        };
        if !settings.enabled {
            continue;
        }
        let ctx = Ctx {
            def,
            s: settings,
            zh: inputs.zh,
        };
        let results = match def.family {
            Family::Data => data::run(&ctx, inputs),
            Family::Daily => vec![daily::run(&ctx, inputs)],
            Family::Weekly => vec![weekly::run(&ctx, inputs)],
            Family::Monthly => vec![monthly::run(&ctx, inputs)],
        };
        out.extend(results.into_iter().flatten());
    }
    for r in &mut out {
        r.samples.truncate(MAX_SAMPLES);
    }
    for r in &out {
        if r.level > Level::Pass {
            tracing::info!(check = %r.id, level = r.level.as_str(), message = %r.message, "check");
        }
    }
    out
}

/// One check's definition and settings while it runs.
pub(crate) struct Ctx<'a> {
    pub def: &'static CheckDef,
    pub s: &'a CheckSettings,
    pub zh: bool,
}

impl Ctx<'_> {
    fn title(&self, suffix: Option<&str>) -> String {
        let t = if self.zh { self.def.zh } else { self.def.en };
        match suffix {
            Some(s) => format!("{t} · {s}"),
            None => t.to_string(),
        }
    }

    /// A breach reports at the configured `level` when one is set.
    fn breach_level(&self, level: Level) -> Level {
        match (level, self.s.level) {
            (Level::Warn | Level::Fail, Some(fixed)) => fixed,
            _ => level,
        }
    }

    /// The level for an observed value against the thresholds.
    fn grade(&self, x: Decimal) -> Level {
        let breach = |t: Option<Decimal>| match self.def.direction {
            Direction::Above => t.is_some_and(|t| x > t),
            Direction::Below => t.is_some_and(|t| x < t),
            Direction::Rule => false,
        };
        if breach(self.s.fail) {
            Level::Fail
        } else if breach(self.s.warn) {
            Level::Warn
        } else {
            Level::Pass
        }
    }

    /// The threshold that applies to a level (fail's when failing).
    fn threshold_for(&self, level: Level) -> Json {
        let t = if level >= Level::Fail {
            self.s.fail
        } else {
            self.s.warn
        };
        t.map_or(Json::Null, num)
    }

    fn result(&self, id_suffix: Option<&str>, level: Level, message: String) -> CheckResult {
        let level = self.breach_level(level);
        let id = match id_suffix {
            Some(s) => format!("{}.{s}", self.def.id),
            None => self.def.id.to_string(),
        };
        CheckResult {
            id,
            title: self.title(id_suffix),
            level,
            observed: Json::Null,
            threshold: Json::Null,
            baseline: Json::Null,
            message,
            samples: Vec::new(),
        }
    }

    /// A graded result: level from the thresholds (or the configured level).
    fn graded(&self, id_suffix: Option<&str>, observed: Decimal, message: String) -> CheckResult {
        let level = self.grade(observed);
        let mut r = self.result(id_suffix, level, message);
        r.observed = num(observed);
        r.threshold = self.threshold_for(level);
        r
    }

    /// A check that cannot run without a dataset the job has as optional.
    fn skipped(&self, id_suffix: Option<&str>, why: &str) -> CheckResult {
        let message = tr!(self, "已跳过：{why}", "skipped: {why}");
        let mut r = self.result(id_suffix, Level::Pass, message);
        r.level = Level::Warn;
        r.observed = Json::String("skipped".into());
        r
    }

    /// "no <dataset> export" in the run's language.
    fn no_export(&self, d: Dataset) -> String {
        let zh_name = match d {
            Dataset::Orders => "订单",
            Dataset::OrderItems => "订单明细",
            Dataset::Traffic => "流量",
            Dataset::Products => "商品",
            Dataset::Members => "会员",
            Dataset::Service => "客服",
            Dataset::Ads => "推广",
            Dataset::Targets => "目标",
        };
        if self.zh {
            format!("没有{zh_name}数据")
        } else {
            format!("no {} export", d.name())
        }
    }
}

/// An exact decimal as a JSON number (JSON readers hold numbers as floats).
pub(crate) fn num(d: Decimal) -> Json {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Json::Null, Json::Number)
}

/// Percent text for messages: 0.1234 → "12.3%".
pub(crate) fn pct(d: Decimal) -> String {
    format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(1).normalize())
}

/// Money text for messages, half-even to the fen as SPEC §7 displays it:
/// ¥1234.50.
pub(crate) fn yuan(d: Decimal) -> String {
    let mut r = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven);
    r.rescale(2);
    format!("¥{r}")
}

pub(crate) fn truncate_samples(mut samples: Vec<Sample>) -> Vec<Sample> {
    samples.truncate(MAX_SAMPLES);
    samples
}
