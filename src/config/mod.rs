//! Configuration in two phases (SPEC §3).
//!
//! Phase one reads `storepulse.toml` and every `jobs/*.toml` into raw serde
//! types that reject unknown keys (`raw`). Phase two (`build`) resolves paths
//! against the config file's folder, parses zones, cron-free enums and
//! dataset names, cross-checks teams and jobs, and returns either a complete
//! [`Config`] or every problem found, each with its file and key, so
//! `storepulse validate` can list them all in one go.
//!
//! Sections that belong to another stage (`smtp`, `tiers`, `daemon`, a job's
//! `checks`, a dataset's `http`) are carried as TOML tables and built by that
//! stage's own config types, which report their problems the same way; the
//! last step of loading (`stages`) has them do so, so a load lists those
//! problems too.

mod build;
mod error;
mod overrides;
mod raw;
pub mod section;
mod stages;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;

use crate::model::{Dataset, TrafficType};
use crate::period::PeriodKind;

pub use build::{load, load_str, load_str_unchecked, load_unchecked};
pub use error::{ConfigError, ConfigErrors};
pub use overrides::Override;

/// Where to find the global config when `--config` is not given.
pub const CONFIG_ENV: &str = "STOREPULSE_CONFIG";

/// The resolved configuration of one storepulse installation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The global config file.
    pub file: PathBuf,
    pub shop: String,
    pub timezone: Tz,
    pub locale: Locale,
    pub inbox: PathBuf,
    pub state: PathBuf,
    pub out: PathBuf,
    pub archive: PathBuf,
    pub templates: PathBuf,
    pub delivery: DeliveryMode,
    /// `[smtp]` as written; built by the deliver stage.
    pub smtp: Option<toml::Table>,
    /// `[daemon]` as written; built by the schedule stage.
    pub daemon: Option<toml::Table>,
    /// `[tiers]` as written; built by the tiers computation.
    pub tiers: Option<toml::Table>,
    /// Global `[checks]` defaults as written.
    pub checks: Option<toml::Table>,
    pub datasets: BTreeMap<Dataset, DatasetConfig>,
    pub traffic_types: BTreeMap<String, TrafficType>,
    pub targets: TargetsConfig,
    pub teams: BTreeMap<String, Team>,
    pub jobs: BTreeMap<String, Job>,
}

impl Config {
    pub fn dataset(&self, d: Dataset) -> &DatasetConfig {
        // `build` inserts every dataset, configured or not.
        &self.datasets[&d]
    }

    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.get(name)
    }

    /// The folder the global config file lives in.
    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locale {
    ZhCn,
    En,
}

impl Locale {
    pub fn parse(s: &str) -> Option<Locale> {
        match s {
            "zh-CN" | "zh" | "zh_CN" => Some(Locale::ZhCn),
            "en" | "en-US" | "en_US" => Some(Locale::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    Smtp,
    /// Messages are written as `.eml` into the run folder and kept in the
    /// outbox; nothing leaves the machine.
    OutboxOnly,
}

/// How a members export is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembersMode {
    /// Each file lists every member as of its date.
    Snapshot,
    /// Each file lists the members who joined or changed that day.
    Increment,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    Inbox,
    /// `[datasets.<name>.http]` as written; built by the HTTP source.
    Http(toml::Table),
}

#[derive(Debug, Clone)]
pub struct DatasetConfig {
    pub dataset: Dataset,
    /// Glob below the inbox with `{date}` / `{yyyymmdd}` placeholders.
    pub pattern: String,
    pub mode: MembersMode,
    pub sheet: Option<String>,
    pub aliases: std::collections::HashMap<String, Vec<String>>,
    pub source: SourceKind,
}

#[derive(Debug, Clone, Default)]
pub struct TargetsConfig {
    pub file: Option<PathBuf>,
    /// month (`2026-11`) → metric → target.
    pub months: BTreeMap<String, BTreeMap<String, rust_decimal::Decimal>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pii {
    Masked,
    Full,
}

#[derive(Debug, Clone)]
pub struct Team {
    /// ASCII id (`ops`); safe in file names.
    pub id: String,
    /// Display name (`运营`).
    pub name: String,
    pub recipients: Vec<String>,
    pub cc: Vec<String>,
    pub locale: Locale,
    pub pii: Pii,
    pub layout: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFail {
    Hold,
    SendFlagged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catchup {
    Latest,
    All,
    None,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub file: PathBuf,
    pub display_name: String,
    pub period: PeriodKind,
    pub schedule: String,
    pub timezone: Tz,
    pub required: Vec<Dataset>,
    pub optional: Vec<Dataset>,
    pub tiers: bool,
    pub on_fail: OnFail,
    pub owners: Vec<String>,
    /// Team id → layout, for the teams that get a report from this job.
    pub teams: BTreeMap<String, String>,
    pub catchup: Catchup,
    pub max_catchup: u32,
    /// `skip` (default) or `queue`: what a fire does while the job runs.
    pub overlap: String,
    /// `[retries]` as written; built by the schedule stage.
    pub retries: Option<toml::Table>,
    pub timeout_secs: Option<u64>,
    pub step_timeout_secs: Option<u64>,
    /// The job's `[checks]` merged over the global defaults, as written.
    pub checks: toml::Table,
}

impl Job {
    /// Every dataset the job reads, required first.
    pub fn datasets(&self) -> impl Iterator<Item = (Dataset, bool)> + '_ {
        self.required
            .iter()
            .map(|d| (*d, true))
            .chain(self.optional.iter().map(|d| (*d, false)))
    }
}
