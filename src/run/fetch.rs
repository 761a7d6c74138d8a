//! Fetch: bring HTTP-sourced exports into the inbox before the ingest
//! (SPEC §4.1).
//!
//! For every dataset the job reads whose source is `[datasets.<name>.http]`,
//! each day of the run's period is fetched into `<inbox>/<YYYY-MM-DD>/`
//! under a name the dataset's pattern matches (`file_name`, by default the
//! dataset's name, so the default pattern `{date}/<dataset>.*` matches). The
//! inbox ingest that follows then treats the download like any dropped-in
//! export: a new or changed file is ingested, an unchanged one (a 304) is
//! already registered and costs nothing. The HTTP source writes through a
//! hidden `.part` file, which the inbox scan skips, and renames only a whole
//! body into place, so a broken transfer never reaches the ingest.
//!
//! ETag / Last-Modified live in the store, keyed by the public URL. The
//! HTTP source wants a `Send + Sync` cache while a [`Store`] is not `Sync`,
//! so the entries for this run's URLs are read into a mutex-guarded map
//! before fetching and the new ones written back after, in one transaction,
//! also when the run fails part-way so finished downloads are not repeated.
//! A second connection was not used: it would compete with the run's own
//! connection for SQLite's write lock.
//!
//! Failures: an export not published yet, or a server in trouble, is a
//! transient [`RunError::Fetch`] (the scheduler tries again later; the run
//! never reports an empty day for a required dataset); wrong credentials or
//! an export still missing after its deadline is an input error. Both exit
//! with 3. An optional dataset whose export is missing is left out with a
//! warning, as an optional dataset missing from the inbox is; a day whose
//! earlier download is still in the inbox keeps it when the server is
//! unreachable or no longer has it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::RunError;
use crate::config::{Config, ConfigErrors, DatasetConfig, Job, SourceKind};
use crate::model::Dataset;
use crate::period::Period;
use crate::source::http::{
    self, Clock, FetchOutcome, HttpError, HttpSource, TokioSleeper, ValidatorCache, Validators,
};
use crate::source::pattern::DatePattern;
use crate::store::Store;

/// Extensions the parser reads; a `file_name` without one gets the one
/// the server's name or content type implies, any of these.
const EXTENSIONS: [&str; 5] = ["csv", "tsv", "txt", "xlsx", "xls"];

/// Checks every HTTP source of `config` as a run would build it: URL
/// templates, headers, secrets (environment variables and files exist), and
/// that the name downloads are saved under matches the dataset's pattern.
/// Problems are added to `errors`, each with its key.
pub fn validate_http(config: &Config, errors: &mut ConfigErrors) {
    for dc in config.datasets.values() {
        if let Some(Err(e)) = source_of(config, dc) {
            errors.0.extend(e.0);
        }
    }
}

/// Fetches the exports of `job`'s HTTP-sourced datasets for every day of
/// `period` into the inbox. `now` is the run's clock reading; the "not
/// published yet" deadline is measured against it.
pub async fn fetch_http(
    config: &Config,
    job: &Job,
    period: Period,
    now: DateTime<Utc>,
    store: &mut Store,
    cancel: &CancellationToken,
) -> Result<(), RunError> {
    let mut sources = Vec::new();
    let mut errors = ConfigErrors::default();
    for (dataset, required) in job.datasets() {
        if dataset == Dataset::Targets {
            continue;
        }
        match source_of(config, config.dataset(dataset)) {
            None => {}
            Some(Ok(src)) => sources.push(Planned {
                dataset,
                required,
                src,
            }),
            Some(Err(e)) => errors.0.extend(e.0),
        }
    }
    if !errors.is_empty() {
        return Err(RunError::Config(errors));
    }
    if sources.is_empty() {
        return Ok(());
    }
    let dates: Vec<NaiveDate> = period
        .start
        .iter_days()
        .take_while(|d| *d < period.end)
        .collect();
    let urls: Vec<String> = sources
        .iter()
        .flat_map(|p| dates.iter().map(|d| http::public_url(&p.src, *d)))
        .collect();
    let cache = RunCache::new(store.http_validators(&urls)?);
    let clock = RunClock {
        base: now,
        started: Instant::now(),
    };
    let result = fetch_all(config, &sources, &dates, &cache, &clock, cancel).await;
    let fresh = cache.into_fresh();
    if let Err(e) = store.put_http_validators(&fresh, now) {
        // Only costs a full download next time.
        warn!(error = %e, "HTTP validators not saved; the next run downloads again");
    }
    result
}

