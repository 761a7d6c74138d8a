//! Raw configuration types: exactly what the TOML files say, with unknown
//! keys rejected. Nothing here is resolved or validated beyond types; see
//! `build` for that. Sections owned by other stages (`smtp`, `tiers`,
//! `daemon`, a job's `checks`, a dataset's `http`) are kept as tables here and
//! deserialised by their stage's own config types.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `storepulse.toml`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGlobal {
    /// Shop name shown on covers and in email subjects.
    pub shop: Option<String>,
    /// IANA zone of the shop (default `Asia/Shanghai`).
    pub timezone: Option<String>,
    /// `zh-CN` (default) or `en`.
    pub locale: Option<String>,
    /// Drop folder of daily exports.
    pub inbox: Option<String>,
    /// SQLite state file.
    pub state: Option<String>,
    /// Root of run folders.
    pub out: Option<String>,
    /// Raw copies of every ingested file.
    pub archive: Option<String>,
    /// Folder of `*.toml` job files (default `jobs`).
    pub jobs_dir: Option<String>,
    /// Folder of report layouts, translations and email templates.
    pub templates: Option<String>,
    /// `smtp` or `outbox-only` (default: `smtp` when `[smtp]` has a host).
    pub delivery: Option<String>,
    pub smtp: Option<toml::Table>,
    pub daemon: Option<toml::Table>,
    pub tiers: Option<toml::Table>,
    /// Default check thresholds for every job; a job's `[checks]` wins.
    pub checks: Option<toml::Table>,
    #[serde(default)]
    pub datasets: BTreeMap<String, toml::Table>,
    /// Traffic source → type (免费 free, 付费 paid, 活动 campaign, 内容 content, 其他 other).
    #[serde(default)]
    pub traffic_types: BTreeMap<String, String>,
    #[serde(default)]
    pub targets: RawTargets,
    #[serde(default)]
    pub teams: BTreeMap<String, toml::Table>,
    /// Overrides for job files, keyed by job name (filled by `--set jobs.<job>.<key>`).
    #[serde(default)]
    pub jobs: BTreeMap<String, toml::Table>,
}

/// `[targets]`: a CSV file of monthly targets and/or inline months.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTargets {
    /// CSV with 月份/month, 指标/metric, 目标/target columns.
    pub file: Option<String>,
    /// `"2026-11" = { gross_sales = 3000000, visitors = 900000 }`.
    #[serde(default)]
    pub months: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

/// `[datasets.<name>]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    /// Glob below the inbox with `{date}` / `{yyyymmdd}` placeholders.
    pub pattern: Option<String>,
    /// Members only: `snapshot` or `increment` (default).
    pub mode: Option<String>,
    /// Sheet name for Excel files (default: first sheet).
    pub sheet: Option<String>,
    /// Extra header aliases: canonical field → aliases.
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
    /// `inbox` (default) or `http`.
    pub source: Option<String>,
    /// HTTP source settings (when `source = "http"`).
    pub http: Option<toml::Table>,
}

/// `[teams.<id>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    /// Display name, used in file names (`运营`).
    pub name: String,
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    pub locale: Option<String>,
    /// `masked` (default) or `full`.
    pub pii: Option<String>,
    /// Report layout in `templates/reports/<layout>.toml` (default: the team id).
    pub layout: Option<String>,
}

/// A job file, `jobs/<name>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    /// Must equal the file stem when given.
    pub name: Option<String>,
    /// Shown in file names and subjects (`日报`).
    pub display_name: Option<String>,
    /// `day`, `week` or `month`.
    pub period: String,
    /// Cron expression (SPEC §6).
    pub schedule: String,
    /// IANA zone (default: the shop's).
    pub timezone: Option<String>,
    #[serde(default)]
    pub datasets: RawJobDatasets,
    /// Compute member tiers in this job.
    #[serde(default)]
    pub tiers: bool,
    /// `hold` (default) or `send-flagged`.
    pub on_fail: Option<String>,
    /// Who gets failure / recovery mails and held-run alerts.
    #[serde(default)]
    pub owners: Vec<String>,
    /// Teams that get a report from this job (default: all teams).
    pub teams: Option<Vec<String>>,
    /// Per-team layout overrides for this job.
    #[serde(default)]
    pub layouts: BTreeMap<String, String>,
    /// `latest` (default), `all` or `none`.
    pub catchup: Option<String>,
    pub max_catchup: Option<u32>,
    /// A fire while the job runs: `skip` (default, logged) or `queue`. A job
    /// never runs twice at once either way.
    pub overlap: Option<String>,
    pub retries: Option<toml::Table>,
    pub timeout_secs: Option<u64>,
    pub step_timeout_secs: Option<u64>,
    pub checks: Option<toml::Table>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawJobDatasets {
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub optional: Vec<String>,
}
