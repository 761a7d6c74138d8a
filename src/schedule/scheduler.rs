//! The scheduler core: decides which (job, period) runs when, and runs them
//! through an injected [`JobRunner`] with the SPEC §6 policies.
//!
//! - Catch-up after downtime per job (`latest` / `all` / `none`, bounded by
//!   `max_catchup`, never before the job first appeared), oldest first, one
//!   at a time; runs left interrupted by a previous daemon come first.
//! - Each job has one worker task, so a job never runs twice at once; a fire
//!   arriving while it is busy is skipped and logged (or queued, per
//!   `overlap`), catch-up runs always queue.
//! - Transient failures retry with exponential backoff and jitter; anything
//!   else ends the run. Every run has a timeout.
//! - The loop sleeps at most `wake` and rereads the wall clock, so fires
//!   passed during a suspend or a clock step are noticed and handled as
//!   missed fires by the catch-up policy.
//! - On cancellation: stop scheduling, cancel running work, wait up to the
//!   grace period, record what did not finish as `interrupted`.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::period::Period;
use crate::schedule::clock::Clock;
use crate::schedule::config::DaemonConfig;
use crate::schedule::health::Health;
use crate::schedule::job::{CatchUp, Overlap, ScheduledJob};

/// How one attempt of a run ended, as the runner reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    Success,
    /// Finished with warn-level checks.
    Warn,
    /// A fail-level check held delivery back; not retried.
    Held,
    /// `transient` failures (HTTP 5xx, timeouts, SMTP 4xx, an export not
    /// there yet) are retried; the rest are not.
    Failed {
        transient: bool,
        error: String,
    },
    /// Stopped at a safe point because the cancel token fired.
    Interrupted,
}

impl RunOutcome {
    fn is_success(&self) -> bool {
        matches!(self, RunOutcome::Success | RunOutcome::Warn)
    }
}

/// Runs one attempt of a job for a period. Implemented by the pipeline.
pub trait JobRunner: Send + Sync + 'static {
    /// `attempt` counts from 1. The runner should check `cancel` between
    /// steps and return [`RunOutcome::Interrupted`] once it fires.
    fn run(
        &self,
        job: &str,
        period: Period,
        attempt: u32,
        cancel: CancellationToken,
    ) -> impl Future<Output = RunOutcome> + Send;
}

/// Errors from the store behind the [`Ledger`].
pub type LedgerError = Box<dyn std::error::Error + Send + Sync>;

/// Latest recorded state of a (job, period) run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Succeeded,
    Failed,
    Interrupted,
    /// Still marked running: under a live daemon, or left by a crash.
    Running,
}

/// What the scheduler needs from the run ledger. Implemented over the store.
pub trait Ledger: Send + Sync + 'static {
    /// The newest fire of `job` whose run the daemon finished (in any way).
    fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, LedgerError>;
    fn set_last_fire(&self, job: &str, fire: DateTime<Utc>) -> Result<(), LedgerError>;
    /// The latest state of the run of `job` for `period`, if any.
    fn run_state(&self, job: &str, period: Period) -> Result<Option<RunState>, LedgerError>;
    /// Runs of `job` to retry at start: recorded `interrupted`, or left
    /// `running` by a process that is gone; with the last attempt number.
    fn unfinished_runs(&self, job: &str) -> Result<Vec<(Period, u32)>, LedgerError>;
    /// Marks the run of `job` for `period` interrupted at `attempt`.
    fn record_interrupted(
        &self,
        job: &str,
        period: Period,
        attempt: u32,
    ) -> Result<(), LedgerError>;
}

/// Told when a job goes from success to failure and back (failure and
/// recovery emails). A job's first outcome after start counts as a change
/// only if it is a failure.
pub trait Notifier: Send + Sync + 'static {
    fn job_failed(&self, job: &str, period: Period, error: &str)
    -> impl Future<Output = ()> + Send;
    fn job_recovered(&self, job: &str, period: Period) -> impl Future<Output = ()> + Send;
}

