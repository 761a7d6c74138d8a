//! The scheduler (SPEC §6) over the real pipeline and store: each job's
//! scheduling keys built into a [`ScheduledJob`], a [`JobRunner`] that runs
//! [`run_job`](super::run_job), a [`Ledger`] over the run ledger and the
//! scheduler's own table, and a [`Notifier`] for the owners' failure and
//! recovery notices.
//!
//! How a run's result reads to the scheduler:
//! - `success` / `warn` → success;
//! - `held` and `flagged` → held: a fail-level check fired, so the owners
//!   hear about it and it is not retried; the ledger records both as `held`;
//! - an error → failed, transient when [`RunError::is_transient`] says so or
//!   when a required export is simply not there yet (SPEC §6 retries those);
//! - a shutdown → interrupted.
//!
//! Each attempt runs on its own thread with its own small runtime: the
//! pipeline is mostly synchronous work, and the daemon's scheduler loop and
//! health endpoint must keep answering while it runs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::pipeline::error_chain;
use super::{RunError, RunOptions};
use crate::config::{Catchup, Config, ConfigErrors, Job};
use crate::period::Period;
use crate::schedule::config::RawRetries;
use crate::schedule::{
    Clock, ConfigProblem, DaemonConfig, JobRunner, JobScheduleConfig, Ledger, LedgerError,
    Notifier, RawDaemon, RawJobSchedule, RunOutcome, RunState, ScheduledJob,
};
use crate::store::{RunStatus, Store};

/// The scheduling settings of `job`, built from its job file's keys; every
/// problem names the job file and the key in it.
pub fn job_schedule(config: &Config, job: &Job) -> Result<JobScheduleConfig, ConfigErrors> {
    build_job_schedule(config, job).map_err(|problems| {
        let mut errors = ConfigErrors::default();
        push_job_problems(job, problems, &mut errors);
        errors
    })
}

/// Problems name their key as `jobs.<name>.<key>`.
fn build_job_schedule(config: &Config, job: &Job) -> Result<JobScheduleConfig, Vec<ConfigProblem>> {
    let prefix = format!("jobs.{}", job.name);
    let retries = match &job.retries {
        None => None,
        Some(table) => match toml::Value::Table(table.clone()).try_into::<RawRetries>() {
            Ok(r) => Some(r),
            Err(e) => {
                return Err(vec![ConfigProblem {
                    key: format!("{prefix}.retries"),
                    message: e.message().to_string(),
                }]);
            }
        },
    };
    let raw = RawJobSchedule {
        schedule: Some(job.schedule.clone()),
        timezone: Some(job.timezone.name().to_string()),
        catchup: Some(
            match job.catchup {
                Catchup::Latest => "latest",
                Catchup::All => "all",
                Catchup::None => "none",
            }
            .to_string(),
        ),
        max_catchup: Some(job.max_catchup),
        retries,
        timeout_secs: job.timeout_secs,
        step_timeout_secs: job.step_timeout_secs,
        // The job files accept only `overlap = "forbid"`: a fire while the
        // job runs is skipped, the scheduler's default.
        overlap: None,
    };
    raw.build(&prefix, config.timezone)
}

/// The `[daemon]` section of the global file.
pub fn daemon_config(config: &Config) -> Result<DaemonConfig, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let built = build_daemon(config, &mut errors);
    match built {
        Some(d) if errors.is_empty() => Ok(d),
        _ => Err(errors),
    }
}

fn build_daemon(config: &Config, errors: &mut ConfigErrors) -> Option<DaemonConfig> {
    let raw = match &config.daemon {
        None => RawDaemon::default(),
        Some(table) => match toml::Value::Table(table.clone()).try_into::<RawDaemon>() {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(&config.file, "daemon", e.message());
                return None;
            }
        },
    };
    match raw.build() {
        Ok(d) => Some(d),
        Err(problems) => {
            for p in problems {
                errors.push(&config.file, p.key, p.message);
            }
            None
        }
    }
}

/// Builds every job's scheduling keys and the `[daemon]` section, pushing
/// each problem with its file and key (for `validate`).
pub fn validate_schedules(config: &Config, errors: &mut ConfigErrors) {
    for job in config.jobs.values() {
        if let Err(problems) = build_job_schedule(config, job) {
            push_job_problems(job, problems, errors);
        }
    }
    build_daemon(config, errors);
}

