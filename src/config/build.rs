//! Phase two: resolve and validate the raw config, collecting every problem.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::raw::{RawDataset, RawGlobal, RawJob, RawTeam};
use super::section::{deserialize, join};
use super::{
    Catchup, Config, ConfigErrors, DatasetConfig, DeliveryMode, Job, Locale, MembersMode, OnFail,
    Override, Pii, SourceKind, TargetsConfig, Team,
};
use crate::model::{Dataset, TrafficType};
use crate::period::PeriodKind;

/// The shop's zone when the config names none.
const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

/// Loads `storepulse.toml` at `path`, the job files it points at, and applies
/// `--set` overrides. Returns every problem at once.
pub fn load(path: &Path, overrides: &[Override]) -> Result<Config, ConfigErrors> {
    load_str(path, &read(path)?, overrides)
}

/// Like [`load`], with the global file's text given (job files are still
/// read from disk, relative to `path`).
pub fn load_str(path: &Path, text: &str, overrides: &[Override]) -> Result<Config, ConfigErrors> {
    load_inner(path, text, overrides, true)
}

/// Loads the files without building the sections other stages own
/// (`[tiers]`, `[smtp]`, `[daemon]`, HTTP sources, checks, schedules):
/// for tests of those stages' own validation.
pub fn load_unchecked(path: &Path, overrides: &[Override]) -> Result<Config, ConfigErrors> {
    load_inner(path, &read(path)?, overrides, false)
}

/// [`load_unchecked`] with the global file's text given.
pub fn load_str_unchecked(
    path: &Path,
    text: &str,
    overrides: &[Override],
) -> Result<Config, ConfigErrors> {
    load_inner(path, text, overrides, false)
}

fn read(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        let mut errors = ConfigErrors::default();
        errors.push(path, "", format!("cannot read config file: {e}"));
        errors
    })
}

fn load_inner(
    path: &Path,
    text: &str,
    overrides: &[Override],
    stages: bool,
) -> Result<Config, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let mut table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            errors.push(path, "", format!("not valid TOML: {e}"));
            return Err(errors);
        }
    };
    for o in overrides {
        if let Err(e) = super::overrides::apply(&mut table, &o.path, o.value.clone()) {
            errors.push(path, o.path.join("."), format!("--set: {e}"));
        }
    }
    let raw: RawGlobal = deserialize(&table, path, "", &mut errors).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let config = build(path, &dir, raw, &mut errors);
    if stages {
        super::stages::check(&config, &mut errors);
    }
    errors.into_result(config)
}

fn build(path: &Path, dir: &Path, raw: RawGlobal, errors: &mut ConfigErrors) -> Config {
    let timezone = parse_tz(
        raw.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE),
        path,
        "timezone",
        errors,
    );
    let locale = match raw.locale.as_deref() {
        None => Locale::ZhCn,
        Some(s) => Locale::parse(s).unwrap_or_else(|| {
            errors.push(
                path,
                "locale",
                format!("unknown locale {s:?} (expected zh-CN or en)"),
            );
            Locale::ZhCn
        }),
    };
    let resolve = |p: Option<&str>, default: &str| dir.join(p.unwrap_or(default));
    let smtp_host = raw
        .smtp
        .as_ref()
        .and_then(|t| t.get("host"))
        .and_then(|v| v.as_str())
        .is_some_and(|h| !h.is_empty());
    let delivery = match raw.delivery.as_deref() {
        None if smtp_host => DeliveryMode::Smtp,
        None => DeliveryMode::OutboxOnly,
        Some("smtp") => {
            if !smtp_host {
                errors.push(path, "smtp.host", "delivery = \"smtp\" needs an SMTP host");
            }
            DeliveryMode::Smtp
        }
        Some("outbox-only") => DeliveryMode::OutboxOnly,
        Some(other) => {
            errors.push(
                path,
                "delivery",
                format!("unknown delivery {other:?} (expected smtp or outbox-only)"),
            );
            DeliveryMode::OutboxOnly
        }
    };

    let datasets = build_datasets(path, &raw.datasets, errors);
    let traffic_types = build_traffic_types(path, &raw.traffic_types, errors);
    let targets = build_targets(path, dir, &raw.targets, errors);
    let teams = build_teams(path, &raw.teams, locale, errors);
    let jobs_dir = resolve(raw.jobs_dir.as_deref(), "jobs");
    let jobs = load_jobs(
        &jobs_dir,
        &raw.jobs,
        timezone,
        &teams,
        raw.checks.as_ref(),
        path,
        errors,
    );

    Config {
        file: path.to_path_buf(),
        shop: raw.shop.unwrap_or_else(|| "storepulse".to_string()),
        timezone,
        locale,
        inbox: resolve(raw.inbox.as_deref(), "inbox"),
        state: resolve(raw.state.as_deref(), "var/storepulse.db"),
        out: resolve(raw.out.as_deref(), "var/out"),
        archive: resolve(raw.archive.as_deref(), "var/archive"),
        templates: resolve(raw.templates.as_deref(), "templates"),
        delivery,
        smtp: raw.smtp,
        daemon: raw.daemon,
        tiers: raw.tiers,
        checks: raw.checks,
        datasets,
        traffic_types,
        targets,
        teams,
        jobs,
    }
}