/// A [`Notifier`] that tells no one.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    async fn job_failed(&self, _job: &str, _period: Period, _error: &str) {}
    async fn job_recovered(&self, _job: &str, _period: Period) {}
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("run ledger failed for job {job}")]
    Ledger {
        job: String,
        #[source]
        source: LedgerError,
    },
}

/// Why a run was planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunReason {
    /// A fire that came due on time.
    Scheduled,
    /// A fire missed while the daemon was down or the host asleep.
    Missed,
    /// A run a previous daemon left interrupted.
    Interrupted,
}

/// One run the scheduler means to start.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    pub job: String,
    pub period: Period,
    /// The fire it stands for; `None` for an interrupted run retried.
    pub fire: Option<DateTime<Tz>>,
    /// The number of its first attempt.
    pub first_attempt: u32,
    pub reason: RunReason,
}

/// How a run ended after its retries.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedRun {
    pub job: String,
    pub period: Period,
    pub attempts: u32,
    pub outcome: RunOutcome,
}

/// How long past its fire a due fire still counts as on time, beyond the
/// wake interval; later ones are missed fires handled by the catch-up policy.
const ON_TIME_SLACK: TimeDelta = TimeDelta::seconds(60);
/// How far back missed fires are looked for.
const MISSED_HORIZON: TimeDelta = TimeDelta::days(400);

struct Shared<R, L, N> {
    runner: Arc<R>,
    ledger: Arc<L>,
    notifier: Arc<N>,
    clock: Arc<dyn Clock>,
    health: Arc<Health>,
    slots: BTreeMap<String, Arc<Slot>>,
}

/// Live state of one job.
#[derive(Default)]
struct Slot {
    /// Runs queued or running.
    pending: AtomicUsize,
    /// The run in progress and its attempt.
    current: Mutex<Option<(Period, u32)>>,
    /// Whether the last finished run failed; `None` before the first.
    failing: Mutex<Option<bool>>,
    /// Newest fire whose run finished, to keep `last_fire` monotonic.
    last_fire: Mutex<Option<DateTime<Utc>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Slot contents are plain values, valid even after a panicking holder.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The scheduler of a set of jobs.
pub struct Scheduler<R, L, N> {
    jobs: Vec<Arc<ScheduledJob>>,
    config: DaemonConfig,
    shared: Arc<Shared<R, L, N>>,
}

impl<R: JobRunner, L: Ledger, N: Notifier> Scheduler<R, L, N> {
    pub fn new(
        jobs: Vec<ScheduledJob>,
        runner: R,
        ledger: L,
        notifier: N,
        clock: Arc<dyn Clock>,
        config: DaemonConfig,
    ) -> Self {
        let slots = jobs
            .iter()
            .map(|j| (j.name.clone(), Arc::new(Slot::default())))
            .collect();
        Scheduler {
            jobs: jobs.into_iter().map(Arc::new).collect(),
            config,
            shared: Arc::new(Shared {
                runner: Arc::new(runner),
                ledger: Arc::new(ledger),
                notifier: Arc::new(notifier),
                clock,
                health: Arc::new(Health::new()),
                slots,
            }),
        }
    }

    /// The jobs, in the order given: for `list-jobs`.
    pub fn jobs(&self) -> impl Iterator<Item = &ScheduledJob> {
        self.jobs.iter().map(|j| j.as_ref())
    }

    /// Heartbeat and metrics, for the health endpoint.
    pub fn health(&self) -> Arc<Health> {
        Arc::clone(&self.shared.health)
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.clock)
    }

    /// What a start at `now` would run: unfinished runs, then missed fires
    /// by each job's policy; oldest first within a job, jobs in order.
    pub fn plan_catch_up(&self, now: DateTime<Utc>) -> Result<Vec<PlannedRun>, SchedulerError> {
        let mut plan = Vec::new();
        for job in &self.jobs {
            plan.extend(self.plan_job(job, now)?);
        }
        Ok(plan)
    }

