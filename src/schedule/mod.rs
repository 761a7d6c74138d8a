//! When runs happen (SPEC §6): cron schedules in each job's time zone, the
//! period each fire reports on, catch-up after downtime, retries, timeouts,
//! graceful shutdown, the one-daemon-per-state lock and the health endpoint.

pub mod clock;
pub mod config;
pub mod cron;
pub mod daemon;
pub mod health;
pub mod job;
pub mod lock;
pub mod scheduler;

pub use clock::{Clock, SystemClock, TokioClock};
pub use config::{ConfigProblem, DaemonConfig, JobScheduleConfig, RawDaemon, RawJobSchedule};
pub use cron::{CronError, Schedule, period_for_fire, period_if_fired_at};
pub use daemon::{DaemonError, DaemonHandles, cancel_on_signals, run_daemon};
pub use health::Health;
pub use job::{CatchUp, Overlap, RetryPolicy, ScheduledJob, format_upcoming};
pub use lock::{LockError, StateLock};
pub use scheduler::{
    FinishedRun, JobRunner, Ledger, LedgerError, NoNotifier, Notifier, PlannedRun, RunOutcome,
    RunReason, RunState, Scheduler, SchedulerError, StepError, run_step,
};
