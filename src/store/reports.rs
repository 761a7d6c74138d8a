//! Per-file ingest reports: what parsing and ingesting a file found
//! (rejected rows with their reasons, duplicate keys, dropped rows).
//!
//! The data checks of a run read them for the files of its period, so a
//! second run of the same period, which ingests nothing new, still reports
//! the problems its inputs had. The report is an opaque JSON text here; its
//! shape belongs to the run stage that writes it.

use chrono::NaiveDate;

use super::error::{Context, StoreError};
use super::{Ingest, Store};
use crate::model::Dataset;

/// Migration 2: the report table.
pub(crate) const V2: &str = "
CREATE TABLE file_reports (
    dataset TEXT NOT NULL,
    path    TEXT NOT NULL,
    report  TEXT NOT NULL,
    PRIMARY KEY (dataset, path)
);
";

impl Ingest<'_> {
    /// Records (or replaces) the report of `path`, in this ingest's
    /// transaction: it lands exactly when the file's rows do.
    pub fn put_file_report(&mut self, path: &str, report: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO file_reports (dataset, path, report) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute((self.dataset().name(), path, report)))
            .ctx("file_reports", "put report")?;
        Ok(())
    }
}

impl Store {
    /// `(path, report)` of the registered files of `dataset` dated in
    /// `[start, end)`, oldest date first.
    pub fn file_reports(
        &self,
        dataset: Dataset,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare_cached(
                "SELECT r.path, r.report FROM file_reports r
                 JOIN ingested_files f ON f.dataset = r.dataset AND f.path = r.path
                 WHERE r.dataset = ?1 AND f.date >= ?2 AND f.date < ?3
                 ORDER BY f.date, r.path",
            )
            .ctx("file_reports", "list reports")?;
        let rows = stmt
            .query_map(
                (
                    dataset.name(),
                    start.format("%Y-%m-%d").to_string(),
                    end.format("%Y-%m-%d").to_string(),
                ),
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .ctx("file_reports", "list reports")?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.ctx("file_reports", "list reports")?);
        }
        Ok(out)
    }
}