/// One dataset to fetch.
struct Planned {
    dataset: Dataset,
    required: bool,
    src: HttpSource,
}

async fn fetch_all(
    config: &Config,
    sources: &[Planned],
    dates: &[NaiveDate],
    cache: &RunCache,
    clock: &RunClock,
    cancel: &CancellationToken,
) -> Result<(), RunError> {
    for p in sources {
        for &date in dates {
            let dest = config.inbox.join(date.format("%Y-%m-%d").to_string());
            let result = tokio::select! {
                // Dropping the fetch removes its `.part` file.
                _ = cancel.cancelled() => return Err(RunError::Interrupted),
                r = http::fetch(&p.src, date, &dest, cache, clock, &TokioSleeper) => r,
            };
            match result {
                Ok(FetchOutcome::Downloaded { path, size, .. }) => {
                    info!(dataset = %p.dataset, %date, file = %path.display(), size, "fetched");
                }
                Ok(FetchOutcome::Unchanged { path, .. }) => {
                    info!(dataset = %p.dataset, %date, file = %path.display(), "unchanged since the last fetch");
                }
                Err(e) => {
                    let earlier = cache
                        .get(&http::public_url(&p.src, date))
                        .filter(|v| !v.file_name.is_empty() && dest.join(&v.file_name).is_file());
                    if let Some(reason) = tolerated(&e, p.required, earlier.is_some()) {
                        warn!(dataset = %p.dataset, %date, error = %e, "{reason}");
                        continue;
                    }
                    return Err(RunError::Fetch {
                        dataset: p.dataset.name().to_string(),
                        date,
                        source: e,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Why a failed fetch need not stop the run, if it need not.
fn tolerated(e: &HttpError, required: bool, earlier_in_inbox: bool) -> Option<&'static str> {
    let missing = matches!(
        e,
        HttpError::NotYet { .. } | HttpError::NotFound { .. } | HttpError::Empty { .. }
    );
    if missing && !required {
        return Some("optional export not available; the run goes on without it");
    }
    if (missing || e.is_transient()) && earlier_in_inbox {
        return Some("fetch failed; the earlier download in the inbox is used");
    }
    None
}

/// The dataset's HTTP source as a run uses it, `None` for an inbox source.
/// Whether any dataset `job` reads comes from an HTTP source.
pub fn has_http_sources(config: &Config, job: &Job) -> bool {
    job.datasets()
        .any(|(d, _)| matches!(config.dataset(d).source, SourceKind::Http(_)))
}

fn source_of(config: &Config, dc: &DatasetConfig) -> Option<Result<HttpSource, ConfigErrors>> {
    let SourceKind::Http(table) = &dc.source else {
        return None;
    };
    let key = format!("datasets.{}.http", dc.dataset.name());
    let built = http::build(table, &config.file, &key, config.timezone).and_then(|mut src| {
        let defaulted = src.file_name.is_none();
        if defaulted {
            src.file_name = Some(dc.dataset.name().to_string());
        }
        let mut errors = ConfigErrors::default();
        check_file_name(&src, dc, defaulted, &config.file, &mut errors);
        errors.into_result(src)
    });
    Some(built)
}

/// A download must land where the dataset's pattern looks, or the ingest
/// would never see it and the run would report the dataset missing.
fn check_file_name(
    src: &HttpSource,
    dc: &DatasetConfig,
    defaulted: bool,
    file: &Path,
    errors: &mut ConfigErrors,
) {
    // An invalid pattern is reported by the config build.
    let Ok(pattern) = DatePattern::new(&dc.pattern) else {
        return;
    };
    let Some(template) = src.file_name.as_deref() else {
        return;
    };
    // Any real date will do: placeholders only ever become digits.
    let Some(date) = NaiveDate::from_ymd_opt(2026, 1, 31) else {
        return;
    };
    let name = template
        .replace("{date}", &date.format("%Y-%m-%d").to_string())
        .replace("{yyyymmdd}", &date.format("%Y%m%d").to_string());
    let has_ext = name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    });
    let candidates: Vec<String> = if has_ext {
        vec![name]
    } else if let Some(ext) = &src.extension {
        vec![format!("{name}.{ext}")]
    } else {
        EXTENSIONS.iter().map(|e| format!("{name}.{e}")).collect()
    };
    let dir = date.format("%Y-%m-%d").to_string();
    if candidates
        .iter()
        .any(|c| pattern.date_of(Path::new(&format!("{dir}/{c}"))) == Some(date))
    {
        return;
    }
    let how = if defaulted {
        format!("without file_name, downloads are saved as {{date}}/{template}.<ext>")
    } else {
        format!("downloads are saved as {{date}}/{template}")
    };
    errors.push(
        file,
        format!("{}.file_name", src.key),
        format!(
            "{how}, which the dataset's pattern {:?} does not match; set file_name to a name the pattern matches (placeholders {{date}} and {{yyyymmdd}} allowed)",
            dc.pattern
        ),
    );
}

/// The run's clock reading, advancing with real time so `Retry-After`
/// dates stay right during a long fetch.
struct RunClock {
    base: DateTime<Utc>,
    started: Instant,
}

impl Clock for RunClock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// Validators read from the store for this run, plus those the fetches
/// produced, which go back to the store afterwards.
struct RunCache {
    inner: Mutex<CacheState>,
}

struct CacheState {
    entries: HashMap<String, Validators>,
    fresh: Vec<(String, Validators)>,
}

impl RunCache {
    fn new(entries: HashMap<String, Validators>) -> RunCache {
        RunCache {
            inner: Mutex::new(CacheState {
                entries,
                fresh: Vec::new(),
            }),
        }
    }

    fn into_fresh(self) -> Vec<(String, Validators)> {
        // A poisoned lock only means a holder panicked between whole-value
        // updates; the data is intact.
        self.inner
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .fresh
    }
}

impl ValidatorCache for RunCache {
    fn get(&self, url: &str) -> Option<Validators> {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.entries.get(url).cloned()
    }

    fn put(&self, url: &str, validators: &Validators) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.entries.insert(url.to_string(), validators.clone());
        state.fresh.push((url.to_string(), validators.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset_config(pattern: &str, http: &str) -> DatasetConfig {
        DatasetConfig {
            dataset: Dataset::Orders,
            pattern: pattern.into(),
            mode: crate::config::MembersMode::Increment,
            sheet: None,
            aliases: HashMap::new(),
            source: SourceKind::Http(toml::from_str(http).unwrap()),
        }
    }

    fn problems(pattern: &str, http: &str) -> Vec<String> {
        let dc = dataset_config(pattern, http);
        let SourceKind::Http(table) = &dc.source else {
            unreachable!()
        };
        let file = Path::new("storepulse.toml");
        let mut src = http::build(table, file, "datasets.orders.http", chrono_tz::UTC).unwrap();
        let defaulted = src.file_name.is_none();
        if defaulted {
            src.file_name = Some("orders".into());
        }
        let mut errors = ConfigErrors::default();
        check_file_name(&src, &dc, defaulted, file, &mut errors);
        errors.iter().map(|e| format!("{e}")).collect()
    }

    #[test]
    fn default_name_fits_the_default_pattern_only() {
        let url = r#"url = "http://h/o/{date}""#;
        assert!(problems("{date}/orders.*", url).is_empty());
        let p = problems("{date}/ExportOrderList{yyyymmdd}*.csv", url);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("datasets.orders.http.file_name")
                && p[0].contains("without file_name")
                && p[0].contains("ExportOrderList{yyyymmdd}*.csv"),
            "{p:?}"
        );
    }

    #[test]
    fn configured_names_must_match_the_pattern() {
        let pattern = "{date}/ExportOrderList{yyyymmdd}*.csv";
        let ok = r#"
url = "http://h/o/{date}"
file_name = "ExportOrderList{yyyymmdd}.csv"
"#;
        assert!(problems(pattern, ok).is_empty());
        // The extension comes from the config.
        let ext = r#"
url = "http://h/o/{date}"
file_name = "ExportOrderList{yyyymmdd}"
extension = "csv"
"#;
        assert!(problems(pattern, ext).is_empty());
        for bad in [
            // No date in the name: the pattern needs one.
            "file_name = \"ExportOrderList.csv\"",
            // The wrong extension.
            "file_name = \"ExportOrderList{yyyymmdd}.xlsx\"",
            // The wrong date form.
            "file_name = \"ExportOrderList{date}.csv\"",
        ] {
            let p = problems(pattern, &format!("url = \"http://h/o/{{date}}\"\n{bad}"));
            assert_eq!(p.len(), 1, "{bad}: {p:?}");
            assert!(p[0].contains("does not match"), "{p:?}");
        }
        // A pattern not below `{date}/` cannot see the inbox's date folders.
        let p = problems(
            "exports/{yyyymmdd}_orders.csv",
            "url = \"http://h/o\"\nfile_name = \"{yyyymmdd}_orders.csv\"",
        );
        assert_eq!(p.len(), 1, "{p:?}");
    }

    #[test]
    fn validate_reports_every_http_source_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("storepulse.toml");
        std::fs::create_dir(dir.path().join("jobs")).unwrap();
        let text = r#"
shop = "s"
[teams.ops]
name = "ops"
recipients = ["ops@example.com"]
[datasets.orders]
pattern = "{date}/ExportOrderList{yyyymmdd}*.csv"
[datasets.orders.http]
url = "https://erp.example.com/{yyyymmdd}.csv"
token_env = "STOREPULSE_TEST_UNSET_TOKEN_73"
[datasets.traffic.http]
url = "https://erp.example.com/traffic/{day}.csv"
[datasets.products.http]
url = "https://erp.example.com/products/{date}.xlsx"
[datasets.ads]
pattern = "{date}/推广报表_{yyyymmdd}*.csv"
[datasets.ads.http]
url = "https://erp.example.com/ads/{date}.csv"
"#;
        let config = crate::config::load_str_unchecked(&path, text, &[]).unwrap();
        let mut errors = ConfigErrors::default();
        validate_http(&config, &mut errors);
        let mut keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        keys.sort();
        // The orders build stops at its secret; the default names of
        // traffic and products fit their default patterns, that of ads
        // does not fit its platform pattern.
        assert_eq!(
            keys,
            [
                "datasets.ads.http.file_name",
                "datasets.orders.http.token_env",
                "datasets.traffic.http.url"
            ],
            "{errors}"
        );
        let text = errors.to_string();
        assert!(
            text.contains("STOREPULSE_TEST_UNSET_TOKEN_73 is not set"),
            "{text}"
        );
        assert!(text.contains("{day}"), "{text}");
    }

    #[test]
    fn tolerance_depends_on_kind_requirement_and_earlier_download() {
        let not_yet = || HttpError::NotYet {
            url: "u".into(),
            reason: "HTTP 404".into(),
            deadline: "d".into(),
        };
        let denied = || HttpError::Denied {
            url: "u".into(),
            status: 401,
            key: "k".into(),
        };
        let server = || HttpError::Status {
            url: "u".into(),
            status: 503,
            attempts: 3,
        };
        assert!(tolerated(&not_yet(), true, false).is_none());
        assert!(tolerated(&not_yet(), false, false).is_some());
        assert!(tolerated(&not_yet(), true, true).is_some());
        assert!(tolerated(&server(), true, false).is_none());
        assert!(tolerated(&server(), true, true).is_some());
        assert!(tolerated(&denied(), false, true).is_none());
    }

    #[test]
    fn run_cache_returns_loaded_entries_and_keeps_only_new_ones() {
        let v = |s: &str| Validators {
            etag: Some(format!("\"{s}\"")),
            last_modified: None,
            sha256: s.into(),
            file_name: "orders.csv".into(),
        };
        let cache = RunCache::new(HashMap::from([("a".to_string(), v("1"))]));
        assert_eq!(cache.get("a"), Some(v("1")));
        assert_eq!(cache.get("b"), None);
        cache.put("b", &v("2"));
        assert_eq!(cache.get("b"), Some(v("2")));
        assert_eq!(cache.into_fresh(), vec![("b".to_string(), v("2"))]);
    }
}