fn push_job_problems(job: &Job, problems: Vec<ConfigProblem>, errors: &mut ConfigErrors) {
    let prefix = format!("jobs.{}.", job.name);
    for p in problems {
        // Keys are reported relative to the job file they live in.
        let key = p.key.strip_prefix(&prefix).unwrap_or(&p.key).to_string();
        errors.push(&job.file, key, p.message);
    }
}

/// Every job as the scheduler runs it, each first seen when `first_seen`
/// says; all problems, or the jobs in name order.
pub fn scheduled_jobs(
    config: &Config,
    mut first_seen: impl FnMut(&str) -> DateTime<Utc>,
) -> Result<Vec<ScheduledJob>, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let mut jobs = Vec::new();
    for job in config.jobs.values() {
        match build_job_schedule(config, job) {
            Ok(cfg) => jobs.push(cfg.into_job(&job.name, job.period, first_seen(&job.name))),
            Err(problems) => push_job_problems(job, problems, &mut errors),
        }
    }
    errors.into_result(jobs)
}

/// Runs attempts through the pipeline and remembers each run's exit code,
/// so `catch-up` can exit with the worst one.
#[derive(Clone)]
pub struct PipelineRunner {
    config: Arc<Config>,
    exit_codes: Arc<Mutex<BTreeMap<(String, Period), u8>>>,
    /// One per job, held while an attempt runs: an attempt the scheduler
    /// gave up on (run timeout) keeps going until its next safe point, and
    /// the retry must not start beside it.
    running: Arc<Mutex<BTreeMap<String, Arc<Mutex<()>>>>>,
}

impl PipelineRunner {
    pub fn new(config: Arc<Config>) -> PipelineRunner {
        PipelineRunner {
            config,
            exit_codes: Arc::default(),
            running: Arc::default(),
        }
    }

    fn job_lock(&self, job: &str) -> Arc<Mutex<()>> {
        Arc::clone(lock(&self.running).entry(job.to_string()).or_default())
    }

    /// The exit code of the latest attempt of `(job, period)`, SPEC §2's
    /// numbering; `None` if it never ran here.
    pub fn exit_code(&self, job: &str, period: Period) -> Option<u8> {
        lock(&self.exit_codes)
            .get(&(job.to_string(), period))
            .copied()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values are plain data, valid even after a panicking holder.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl JobRunner for PipelineRunner {
    fn run(
        &self,
        job: &str,
        period: Period,
        attempt: u32,
        cancel: CancellationToken,
    ) -> impl Future<Output = RunOutcome> + Send {
        let runner = self.clone();
        let job = job.to_string();
        async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let name = job.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("run {job} {period}"))
                .spawn(move || {
                    let outcome = runner.run_here(&name, period, attempt, &cancel);
                    let _ = tx.send(outcome);
                });
            if let Err(e) = spawned {
                return RunOutcome::Failed {
                    transient: true,
                    error: format!("cannot start a thread for the run: {e}"),
                };
            }
            rx.await.unwrap_or_else(|_| RunOutcome::Failed {
                transient: false,
                error: format!("the run of {job} for {period} panicked"),
            })
        }
    }
}

impl PipelineRunner {
    /// One attempt, on the calling thread.
    fn run_here(
        &self,
        name: &str,
        period: Period,
        attempt: u32,
        cancel: &CancellationToken,
    ) -> RunOutcome {
        let config = self.config.as_ref();
        let Some(job) = config.job(name) else {
            return RunOutcome::Failed {
                transient: false,
                error: format!("no job named {name:?} in the configuration"),
            };
        };
        let job_lock = self.job_lock(name);
        let _running = lock(&job_lock);
        if cancel.is_cancelled() {
            return RunOutcome::Interrupted;
        }
        let now = Utc::now();
        match super::open_store(config).and_then(|mut s| {
            s.record_scheduled_start(name, &period.to_string(), std::process::id(), now)
                .map_err(RunError::from)
        }) {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(job = name, %period, error = %error_chain(&e), "cannot note the run's start")
            }
        }
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                return RunOutcome::Failed {
                    transient: true,
                    error: format!("cannot start the run's runtime: {e}"),
                };
            }
        };
        tracing::debug!(job = name, %period, attempt, "running the pipeline");
        let opts = RunOptions::new(now);
        let result = rt.block_on(super::run_job(config, job, period, &opts, cancel));
        let code = match &result {
            Ok(run) => run.exit_code(),
            Err(e) => e.exit_code(),
        };
        lock(&self.exit_codes).insert((name.to_string(), period), code);
        outcome_of(result.map(|run| run.outcome))
    }
}

