//! Writing a dataset's rows: one [`Ingest`] is one transaction that clears
//! the days being replaced, streams the new records in through a single
//! prepared statement, registers the source files, and commits, or, if it
//! is dropped first, leaves the store exactly as it was.
//!
//! The file registry is read here too: the inbox check compares size and
//! modification time with what was recorded and hashes only what differs.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::types::Null;
use rusqlite::{Connection, OptionalExtension, Row, Statement, params};

use super::Store;
use super::codec::{
    date_from_text, date_to_text, decimal_to_text, instant_from_i64, instant_from_ns,
    instant_to_i64, instant_to_ns, is_shop_total_source, money_to_i64,
};
use super::error::{Context, StoreError};
use super::schema::{date_column_field, deferrable_indexes, insert_sql, stored_fields, table_name};
use crate::model::{Dataset, FieldKind, FieldSpec, Record, Value};

const FILES: &str = "ingested_files";

/// Page cache of a bulk load of every dataset but orders and order lines,
/// in KiB: enough for ~10 M member keys, whose unique index is not
/// day-first, to stay in memory while it grows one random insert at a time.
const BULK_CACHE_KIB: i64 = 1024 * 1024;

/// Page cache, in KiB, of a bulk load of orders or order lines. The rows
/// are appended and their keys start with the day, so new entries land at
/// the end of their day and a large cache buys nothing for them; it holds
/// the pages of days being replaced while their old rows are deleted.
const LOAD_CACHE_KIB: i64 = 64 * 1024;

/// Page cache, in KiB, of every index rebuild at the end of a bulk load.
/// It sets the size of the sorter's runs, which sort fastest when they fit
/// the processor's caches (measured: see [`Ingest::commit`]).
const SORT_CACHE_KIB: i64 = 4 * 1024;

/// What is recorded about an ingested file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The date the file is for; `None` for a multi-day import.
    pub date: Option<NaiveDate>,
    /// The path it was read from (the inbox path, the URL, or the import
    /// argument): the registry's key within a dataset.
    pub path: String,
    pub size: u64,
    /// Modification time, kept to the nanosecond.
    pub mtime: DateTime<Utc>,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Rows stored from it.
    pub rows: u64,
    /// Rows rejected by parsing and checks.
    pub rejected: u64,
    pub ingested_at: DateTime<Utc>,
    /// Where the archived copy lives.
    pub archive: Option<String>,
}

/// A registry entry: the dataset plus what [`FileMeta`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredFile {
    pub dataset: Dataset,
    pub date: Option<NaiveDate>,
    pub path: String,
    pub size: u64,
    pub mtime: DateTime<Utc>,
    pub sha256: String,
    pub rows: u64,
    pub rejected: u64,
    pub ingested_at: DateTime<Utc>,
    pub archive: Option<String>,
}

/// What a committed ingest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSummary {
    pub dataset: Dataset,
    /// Records written (a replaced key counts once per write; a member row
    /// older than the stored one is not written).
    pub rows_written: u64,
    /// Rows removed by [`Ingest::clear_day`].
    pub rows_cleared: u64,
    /// Days cleared or written.
    pub days: BTreeSet<NaiveDate>,
    /// Paths registered.
    pub files: Vec<String>,
}

const FILE_COLUMNS: &str =
    "dataset, date, path, size, mtime_ns, sha256, rows, rejected, ingested_at, archive";