    fn plan_job(
        &self,
        job: &ScheduledJob,
        now: DateTime<Utc>,
    ) -> Result<Vec<PlannedRun>, SchedulerError> {
        let ledger = &self.shared.ledger;
        let err = |source| SchedulerError::Ledger {
            job: job.name.clone(),
            source,
        };
        let mut runs: Vec<PlannedRun> = ledger
            .unfinished_runs(&job.name)
            .map_err(err)?
            .into_iter()
            .map(|(period, attempt)| PlannedRun {
                job: job.name.clone(),
                period,
                fire: None,
                first_attempt: attempt + 1,
                reason: RunReason::Interrupted,
            })
            .collect();
        let last_fire = ledger.last_fire(&job.name).map_err(err)?;
        let missed = missed_fires(job, last_fire, now);
        for fire in select_missed(job, &missed, None) {
            let period = job.period_for(&fire);
            if runs.iter().any(|r| r.period == period) {
                continue;
            }
            if ledger.run_state(&job.name, period).map_err(err)?.is_some() {
                continue;
            }
            runs.push(PlannedRun {
                job: job.name.clone(),
                period,
                fire: Some(fire),
                first_attempt: 1,
                reason: RunReason::Missed,
            });
        }
        if !missed.is_empty() {
            tracing::info!(
                job = %job.name,
                missed = missed.len(),
                policy = ?job.catchup,
                planned = runs.len(),
                "fires missed while the daemon was down"
            );
        }
        runs.sort_by_key(|r| r.period);
        Ok(runs)
    }

    /// The `catch-up` command: runs what the schedule missed, by policy, one
    /// at a time, then returns. Stops early when `cancel` fires.
    pub async fn catch_up(
        &self,
        cancel: CancellationToken,
    ) -> Result<Vec<FinishedRun>, SchedulerError> {
        let plan = self.plan_catch_up(self.shared.clock.now())?;
        let mut finished = Vec::new();
        for planned in plan {
            if cancel.is_cancelled() {
                break;
            }
            let Some(job) = self.jobs.iter().find(|j| j.name == planned.job) else {
                continue;
            };
            if let Some(done) = execute(&self.shared, job, &planned, &cancel).await {
                finished.push(done);
            }
        }
        Ok(finished)
    }

