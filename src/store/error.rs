//! The store's error type: every failure names the table and operation it
//! happened in and keeps the SQLite error as its source, so a log line says
//! where it went wrong and a caller can tell a busy database (worth a retry)
//! from a broken one.

use std::path::PathBuf;

use rusqlite::ErrorCode;

use crate::model::Dataset;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("store migration to version {version} failed: {source}")]
    Migration {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },

    #[error("store schema version {found} is newer than this build knows ({known}); upgrade storepulse")]
    SchemaTooNew { found: u32, known: u32 },

    /// A statement failed; `table` and `op` say which one.
    #[error("store {op} on {table} failed: {source}")]
    Sql {
        table: &'static str,
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// A record value that cannot be stored as its field's type (a caller
    /// handing over a record that does not match its dataset).
    #[error("{dataset} {file} row {row}, field {field}: {problem}")]
    Value {
        dataset: Dataset,
        file: String,
        row: u64,
        field: &'static str,
        problem: String,
    },

    /// A stored value that does not read back (edited by hand, or written by
    /// a different program).
    #[error("store table {table}, column {column}: unreadable value {value:?}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        value: String,
    },

    #[error("unknown run status {0:?} (expected running, success, warn, held, failed or interrupted)")]
    UnknownRunStatus(String),

    #[error("run {0} is not in the ledger")]
    RunNotFound(i64),
}

impl StoreError {
    /// True when retrying later may succeed: another process holds the
    /// database lock beyond the busy timeout.
    pub fn is_transient(&self) -> bool {
        let source = match self {
            StoreError::Open { source, .. }
            | StoreError::Migration { source, .. }
            | StoreError::Sql { source, .. } => source,
            _ => return false,
        };
        matches!(
            source.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    }
}

/// Attaches table and operation to a rusqlite result.
pub(crate) trait Context<T> {
    fn ctx(self, table: &'static str, op: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn ctx(self, table: &'static str, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql { table, op, source })
    }
}