impl Store {
    /// Every registered file of `dataset`, by date then path.
    pub fn registered_files(&self, dataset: Dataset) -> Result<Vec<RegisteredFile>, StoreError> {
        let sql =
            format!("SELECT {FILE_COLUMNS} FROM {FILES} WHERE dataset = ?1 ORDER BY date, path");
        let mut stmt = self.conn.prepare_cached(&sql).ctx(FILES, "list")?;
        let rows = stmt
            .query_map([dataset.name()], |r| Ok(read_file_row(dataset, r)))
            .ctx(FILES, "list")?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.ctx(FILES, "list")??);
        }
        Ok(out)
    }

    /// A registered file of `dataset` with this content hash, if any (the
    /// same export downloaded twice is ingested once).
    pub fn find_file_by_sha(
        &self,
        dataset: Dataset,
        sha256: &str,
    ) -> Result<Option<RegisteredFile>, StoreError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM {FILES} WHERE dataset = ?1 AND sha256 = ?2 \
             ORDER BY ingested_at LIMIT 1"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .ctx(FILES, "find by sha256")?;
        stmt.query_row(params![dataset.name(), sha256], |r| {
            Ok(read_file_row(dataset, r))
        })
        .optional()
        .ctx(FILES, "find by sha256")?
        .transpose()
    }

    /// About how many rows `dataset`'s table holds: its largest rowid, a
    /// B-tree descent rather than a count, enough to judge whether a load
    /// is large next to the table (see [`Store::begin_bulk_ingest`]).
    pub fn approx_rows(&self, dataset: Dataset) -> Result<u64, StoreError> {
        let table = table_name(dataset);
        let n: Option<i64> = self
            .conn
            .query_row(&format!("SELECT max(rowid) FROM {table}"), [], |r| r.get(0))
            .ctx(table, "estimate rows")?;
        Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// Starts writing `dataset`: one transaction, held until
    /// [`Ingest::commit`]; dropping the `Ingest` rolls it back. `tz` is the
    /// shop's zone, which dates orders by their creation time.
    pub fn begin_ingest(&mut self, dataset: Dataset, tz: Tz) -> Result<Ingest<'_>, StoreError> {
        self.begin(dataset, tz, false)
    }

    /// Like [`Store::begin_ingest`], for loads that are large next to what
    /// the table holds (a year's import into a fresh store): secondary
    /// indexes are dropped for the load and rebuilt at commit, in the same
    /// transaction, so a rollback restores them. The rebuild reads the whole
    /// table, which is why a daily ingest does not use this. When no other
    /// connection has the store open, the load runs on a rollback journal
    /// rather than the WAL (see `leave_wal`).
    pub fn begin_bulk_ingest(
        &mut self,
        dataset: Dataset,
        tz: Tz,
    ) -> Result<Ingest<'_>, StoreError> {
        self.begin(dataset, tz, true)
    }

    fn begin(&mut self, dataset: Dataset, tz: Tz, bulk: bool) -> Result<Ingest<'_>, StoreError> {
        let table = table_name(dataset);
        let conn: &Connection = &self.conn;
        let restore = if bulk {
            let cache_size: i64 = conn
                .query_row("PRAGMA cache_size", [], |r| r.get(0))
                .ctx(table, "read cache size")?;
            let synchronous: i64 = conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .ctx(table, "read synchronous")?;
            let threads: i64 = conn
                .query_row("PRAGMA threads", [], |r| r.get(0))
                .ctx(table, "read threads")?;
            let wal = leave_wal(conn, dataset);
            Some(BulkRestore {
                cache_size,
                synchronous,
                threads,
                wal,
            })
        } else {
            None
        };
        conn.execute_batch("BEGIN IMMEDIATE")
            .ctx(table, "begin ingest")?;
        let prepared = (|| {
            let deferred = if bulk {
                // A unique index kept live takes one insert per row at a
                // random place unless it is keyed by day first; a page
                // cache holding all of it saves spilling and re-reading
                // pages for every row.
                let kib = match dataset {
                    Dataset::Orders | Dataset::OrderItems => LOAD_CACHE_KIB,
                    _ => BULK_CACHE_KIB,
                };
                conn.execute_batch(&format!("PRAGMA cache_size = -{kib}"))
                    .ctx(table, "size cache for bulk load")?;
                defer_indexes(conn, dataset)?
            } else {
                Vec::new()
            };
            let insert = conn
                .prepare(&insert_sql(dataset))
                .ctx(table, "prepare insert")?;
            Ok((deferred, insert))
        })();
        let (deferred, insert) = match prepared {
            Ok(p) => p,
            Err(e) => {
                if let Err(rb) = conn.execute_batch("ROLLBACK") {
                    tracing::error!(dataset = %dataset, error = %rb, "ingest rollback failed");
                }
                end_bulk(conn, dataset, restore);
                return Err(e);
            }
        };
        Ok(Ingest {
            conn,
            dataset,
            table,
            tz,
            insert,
            fields: stored_fields(dataset),
            date_index: date_column_field(dataset).and_then(|f| dataset.field_index(f)),
            created_index: dataset.field_index("created_at"),
            source_index: (dataset == Dataset::Traffic)
                .then(|| dataset.field_index("source"))
                .flatten(),
            day_text: None,
            summary: IngestSummary {
                dataset,
                rows_written: 0,
                rows_cleared: 0,
                days: BTreeSet::new(),
                files: Vec::new(),
            },
            open: true,
            deferred,
            orders_cleared: BTreeSet::new(),
            restore,
        })
    }
}

/// The connection settings a bulk load changed, put back when it ends.
#[derive(Debug, Clone, Copy)]
struct BulkRestore {
    /// SQLite's `cache_size` value.
    cache_size: i64,
    /// SQLite's `synchronous` value.
    synchronous: i64,
    /// SQLite's `threads` value (sorter helper threads).
    threads: i64,
    /// The store was in WAL mode and the load runs on a rollback journal.
    wal: bool,
}

