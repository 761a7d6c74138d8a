//! The store (SPEC §5): one SQLite file holding the normalised rows of every
//! dataset, the registry of ingested files, daily KPI snapshots, member
//! level evaluations and tier snapshots, the run ledger and the outbox.
//!
//! Callers speak to it only through [`Store`]'s methods and the typed facts of
//! [`crate::model::facts`]; every SQL statement lives in this folder, so a
//! PostgreSQL backend for multi-host deployments replaces this folder, not
//! its callers. The single exception is [`Store::connection`], the escape
//! hatch for tables a stage owns outright (the outbox belongs to `deliver`).
//!
//! Writes of a day's rows go through an [`Ingest`], one transaction that
//! either lands whole or not at all. Reads take UTC instant ranges or shop
//! calendar days; converting a period in a zone is the caller's business.

mod checkpoint;
mod codec;
mod error;
mod http_cache;
mod ingest;
mod ledger;
mod load;
mod order_days;
mod reports;
mod schedule_state;
mod schema;
mod sku_months;
mod snapshots;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use checkpoint::BackgroundCheckpoint;
pub use error::StoreError;
pub use ingest::{FileMeta, Ingest, IngestSummary, RegisteredFile};
pub use ledger::{RunRecord, RunStatus};
pub use order_days::{OrderDays, PreHashed};
pub use schedule_state::ScheduledStart;
pub use snapshots::RowsVersion;

use error::Context;

/// How long a statement waits for another process's lock before failing
/// with a (transient) busy error.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite-backed store. Not `Sync`: one per thread or task.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the store file at `path` and brings its
    /// schema up to date. The parent directory must exist.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // WAL lets readers (a `status` command, the metrics endpoint) run
        // beside a writer; NORMAL sync is durable at checkpoints and cannot
        // corrupt in WAL mode, which is the right trade for re-runnable
        // batch loads. The WAL is cut back to 64 MiB after a checkpoint so a
        // year's import does not leave a gigabyte-sized log behind; the page
        // cache may grow to 128 MiB, which bulk index builds use.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -131072;
             PRAGMA journal_size_limit = 67108864;",
        )
        .map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// A second, read-only connection to a store another connection of
    /// this process has opened (and so migrated): no write lock is taken,
    /// so it never waits for another process's ingest to open.
    pub fn open_reader(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(Store { conn })
    }

    /// The schema version this build writes.
    pub fn schema_version() -> u32 {
        schema::MIGRATIONS.last().map_or(0, |(v, _)| *v)
    }

    /// How long a statement waits for another process's write lock before
    /// failing with a transient error (default 10 s).
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(timeout)
            .ctx("database", "set busy timeout")
    }

    /// The raw connection, for tables a stage owns outright (the outbox).
    /// Dataset tables, the registry, snapshots and the ledger must be reached
    /// through the methods of [`Store`], whose SQL a second backend would
    /// replace.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Mutable access for stage-owned tables that need their own
    /// transactions; same rules as [`Store::connection`].
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = Store::schema_version();
        for (version, sql) in schema::MIGRATIONS {
            let mig_err = |source| StoreError::Migration {
                version: *version,
                source,
            };
            // IMMEDIATE takes the write lock before reading the version, so
            // two processes opening a fresh file do not both migrate it.
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(mig_err)?;
            let current: u32 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(mig_err)?;
            if current > known {
                return Err(StoreError::SchemaTooNew {
                    found: current,
                    known,
                });
            }
            if current >= *version {
                continue;
            }
            tx.execute_batch(sql).map_err(mig_err)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(mig_err)?;
            tx.commit().map_err(mig_err)?;
            tracing::info!(version = *version, "store schema migrated");
        }
        Ok(())
    }

    /// Runs `f` in one write transaction, committed when it returns `Ok`.
    fn write<T>(
        &mut self,
        table: &'static str,
        op: &'static str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(table, op)?;
        let out = f(&tx)?;
        tx.commit().ctx(table, op)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.cargo/config.toml` compiles SQLite without memory statistics; an
    /// environment that overrides `LIBSQLITE3_FLAGS` (or a build outside the
    /// repository) would silently bring back the global allocation mutex.
    #[test]
    fn sqlite_is_built_without_memory_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let options: Vec<String> = store
            .conn
            .prepare("PRAGMA compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }
}