fn parse_tz(s: &str, file: &Path, key: &str, errors: &mut ConfigErrors) -> Tz {
    Tz::from_str(s).unwrap_or_else(|_| {
        errors.push(file, key, format!("unknown IANA time zone {s:?}"));
        Tz::Asia__Shanghai
    })
}

/// Ids become folder and file names, so they are restricted to a safe set:
/// no separators, no `..`, nothing a shell or a mail client trips over.
pub fn is_safe_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn build_datasets(
    path: &Path,
    raw: &BTreeMap<String, toml::Table>,
    errors: &mut ConfigErrors,
) -> BTreeMap<Dataset, DatasetConfig> {
    for name in raw.keys() {
        if let Err(e) = name.parse::<Dataset>() {
            errors.push(path, format!("datasets.{name}"), e);
        }
    }
    Dataset::ALL
        .into_iter()
        .map(|d| {
            let key = format!("datasets.{}", d.name());
            let r: RawDataset = raw
                .get(d.name())
                .and_then(|t| deserialize(t, path, &key, errors))
                .unwrap_or_default();
            (d, build_dataset(d, r, path, &key, errors))
        })
        .collect()
}

fn build_dataset(
    d: Dataset,
    r: RawDataset,
    path: &Path,
    key: &str,
    errors: &mut ConfigErrors,
) -> DatasetConfig {
    let pattern = r
        .pattern
        .unwrap_or_else(|| format!("{{date}}/{}.*", d.name()));
    if let Err(e) = crate::source::pattern::validate(&pattern) {
        errors.push(path, join(key, "pattern"), e);
    }
    let mode = match r.mode.as_deref() {
        None | Some("increment") => MembersMode::Increment,
        Some("snapshot") => MembersMode::Snapshot,
        Some(other) => {
            errors.push(
                path,
                join(key, "mode"),
                format!("unknown mode {other:?} (expected snapshot or increment)"),
            );
            MembersMode::Increment
        }
    };
    if r.mode.is_some() && d != Dataset::Members {
        errors.push(path, join(key, "mode"), "mode applies to members only");
    }
    let mut aliases = HashMap::new();
    for (field, list) in r.aliases {
        if d.field_index(&field).is_none() {
            let names: Vec<_> = d.fields().iter().map(|f| f.name).collect();
            errors.push(
                path,
                join(key, &format!("aliases.{field}")),
                format!("{d} has no field {field:?} (fields: {})", names.join(", ")),
            );
        }
        aliases.insert(field, list);
    }
    let source = match (r.source.as_deref(), r.http) {
        (None | Some("inbox"), None) => SourceKind::Inbox,
        (Some("http") | None, Some(t)) => SourceKind::Http(t),
        (Some("http"), None) => {
            errors.push(
                path,
                join(key, "http"),
                "source = \"http\" needs an [http] table",
            );
            SourceKind::Inbox
        }
        (Some("inbox"), Some(_)) => {
            errors.push(
                path,
                join(key, "http"),
                "an [http] table needs source = \"http\"",
            );
            SourceKind::Inbox
        }
        (Some(other), _) => {
            errors.push(
                path,
                join(key, "source"),
                format!("unknown source {other:?} (expected inbox or http)"),
            );
            SourceKind::Inbox
        }
    };
    DatasetConfig {
        dataset: d,
        pattern,
        mode,
        sheet: r.sheet,
        aliases,
        source,
    }
}