    /// The daemon: catches up, then runs fires as they come due until
    /// `cancel` fires; then stops within the grace period.
    pub async fn run(&self, cancel: CancellationToken) -> Result<(), SchedulerError> {
        let clock = Arc::clone(&self.shared.clock);
        let started = clock.now();
        let plan = self.plan_catch_up(started)?;
        let work = cancel.child_token();
        let mut queues = BTreeMap::new();
        let mut workers = Vec::new();
        for job in &self.jobs {
            let (tx, rx) = mpsc::unbounded_channel();
            workers.push(tokio::spawn(worker(
                Arc::clone(&self.shared),
                Arc::clone(job),
                rx,
                work.clone(),
            )));
            queues.insert(job.name.clone(), tx);
        }
        for planned in plan {
            self.enqueue(&queues, planned);
        }

        let mut cursors: BTreeMap<String, DateTime<Utc>> = self
            .jobs
            .iter()
            .map(|j| (j.name.clone(), started))
            .collect();
        let wake = TimeDelta::from_std(self.config.wake).unwrap_or(TimeDelta::seconds(60));
        loop {
            let now = clock.now();
            self.shared.health.beat(now);
            let mut wake_at = now + wake;
            for job in &self.jobs {
                let next = job.schedule.next_after(&now).map(|f| f.with_timezone(&Utc));
                self.shared.health.update(&job.name, |m| m.next_run = next);
                if let Some(next) = next {
                    wake_at = wake_at.min(next);
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = clock.sleep_until(wake_at) => {}
            }
            let now = clock.now();
            for job in &self.jobs {
                let cursor = cursors.get(&job.name).copied().unwrap_or(started);
                if now <= cursor {
                    // The clock went back: fires up to `cursor` were handled.
                    continue;
                }
                let due: Vec<DateTime<Tz>> = job.schedule.fires_between(cursor, now).collect();
                cursors.insert(job.name.clone(), now);
                self.dispatch_due(job, &due, now, wake, &queues);
            }
        }

        tracing::info!("stopping: no new runs will start");
        drop(queues);
        work.cancel();
        let grace = self.config.grace;
        let all = futures_util::future::join_all(workers.iter_mut());
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "runs did not stop within the grace period"
            );
            for handle in &workers {
                handle.abort();
            }
            for job in &self.jobs {
                let slot = &self.shared.slots[&job.name];
                let current = lock(&slot.current).take();
                if let Some((period, attempt)) = current {
                    record_interrupted(&self.shared, &job.name, period, attempt);
                }
            }
        }
        Ok(())
    }

    fn dispatch_due(
        &self,
        job: &ScheduledJob,
        due: &[DateTime<Tz>],
        now: DateTime<Utc>,
        wake: TimeDelta,
        queues: &BTreeMap<String, mpsc::UnboundedSender<PlannedRun>>,
    ) {
        let Some(newest) = due.last() else { return };
        let on_time = now - newest.with_timezone(&Utc) <= wake + ON_TIME_SLACK;
        if due.len() == 1 && on_time {
            let planned = PlannedRun {
                job: job.name.clone(),
                period: job.period_for(newest),
                fire: Some(*newest),
                first_attempt: 1,
                reason: RunReason::Scheduled,
            };
            let slot = &self.shared.slots[&job.name];
            if slot.pending.load(Ordering::SeqCst) > 0 && job.overlap == Overlap::Skip {
                tracing::warn!(
                    job = %job.name,
                    fire = %newest.to_rfc3339(),
                    period = %planned.period,
                    "fire skipped: the job is still running"
                );
                return;
            }
            self.enqueue(queues, planned);
            return;
        }
        // Fires passed while the host slept or the clock jumped.
        let on_time_fire = on_time.then_some(*newest);
        let selected = select_missed(job, due, on_time_fire);
        tracing::warn!(
            job = %job.name,
            missed = due.len(),
            running = selected.len(),
            "wall clock passed several fires at once"
        );
        let mut periods = Vec::new();
        for fire in selected {
            let period = job.period_for(&fire);
            if periods.contains(&period) {
                continue;
            }
            periods.push(period);
            let reason = if Some(fire) == on_time_fire {
                RunReason::Scheduled
            } else {
                RunReason::Missed
            };
            self.enqueue(
                queues,
                PlannedRun {
                    job: job.name.clone(),
                    period,
                    fire: Some(fire),
                    first_attempt: 1,
                    reason,
                },
            );
        }
    }

    fn enqueue(
        &self,
        queues: &BTreeMap<String, mpsc::UnboundedSender<PlannedRun>>,
        planned: PlannedRun,
    ) {
        let (Some(tx), Some(slot)) = (
            queues.get(&planned.job),
            self.shared.slots.get(&planned.job),
        ) else {
            return;
        };
        slot.pending.fetch_add(1, Ordering::SeqCst);
        tracing::info!(job = %planned.job, period = %planned.period, reason = ?planned.reason, "run queued");
        if tx.send(planned).is_err() {
            slot.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Fires of `job` in `(max(last_fire, first_seen⁻), now]`, at most the newest
/// `max_catchup`, oldest first.
fn missed_fires(
    job: &ScheduledJob,
    last_fire: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Tz>> {
    let before_first = job.first_seen - TimeDelta::nanoseconds(1);
    let after = last_fire
        .map_or(before_first, |l| l.max(before_first))
        .max(now - MISSED_HORIZON);
    let keep = job.max_catchup.max(1) as usize;
    let mut newest = VecDeque::with_capacity(keep + 1);
    for fire in job.schedule.fires_between(after, now) {
        newest.push_back(fire);
        if newest.len() > keep {
            newest.pop_front();
        }
    }
    newest.into()
}

/// The missed fires the policy runs, oldest first. `on_time` is a fire just
/// due that runs whatever the policy.
fn select_missed(
    job: &ScheduledJob,
    missed: &[DateTime<Tz>],
    on_time: Option<DateTime<Tz>>,
) -> Vec<DateTime<Tz>> {
    let keep = job.max_catchup.max(1) as usize;
    match job.catchup {
        CatchUp::Latest => missed.last().copied().into_iter().collect(),
        CatchUp::All => missed[missed.len().saturating_sub(keep)..].to_vec(),
        CatchUp::None => on_time.into_iter().collect(),
    }
}

async fn worker<R: JobRunner, L: Ledger, N: Notifier>(
    shared: Arc<Shared<R, L, N>>,
    job: Arc<ScheduledJob>,
    mut queue: mpsc::UnboundedReceiver<PlannedRun>,
    cancel: CancellationToken,
) {
    let slot = Arc::clone(&shared.slots[&job.name]);
    loop {
        let planned = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            planned = queue.recv() => match planned {
                Some(p) => p,
                None => break,
            },
        };
        execute(&shared, &job, &planned, &cancel).await;
        slot.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs one planned run with its retries; `None` if cancelled before start.
async fn execute<R: JobRunner, L: Ledger, N: Notifier>(
    shared: &Shared<R, L, N>,
    job: &ScheduledJob,
    planned: &PlannedRun,
    cancel: &CancellationToken,
) -> Option<FinishedRun> {
    if cancel.is_cancelled() {
        return None;
    }
    let slot = &shared.slots[&job.name];
    let clock = &shared.clock;
    let period = planned.period;
    let first = planned.first_attempt.max(1);
    let last = first + job.retries.attempts.max(1) - 1;
    let mut attempt = first;
    let outcome = loop {
        *lock(&slot.current) = Some((period, attempt));
        let started = clock.now();
        tracing::info!(job = %job.name, %period, attempt, "run started");
        let run_cancel = cancel.child_token();
        let outcome = match tokio::time::timeout(
            job.run_timeout,
            shared
                .runner
                .run(&job.name, period, attempt, run_cancel.clone()),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => {
                run_cancel.cancel();
                RunOutcome::Failed {
                    transient: true,
                    error: format!("run timed out after {}s", job.run_timeout.as_secs()),
                }
            }
        };
        let seconds = (clock.now() - started).num_milliseconds() as f64 / 1000.0;
        shared
            .health
            .update(&job.name, |m| m.last_duration_secs = Some(seconds));
        *lock(&slot.current) = None;
        match &outcome {
            RunOutcome::Failed { .. } if cancel.is_cancelled() => {
                break RunOutcome::Interrupted;
            }
            RunOutcome::Failed {
                transient: true,
                error,
            } if attempt < last => {
                let delay = job.retries.delay_after(attempt - first + 1);
                tracing::warn!(
                    job = %job.name, %period, attempt, %error,
                    retry_in_secs = delay.as_secs(),
                    "transient failure; will retry"
                );
                let wait_until =
                    clock.now() + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(300));
                if !sleep_or_cancel(clock.as_ref(), wait_until, cancel).await {
                    break RunOutcome::Interrupted;
                }
                attempt += 1;
            }
            _ => break outcome,
        }
    };
    finish(shared, job, slot, planned, attempt, &outcome).await;
    Some(FinishedRun {
        job: job.name.clone(),
        period,
        attempts: attempt - first + 1,
        outcome,
    })
}

/// Sleeps until `until` by the wall clock, waking at least every 60 s to
/// notice clock jumps. False if cancelled first.
async fn sleep_or_cancel(
    clock: &dyn Clock,
    until: DateTime<Utc>,
    cancel: &CancellationToken,
) -> bool {
    loop {
        let now = clock.now();
        if now >= until {
            return true;
        }
        let step = until.min(now + TimeDelta::seconds(60));
        tokio::select! {
            _ = cancel.cancelled() => return false,
            _ = clock.sleep_until(step) => {}
        }
    }
}

async fn finish<R: JobRunner, L: Ledger, N: Notifier>(
    shared: &Shared<R, L, N>,
    job: &ScheduledJob,
    slot: &Slot,
    planned: &PlannedRun,
    attempt: u32,
    outcome: &RunOutcome,
) {
    let period = planned.period;
    match outcome {
        RunOutcome::Interrupted => {
            tracing::warn!(job = %job.name, %period, attempt, "run interrupted");
            record_interrupted(shared, &job.name, period, attempt);
        }
        RunOutcome::Success | RunOutcome::Warn => {
            let now = shared.clock.now();
            shared
                .health
                .update(&job.name, |m| m.last_success = Some(now));
            tracing::info!(job = %job.name, %period, attempt, outcome = ?outcome, "run finished");
        }
        RunOutcome::Held | RunOutcome::Failed { .. } => {
            shared.health.update(&job.name, |m| m.failures += 1);
            tracing::error!(job = %job.name, %period, attempt, outcome = ?outcome, "run failed");
        }
    }
    if let Some(fire) = planned.fire {
        let fire = fire.with_timezone(&Utc);
        let newest = {
            let mut last = lock(&slot.last_fire);
            let newest = last.map_or(fire, |l| l.max(fire));
            *last = Some(newest);
            newest
        };
        if let Err(error) = shared.ledger.set_last_fire(&job.name, newest) {
            tracing::error!(job = %job.name, %error, "cannot record the last fire");
        }
    }
    if matches!(outcome, RunOutcome::Interrupted) {
        return;
    }
    let failed = !outcome.is_success();
    let was_failing = lock(&slot.failing).replace(failed);
    match (was_failing.unwrap_or(false), failed) {
        (false, true) => {
            let error = match outcome {
                RunOutcome::Failed { error, .. } => error.clone(),
                _ => "a fail-level check held delivery back".to_string(),
            };
            shared.notifier.job_failed(&job.name, period, &error).await;
        }
        (true, false) => shared.notifier.job_recovered(&job.name, period).await,
        _ => {}
    }
}

fn record_interrupted<R, L: Ledger, N>(
    shared: &Shared<R, L, N>,
    job: &str,
    period: Period,
    attempt: u32,
) {
    if let Err(error) = shared.ledger.record_interrupted(job, period, attempt) {
        tracing::error!(job, %period, attempt, %error, "cannot record the interrupted run");
    }
}

/// Runs `step` with a timeout and the run's cancel token: the helper runners
/// use for SPEC §6's per-step timeouts.
pub async fn run_step<T>(
    name: &str,
    timeout: Duration,
    cancel: &CancellationToken,
    step: impl Future<Output = T>,
) -> Result<T, StepError> {
    tokio::select! {
        _ = cancel.cancelled() => Err(StepError::Cancelled { step: name.to_string() }),
        done = tokio::time::timeout(timeout, step) => done.map_err(|_| StepError::TimedOut {
            step: name.to_string(),
            secs: timeout.as_secs(),
        }),
    }
}

/// Why a step did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("step {step} timed out after {secs}s")]
    TimedOut { step: String, secs: u64 },
    #[error("step {step} cancelled by shutdown")]
    Cancelled { step: String },
}

impl StepError {
    /// Timeouts are transient (SPEC §6); a shutdown is an interruption.
    pub fn is_transient(&self) -> bool {
        matches!(self, StepError::TimedOut { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn steps_time_out_or_stop_on_cancel() {
        let cancel = CancellationToken::new();
        let done = run_step("parse", Duration::from_secs(10), &cancel, async { 7 }).await;
        assert_eq!(done, Ok(7));
        let slow = run_step(
            "fetch",
            Duration::from_secs(10),
            &cancel,
            tokio::time::sleep(Duration::from_secs(60)),
        )
        .await
        .unwrap_err();
        assert_eq!(slow.to_string(), "step fetch timed out after 10s");
        assert!(slow.is_transient());
        cancel.cancel();
        let stopped = run_step(
            "render",
            Duration::from_secs(10),
            &cancel,
            tokio::time::sleep(Duration::from_secs(1)),
        )
        .await
        .unwrap_err();
        assert_eq!(
            stopped,
            StepError::Cancelled {
                step: "render".into()
            }
        );
        assert!(!stopped.is_transient());
    }
}