/// Takes a WAL store to a rollback journal for a bulk load, returning
/// whether it did.
///
/// In WAL mode every page of a year's load is written twice: into the
/// log at commit, then into the database by the checkpoint. A rollback
/// journal keeps only the old content of pages that existed before the
/// load, and pages appended to the file have none, so a load into a
/// fresh or small table writes its pages once. Crash safety is SQLite's
/// classic atomic commit: the journal is synced before the database file
/// is touched (`synchronous = FULL` for the load), a crash at any point
/// leaves a hot journal that the next open rolls back, and the store is
/// exactly as before the load. The price is that readers wait while the
/// load writes; a load is rare and long, and no reader is left with a
/// half-imported store. Leaving WAL needs the store to itself: when
/// another connection has it open the load stays in WAL, as before.
fn leave_wal(conn: &Connection, dataset: Dataset) -> bool {
    let mode = conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0));
    if !mode.is_ok_and(|m| m.eq_ignore_ascii_case("wal")) {
        return false;
    }
    // Another connection holds the store open: do not wait for it.
    if let Err(e) = conn.busy_timeout(std::time::Duration::ZERO) {
        tracing::debug!(dataset = %dataset, error = %e, "bulk load stays in WAL mode");
        return false;
    }
    let switched = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| {
            r.get::<_, String>(0)
        })
        .is_ok_and(|m| m.eq_ignore_ascii_case("delete"));
    if let Err(e) = conn.busy_timeout(super::BUSY_TIMEOUT) {
        tracing::warn!(dataset = %dataset, error = %e, "busy timeout not restored");
    }
    if !switched {
        tracing::debug!(dataset = %dataset, "another connection has the store open; the bulk load stays in WAL mode");
        return false;
    }
    if let Err(e) = conn.execute_batch("PRAGMA synchronous = FULL") {
        // NORMAL in rollback mode can, on some filesystems, lose the
        // load to a power cut at the wrong time; do not load like that.
        tracing::debug!(dataset = %dataset, error = %e, "bulk load stays in WAL mode");
        back_to_wal(conn, dataset);
        return false;
    }
    true
}

fn back_to_wal(conn: &Connection, dataset: Dataset) {
    let back = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
    if !back.is_ok_and(|m| m.eq_ignore_ascii_case("wal")) {
        // The next open of the store switches it back.
        tracing::warn!(dataset = %dataset, "store not returned to WAL mode after bulk load");
    }
}

/// Puts back what a bulk load changed; failing only costs memory or
/// concurrency until the next open, so it is logged, not returned.
fn end_bulk(conn: &Connection, dataset: Dataset, restore: Option<BulkRestore>) {
    let Some(r) = restore else { return };
    if let Err(e) = conn.execute_batch(&format!("PRAGMA cache_size = {}", r.cache_size)) {
        tracing::warn!(dataset = %dataset, error = %e, "page cache not restored after bulk load");
    }
    if r.wal {
        back_to_wal(conn, dataset);
    }
    if let Err(e) = conn.execute_batch(&format!("PRAGMA threads = {}", r.threads)) {
        tracing::warn!(dataset = %dataset, error = %e, "sorter threads not restored after bulk load");
    }
    if let Err(e) = conn.execute_batch(&format!("PRAGMA synchronous = {}", r.synchronous)) {
        tracing::warn!(dataset = %dataset, error = %e, "synchronous not restored after bulk load");
    }
}

/// An index dropped for a bulk load: the statement that rebuilds it.
struct DeferredIndex {
    sql: String,
}

/// Drops the dataset's deferrable indexes, returning how to rebuild them.
fn defer_indexes(conn: &Connection, dataset: Dataset) -> Result<Vec<DeferredIndex>, StoreError> {
    let table = table_name(dataset);
    let mut deferred = Vec::new();
    for name in deferrable_indexes(dataset) {
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .ctx(table, "read index definition")?;
        let Some(sql) = sql else { continue };
        conn.execute_batch(&format!("DROP INDEX {name}"))
            .ctx(table, "drop index for bulk load")?;
        deferred.push(DeferredIndex { sql });
    }
    Ok(deferred)
}

fn read_file_row(dataset: Dataset, r: &Row<'_>) -> Result<RegisteredFile, StoreError> {
    let get = |r: &Row<'_>| -> rusqlite::Result<_> {
        Ok((
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, i64>(7)?,
            r.get::<_, i64>(8)?,
            r.get::<_, Option<String>>(9)?,
        ))
    };
    let (date, path, size, mtime, sha256, rows, rejected, at, archive) =
        get(r).ctx(FILES, "read")?;
    let count = |column: &'static str, v: i64| {
        u64::try_from(v).map_err(|_| StoreError::Corrupt {
            table: FILES,
            column,
            value: v.to_string(),
        })
    };
    Ok(RegisteredFile {
        dataset,
        date: date
            .map(|d| date_from_text(FILES, "date", &d))
            .transpose()?,
        path,
        size: count("size", size)?,
        mtime: instant_from_ns(mtime),
        sha256,
        rows: count("rows", rows)?,
        rejected: count("rejected", rejected)?,
        ingested_at: instant_from_i64(FILES, "ingested_at", at)?,
        archive,
    })
}

