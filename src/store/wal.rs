//! Keeping the WAL file from one run to the next.
//!
//! SQLite deletes the WAL when the last connection closes, so every run
//! starts with an empty log and a day's ingest into a large store (~118 k
//! pages, ~480 MB of frames) grows a new file: each frame lands on blocks
//! the file system must allocate and zero, and the page cache must clear
//! fresh pages for them, which was a fifth of a daily run's CPU. A log kept
//! between runs is written over in place instead.
//!
//! Kept as it is, though, the log would cost the next open more than it
//! saves: the first connection rebuilds its index by reading every frame
//! that is still valid (1.5 s for a day's log on the large store). Frames
//! stop being valid at the first one whose salt differs from the header's,
//! and SQLite writes a new salt when a writer restarts the log after a
//! complete checkpoint. So when a store that wrote to its log closes, it
//! checkpoints and then commits one small write: the log restarts, holding
//! one valid frame, and the next open reads that one.
//!
//! The kept file is bounded: a log that grew past [`KEEP_BYTES`] (a first
//! run's months of exports, an import while another process held the store
//! open) is truncated at close, as SQLite's `journal_size_limit` did before.
//! Durability is unchanged: what is committed is in the database or in the
//! log either way, and a crash before the restarting write leaves a log
//! whose frames the next open replays, as any crash does.

use std::ffi::c_int;
use std::path::PathBuf;

use rusqlite::Connection;

use super::error::Context;
use super::{Store, StoreError};

/// The largest log kept at close: over twice a day's ingest into a year of
/// a large shop (~480 MB), and the bound past which a run's deferred
/// commits checkpoint anyway (see `checkpoint`).
pub(super) const KEEP_BYTES: u64 = 1 << 30;

/// Logs smaller than this are left as SQLite leaves them: restarting them
/// would cost a write at every close and save nothing.
const RESTART_FROM_BYTES: u64 = 4 << 20;

/// Asks SQLite to keep (`on`) or delete `conn`'s WAL file when the log is
/// closed: at the last connection's close, and when the connection leaves
/// WAL mode. Returns whether the setting took; without it the store
/// behaves as SQLite does by default, which is correct, only slower.
///
/// A bulk load leaving WAL mode must turn it off first: a log kept beside a
/// database written through a rollback journal would hold stale copies of
/// pages, which the next switch back to WAL would read as current.
pub(super) fn keep_wal(conn: &Connection, on: bool) -> bool {
    let mut flag: c_int = c_int::from(on);
    // SAFETY: `conn.handle()` is the open database handle `conn` owns and
    // outlives this call; SQLITE_FCNTL_PERSIST_WAL reads and writes one
    // `int` through the pointer, which points at `flag` for the whole call.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut flag).cast(),
        )
    };
    rc == rusqlite::ffi::SQLITE_OK && flag == c_int::from(on)
}

impl Store {
    /// The WAL file's path, for a store on disk.
    fn wal_path(&self) -> Option<PathBuf> {
        let db = self.conn.path().filter(|p| !p.is_empty())?;
        Some(PathBuf::from(format!("{db}-wal")))
    }

    /// Leaves the WAL ready to be kept: truncated when it grew past
    /// `keep_bytes`, restarted (see the module docs) when it is large
    /// enough for that to matter. Another connection reading or writing
    /// meanwhile only means the log is not restarted this time.
    pub(super) fn retire_wal(&self, keep_bytes: u64) -> Result<(), StoreError> {
        let Some(wal) = self.wal_path() else {
            return Ok(());
        };
        let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
        if size < RESTART_FROM_BYTES {
            return Ok(());
        }
        // Do not wait for other processes: closing must not hang on them.
        self.conn
            .busy_timeout(std::time::Duration::ZERO)
            .ctx("database", "retire WAL")?;
        if size > keep_bytes {
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .ctx("database", "truncate WAL")?;
            return Ok(());
        }
        // (busy, frames in the log, frames copied into the database)
        let (busy, frames, copied): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .ctx("database", "checkpoint WAL")?;
        if busy != 0 || frames != copied {
            return Ok(());
        }
        // Rewriting the header's user_version is the smallest write there
        // is (one page) and changes nothing.
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx("database", "read user_version")?;
        self.conn
            .execute_batch(&format!("PRAGMA user_version = {version}"))
            .ctx("database", "restart WAL")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn count(store: &Store) -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// The salts of the log's header and of its first `n` frames.
    fn salts(wal: &std::path::Path, n: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let bytes = std::fs::read(wal).unwrap();
        let page = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        let header = bytes[16..24].to_vec();
        let frames = (0..n)
            .map(|i| {
                let at = 32 + i * (24 + page);
                bytes[at + 8..at + 16].to_vec()
            })
            .collect();
        (header, frames)
    }

    #[test]
    fn a_closed_store_keeps_its_log_restarted_to_one_valid_frame() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let wal = dir.path().join("s.db-wal");
        {
            let store = Store::open(&path).unwrap();
            store.defer_checkpoints().unwrap();
            // ~6 MB of pages, all left in the log by the deferred commit.
            write(&store, 1500);
        }
        let size = std::fs::metadata(&wal).expect("log kept").len();
        assert!(size > 6_000_000, "kept at its size, not truncated: {size}");
        let (header, frames) = salts(&wal, 2);
        assert_eq!(frames[0], header, "the restarting write is valid");
        assert_ne!(frames[1], header, "the frames after it are not");

        let store = Store::open(&path).unwrap();
        assert_eq!(count(&store), 1500, "every row is in the database");
        write(&store, 10);
        assert_eq!(count(&store), 1510);
    }

    #[test]
    fn a_log_past_the_bound_is_truncated_at_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let wal = dir.path().join("s.db-wal");
        let store = Store::open(&path).unwrap();
        store.defer_checkpoints().unwrap();
        write(&store, 1500);
        store.retire_wal(1_000_000).unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        assert_eq!(count(&store), 1500);
    }

    #[test]
    fn a_small_log_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let wal = dir.path().join("s.db-wal");
        let store = Store::open(&path).unwrap();
        store.defer_checkpoints().unwrap();
        write(&store, 100);
        let before = std::fs::read(&wal).unwrap();
        store.retire_wal(KEEP_BYTES).unwrap();
        assert_eq!(std::fs::read(&wal).unwrap(), before);
    }

    #[test]
    fn a_reader_in_another_connection_only_stops_the_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let wal = dir.path().join("s.db-wal");
        let store = Store::open(&path).unwrap();
        store.defer_checkpoints().unwrap();
        write(&store, 1500);
        let reader = Store::open_reader(&path).unwrap();
        let tx = reader.conn.unchecked_transaction().unwrap();
        assert_eq!(count(&reader), 1500);
        let before = std::fs::metadata(&wal).unwrap().len();
        store.retire_wal(KEEP_BYTES).unwrap();
        let (header, frames) = salts(&wal, 2);
        assert_eq!(frames, vec![header.clone(), header], "not restarted");
        assert!(std::fs::metadata(&wal).unwrap().len() >= before);
        drop(tx);
        assert_eq!(count(&store), 1500);
    }
}
