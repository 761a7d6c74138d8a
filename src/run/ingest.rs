//! Ingest: bring the store up to date with the inbox (SPEC §4.1).
//!
//! Any inbox file for a date up to the run's period end that is not in the
//! store yet, or whose content changed since it was ingested, is ingested
//! before the run computes anything. Files are grouped by (dataset, date):
//! when any file of a group is new or changed the whole group is re-read and
//! replaces that date's rows in one transaction, so several files for one
//! day (split exports) add up and a corrected re-export replaces the old
//! rows. Identical content under another name (`orders (1).csv`) is read
//! once.
//!
//! The same machinery serves `import`, where one file holds many days.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, RandomState};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use super::RunError;
use crate::config::{Config, DatasetConfig};
use crate::model::{Dataset, Record};
use crate::parse::{self, ParseOptions, ParseReport};
use crate::source::archive::{archive_file, sha256_file};
use crate::source::inbox::{self, InboxFile};
use crate::source::pattern::DatePattern;
use crate::store::{FileMeta, OrderDays, PreHashed, RegisteredFile, Store};

/// At most this many invalid-value and duplicate samples are kept per file;
/// checks show up to 20, and a broken file must not bloat the store.
const MAX_SAMPLES: usize = 50;

/// A low guess of an export's bytes per row (order lists run at ~130,
/// order lines at ~80), so an import's row count is over- rather than
/// under-estimated when choosing a bulk load.
const IMPORT_BYTES_PER_ROW: u64 = 64;

/// What ingesting one file found, kept in the store so data checks of a
/// later run over the same period see it too.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FileReport {
    pub dataset: String,
    /// The inbox-relative path or the import argument.
    pub file: String,
    pub date: Option<NaiveDate>,
    pub sha256: String,
    pub encoding: String,
    pub header_row: u64,
    /// Records stored.
    pub rows: u64,
    /// Rows rejected (a required value missing or invalid).
    pub rejected: u64,
    /// Dropped rows by reason (blank, summary, placeholder, note, other_date).
    pub dropped: BTreeMap<String, u64>,
    /// Rows dated outside the file's date (not stored).
    pub outside_date: u64,
    pub invalid: Vec<IssueSample>,
    pub invalid_total: u64,
    pub duplicates: Vec<IssueSample>,
    pub duplicates_total: u64,
    pub warnings: Vec<String>,
}

/// One problem row, with where it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IssueSample {
    pub row: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// What one ingest pass did.
#[derive(Debug, Default)]
pub struct IngestOutcome {
    /// Reports of files ingested in this pass.
    pub files: Vec<FileReport>,
    /// Dates whose rows were replaced by a changed re-export.
    pub replaced: Vec<(Dataset, NaiveDate)>,
    /// Problems with files outside the run's period: logged, not fatal, and
    /// the files are tried again next run.
    pub skipped: Vec<String>,
}

