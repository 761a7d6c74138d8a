//! The scheduler's commands: `daemon`, `catch-up`, `schedule`, `list-jobs`.
//!
//! `daemon` and `catch-up` both take the state lock: two schedulers on one
//! state would run the same (job, period) twice.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::commands::{find_job, runtime};
use super::{exit, print_error};
use crate::config::{Config, ConfigErrors};
use crate::run::scheduled::{
    OwnerNotifier, PipelineRunner, StoreLedger, daemon_config, job_schedule, scheduled_jobs,
    validate_schedules,
};
use crate::run::{RunError, open_store};
use crate::schedule::{
    DaemonConfig, DaemonError, DaemonHandles, FinishedRun, RunOutcome, Scheduler, StateLock,
    SystemClock, cancel_on_signals, format_upcoming, run_daemon,
};
use crate::store::Store;

type RealScheduler = Scheduler<PipelineRunner, StoreLedger, OwnerNotifier>;

/// Every scheduling problem of the config, printed; exit 2 if any.
fn check_schedules(config: &Config) -> Result<(), u8> {
    let mut errors = ConfigErrors::default();
    validate_schedules(config, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        say_raw!("{errors}");
        Err(exit::USAGE)
    }
}

/// Creates the folder of the state file, where its lock file lives too.
fn state_dir(config: &Config) -> Result<(), u8> {
    match config.state.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            say!(
                "error: cannot create the state folder {}: {e}",
                dir.display()
            );
            exit::INPUT
        }),
        _ => Ok(()),
    }
}

fn store_failed(e: &RunError) -> u8 {
    print_error(e);
    e.exit_code()
}

/// The scheduler over the real pipeline, with every job registered as seen
/// (the first sighting is kept in the store).
fn build_scheduler(
    config: &Arc<Config>,
    mut store: Store,
    daemon: DaemonConfig,
) -> Result<(RealScheduler, PipelineRunner), u8> {
    let now = Utc::now();
    let mut store_error = None;
    let jobs = scheduled_jobs(config, |name| {
        store.job_first_seen(name, now).unwrap_or_else(|e| {
            store_error.get_or_insert(e);
            now
        })
    });
    if let Some(e) = store_error {
        return Err(store_failed(&RunError::from(e)));
    }
    let jobs = jobs.map_err(|errors| {
        say_raw!("{errors}");
        exit::USAGE
    })?;
    let clock = Arc::new(SystemClock);
    let ledger = StoreLedger::new(store, clock.clone(), &jobs);
    let runner = PipelineRunner::new(Arc::clone(config));
    let scheduler = Scheduler::new(
        jobs,
        runner.clone(),
        ledger,
        OwnerNotifier::new(Arc::clone(config)),
        clock,
        daemon,
    );
    Ok((scheduler, runner))
}