/// How a run's result reads to the scheduler (see the module notes).
pub fn outcome_of(result: Result<super::Outcome, RunError>) -> RunOutcome {
    use super::Outcome;
    match result {
        Ok(Outcome::Success) => RunOutcome::Success,
        Ok(Outcome::Warn) => RunOutcome::Warn,
        Ok(Outcome::Held | Outcome::Flagged) => RunOutcome::Held,
        Err(RunError::Interrupted) => RunOutcome::Interrupted,
        Err(e) => RunOutcome::Failed {
            transient: e.is_transient() || matches!(e, RunError::MissingInput { .. }),
            error: error_chain(&e),
        },
    }
}

/// The ledger the scheduler reads and writes, over the store.
pub struct StoreLedger {
    store: Mutex<Store>,
    clock: Arc<dyn Clock>,
    /// Per job, how long a run may take: a `running` attempt older than this
    /// that no scheduler process claims is taken as left by a dead process.
    run_timeouts: BTreeMap<String, std::time::Duration>,
    pid: u32,
}

impl StoreLedger {
    pub fn new(store: Store, clock: Arc<dyn Clock>, jobs: &[ScheduledJob]) -> StoreLedger {
        StoreLedger {
            store: Mutex::new(store),
            clock,
            run_timeouts: jobs
                .iter()
                .map(|j| (j.name.clone(), j.run_timeout))
                .collect(),
            pid: std::process::id(),
        }
    }

    /// Whether a `running` attempt was left by a process that is gone.
    ///
    /// A scheduler process other than this one holds no lock on the state
    /// any more (this one holds it), so its runs are dead. A run no
    /// scheduler started (`run-job`, `backfill`) is dead once it is older
    /// than the job's run timeout.
    fn is_abandoned(
        &self,
        store: &Store,
        job: &str,
        record: &crate::store::RunRecord,
    ) -> Result<bool, LedgerError> {
        if let Some(start) = store.scheduled_start(job, &record.period)?
            && start.started <= record.started
        {
            return Ok(start.pid != self.pid);
        }
        let timeout = self
            .run_timeouts
            .get(job)
            .copied()
            .unwrap_or(crate::schedule::config::DEFAULT_RUN_TIMEOUT);
        let age = (self.clock.now() - record.started)
            .to_std()
            .unwrap_or_default();
        Ok(age > timeout)
    }
}

fn run_state(status: RunStatus) -> RunState {
    match status {
        RunStatus::Success | RunStatus::Warn => RunState::Succeeded,
        RunStatus::Held | RunStatus::Failed => RunState::Failed,
        RunStatus::Interrupted => RunState::Interrupted,
        RunStatus::Running => RunState::Running,
    }
}

