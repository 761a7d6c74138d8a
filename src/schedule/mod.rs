//! When runs happen (SPEC §6): cron schedules in each job's time zone, the
//! period each fire reports on, catch-up after downtime, retries, timeouts,
//! graceful shutdown, the one-daemon-per-state lock and the health endpoint.

pub mod cron;

pub use cron::{CronError, Schedule, period_for_fire};