/// Which day a record of a dataset belongs to (see [`Ingest::day_of`]).
#[derive(Debug, Clone, Copy)]
pub struct DayRule {
    dataset: Dataset,
    tz: Tz,
    date_index: Option<usize>,
    created_index: Option<usize>,
}

impl DayRule {
    /// See [`Ingest::day_of`].
    pub fn day_of(&self, rec: &Record, file_date: Option<NaiveDate>) -> Option<NaiveDate> {
        match self.dataset {
            Dataset::Orders => {
                let i = self.created_index?;
                rec.get(i)
                    .as_datetime()
                    .map(|t| t.with_timezone(&self.tz).date_naive())
            }
            _ => match self.date_index {
                Some(i) => rec.get(i).as_date(),
                None => file_date,
            },
        }
    }
}

/// Flips the mark of each line of day `?1` whose mark says the opposite
/// of whether an order of its day and id is stored.
const SQL_REMARK_STRAY: &str = "UPDATE order_items SET stray = 1 - stray \
     WHERE day = ?1 AND stray = EXISTS (SELECT 1 FROM orders o \
     WHERE o.day = ?1 AND o.order_id = order_items.order_id)";

/// An open ingest transaction for one dataset.
pub struct Ingest<'s> {
    pub(super) conn: &'s Connection,
    dataset: Dataset,
    table: &'static str,
    tz: Tz,
    insert: Statement<'s>,
    fields: Vec<(usize, &'static FieldSpec)>,
    /// The record's `date` field, stored as `day`.
    date_index: Option<usize>,
    /// An order's `created_at`, which decides its day.
    created_index: Option<usize>,
    /// Traffic's `source`, whose shop-total spellings are stored as NULL.
    source_index: Option<usize>,
    /// The last day's text form: records arrive grouped by day.
    day_text: Option<(NaiveDate, String)>,
    summary: IngestSummary,
    open: bool,
    /// Indexes dropped for a bulk load.
    deferred: Vec<DeferredIndex>,
    /// Days whose orders were cleared: their lines' `stray` marks are
    /// brought up to date at commit.
    orders_cleared: BTreeSet<NaiveDate>,
    /// What a bulk load changed, put back when it ends.
    restore: Option<BulkRestore>,
}