impl Ledger for StoreLedger {
    fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        Ok(lock(&self.store).job_last_fire(job)?)
    }

    fn set_last_fire(&self, job: &str, fire: DateTime<Utc>) -> Result<(), LedgerError> {
        Ok(lock(&self.store).set_job_last_fire(job, fire)?)
    }

    fn run_state(&self, job: &str, period: Period) -> Result<Option<RunState>, LedgerError> {
        let store = lock(&self.store);
        match store.latest_attempt(job, &period.to_string())? {
            None => Ok(None),
            Some(r) => Ok(Some(run_state(r.run_status()?))),
        }
    }

    fn unfinished_runs(&self, job: &str) -> Result<Vec<(Period, u32)>, LedgerError> {
        let store = lock(&self.store);
        let mut out = Vec::new();
        for record in store.latest_attempts(job)? {
            let unfinished = match record.run_status()? {
                RunStatus::Interrupted => true,
                RunStatus::Running => self.is_abandoned(&store, job, &record)?,
                _ => false,
            };
            if !unfinished {
                continue;
            }
            match record.period.parse::<Period>() {
                Ok(period) => out.push((period, record.attempt)),
                Err(e) => {
                    tracing::warn!(job, period = %record.period, error = %e, "unfinished run with an unreadable period left alone")
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn record_interrupted(
        &self,
        job: &str,
        period: Period,
        attempt: u32,
    ) -> Result<(), LedgerError> {
        let mut store = lock(&self.store);
        let period_id = period.to_string();
        let now = self.clock.now();
        let changed = store.interrupt_running(job, &period_id, "interrupted by shutdown", now)?;
        if changed > 0 {
            return Ok(());
        }
        // Stopped while waiting to retry: the last attempt is recorded
        // `failed`, so an `interrupted` one is added for the next start to
        // pick the run up again.
        let latest = store.latest_attempt(job, &period_id)?;
        if let Some(r) = latest
            && r.run_status()? == RunStatus::Failed
        {
            let next = store.next_attempt(job, &period_id)?.max(attempt + 1);
            let id = store.begin_run(job, &period_id, next, now)?;
            store.finish_run(
                id,
                RunStatus::Interrupted.as_str(),
                Some("interrupted by shutdown while waiting to retry"),
                now,
            )?;
        }
        Ok(())
    }
}

/// What the owners of a job are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerNotice<'a> {
    /// The job went from success to failure (or its first run failed).
    Failed { error: &'a str },
    /// The job succeeded again after failing.
    Recovered,
}

/// Tells a job's owners when it starts failing and when it recovers.
pub struct OwnerNotifier {
    config: Arc<Config>,
}

impl OwnerNotifier {
    pub fn new(config: Arc<Config>) -> OwnerNotifier {
        OwnerNotifier { config }
    }
}

impl Notifier for OwnerNotifier {
    async fn job_failed(&self, job: &str, period: Period, error: &str) {
        send_owner_notice(&self.config, job, period, OwnerNotice::Failed { error }).await;
    }

    async fn job_recovered(&self, job: &str, period: Period) {
        send_owner_notice(&self.config, job, period, OwnerNotice::Recovered).await;
    }
}

/// The one place owner notices leave the scheduler: composed, stored in the
/// outbox once per (job, period, kind) and sent like any report. The store
/// is not `Send`, so, like a run, the notice is delivered on a blocking
/// thread with its own runtime. A failure to tell the owners is logged; it
/// must not stop the scheduler.
pub async fn send_owner_notice(
    config: &Arc<Config>,
    job: &str,
    period: Period,
    notice: OwnerNotice<'_>,
) {
    let (kind, error) = match notice {
        OwnerNotice::Failed { error } => {
            (crate::deliver::AlertKind::Failure, Some(error.to_string()))
        }
        OwnerNotice::Recovered => (crate::deliver::AlertKind::Recovery, None),
    };
    let config = Arc::clone(config);
    let job_name = job.to_string();
    let result = tokio::task::spawn_blocking(move || {
        let Some(j) = config.job(&job_name) else {
            return Ok(());
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RunError::Delivery(format!("cannot start a runtime: {e}")))?;
        rt.block_on(super::notify_owners(&config, j, period, kind, error))
    })
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(job, %period, error = %super::pipeline::error_chain(&e), "owners could not be told");
        }
        Err(e) => tracing::warn!(job, %period, error = %e, "owner notice task failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::SystemClock;

    #[test]
    fn results_map_to_scheduler_outcomes() {
        use super::super::Outcome;
        assert_eq!(outcome_of(Ok(Outcome::Success)), RunOutcome::Success);
        assert_eq!(outcome_of(Ok(Outcome::Warn)), RunOutcome::Warn);
        assert_eq!(outcome_of(Ok(Outcome::Held)), RunOutcome::Held);
        assert_eq!(outcome_of(Ok(Outcome::Flagged)), RunOutcome::Held);
        assert_eq!(
            outcome_of(Err(RunError::Interrupted)),
            RunOutcome::Interrupted
        );
        assert_eq!(
            outcome_of(Err(RunError::MissingInput {
                dataset: "orders".into(),
                message: "no export".into()
            })),
            RunOutcome::Failed {
                transient: true,
                error: "orders: no export".into()
            }
        );
        assert_eq!(
            outcome_of(Err(RunError::Usage("bad".into()))),
            RunOutcome::Failed {
                transient: false,
                error: "bad".into()
            }
        );
        assert!(matches!(
            outcome_of(Err(RunError::Delivery("smtp 451".into()))),
            RunOutcome::Failed {
                transient: true,
                ..
            }
        ));
    }

    fn job(name: &str, timeout_secs: u64) -> ScheduledJob {
        let raw = RawJobSchedule {
            schedule: Some("30 8 * * *".into()),
            timeout_secs: Some(timeout_secs),
            step_timeout_secs: Some(timeout_secs),
            ..RawJobSchedule::default()
        };
        raw.build("jobs.x", chrono_tz::Asia::Shanghai)
            .unwrap()
            .into_job(name, crate::period::PeriodKind::Day, Utc::now())
    }

    fn ledger(dir: &tempfile::TempDir) -> StoreLedger {
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        StoreLedger::new(store, Arc::new(SystemClock), &[job("a", 3600)])
    }

    fn day(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn ledger_reads_states_and_unfinished_runs() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir);
        let now = Utc::now();
        {
            let mut s = lock(&l.store);
            // Finished, interrupted, failed and a run left running by a
            // scheduler process that is gone.
            for (period, status) in [
                ("2026-11-18", "warn"),
                ("2026-11-19", "interrupted"),
                ("2026-11-20", "failed"),
            ] {
                let id = s.begin_run("a", period, 1, now).unwrap();
                s.finish_run(id, status, None, now).unwrap();
            }
            s.record_scheduled_start("a", "2026-11-21", 1, now).unwrap();
            s.begin_run("a", "2026-11-21", 2, now).unwrap();
            // Left running by this process: still going.
            s.record_scheduled_start("a", "2026-11-22", std::process::id(), now)
                .unwrap();
            s.begin_run("a", "2026-11-22", 1, now).unwrap();
            // Running from `run-job`, recent: still going.
            s.begin_run("a", "2026-11-23", 1, now).unwrap();
            // Running from `run-job`, older than the run timeout: dead.
            s.begin_run("a", "2026-11-24", 1, now - chrono::TimeDelta::hours(2))
                .unwrap();
        }
        assert_eq!(
            l.run_state("a", day("2026-11-18")).unwrap(),
            Some(RunState::Succeeded)
        );
        assert_eq!(
            l.run_state("a", day("2026-11-20")).unwrap(),
            Some(RunState::Failed)
        );
        assert_eq!(
            l.run_state("a", day("2026-11-21")).unwrap(),
            Some(RunState::Running)
        );
        assert_eq!(l.run_state("a", day("2026-11-25")).unwrap(), None);
        assert_eq!(
            l.unfinished_runs("a").unwrap(),
            [
                (day("2026-11-19"), 1),
                (day("2026-11-21"), 2),
                (day("2026-11-24"), 1)
            ]
        );
        assert_eq!(l.unfinished_runs("b").unwrap(), []);
    }

    #[test]
    fn interruptions_are_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir);
        let now = Utc::now();
        let p = day("2026-11-22");
        {
            let mut s = lock(&l.store);
            s.begin_run("a", "2026-11-22", 1, now).unwrap();
        }
        l.record_interrupted("a", p, 1).unwrap();
        l.record_interrupted("a", p, 1).unwrap();
        let attempts = lock(&l.store).run_attempts("a", "2026-11-22").unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status, "interrupted");

        // Shut down while waiting to retry a failed attempt.
        let q = day("2026-11-23");
        {
            let mut s = lock(&l.store);
            let id = s.begin_run("a", "2026-11-23", 1, now).unwrap();
            s.finish_run(id, "failed", Some("smtp 451"), now).unwrap();
        }
        l.record_interrupted("a", q, 1).unwrap();
        let attempts = lock(&l.store).run_attempts("a", "2026-11-23").unwrap();
        let states: Vec<(u32, &str)> = attempts
            .iter()
            .map(|r| (r.attempt, r.status.as_str()))
            .collect();
        assert_eq!(states, [(1, "failed"), (2, "interrupted")]);
        assert_eq!(l.unfinished_runs("a").unwrap(), [(p, 1), (q, 2)]);

        // A finished run is never marked interrupted afterwards.
        let r = day("2026-11-24");
        {
            let mut s = lock(&l.store);
            let id = s.begin_run("a", "2026-11-24", 1, now).unwrap();
            s.finish_run(id, "success", None, now).unwrap();
        }
        l.record_interrupted("a", r, 1).unwrap();
        assert_eq!(l.run_state("a", r).unwrap(), Some(RunState::Succeeded));
    }

    #[test]
    fn last_fire_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir);
        assert_eq!(l.last_fire("a").unwrap(), None);
        let fire: DateTime<Utc> = "2026-11-23T00:30:00Z".parse().unwrap();
        l.set_last_fire("a", fire).unwrap();
        assert_eq!(l.last_fire("a").unwrap(), Some(fire));
    }
}
