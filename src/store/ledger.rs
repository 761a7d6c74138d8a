//! The run ledger: one row per attempt of a run. A run is identified by
//! `(job, period)`; running it again adds an attempt under the same
//! identity, so history is kept and "the" result is the latest attempt.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use super::codec::{instant_from_ms, instant_to_ms};
use super::error::{Context, StoreError};

const RUNS: &str = "runs";
const RUN_COLUMNS: &str = "id, job, period, attempt, status, started_ms, finished_ms, error";

/// Where a run attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Running,
    Success,
    Warn,
    Held,
    Failed,
    /// Stopped by a signal or found `running` after a crash; retried on the
    /// next start.
    Interrupted,
}

impl RunStatus {
    pub const ALL: [RunStatus; 6] = [
        RunStatus::Running,
        RunStatus::Success,
        RunStatus::Warn,
        RunStatus::Held,
        RunStatus::Failed,
        RunStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Success => "success",
            RunStatus::Warn => "warn",
            RunStatus::Held => "held",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| StoreError::UnknownRunStatus(s.to_owned()))
    }
}

/// One attempt of a run, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub job: String,
    pub period: String,
    /// 1-based, counting attempts of this `(job, period)`.
    pub attempt: u32,
    /// One of [`RunStatus`]'s names.
    pub status: String,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

impl RunRecord {
    pub fn run_status(&self) -> Result<RunStatus, StoreError> {
        self.status.parse()
    }
}

impl Store {
    /// Records the start of an attempt (status `running`) and returns its id.
    /// An attempt number already used for `(job, period)` is refused; see
    /// [`Store::next_attempt`].
    pub fn begin_run(
        &mut self,
        job: &str,
        period: &str,
        attempt: u32,
        started: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO runs (job, period, attempt, status, started_ms) \
                 VALUES (?1, ?2, ?3, 'running', ?4)",
            )
            .and_then(|mut s| s.execute(params![job, period, attempt, instant_to_ms(started)]))
            .ctx(RUNS, "begin run")?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The attempt number the next run of `(job, period)` gets: 1 for a
    /// first run.
    pub fn next_attempt(&self, job: &str, period: &str) -> Result<u32, StoreError> {
        let max: Option<u32> = self
            .conn
            .prepare_cached("SELECT max(attempt) FROM runs WHERE job = ?1 AND period = ?2")
            .and_then(|mut s| s.query_row(params![job, period], |r| r.get(0)))
            .ctx(RUNS, "next attempt")?;
        Ok(max.map_or(1, |m| m + 1))
    }

    /// Records how an attempt ended. `status` must be one of
    /// [`RunStatus`]'s names.
    pub fn finish_run(
        &mut self,
        id: i64,
        status: &str,
        error: Option<&str>,
        finished: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let status: RunStatus = status.parse()?;
        let n = self
            .conn
            .prepare_cached(
                "UPDATE runs SET status = ?2, error = ?3, finished_ms = ?4 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![id, status.as_str(), error, instant_to_ms(finished)])
            })
            .ctx(RUNS, "finish run")?;
        if n == 0 {
            return Err(StoreError::RunNotFound(id));
        }
        Ok(())
    }

    /// The latest attempts, newest first, of one job or of all.
    pub fn runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match job {
            Some(job) => self.query_runs(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2"),
                params![job, limit],
            ),
            None => self.query_runs(
                &format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1"),
                params![limit],
            ),
        }
    }

    /// The most recent attempt of `job`.
    pub fn last_run(&self, job: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self.runs(Some(job), 1)?.into_iter().next())
    }

    /// Every attempt of one run, oldest first.
    pub fn run_attempts(&self, job: &str, period: &str) -> Result<Vec<RunRecord>, StoreError> {
        self.query_runs(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 AND period = ?2 ORDER BY attempt"
            ),
            params![job, period],
        )
    }

    /// Attempts in a given status, oldest first (`running` ones after a
    /// crash, `interrupted` ones to retry).
    pub fn runs_with_status(&self, status: &str) -> Result<Vec<RunRecord>, StoreError> {
        let status: RunStatus = status.parse()?;
        self.query_runs(
            &format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = ?1 ORDER BY id"),
            params![status.as_str()],
        )
    }

    fn query_runs(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<RunRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).ctx(RUNS, "list runs")?;
        let rows = stmt
            .query_map(params, |r| Ok(read_run(r)))
            .ctx(RUNS, "list runs")?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.ctx(RUNS, "list runs")??);
        }
        Ok(out)
    }

    /// The run of `(job, period)` whose latest attempt is the newest, if any
    /// attempt exists.
    pub fn latest_attempt(&self, job: &str, period: &str) -> Result<Option<RunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 AND period = ?2 \
             ORDER BY attempt DESC LIMIT 1"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![job, period], |r| Ok(read_run(r))).optional())
            .ctx(RUNS, "latest attempt")?
            .transpose()
    }
}

fn read_run(r: &Row<'_>) -> Result<RunRecord, StoreError> {
    let raw = (|| -> rusqlite::Result<_> {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, Option<i64>>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    })()
    .ctx(RUNS, "read run")?;
    let (id, job, period, attempt, status, started, finished, error) = raw;
    Ok(RunRecord {
        id,
        job,
        period,
        attempt,
        status,
        started: instant_from_ms(RUNS, "started_ms", started)?,
        finished: finished
            .map(|f| instant_from_ms(RUNS, "finished_ms", f))
            .transpose()?,
        error,
    })
}
