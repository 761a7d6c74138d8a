//! Moving a run's WAL checkpoint off its critical path.
//!
//! A day's ingest into a large store dirties tens of thousands of index
//! pages spread over the whole history (order ids and members arrive in no
//! order). SQLite's automatic checkpoint copies them from the WAL into the
//! database right after each commit, on the writing connection, so the run
//! waits for it before computing anything. With [`Store::defer_checkpoints`]
//! the commits append to the WAL until it holds a gigabyte, and
//! [`Store::checkpoint_in_background`] copies it on a second connection
//! while the run computes and renders on the other core.
//!
//! The bound matters: a first run or a catch-up ingests months of exports
//! in one run, and a WAL that is never checkpointed would grow until the
//! disk is full. Past the bound, commits checkpoint as usual.
//!
//! Nothing about durability changes: a committed transaction is in the WAL
//! either way, and an interrupted checkpoint is redone by the next one.

use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::{Connection, OpenFlags};

use super::error::Context;
use super::{BUSY_TIMEOUT, Store, StoreError};

/// SQLite's default `wal_autocheckpoint`, in pages.
const AUTO_CHECKPOINT_PAGES: i64 = 1000;

/// The WAL a deferred connection lets grow before it checkpoints after a
/// commit as usual: 1 GiB of 4 KiB pages, over twice what a day's ingest
/// into a year of a large shop writes (~118 k pages).
const DEFERRED_CHECKPOINT_PAGES: i64 = 262_144;

/// A checkpoint running on its own thread. Dropping it waits for the
/// checkpoint to end, so a run never exits with one half done (which would
/// be safe, only wasted).
#[derive(Debug)]
pub struct BackgroundCheckpoint {
    handle: Option<JoinHandle<()>>,
}

impl BackgroundCheckpoint {
    /// Waits for the checkpoint to end.
    pub fn wait(mut self) {
        self.join();
    }

    fn join(&mut self) {
        if let Some(h) = self.handle.take()
            && h.join().is_err()
        {
            tracing::warn!("background checkpoint thread panicked");
        }
    }
}

impl Drop for BackgroundCheckpoint {
    fn drop(&mut self) {
        self.join();
    }
}

impl Store {
    /// Lets this connection's commits leave the WAL to a background
    /// checkpoint until it holds a gigabyte; see the module docs.
    /// [`Store::resume_checkpoints`] undoes it.
    pub fn defer_checkpoints(&self) -> Result<(), StoreError> {
        self.defer_checkpoints_until(DEFERRED_CHECKPOINT_PAGES)
    }

    fn defer_checkpoints_until(&self, pages: i64) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", pages)
            .ctx("database", "defer checkpoints")
    }

    /// Puts back the automatic checkpoint after commits.
    pub fn resume_checkpoints(&self) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", AUTO_CHECKPOINT_PAGES)
            .ctx("database", "resume checkpoints")
    }

    /// Starts a passive checkpoint of the WAL on a second connection and
    /// thread. It never blocks this connection's reads or writes; a
    /// failure is logged, not returned, since it only leaves the WAL longer
    /// until the next checkpoint. `None` for an in-memory store.
    pub fn checkpoint_in_background(&self) -> Option<BackgroundCheckpoint> {
        let path = self.conn.path().filter(|p| !p.is_empty())?.to_owned();
        let handle = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || checkpoint(&path));
        match handle {
            Ok(h) => Some(BackgroundCheckpoint { handle: Some(h) }),
            Err(e) => {
                tracing::warn!(error = %e, "background checkpoint not started");
                None
            }
        }
    }
}

fn checkpoint(path: &str) {
    let started = Instant::now();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let result = Connection::open_with_flags(path, flags).and_then(|conn| {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // (busy, frames in the WAL, frames copied into the database)
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
    });
    match result {
        Ok((busy, frames, copied)) => tracing::debug!(
            busy,
            frames,
            copied,
            ms = started.elapsed().as_millis() as u64,
            "background checkpoint done"
        ),
        Err(e) => tracing::warn!(error = %e, "background checkpoint failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    fn write(store: &Store, rows: u32) {
        store
            .conn
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS t (x BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
                 INSERT INTO t SELECT randomblob(4000) FROM n;"
            ))
            .unwrap();
    }

    #[test]
    fn deferred_commits_leave_the_wal_to_the_background_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let wal = dir.path().join("s.db-wal");
        let store = Store::open(&path).unwrap();
        store.defer_checkpoints().unwrap();
        // ~6 MB of pages: more than the 1000 after which the automatic
        // checkpoint would have copied them into the database file.
        write(&store, 1500);
        assert!(size(&wal) > 6_000_000, "the commit is in the WAL");
        assert!(size(&path) < 1_000_000, "and not yet in the database");

        let bg = store.checkpoint_in_background().expect("file store");
        // This connection keeps reading meanwhile.
        let n: i64 = store
            .conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1500);
        bg.wait();
        assert!(size(&path) > 6_000_000, "copied into the database");

        // Resumed, this connection checkpoints after its commits again.
        store.resume_checkpoints().unwrap();
        let before = size(&path);
        write(&store, 1500);
        assert!(size(&path) > before + 6_000_000);
    }

    #[test]
    fn a_deferred_wal_is_still_checkpointed_past_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        store.defer_checkpoints_until(2500).unwrap();
        write(&store, 1500);
        assert!(size(&path) < 1_000_000, "below the bound: left in the WAL");
        write(&store, 1500);
        assert!(
            size(&path) > 10_000_000,
            "past the bound the commit checkpoints"
        );
    }

    #[test]
    fn an_in_memory_store_has_no_background_checkpoint() {
        let store = Store {
            conn: Connection::open_in_memory().unwrap(),
        };
        assert!(store.checkpoint_in_background().is_none());
    }
}