/// The shipped mapping of common Tmall / Taobao / JD / Douyin traffic
/// sources; config entries are added on top and win.
fn default_traffic_types() -> BTreeMap<String, TrafficType> {
    use TrafficType::*;
    [
        ("手淘搜索", Free),
        ("手淘推荐", Free),
        ("手淘首页", Free),
        ("购物车", Free),
        ("我的淘宝", Free),
        ("直接访问", Free),
        ("直通车", Paid),
        ("引力魔方", Paid),
        ("万相台", Paid),
        ("淘宝客", Paid),
        ("巨量千川", Paid),
        ("京东快车", Paid),
        ("聚划算", Campaign),
        ("天猫活动", Campaign),
        ("淘抢购", Campaign),
        ("逛逛", Content),
        ("淘宝直播", Content),
        ("短视频", Content),
        ("其他", Other),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn build_traffic_types(
    path: &Path,
    raw: &BTreeMap<String, String>,
    errors: &mut ConfigErrors,
) -> BTreeMap<String, TrafficType> {
    let mut map = default_traffic_types();
    for (source, ty) in raw {
        match TrafficType::parse(ty) {
            Some(t) => {
                map.insert(source.clone(), t);
            }
            None => errors.push(
                path,
                format!("traffic_types.{source}"),
                format!("unknown traffic type {ty:?} (expected free, paid, campaign, content, other or 免费/付费/活动/内容/其他)"),
            ),
        }
    }
    map
}

fn build_targets(
    path: &Path,
    dir: &Path,
    raw: &super::raw::RawTargets,
    errors: &mut ConfigErrors,
) -> TargetsConfig {
    let file = raw.file.as_ref().map(|f| dir.join(f));
    if let Some(f) = &file
        && !f.is_file()
    {
        errors.push(
            path,
            "targets.file",
            format!("{} does not exist", f.display()),
        );
    }
    let mut months = BTreeMap::new();
    for (month, metrics) in &raw.months {
        if chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
            errors.push(
                path,
                format!("targets.months.{month}"),
                "month must look like 2026-11",
            );
            continue;
        }
        let mut m = BTreeMap::new();
        for (metric, v) in metrics {
            let key = format!("targets.months.{month}.{metric}");
            let value = match v {
                toml::Value::Integer(i) => Some(Decimal::from(*i)),
                toml::Value::Float(f) => Decimal::from_str(&f.to_string()).ok(),
                toml::Value::String(s) => Decimal::from_str(s.trim()).ok(),
                _ => None,
            };
            match value {
                Some(d) if d > Decimal::ZERO => {
                    m.insert(metric.clone(), d);
                }
                _ => errors.push(
                    path,
                    key,
                    format!("target must be a positive number, got {v}"),
                ),
            }
        }
        months.insert(month.clone(), m);
    }
    TargetsConfig { file, months }
}

fn build_teams(
    path: &Path,
    raw: &BTreeMap<String, toml::Table>,
    default_locale: Locale,
    errors: &mut ConfigErrors,
) -> BTreeMap<String, Team> {
    let mut teams = BTreeMap::new();
    for (id, table) in raw {
        let key = format!("teams.{id}");
        if !is_safe_id(id) {
            errors.push(
                path,
                &key,
                "team id must be ASCII letters, digits, '-' or '_' (it names files)",
            );
        }
        let Some(r): Option<RawTeam> = deserialize(table, path, &key, errors) else {
            continue;
        };
        if r.name.trim().is_empty() || r.name.contains(['/', '\\']) || r.name.contains("..") {
            errors.push(
                path,
                join(&key, "name"),
                "display name must be non-empty and contain no path separators",
            );
        }
        for (field, list) in [("recipients", &r.recipients), ("cc", &r.cc)] {
            for (i, addr) in list.iter().enumerate() {
                if addr.parse::<lettre::Address>().is_err() {
                    errors.push(
                        path,
                        format!("{key}.{field}[{i}]"),
                        format!("not an email address: {addr:?}"),
                    );
                }
            }
        }
        let locale = match r.locale.as_deref() {
            None => default_locale,
            Some(s) => Locale::parse(s).unwrap_or_else(|| {
                errors.push(path, join(&key, "locale"), format!("unknown locale {s:?}"));
                default_locale
            }),
        };
        let pii = match r.pii.as_deref() {
            None | Some("masked") => Pii::Masked,
            Some("full") => Pii::Full,
            Some(other) => {
                errors.push(
                    path,
                    join(&key, "pii"),
                    format!("unknown pii {other:?} (expected masked or full)"),
                );
                Pii::Masked
            }
        };
        teams.insert(
            id.clone(),
            Team {
                id: id.clone(),
                name: r.name,
                recipients: r.recipients,
                cc: r.cc,
                locale,
                pii,
                layout: r.layout.unwrap_or_else(|| id.clone()),
            },
        );
    }
    teams
}

fn load_jobs(
    jobs_dir: &Path,
    overrides: &BTreeMap<String, toml::Table>,
    default_tz: Tz,
    teams: &BTreeMap<String, Team>,
    global_checks: Option<&toml::Table>,
    config_path: &Path,
    errors: &mut ConfigErrors,
) -> BTreeMap<String, Job> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(jobs_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            errors.push(
                config_path,
                "jobs_dir",
                format!("cannot read job folder {}: {e}", jobs_dir.display()),
            );
            return BTreeMap::new();
        }
    };
    files.sort();
    let mut jobs = BTreeMap::new();
    for file in files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(&file, "", format!("cannot read job file: {e}"));
                continue;
            }
        };
        let mut table: toml::Table = match toml::from_str(&text) {
            Ok(t) => t,
            Err(e) => {
                errors.push(&file, "", format!("not valid TOML: {e}"));
                continue;
            }
        };
        if let Some(o) = overrides.get(&stem) {
            merge_tables(&mut table, o);
        }
        let Some(raw): Option<RawJob> = deserialize(&table, &file, "", errors) else {
            continue;
        };
        if let Some(job) = build_job(&file, &stem, raw, default_tz, teams, global_checks, errors) {
            jobs.insert(job.name.clone(), job);
        }
    }
    for name in overrides.keys() {
        if !jobs.contains_key(name) && !jobs_dir.join(format!("{name}.toml")).is_file() {
            errors.push(
                config_path,
                format!("jobs.{name}"),
                format!("no job named {name:?} in {}", jobs_dir.display()),
            );
        }
    }
    jobs
}