/// `daemon`: runs until SIGTERM / SIGINT; 0 after a graceful stop.
pub fn daemon(config: &Config) -> u8 {
    if let Err(code) = check_schedules(config) {
        return code;
    }
    let daemon = match daemon_config(config) {
        Ok(d) => d,
        Err(errors) => {
            say_raw!("{errors}");
            return exit::USAGE;
        }
    };
    if let Err(code) = state_dir(config) {
        return code;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let config = Arc::new(config.clone());
    let code = rt.block_on(async {
        // The lock comes before the store is opened, so a second daemon
        // neither waits on the first one's writes nor changes anything.
        let handles = match DaemonHandles::acquire(&config.state, &daemon).await {
            Ok(h) => h,
            Err(e) => {
                print_error(&e);
                return exit::USAGE;
            }
        };
        let store = match open_store(&config) {
            Ok(s) => s,
            Err(e) => return store_failed(&e),
        };
        let cancel = match cancel_on_signals() {
            Ok(c) => c,
            Err(e) => {
                print_error(&e);
                return exit::USAGE;
            }
        };
        let (scheduler, _) = match build_scheduler(&config, store, daemon) {
            Ok(s) => s,
            Err(code) => return code,
        };
        match run_daemon(&scheduler, handles, &daemon, cancel).await {
            Ok(()) => exit::OK,
            Err(e) => {
                print_error(&e);
                match e {
                    DaemonError::Scheduler(_) => exit::INPUT,
                    _ => exit::USAGE,
                }
            }
        }
    });
    // Runs still stopping after the grace period are abandoned here; their
    // threads end with the process.
    rt.shutdown_background();
    code
}

/// `catch-up`: runs what the schedule missed, by each job's policy, one at
/// a time; prints each run and exits with the worst run's code.
pub fn catch_up(config: &Config) -> u8 {
    if let Err(code) = check_schedules(config) {
        return code;
    }
    if let Err(code) = state_dir(config) {
        return code;
    }
    let _lock = match StateLock::acquire(&config.state) {
        Ok(l) => l,
        Err(e) => {
            print_error(&e);
            return exit::USAGE;
        }
    };
    let store = match open_store(config) {
        Ok(s) => s,
        Err(e) => return store_failed(&e),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let config = Arc::new(config.clone());
    let (scheduler, runner) = match build_scheduler(&config, store, DaemonConfig::default()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let finished = rt.block_on(async {
        let cancel = cancel_on_signals()?;
        Ok::<_, DaemonError>(scheduler.catch_up(cancel).await?)
    });
    let finished = match finished {
        Ok(f) => f,
        Err(e) => {
            print_error(&e);
            return exit::INPUT;
        }
    };
    if finished.is_empty() {
        put!("nothing to catch up");
        return exit::OK;
    }
    let mut worst = exit::OK;
    for run in &finished {
        put!("{}", describe(run));
        let code = runner
            .exit_code(&run.job, run.period)
            .unwrap_or_else(|| fallback_code(&run.outcome));
        worst = worst.max(code);
    }
    worst
}

/// `daily-ops 2026-11-22: success (1 attempt)`.
fn describe(run: &FinishedRun) -> String {
    let outcome = match &run.outcome {
        RunOutcome::Success => "success".to_string(),
        RunOutcome::Warn => "warn".to_string(),
        RunOutcome::Held => "held".to_string(),
        RunOutcome::Failed { error, .. } => format!("failed: {error}"),
        RunOutcome::Interrupted => "interrupted".to_string(),
    };
    let plural = if run.attempts == 1 { "" } else { "s" };
    format!(
        "{} {}: {outcome} ({} attempt{plural})",
        run.job, run.period, run.attempts
    )
}

/// The exit code of a run the pipeline never reported on (it could not
/// start): the SPEC §2 code closest to its outcome.
fn fallback_code(outcome: &RunOutcome) -> u8 {
    match outcome {
        RunOutcome::Success | RunOutcome::Warn => exit::OK,
        RunOutcome::Held => exit::CHECK_FAILED,
        RunOutcome::Failed { .. } | RunOutcome::Interrupted => exit::INPUT,
    }
}

/// `schedule <job>`: the next `count` fires after `--from` (default now),
/// each as RFC 3339 with its offset and the period it reports on.
pub fn schedule(config: &Config, job: &str, from: Option<&str>, count: usize) -> u8 {
    let job = match find_job(config, job) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let from = match from {
        None => Utc::now(),
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => {
                say!(
                    "error: --from {text:?} is not an RFC 3339 instant \
                     (e.g. 2026-11-22T00:00:00+08:00): {e}"
                );
                return exit::USAGE;
            }
        },
    };
    let cfg = match job_schedule(config, job) {
        Ok(c) => c,
        Err(errors) => {
            say_raw!("{errors}");
            return exit::USAGE;
        }
    };
    let scheduled = cfg.into_job(&job.name, job.period, from);
    put_raw!("{}", format_upcoming(&scheduled.upcoming(from, count)));
    exit::OK
}

/// `list-jobs`: job, schedule, time zone, next run, last run and status.
pub fn list_jobs(config: &Config) -> u8 {
    let now = Utc::now();
    let jobs = match scheduled_jobs(config, |_| now) {
        Ok(j) => j,
        Err(errors) => {
            say_raw!("{errors}");
            return exit::USAGE;
        }
    };
    let store = match open_store(config) {
        Ok(s) => s,
        Err(e) => return store_failed(&e),
    };
    let mut rows = vec![[
        "job".to_string(),
        "schedule".to_string(),
        "timezone".to_string(),
        "next run".to_string(),
        "last run".to_string(),
        "period".to_string(),
        "status".to_string(),
    ]];
    for job in &jobs {
        let tz: Tz = job.timezone();
        let next = job
            .schedule
            .next_after(&now)
            .map_or_else(|| "-".to_string(), |f| f.to_rfc3339());
        let last = match store.last_run(&job.name) {
            Ok(last) => last,
            Err(e) => return store_failed(&RunError::from(e)),
        };
        let (started, period, status) = match last {
            Some(r) => (
                r.started
                    .with_timezone(&tz)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                r.period,
                r.status,
            ),
            None => ("never".to_string(), "-".to_string(), "-".to_string()),
        };
        rows.push([
            job.name.clone(),
            job.schedule.expr().to_string(),
            tz.name().to_string(),
            next,
            started,
            period,
            status,
        ]);
    }
    put_raw!("{}", table(&rows));
    exit::OK
}

/// Columns padded to their widest cell, two spaces apart.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let rows = [
            ["job".to_string(), "a".to_string(), "x".to_string()],
            ["daily-ops".to_string(), "".to_string(), "yy".to_string()],
        ];
        assert_eq!(table(&rows), "job        a  x\ndaily-ops     yy\n");
    }

    #[test]
    fn finished_runs_read_as_one_line() {
        let run = FinishedRun {
            job: "daily-ops".into(),
            period: "2026-11-22".parse().unwrap(),
            attempts: 2,
            outcome: RunOutcome::Failed {
                transient: true,
                error: "delivery: smtp 451".into(),
            },
        };
        assert_eq!(
            describe(&run),
            "daily-ops 2026-11-22: failed: delivery: smtp 451 (2 attempts)"
        );
        assert_eq!(fallback_code(&run.outcome), exit::INPUT);
        assert_eq!(fallback_code(&RunOutcome::Held), exit::CHECK_FAILED);
    }
}