impl Ingest<'_> {
    pub fn dataset(&self) -> Dataset {
        self.dataset
    }

    /// The day a record belongs to: an order's creation date in the shop's
    /// zone, a dated dataset's `date`, otherwise the file's date. `None` if
    /// the record lacks the value that decides it.
    pub fn day_of(&self, rec: &Record, file_date: Option<NaiveDate>) -> Option<NaiveDate> {
        self.day_rule().day_of(rec, file_date)
    }

    /// How this ingest dates records, detached from the transaction so a
    /// parsing thread can date rows while this one writes them.
    pub fn day_rule(&self) -> DayRule {
        DayRule {
            dataset: self.dataset,
            tz: self.tz,
            date_index: self.date_index,
            created_index: self.created_index,
        }
    }

    /// Removes every row of `day` (replace semantics: clear, then insert
    /// the new export's rows). Returns how many rows went.
    pub fn clear_day(&mut self, day: NaiveDate) -> Result<u64, StoreError> {
        let sql = format!("DELETE FROM {} WHERE day = ?1", self.table);
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .ctx(self.table, "clear day")?;
        let n = stmt
            .execute([date_to_text(day)])
            .ctx(self.table, "clear day")? as u64;
        self.summary.rows_cleared += n;
        self.summary.days.insert(day);
        if self.dataset == Dataset::Orders {
            self.orders_cleared.insert(day);
        }
        Ok(n)
    }

    /// Brings the `stray` marks of the lines filed under the days whose
    /// orders were replaced up to date (see schema version 12).
    ///
    /// A line is marked when written, against the orders stored then. A
    /// day's new export can drop an order (re-dated by the platform, say):
    /// its lines at home must become stray, or the order on its new day
    /// would never find them. Lines written before their order become
    /// ordinary again, which keeps the stray index small. Only lines whose
    /// mark is wrong are written (`stray` equal to whether their order
    /// exists); a day whose lines have not arrived yet costs one probe.
    fn remark_lines_of_cleared_days(&mut self) -> Result<(), StoreError> {
        if self.orders_cleared.is_empty() {
            return Ok(());
        }
        let mut stmt = self
            .conn
            .prepare_cached(SQL_REMARK_STRAY)
            .ctx("order_items", "mark stray lines")?;
        let mut changed = 0;
        for day in std::mem::take(&mut self.orders_cleared) {
            changed += stmt
                .execute([date_to_text(day)])
                .ctx("order_items", "mark stray lines")?;
        }
        if changed > 0 {
            tracing::debug!(changed, "stray marks of order lines brought up to date");
        }
        Ok(())
    }

    /// Writes one record (values in [`Dataset::fields`] order) under `day`,
    /// replacing a stored row with the same key.
    pub fn insert(&mut self, day: NaiveDate, rec: &Record, file: &str) -> Result<(), StoreError> {
        self.write(day, rec, file, false)
    }

    /// [`Ingest::insert`] of an order line the caller files under the day
    /// its order is stored on, so the line is not stray (see schema
    /// version 12) without looking the order up.
    pub fn insert_under_order_day(
        &mut self,
        day: NaiveDate,
        rec: &Record,
        file: &str,
    ) -> Result<(), StoreError> {
        self.write(day, rec, file, true)
    }

    fn write(
        &mut self,
        day: NaiveDate,
        rec: &Record,
        file: &str,
        under_order_day: bool,
    ) -> Result<(), StoreError> {
        let value_err = |field: &'static str, problem: String| StoreError::Value {
            dataset: self.dataset,
            file: file.to_owned(),
            row: rec.row,
            field,
            problem,
        };
        if let Some(i) = self.date_index
            && let Some(d) = rec.get(i).as_date()
            && d != day
        {
            return Err(value_err(
                "date",
                format!("row is dated {d} but was handed in for {day}"),
            ));
        }
        let row =
            i64::try_from(rec.row).map_err(|_| value_err("row", "row number too large".into()))?;
        if self.day_text.as_ref().is_none_or(|(d, _)| *d != day) {
            self.day_text = Some((day, date_to_text(day)));
            self.summary.days.insert(day);
        }
        let stmt = &mut self.insert;
        let table = self.table;
        let bind = |stmt: &mut Statement<'_>, p: usize, v: BindValue<'_>| {
            match v {
                BindValue::Null => stmt.raw_bind_parameter(p, Null),
                BindValue::Text(s) => stmt.raw_bind_parameter(p, s),
                BindValue::Owned(s) => stmt.raw_bind_parameter(p, s),
                BindValue::Int(i) => stmt.raw_bind_parameter(p, i),
            }
            .ctx(table, "bind")
        };
        for (p, (i, spec)) in self.fields.iter().enumerate() {
            let value = rec.get(*i);
            let mut bv = to_bind(spec, value).map_err(|problem| value_err(spec.name, problem))?;
            if Some(*i) == self.source_index
                && let BindValue::Text(s) = bv
                && is_shop_total_source(s)
            {
                bv = BindValue::Null;
            }
            if matches!(bv, BindValue::Null) {
                if spec.name == "refund_amount" && self.dataset == Dataset::Orders {
                    // No refund column or an empty cell both mean no refund.
                    bv = BindValue::Int(0);
                } else if spec.required {
                    return Err(value_err(spec.name, "required value is missing".into()));
                }
            }
            bind(stmt, p + 1, bv)?;
        }
        let n = self.fields.len();
        let day_text = self.day_text.as_ref().map_or("", |(_, s)| s.as_str());
        bind(stmt, n + 1, BindValue::Text(day_text))?;
        bind(stmt, n + 2, BindValue::Text(file))?;
        bind(stmt, n + 3, BindValue::Int(row))?;
        if self.dataset == Dataset::OrderItems {
            bind(stmt, n + 4, BindValue::Int(i64::from(under_order_day)))?;
        }
        let written = stmt
            .raw_execute()
            .map_err(|source| match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => {
                    value_err("row", format!("rejected by the store: {source}"))
                }
                _ => StoreError::Sql {
                    table,
                    op: "insert",
                    source,
                },
            })?;
        self.summary.rows_written += written as u64;
        Ok(())
    }

    /// Unregisters a file whose rows are gone (its day was replaced by a
    /// group it is no longer part of), with its report, in this transaction.
    pub fn forget_file(&mut self, path: &str) -> Result<(), StoreError> {
        let dataset = self.dataset.name();
        self.conn
            .prepare_cached(&format!(
                "DELETE FROM {FILES} WHERE dataset = ?1 AND path = ?2"
            ))
            .and_then(|mut s| s.execute((dataset, path)))
            .ctx(FILES, "forget")?;
        self.conn
            .prepare_cached("DELETE FROM file_reports WHERE dataset = ?1 AND path = ?2")
            .and_then(|mut s| s.execute((dataset, path)))
            .ctx("file_reports", "forget")?;
        Ok(())
    }

    /// Records a source file as ingested, in the same transaction as its
    /// rows. A path registered before is overwritten.
    pub fn register_file(&mut self, meta: &FileMeta) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT OR REPLACE INTO {FILES} ({FILE_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        );
        let too_big = |field: &'static str| StoreError::Value {
            dataset: self.dataset,
            file: meta.path.clone(),
            row: 0,
            field,
            problem: "value out of range".into(),
        };
        let size = i64::try_from(meta.size).map_err(|_| too_big("size"))?;
        let rows = i64::try_from(meta.rows).map_err(|_| too_big("rows"))?;
        let rejected = i64::try_from(meta.rejected).map_err(|_| too_big("rejected"))?;
        let mtime = instant_to_ns(meta.mtime).ok_or_else(|| too_big("mtime"))?;
        let mut stmt = self.conn.prepare_cached(&sql).ctx(FILES, "register")?;
        stmt.execute(params![
            self.dataset.name(),
            meta.date.map(date_to_text),
            meta.path,
            size,
            mtime,
            meta.sha256,
            rows,
            rejected,
            instant_to_i64(meta.ingested_at),
            meta.archive,
        ])
        .ctx(FILES, "register")?;
        self.summary.files.push(meta.path.clone());
        Ok(())
    }

    /// Drops the KPI snapshots this ingest's rows feed, with those of the
    /// weeks and months holding them.
    ///
    /// Orders, order lines and products reach forward in time: an order can
    /// be paid days after the day it is filed under (presales), whether a
    /// buyer is new depends on every earlier order, and a unit cost holds
    /// until the next costed product row. Their ingests drop every snapshot
    /// from their first day on. Traffic, service and ads rows count on their
    /// own day only.
    ///
    /// Snapshots are a cache of the stored rows. Dropping them in the same
    /// transaction as the rows change means no path that writes rows (a
    /// run's ingest, `import`, a backfill) can leave a stale one behind:
    /// the next run that needs the day computes it again.
    fn forget_snapshots(&self) -> Result<(), StoreError> {
        super::snapshots::bump_rows_version(self.conn)?;
        let Some(first) = self.summary.days.first() else {
            return Ok(());
        };
        let reaches_forward = matches!(
            self.dataset,
            Dataset::Orders | Dataset::OrderItems | Dataset::Products
        );
        let (daily, periods) = if reaches_forward {
            (
                "DELETE FROM daily_kpis WHERE day >= ?1",
                "DELETE FROM period_kpis WHERE last_day >= ?1",
            )
        } else {
            (
                "DELETE FROM daily_kpis WHERE day = ?1",
                "DELETE FROM period_kpis WHERE first_day <= ?1 AND last_day >= ?1",
            )
        };
        let days: Vec<NaiveDate> = if reaches_forward {
            vec![*first]
        } else {
            self.summary.days.iter().copied().collect()
        };
        let mut del = self
            .conn
            .prepare_cached(daily)
            .ctx("daily_kpis", "forget changed days")?;
        // Few periods are kept (one row per KPI of each week and month
        // computed), so the range test scans a small table.
        let mut del_periods = self
            .conn
            .prepare_cached(periods)
            .ctx("period_kpis", "forget changed days")?;
        for d in days {
            let d = date_to_text(d);
            del.execute([&d]).ctx("daily_kpis", "forget changed days")?;
            del_periods
                .execute([&d])
                .ctx("period_kpis", "forget changed days")?;
        }
        Ok(())
    }

    /// Makes everything written visible at once.
    pub fn commit(mut self) -> Result<IngestSummary, StoreError> {
        let deferred = std::mem::take(&mut self.deferred);
        if !deferred.is_empty() {
            // SQLite's sorter keeps runs of up to the page cache's size in
            // memory (capped at 512 MiB) and sorts each as a linked list, so a
            // 10 M-row index sorted in large runs spends most of its time
            // waiting on memory. Measured on a year of a large shop's orders
            // (three indexes of 10 M rows): 26.6 s in 64 MiB runs, 22.9 s in
            // 16 MiB, 20.0 s in 8 MiB, 17.8–18.7 s in 1–4 MiB, where a run
            // fits the processor's caches; the extra merging of many small
            // runs costs less than it saves. With helper threads the runs
            // are sorted and merged on the other cores while this one reads
            // the table.
            let helpers = std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .clamp(1, 4);
            self.conn
                .execute_batch(&format!(
                    "PRAGMA threads = {helpers}; PRAGMA cache_size = -{SORT_CACHE_KIB}"
                ))
                .ctx(self.table, "sorter settings for index rebuild")?;
        }
        for ix in &deferred {
            let started = std::time::Instant::now();
            self.conn
                .execute_batch(&ix.sql)
                .ctx(self.table, "rebuild index after bulk load")?;
            tracing::debug!(
                table = self.table,
                index = %ix.sql,
                ms = started.elapsed().as_millis() as u64,
                "index rebuilt after bulk load"
            );
        }
        self.remark_lines_of_cleared_days()?;
        self.forget_snapshots()?;
        self.conn
            .execute_batch("COMMIT")
            .ctx(self.table, "commit")?;
        self.open = false;
        end_bulk(self.conn, self.dataset, self.restore.take());
        tracing::debug!(
            dataset = %self.dataset,
            rows_written = self.summary.rows_written,
            rows_cleared = self.summary.rows_cleared,
            days = self.summary.days.len(),
            "ingest committed"
        );
        Ok(std::mem::replace(
            &mut self.summary,
            IngestSummary {
                dataset: self.dataset,
                rows_written: 0,
                rows_cleared: 0,
                days: BTreeSet::new(),
                files: Vec::new(),
            },
        ))
    }
}