/// Deep-merges `over` into `base` (tables merge, anything else replaces).
fn merge_tables(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

fn build_job(
    file: &Path,
    stem: &str,
    r: RawJob,
    default_tz: Tz,
    teams: &BTreeMap<String, Team>,
    global_checks: Option<&toml::Table>,
    errors: &mut ConfigErrors,
) -> Option<Job> {
    let before = errors.len();
    let name = r.name.clone().unwrap_or_else(|| stem.to_string());
    if name != stem {
        errors.push(
            file,
            "name",
            format!("job name {name:?} must match its file name {stem:?}"),
        );
    }
    if !is_safe_id(&name) {
        errors.push(
            file,
            "name",
            "job name must be ASCII letters, digits, '-' or '_' (it names folders)",
        );
    }
    let period = PeriodKind::from_str(&r.period).unwrap_or_else(|e| {
        errors.push(file, "period", e);
        PeriodKind::Day
    });
    let timezone = match &r.timezone {
        Some(s) => parse_tz(s, file, "timezone", errors),
        None => default_tz,
    };
    // The cron expression itself is checked by the schedule stage
    // (`run::scheduled::validate_schedules`), with the rest of the job's
    // scheduling keys, so every scheduling problem is reported together.
    let mut dataset_list = |list: &[String], key: &str| -> Vec<Dataset> {
        list.iter()
            .enumerate()
            .filter_map(|(i, s)| match s.parse::<Dataset>() {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(file, format!("datasets.{key}[{i}]"), e);
                    None
                }
            })
            .collect()
    };
    let required = dataset_list(&r.datasets.required, "required");
    let optional = dataset_list(&r.datasets.optional, "optional");
    for d in &required {
        if optional.contains(d) {
            errors.push(
                file,
                "datasets.optional",
                format!("{d} is listed as both required and optional"),
            );
        }
    }
    let on_fail = match r.on_fail.as_deref() {
        None | Some("hold") => OnFail::Hold,
        Some("send-flagged") => OnFail::SendFlagged,
        Some(other) => {
            errors.push(
                file,
                "on_fail",
                format!("unknown on_fail {other:?} (expected hold or send-flagged)"),
            );
            OnFail::Hold
        }
    };
    for (i, addr) in r.owners.iter().enumerate() {
        if addr.parse::<lettre::Address>().is_err() {
            errors.push(
                file,
                format!("owners[{i}]"),
                format!("not an email address: {addr:?}"),
            );
        }
    }
    let team_ids: Vec<String> = r
        .teams
        .clone()
        .unwrap_or_else(|| teams.keys().cloned().collect());
    let mut job_teams = BTreeMap::new();
    for (i, id) in team_ids.iter().enumerate() {
        match teams.get(id) {
            Some(t) => {
                let layout = r
                    .layouts
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| t.layout.clone());
                job_teams.insert(id.clone(), layout);
            }
            None => errors.push(file, format!("teams[{i}]"), format!("unknown team {id:?}")),
        }
    }
    for id in r.layouts.keys() {
        if !job_teams.contains_key(id) {
            errors.push(
                file,
                format!("layouts.{id}"),
                format!("team {id:?} does not get a report from this job"),
            );
        }
    }
    let catchup = match r.catchup.as_deref() {
        None | Some("latest") => Catchup::Latest,
        Some("all") => Catchup::All,
        Some("none") => Catchup::None,
        Some(other) => {
            errors.push(
                file,
                "catchup",
                format!("unknown catchup {other:?} (expected latest, all or none)"),
            );
            Catchup::Latest
        }
    };
    if let Some(o) = r.overlap.as_deref()
        && crate::schedule::Overlap::parse(o).is_none()
    {
        errors.push(
            file,
            "overlap",
            format!("unknown overlap {o:?} (expected skip or queue)"),
        );
    }
    let mut checks = global_checks.cloned().unwrap_or_default();
    if let Some(c) = &r.checks {
        merge_tables(&mut checks, c);
    }
    if errors.len() > before {
        return None;
    }
    Some(Job {
        display_name: r.display_name.unwrap_or_else(|| name.clone()),
        name,
        file: file.to_path_buf(),
        period,
        schedule: r.schedule.trim().to_string(),
        timezone,
        required,
        optional,
        tiers: r.tiers,
        on_fail,
        owners: r.owners,
        teams: job_teams,
        catchup,
        max_catchup: r.max_catchup.unwrap_or(7),
        overlap: r.overlap.clone().unwrap_or_else(|| "skip".to_string()),
        retries: r.retries,
        timeout_secs: r.timeout_secs,
        step_timeout_secs: r.step_timeout_secs,
        checks,
    })
}
