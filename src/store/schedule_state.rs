//! What the scheduler keeps beside the run ledger: when it first saw each
//! job (catch-up never reaches back before that), the newest fire it handled
//! per job, and which process started each scheduled run, so a run left
//! `running` by a daemon that is gone can be told from one still going.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::Store;
use super::codec::{instant_from_ms, instant_to_ms};
use super::error::{Context, StoreError};

/// Migration 3: the scheduler's own tables.
pub(crate) const V3: &str = "
CREATE TABLE schedule_jobs (
    job           TEXT    PRIMARY KEY,
    first_seen_ms INTEGER NOT NULL,
    last_fire_ms  INTEGER
) STRICT;
CREATE TABLE schedule_starts (
    job        TEXT    NOT NULL,
    period     TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    PRIMARY KEY (job, period)
) STRICT;
";

const JOBS: &str = "schedule_jobs";
const STARTS: &str = "schedule_starts";

/// The scheduler process that last started a run of `(job, period)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledStart {
    pub pid: u32,
    pub started: DateTime<Utc>,
}

impl Store {
    /// When the scheduler first saw `job`; `now` is recorded if it never did.
    pub fn job_first_seen(
        &mut self,
        job: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO schedule_jobs (job, first_seen_ms) VALUES (?1, ?2) \
                 ON CONFLICT (job) DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![job, instant_to_ms(now)]))
            .ctx(JOBS, "register job")?;
        let ms: i64 = self
            .conn
            .prepare_cached("SELECT first_seen_ms FROM schedule_jobs WHERE job = ?1")
            .and_then(|mut s| s.query_row(params![job], |r| r.get(0)))
            .ctx(JOBS, "first seen")?;
        instant_from_ms(JOBS, "first_seen_ms", ms)
    }

    /// The newest fire of `job` whose run the scheduler finished.
    pub fn job_last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let ms: Option<Option<i64>> = self
            .conn
            .prepare_cached("SELECT last_fire_ms FROM schedule_jobs WHERE job = ?1")
            .and_then(|mut s| s.query_row(params![job], |r| r.get(0)).optional())
            .ctx(JOBS, "last fire")?;
        ms.flatten()
            .map(|ms| instant_from_ms(JOBS, "last_fire_ms", ms))
            .transpose()
    }

    /// Records `fire` as the newest handled fire of `job`; an older fire
    /// never moves it back. A job not seen before is registered as first
    /// seen at `fire`.
    pub fn set_job_last_fire(&mut self, job: &str, fire: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO schedule_jobs (job, first_seen_ms, last_fire_ms) VALUES (?1, ?2, ?2) \
                 ON CONFLICT (job) DO UPDATE SET last_fire_ms = \
                 max(coalesce(last_fire_ms, excluded.last_fire_ms), excluded.last_fire_ms)",
            )
            .and_then(|mut s| s.execute(params![job, instant_to_ms(fire)]))
            .ctx(JOBS, "set last fire")?;
        Ok(())
    }

    /// Notes that process `pid` starts a run of `(job, period)` at `at`.
    pub fn record_scheduled_start(
        &mut self,
        job: &str,
        period: &str,
        pid: u32,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO schedule_starts (job, period, pid, started_ms) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![job, period, pid, instant_to_ms(at)]))
            .ctx(STARTS, "record start")?;
        Ok(())
    }

    /// The scheduler process that last started `(job, period)`, if any.
    pub fn scheduled_start(
        &self,
        job: &str,
        period: &str,
    ) -> Result<Option<ScheduledStart>, StoreError> {
        let row: Option<(u32, i64)> = self
            .conn
            .prepare_cached(
                "SELECT pid, started_ms FROM schedule_starts WHERE job = ?1 AND period = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![job, period], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .ctx(STARTS, "read start")?;
        row.map(|(pid, ms)| {
            Ok(ScheduledStart {
                pid,
                started: instant_from_ms(STARTS, "started_ms", ms)?,
            })
        })
        .transpose()
    }

    /// Marks every attempt of `(job, period)` still `running` as
    /// `interrupted`; returns how many there were.
    pub fn interrupt_running(
        &mut self,
        job: &str,
        period: &str,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE runs SET status = 'interrupted', error = ?3, finished_ms = ?4 \
                 WHERE job = ?1 AND period = ?2 AND status = 'running'",
            )
            .and_then(|mut s| s.execute(params![job, period, error, instant_to_ms(at)]))
            .ctx("runs", "interrupt running")
    }

    /// Every period of `job` with an attempt in the ledger, each with its
    /// latest attempt, oldest period first by first appearance.
    pub fn latest_attempts(&self, job: &str) -> Result<Vec<super::RunRecord>, StoreError> {
        let mut out = Vec::new();
        let periods: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT period FROM runs WHERE job = ?1 GROUP BY period ORDER BY min(id)",
                )
                .ctx("runs", "list periods")?;
            let rows = stmt
                .query_map(params![job], |r| r.get(0))
                .ctx("runs", "list periods")?;
            rows.collect::<Result<_, _>>().ctx("runs", "list periods")?
        };
        for period in periods {
            if let Some(r) = self.latest_attempt(job, &period)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn first_seen_is_kept_from_the_first_call() {
        let (_dir, mut s) = store();
        let first = t("2026-11-01T00:00:00Z");
        assert_eq!(s.job_first_seen("daily-ops", first).unwrap(), first);
        assert_eq!(
            s.job_first_seen("daily-ops", t("2026-11-20T00:00:00Z"))
                .unwrap(),
            first
        );
        assert_eq!(s.job_last_fire("daily-ops").unwrap(), None);
        assert_eq!(s.job_last_fire("unknown").unwrap(), None);
    }

    #[test]
    fn last_fire_only_moves_forward() {
        let (_dir, mut s) = store();
        let a = t("2026-11-21T00:30:00Z");
        let b = t("2026-11-22T00:30:00Z");
        s.set_job_last_fire("daily-ops", b).unwrap();
        // An unseen job is registered as first seen at its fire.
        assert_eq!(s.job_first_seen("daily-ops", a).unwrap(), b);
        s.set_job_last_fire("daily-ops", a).unwrap();
        assert_eq!(s.job_last_fire("daily-ops").unwrap(), Some(b));
        let c = t("2026-11-23T00:30:00Z");
        s.set_job_last_fire("daily-ops", c).unwrap();
        assert_eq!(s.job_last_fire("daily-ops").unwrap(), Some(c));
    }

    #[test]
    fn starts_are_replaced_per_run() {
        let (_dir, mut s) = store();
        assert_eq!(s.scheduled_start("daily-ops", "2026-11-22").unwrap(), None);
        let at = t("2026-11-23T00:30:00Z");
        s.record_scheduled_start("daily-ops", "2026-11-22", 41, at)
            .unwrap();
        s.record_scheduled_start("daily-ops", "2026-11-22", 42, at)
            .unwrap();
        assert_eq!(
            s.scheduled_start("daily-ops", "2026-11-22").unwrap(),
            Some(ScheduledStart {
                pid: 42,
                started: at
            })
        );
    }

    #[test]
    fn running_attempts_become_interrupted() {
        let (_dir, mut s) = store();
        let at = t("2026-11-23T00:30:00Z");
        let done = s.begin_run("daily-ops", "2026-11-21", 1, at).unwrap();
        s.finish_run(done, "success", None, at).unwrap();
        s.begin_run("daily-ops", "2026-11-22", 1, at).unwrap();
        assert_eq!(
            s.interrupt_running("daily-ops", "2026-11-22", "stopped", at)
                .unwrap(),
            1
        );
        assert_eq!(
            s.interrupt_running("daily-ops", "2026-11-21", "stopped", at)
                .unwrap(),
            0
        );
        let latest = s.latest_attempts("daily-ops").unwrap();
        let summary: Vec<(&str, &str)> = latest
            .iter()
            .map(|r| (r.period.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            summary,
            [("2026-11-21", "success"), ("2026-11-22", "interrupted")]
        );
        assert_eq!(latest[1].error.as_deref(), Some("stopped"));
    }
}