/// Ingests every new or changed inbox file dated on or before `up_to`.
/// Problems with a file dated inside `[fatal_from, up_to]` stop the run with
/// an input error; older files with problems are skipped with a warning.
///
/// Each (dataset, date) commits on its own, so `cancel` is honoured between
/// them: a shutdown during a large first ingest stops at the next day
/// instead of after the whole history, and what was committed stays.
pub fn ingest_inbox(
    config: &Config,
    store: &mut Store,
    up_to: NaiveDate,
    fatal_from: NaiveDate,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<IngestOutcome, RunError> {
    let mut patterns = Vec::new();
    for d in Dataset::ALL {
        let dc = config.dataset(d);
        if d == Dataset::Targets {
            continue;
        }
        // Validated at config build time; a failure here is a config error.
        let p = DatePattern::new(&dc.pattern).map_err(RunError::Usage)?;
        patterns.push((d, p));
    }
    let files = inbox::scan(&config.inbox, &patterns, up_to)?;
    let mut outcome = IngestOutcome::default();
    let mut by_dataset: BTreeMap<Dataset, Vec<InboxFile>> = BTreeMap::new();
    for f in files {
        by_dataset.entry(f.dataset).or_default().push(f);
    }
    for (dataset, files) in by_dataset {
        let registered: HashMap<String, RegisteredFile> = store
            .registered_files(dataset)?
            .into_iter()
            .map(|r| (r.path.clone(), r))
            .collect();
        let mut groups: BTreeMap<NaiveDate, Vec<InboxFile>> = BTreeMap::new();
        for f in files {
            groups.entry(f.date).or_default().push(f);
        }
        let before = outcome.files.len();
        for (date, group) in groups {
            if cancel.is_cancelled() {
                return Err(RunError::Interrupted);
            }
            let Some(hashed) = changed_group(&group, &registered)? else {
                continue;
            };
            // Files once registered for this day but no longer in the inbox
            // lose their rows with the day; they must not stay listed.
            let gone: Vec<&str> = registered
                .values()
                .filter(|r| r.date == Some(date) && !group.iter().any(|f| f.rel == r.path))
                .map(|r| r.path.as_str())
                .collect();
            let had_rows =
                !gone.is_empty() || group.iter().any(|f| registered.contains_key(&f.rel));
            let result = ingest_group(config, store, dataset, date, &hashed, &gone);
            match result {
                Ok(reports) => {
                    if had_rows {
                        warn!(
                            dataset = %dataset,
                            %date,
                            "re-export changed: the day's rows were replaced"
                        );
                        outcome.replaced.push((dataset, date));
                    }
                    outcome.files.extend(reports);
                }
                Err(e) if date < fatal_from && e.is_input() => {
                    warn!(dataset = %dataset, %date, error = %e, "file skipped; it will be tried again next run");
                    outcome.skipped.push(e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        let new = &outcome.files[before..];
        if !new.is_empty() {
            info!(
                dataset = %dataset,
                files = new.len(),
                rows = new.iter().map(|r| r.rows).sum::<u64>(),
                rejected = new.iter().map(|r| r.rejected).sum::<u64>(),
                "ingested"
            );
        }
    }
    Ok(outcome)
}

/// A group needs ingesting when any file is unregistered, or its size or
/// mtime changed and its hash with them. Returns the group's files with
/// their hashes, or `None` when nothing changed.
fn changed_group(
    group: &[InboxFile],
    registered: &HashMap<String, RegisteredFile>,
) -> Result<Option<Vec<(InboxFile, String)>>, RunError> {
    let mut changed = false;
    let mut hashed = Vec::with_capacity(group.len());
    for f in group {
        match registered.get(&f.rel) {
            Some(r) if r.size == f.size && r.mtime.timestamp() == f.mtime => {
                hashed.push((f.clone(), r.sha256.clone()));
            }
            Some(r) => {
                let sha = sha256_file(&f.path)?;
                changed |= sha != r.sha256;
                hashed.push((f.clone(), sha));
            }
            None => {
                changed = true;
                hashed.push((f.clone(), sha256_file(&f.path)?));
            }
        }
    }
    Ok(changed.then_some(hashed))
}

fn parse_options(config: &Config, dc: &DatasetConfig, file_name: &str) -> ParseOptions {
    ParseOptions {
        dataset: dc.dataset,
        tz: config.timezone,
        extra_aliases: dc.aliases.clone(),
        sheet: dc.sheet.clone(),
        file_name: file_name.to_string(),
    }
}

/// Re-reads all files of one (dataset, date) and replaces that date's rows.
fn ingest_group(
    config: &Config,
    store: &mut Store,
    dataset: Dataset,
    date: NaiveDate,
    files: &[(InboxFile, String)],
    gone: &[&str],
) -> Result<Vec<FileReport>, RunError> {
    let dc = config.dataset(dataset);
    let mut ing = store.begin_ingest(dataset, config.timezone)?;
    ing.clear_day(date)?;
    for path in gone {
        ing.forget_file(path)?;
    }
    let mut seen_sha = HashSet::new();
    let mut keys = KeyTracker::new(dataset);
    let mut reports = Vec::new();
    for (file, sha) in files {
        if !seen_sha.insert(sha.clone()) {
            info!(dataset = %dataset, file = %file.rel, "same content as another file of the day; read once");
            // Registered (with no rows of its own) so that the next run sees
            // it as known and does not re-read the day for it.
            ing.register_file(&FileMeta {
                date: Some(date),
                path: file.rel.clone(),
                size: file.size,
                mtime: DateTime::<Utc>::from_timestamp(file.mtime, 0).unwrap_or_default(),
                sha256: sha.clone(),
                rows: 0,
                rejected: 0,
                ingested_at: Utc::now(),
                archive: None,
            })?;
            continue;
        }
        let archived = archive_file(&config.archive, dataset, Some(date), sha, &file.path)?;
        let opts = parse_options(config, dc, &file.rel);
        let mut rows = 0u64;
        let mut outside = 0u64;
        let mut first_outside = None;
        let mut store_err = None;
        let parsed = parse::parse_path(&file.path, &opts, &mut |rec: Record| {
            if store_err.is_some() {
                return;
            }
            let day = ing.day_of(&rec, Some(date));
            if day != Some(date) {
                outside += 1;
                first_outside.get_or_insert((rec.row, day));
                return;
            }
            keys.see(&rec);
            match ing.insert(date, &rec, &file.rel) {
                Ok(()) => rows += 1,
                Err(e) => store_err = Some(e),
            }
        })
        .map_err(|e| RunError::Parse(Box::new(e)))?;
        if let Some(e) = store_err {
            return Err(e.into());
        }
        // Every row dated elsewhere: the export of another day under this
        // day's name. Storing it would wipe the day, so the file is refused
        // and the transaction (with the cleared day) is dropped.
        if rows == 0
            && let Some((row, day)) = first_outside
        {
            let first = day.map_or_else(|| "no date".to_string(), |d| d.to_string());
            return Err(RunError::MissingInput {
                dataset: dataset.name().to_string(),
                message: format!(
                    "{}: a file for the wrong date: all {outside} row(s) are dated outside {date} (line {row}: {first})",
                    file.rel
                ),
            });
        }
        let report = file_report(
            dataset,
            &file.rel,
            Some(date),
            sha,
            &parsed,
            rows,
            outside,
            keys.take_duplicates(),
        );
        log_report(&report);
        ing.register_file(&FileMeta {
            date: Some(date),
            path: file.rel.clone(),
            size: file.size,
            mtime: DateTime::<Utc>::from_timestamp(file.mtime, 0).unwrap_or_default(),
            sha256: sha.clone(),
            rows,
            rejected: report.rejected,
            ingested_at: Utc::now(),
            archive: Some(archived.to_string_lossy().into_owned()),
        })?;
        ing.put_file_report(
            &file.rel,
            &serde_json::to_string(&report).unwrap_or_default(),
        )?;
        reports.push(report);
    }
    ing.commit()?;
    Ok(reports)
}

#[allow(clippy::too_many_arguments)]
fn file_report(
    dataset: Dataset,
    file: &str,
    date: Option<NaiveDate>,
    sha: &str,
    parsed: &ParseReport,
    rows: u64,
    outside: u64,
    duplicates: (Vec<IssueSample>, u64),
) -> FileReport {
    let mut dropped: BTreeMap<String, u64> = parsed
        .dropped
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), *v))
        .collect();
    if outside > 0 {
        dropped.insert("other_date".into(), outside);
    }
    let invalid = parsed
        .invalid
        .iter()
        .take(MAX_SAMPLES)
        .map(|iv| IssueSample {
            row: iv.row,
            column: iv.column.clone(),
            value: iv.value.clone(),
            reason: iv.reason.clone(),
        })
        .collect();
    FileReport {
        dataset: dataset.name().to_string(),
        file: file.to_string(),
        date,
        sha256: sha.to_string(),
        encoding: parsed.encoding.to_string(),
        header_row: parsed.header_row,
        rows,
        rejected: parsed.invalid.iter().filter(|i| i.row_rejected).count() as u64,
        dropped,
        outside_date: outside,
        invalid,
        invalid_total: parsed.invalid.len() as u64,
        duplicates: duplicates.0,
        duplicates_total: duplicates.1,
        warnings: parsed.warnings.clone(),
    }
}

fn log_report(r: &FileReport) {
    // One line per file is too much for a first run over a year of inbox;
    // the per-dataset total is logged at info, files at debug.
    debug!(
        dataset = %r.dataset,
        file = %r.file,
        rows = r.rows,
        rejected = r.rejected,
        invalid = r.invalid_total,
        duplicates = r.duplicates_total,
        outside_date = r.outside_date,
        dropped = ?r.dropped,
        encoding = %r.encoding,
        "ingested"
    );
    for w in &r.warnings {
        warn!(dataset = %r.dataset, file = %r.file, "{w}");
    }
}

/// Finds rows repeating a dataset's natural key within one day (or one
/// imported file).
struct KeyTracker {
    key_fields: Vec<usize>,
    /// Key hash → row it was first seen at. A year's import holds ~10 M
    /// keys: hashes keep that to a few hundred MB where the texts took
    /// about three times as much. Two keys share a 64-bit hash with odds of
    /// about 1 in 300 000 per 10 M-key file, which would cost one false
    /// duplicate sample in the report, never a row.
    seen: HashMap<u64, u64, BuildHasherDefault<PreHashed>>,
    hasher: RandomState,
    duplicates: Vec<IssueSample>,
    total: u64,
}

impl KeyTracker {
    fn new(dataset: Dataset) -> KeyTracker {
        let names: &[&str] = match dataset {
            Dataset::Orders => &["order_id"],
            Dataset::Traffic => &["source"],
            Dataset::Products => &["sku_id"],
            Dataset::Members => &["member_id"],
            Dataset::Service => &["agent"],
            Dataset::Ads => &["campaign"],
            Dataset::Targets => &["month", "metric"],
            // An order may list the same SKU on two lines (sizes, gifts).
            Dataset::OrderItems => &[],
        };
        KeyTracker {
            key_fields: names
                .iter()
                .filter_map(|n| dataset.field_index(n))
                .collect(),
            seen: HashMap::default(),
            hasher: RandomState::new(),
            duplicates: Vec::new(),
            total: 0,
        }
    }

    fn see(&mut self, rec: &Record) {
        if self.key_fields.is_empty() {
            return;
        }
        let joined;
        let key: &str = match (
            self.key_fields.as_slice(),
            rec.values.get(self.key_fields[0]),
        ) {
            ([_], Some(crate::model::Value::Text(s))) => s,
            (fields, _) => {
                let parts: Vec<String> = fields.iter().map(|i| value_text(rec.get(*i))).collect();
                joined = parts.join("|");
                &joined
            }
        };
        match self.seen.entry(self.hasher.hash_one(key)) {
            Entry::Occupied(first) => {
                self.total += 1;
                if self.duplicates.len() < MAX_SAMPLES {
                    self.duplicates.push(IssueSample {
                        row: rec.row,
                        column: String::new(),
                        value: key.to_owned(),
                        reason: format!(
                            "duplicate key, first seen at row {}; of the same day the later row wins",
                            first.get()
                        ),
                    });
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(rec.row);
            }
        }
    }

    fn take_duplicates(&mut self) -> (Vec<IssueSample>, u64) {
        (
            std::mem::take(&mut self.duplicates),
            std::mem::take(&mut self.total),
        )
    }
}

fn value_text(v: &crate::model::Value) -> String {
    use crate::model::Value;
    match v {
        Value::Missing => String::new(),
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Date(d) => d.to_string(),
        Value::DateTime(t) => t.to_rfc3339(),
    }
}

/// The days of the stored orders, when importing order lines (see
/// [`crate::store::OrderDays`]).
fn order_days_for(store: &Store, dataset: Dataset) -> Result<Option<OrderDays>, RunError> {
    if dataset != Dataset::OrderItems {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let days = store.order_days()?;
    info!(
        orders = days.len(),
        ms = started.elapsed().as_millis() as u64,
        "order days read for filing order lines"
    );
    Ok(Some(days))
}

/// `import <dataset> <file>...`: loads multi-day exports, each row stored
/// under its own day, each day present in the file replacing that day's
/// rows. Undated datasets (order lines, members) take `date` if given.
pub fn import_files(
    config: &Config,
    store: &mut Store,
    dataset: Dataset,
    paths: &[PathBuf],
    tz: Tz,
) -> Result<Vec<FileReport>, RunError> {
    let dc = config.dataset(dataset);
    let mut reports = Vec::new();
    for path in paths {
        reports.push(import_one(config, store, dc, path, tz)?);
    }
    Ok(reports)
}

fn import_one(
    config: &Config,
    store: &mut Store,
    dc: &DatasetConfig,
    path: &Path,
    tz: Tz,
) -> Result<FileReport, RunError> {
    let dataset = dc.dataset;
    let sha = sha256_file(path)?;
    let name = path.to_string_lossy().into_owned();
    if let Some(prev) = store.find_file_by_sha(dataset, &sha)? {
        info!(dataset = %dataset, file = %name, previous = %prev.path, "already imported (same content)");
        return Ok(FileReport {
            dataset: dataset.name().into(),
            file: name,
            sha256: sha,
            rows: 0,
            ..FileReport::default()
        });
    }
    let meta = std::fs::metadata(path).map_err(|source| {
        RunError::Source(crate::source::SourceError::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    let opts = parse_options(config, dc, &name);
    let today = Utc::now().with_timezone(&tz).date_naive();
    // A load that is large next to the table (a year into a fresh store)
    // drops the secondary indexes and builds them once at commit; a small
    // file into a big table keeps them, since the rebuild reads the table.
    let order_days = order_days_for(store, dataset)?;
    let bulk = meta.len() / IMPORT_BYTES_PER_ROW >= store.approx_rows(dataset)? / 4;
    let mut ing = if bulk {
        store.begin_bulk_ingest(dataset, tz)?
    } else {
        store.begin_ingest(dataset, tz)?
    };
    let rule = ing.day_rule();
    let order_id = dataset.field_index("order_id");
    // Order lines are filed under their order's day when the store has the
    // order; other undated rows (members, lines of unknown orders) under
    // the day of the import.
    let file_date = dataset.date_field().is_none().then_some(today);
    let stop = AtomicBool::new(false);
    let mut cleared = HashSet::new();
    let mut rows = 0u64;
    let mut store_err = None;
    // Three threads share the work so a year's file costs little more
    // than its SQLite inserts: one parses, cleans and dates the rows, one
    // copies the file into the archive, and this one writes the rows.
    // Nothing is committed before the archive copy is whole.
    let (parsed, undated, mut keys, archived) = std::thread::scope(|s| {
        let archiver = s.spawn(|| archive_file(&config.archive, dataset, None, &sha, path));
        // Each row with its day and whether that is its order's day.
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<Vec<(NaiveDate, Record, bool)>>(PIPELINE_BATCHES);
        let parser = s.spawn(|| {
            let mut keys = KeyTracker::new(dataset);
            let mut undated = 0u64;
            let mut batch = Vec::with_capacity(PIPELINE_BATCH_ROWS);
            let mut tx = Some(tx);
            let parsed = parse_file_until(path, &opts, &stop, &mut |rec: Record| {
                let of_order = order_days.as_ref().and_then(|days| {
                    let id = rec.get(order_id?).as_text()?;
                    days.get(id)
                });
                let Some(day) = of_order.or_else(|| rule.day_of(&rec, file_date)) else {
                    undated += 1;
                    return;
                };
                keys.see(&rec);
                batch.push((day, rec, of_order.is_some()));
                if batch.len() == PIPELINE_BATCH_ROWS {
                    let full =
                        std::mem::replace(&mut batch, Vec::with_capacity(PIPELINE_BATCH_ROWS));
                    // A closed channel means the writer failed and has set
                    // `stop`; the parse ends at its next read.
                    if tx.as_ref().is_some_and(|t| t.send(full).is_err()) {
                        tx = None;
                    }
                }
            });
            if let Some(t) = tx
                && !batch.is_empty()
            {
                // The writer may have failed meanwhile; its error is kept.
                let _ = t.send(batch);
            }
            (parsed, undated, keys)
        });
        for batch in rx {
            for (day, rec, under_order_day) in &batch {
                if cleared.insert(*day)
                    && let Err(e) = ing.clear_day(*day)
                {
                    store_err = Some(e);
                    break;
                }
                let written = if *under_order_day {
                    ing.insert_under_order_day(*day, rec, &name)
                } else {
                    ing.insert(*day, rec, &name)
                };
                match written {
                    Ok(()) => rows += 1,
                    Err(e) => {
                        store_err = Some(e);
                        break;
                    }
                }
            }
            if store_err.is_some() {
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        let (parsed, undated, keys) = parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let archived = archiver
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (parsed, undated, keys, archived)
    });
    // In the order the steps used to run one after another: archive, then
    // the first failed write (which stops the parse), then the parse.
    let archived = archived?;
    if let Some(e) = store_err {
        return Err(e.into());
    }
    let parsed = parsed.map_err(|e| RunError::Parse(Box::new(e)))?;
    let report = file_report(
        dataset,
        &name,
        None,
        &sha,
        &parsed,
        rows,
        undated,
        keys.take_duplicates(),
    );
    log_report(&report);
    ing.register_file(&FileMeta {
        date: None,
        path: name.clone(),
        size: meta.len(),
        mtime: DateTime::<Utc>::from_timestamp(inbox::mtime_secs(&meta), 0).unwrap_or_default(),
        sha256: sha.clone(),
        rows,
        rejected: report.rejected,
        ingested_at: Utc::now(),
        archive: Some(archived.to_string_lossy().into_owned()),
    })?;
    ing.put_file_report(&name, &serde_json::to_string(&report).unwrap_or_default())?;
    let summary = ing.commit()?;
    info!(dataset = %dataset, file = %name, rows, days = summary.days.len(), "imported");
    Ok(report)
}

/// Rows per batch handed from the parsing thread to the writing one: large
/// enough that the hand-over costs nothing next to the rows, small enough
/// that the batches in flight stay a few megabytes.
const PIPELINE_BATCH_ROWS: usize = 4096;

/// Batches that may wait for the writer before the parser blocks.
const PIPELINE_BATCHES: usize = 4;

/// Parses `path` like [`parse::parse_path`], ending early with an I/O error
/// once `stop` is set (the rows are no longer wanted).
fn parse_file_until(
    path: &Path,
    opts: &ParseOptions,
    stop: &AtomicBool,
    sink: &mut dyn FnMut(Record),
) -> Result<ParseReport, parse::ParseError> {
    let file = std::fs::File::open(path).map_err(|source| parse::ParseError::Io {
        file: opts.file_name.clone(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    parse::parse_reader(StopReader { inner: file, stop }, ext, opts, sink)
}

/// A reader that fails once `stop` is set.
struct StopReader<'a, R> {
    inner: R,
    stop: &'a AtomicBool,
}

impl<R: Read> Read for StopReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(
                "stopped: the rows are no longer wanted",
            ));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;

    fn record(dataset: Dataset, row: u64, keys: &[(&str, &str)]) -> Record {
        let values = dataset
            .fields()
            .iter()
            .map(|f| {
                keys.iter()
                    .find(|(name, _)| *name == f.name)
                    .map_or(Value::Missing, |(_, v)| Value::Text((*v).to_owned()))
            })
            .collect();
        Record { row, values }
    }

    #[test]
    fn a_repeated_order_id_is_a_duplicate_pointing_at_the_first_row() {
        let mut keys = KeyTracker::new(Dataset::Orders);
        for (row, id) in [(2, "A1"), (3, "A2"), (4, "A1"), (5, "A3"), (6, "A1")] {
            keys.see(&record(Dataset::Orders, row, &[("order_id", id)]));
        }
        let (samples, total) = keys.take_duplicates();
        assert_eq!(total, 2);
        assert_eq!(samples.len(), 2);
        assert_eq!((samples[0].row, samples[0].value.as_str()), (4, "A1"));
        assert!(
            samples[0].reason.contains("first seen at row 2"),
            "{}",
            samples[0].reason
        );
        assert_eq!(samples[1].row, 6);
        assert_eq!(keys.take_duplicates().1, 0, "taking resets the count");
    }

    #[test]
    fn composite_keys_count_only_when_every_part_repeats() {
        let mut keys = KeyTracker::new(Dataset::Targets);
        let rows = [
            (2, "2026-11", "gmv"),
            (3, "2026-11", "orders"),
            (4, "2026-12", "gmv"),
            (5, "2026-11", "gmv"),
        ];
        for (row, month, metric) in rows {
            keys.see(&record(
                Dataset::Targets,
                row,
                &[("month", month), ("metric", metric)],
            ));
        }
        let (samples, total) = keys.take_duplicates();
        assert_eq!(total, 1);
        assert_eq!(samples[0].row, 5);
        assert_eq!(samples[0].value, "2026-11|gmv");
    }

    #[test]
    fn order_lines_have_no_key_to_repeat() {
        let mut keys = KeyTracker::new(Dataset::OrderItems);
        for row in 2..5 {
            keys.see(&record(
                Dataset::OrderItems,
                row,
                &[("order_id", "A1"), ("sku_id", "S1")],
            ));
        }
        assert_eq!(keys.take_duplicates().1, 0);
    }

    #[test]
    fn at_most_the_sample_limit_is_kept_but_all_are_counted() {
        let mut keys = KeyTracker::new(Dataset::Orders);
        for row in 0..(MAX_SAMPLES as u64 + 11) {
            keys.see(&record(Dataset::Orders, row + 2, &[("order_id", "A1")]));
        }
        let (samples, total) = keys.take_duplicates();
        assert_eq!(total, MAX_SAMPLES as u64 + 10);
        assert_eq!(samples.len(), MAX_SAMPLES);
    }
}