impl Drop for Ingest<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::error!(dataset = %self.dataset, error = %e, "ingest rollback failed");
            } else {
                tracing::debug!(dataset = %self.dataset, "ingest rolled back");
            }
        }
        end_bulk(self.conn, self.dataset, self.restore.take());
    }
}

enum BindValue<'a> {
    Null,
    Text(&'a str),
    Owned(String),
    Int(i64),
}

/// A record value in its column's storage form, or why it cannot be.
fn to_bind<'a>(spec: &FieldSpec, value: &'a Value) -> Result<BindValue<'a>, String> {
    use FieldKind::*;
    if value.is_missing() {
        return Ok(BindValue::Null);
    }
    let wrong = || format!("a {:?} value cannot be stored as {:?}", value, spec.kind);
    Ok(match spec.kind {
        Id | Text | Pii | Status | ProductStatus => {
            BindValue::Text(value.as_text().ok_or_else(wrong)?)
        }
        Int => BindValue::Int(value.as_int().ok_or_else(wrong)?),
        Money => {
            let d = value.as_decimal().ok_or_else(wrong)?;
            BindValue::Int(money_to_i64(d).ok_or_else(|| format!("amount {d} is out of range"))?)
        }
        Number | Ratio => BindValue::Owned(decimal_to_text(value.as_decimal().ok_or_else(wrong)?)),
        Date => BindValue::Owned(date_to_text(value.as_date().ok_or_else(wrong)?)),
        DateTime => BindValue::Int(instant_to_i64(value.as_datetime().ok_or_else(wrong)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    /// A service row of `day` for `agent`, every other field filled in.
    fn service(day: NaiveDate, agent: &str, row: u64) -> Record {
        let values = Dataset::Service
            .fields()
            .iter()
            .map(|f| match (f.name, f.kind) {
                ("date", _) => Value::Date(day),
                ("agent", _) => Value::Text(agent.to_owned()),
                (_, FieldKind::Int) => Value::Int(3),
                (_, FieldKind::Money | FieldKind::Number | FieldKind::Ratio) => {
                    Value::Decimal(Decimal::new(5, 1))
                }
                _ => Value::Missing,
            })
            .collect();
        Record { row, values }
    }

    fn order(id: &str, created: &str, amount: i64, row: u64) -> Record {
        let values = Dataset::Orders
            .fields()
            .iter()
            .map(|f| match f.name {
                "order_id" => Value::Text(id.to_owned()),
                "member_id" => Value::Text("m1".to_owned()),
                "created_at" => Value::DateTime(created.parse().unwrap()),
                "status" => Value::Text("paid".to_owned()),
                "paid_amount" => Value::Decimal(Decimal::new(amount, 0)),
                _ => Value::Missing,
            })
            .collect();
        Record { row, values }
    }

    fn orders(store: &Store) -> Vec<(String, String, i64)> {
        let mut stmt = store
            .conn
            .prepare("SELECT order_id, day, paid_amount FROM orders ORDER BY order_id, day")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? / 10_000))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    fn has_index(conn: &Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    }

    /// An order is its day and id: a load replaces the row of the same day
    /// and id (the later row of the load wins), and the same id on
    /// another day is another day's order. Plain and bulk loads agree.
    #[test]
    fn orders_are_replaced_by_day_and_id_in_plain_and_bulk_loads() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let d21 = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let d22 = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut ing = store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
        for (id, amount, row) in [("X", 1, 2), ("Y", 2, 3), ("Y", 4, 4)] {
            ing.insert(
                d21,
                &order(id, "2026-11-21T02:00:00Z", amount, row),
                "a.csv",
            )
            .unwrap();
        }
        ing.commit().unwrap();

        // X comes again on another day, and Z twice in the load itself.
        let mut ing = store.begin_bulk_ingest(Dataset::Orders, SHANGHAI).unwrap();
        assert!(!has_index(ing.conn, "orders_member_paid"));
        assert!(has_index(ing.conn, "orders_key"));
        ing.clear_day(d22).unwrap();
        for (id, amount, row) in [("X", 10, 2), ("Z", 20, 3), ("Z", 30, 4)] {
            ing.insert(
                d22,
                &order(id, "2026-11-22T02:00:00Z", amount, row),
                "b.csv",
            )
            .unwrap();
        }
        ing.commit().unwrap();
        let row = |id: &str, day: &str, amount| (id.to_owned(), day.to_owned(), amount);
        assert_eq!(
            orders(&store),
            vec![
                row("X", "2026-11-21", 1),
                row("X", "2026-11-22", 10),
                row("Y", "2026-11-21", 4),
                row("Z", "2026-11-22", 30),
            ]
        );
        assert!(has_index(&store.conn, "orders_member_paid"));
    }

    #[test]
    fn a_bulk_load_rolled_back_restores_the_deferred_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let d22 = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        {
            let mut ing = store.begin_bulk_ingest(Dataset::Orders, SHANGHAI).unwrap();
            assert!(!has_index(ing.conn, "orders_member_paid"));
            assert!(!has_index(ing.conn, "orders_paid_at"));
            ing.insert(d22, &order("X", "2026-11-22T02:00:00Z", 1, 2), "b.csv")
                .unwrap();
        }
        assert!(has_index(&store.conn, "orders_member_paid"));
        assert!(has_index(&store.conn, "orders_paid_at"));
        assert!(orders(&store).is_empty());
    }

    fn cache_size(store: &Store) -> i64 {
        store
            .conn
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap()
    }

    fn journal_mode(conn: &Connection) -> String {
        conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_bulk_load_writes_through_a_rollback_journal_and_the_store_returns_to_wal() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        for commit in [true, false] {
            let mut ing = store.begin_bulk_ingest(Dataset::Service, SHANGHAI).unwrap();
            assert_eq!(journal_mode(ing.conn), "delete");
            ing.insert(day, &service(day, "小王", 2), "s.txt").unwrap();
            if commit {
                ing.commit().unwrap();
            } else {
                drop(ing);
            }
            assert_eq!(journal_mode(&store.conn), "wal", "commit {commit}");
        }
        assert_eq!(store.approx_rows(Dataset::Service).unwrap(), 1);
    }

    #[test]
    fn a_bulk_load_stays_in_wal_while_another_connection_has_the_store_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).unwrap();
        let other = Store::open(&path).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut ing = store.begin_bulk_ingest(Dataset::Service, SHANGHAI).unwrap();
        assert_eq!(journal_mode(ing.conn), "wal");
        ing.insert(day, &service(day, "小王", 2), "s.txt").unwrap();
        ing.commit().unwrap();
        assert_eq!(other.approx_rows(Dataset::Service).unwrap(), 1);
    }

    #[test]
    fn approx_rows_follows_what_the_table_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(store.approx_rows(Dataset::Service).unwrap(), 0);
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let mut ing = store.begin_ingest(Dataset::Service, SHANGHAI).unwrap();
        for (i, agent) in ["小王", "小李", "小张"].into_iter().enumerate() {
            ing.insert(day, &service(day, agent, i as u64 + 2), "s.txt")
                .unwrap();
        }
        ing.commit().unwrap();
        assert_eq!(store.approx_rows(Dataset::Service).unwrap(), 3);
        assert_eq!(store.approx_rows(Dataset::Orders).unwrap(), 0);
    }

    #[test]
    fn a_bulk_ingest_puts_the_page_cache_back_on_commit_and_on_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let normal = cache_size(&store);
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        {
            let mut ing = store.begin_bulk_ingest(Dataset::Service, SHANGHAI).unwrap();
            ing.insert(day, &service(day, "小王", 2), "s.txt").unwrap();
            assert_eq!(
                ing.conn
                    .query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0))
                    .unwrap(),
                -BULK_CACHE_KIB
            );
        }
        assert_eq!(cache_size(&store), normal, "after rollback");
        assert_eq!(store.approx_rows(Dataset::Service).unwrap(), 0);

        let mut ing = store.begin_bulk_ingest(Dataset::Service, SHANGHAI).unwrap();
        ing.insert(day, &service(day, "小王", 2), "s.txt").unwrap();
        ing.commit().unwrap();
        assert_eq!(cache_size(&store), normal, "after commit");
        assert_eq!(store.approx_rows(Dataset::Service).unwrap(), 1);
    }
}
