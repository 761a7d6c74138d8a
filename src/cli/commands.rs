//! One function per command. Each returns the process exit code; errors are
//! printed here, with their whole cause chain, and nowhere else.

use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

use super::{Cli, Command, exit, load_config, print_error};
use crate::config::{Config, Job};
use crate::model::Dataset;
use crate::period::Period;
use crate::run::{self, RunError, RunOptions};

pub fn dispatch(cli: &Cli) -> u8 {
    match &cli.command {
        Command::Validate => validate(cli),
        Command::RunJob {
            job,
            date,
            period,
            dry_run,
            no_send,
            resend,
            out,
        } => with_config(cli, |config| {
            let mut opts = RunOptions::new(Utc::now());
            opts.dry_run = *dry_run;
            opts.no_send = *no_send;
            opts.resend = *resend;
            opts.out = out.clone();
            run_job(&config, job, *date, *period, &opts)
        }),
        Command::Backfill {
            job,
            from,
            to,
            no_send,
        } => with_config(cli, |config| backfill(&config, job, *from, *to, *no_send)),
        Command::Import {
            dataset,
            files,
            source: _,
        } => with_config(cli, |config| import(&config, *dataset, files)),
        Command::History { job, limit } => {
            with_config(cli, |config| history(&config, job.as_deref(), *limit))
        }
        Command::Outbox { action } => {
            with_config(cli, |config| super::outbox::outbox(&config, *action))
        }
        Command::Daemon => with_config(cli, |config| super::scheduling::daemon(&config)),
        Command::CatchUp => with_config(cli, |config| super::scheduling::catch_up(&config)),
        Command::Schedule { job, from, count } => with_config(cli, |config| {
            super::scheduling::schedule(&config, job, from.as_deref(), *count)
        }),
        Command::ListJobs => with_config(cli, |config| super::scheduling::list_jobs(&config)),
    }
}

/// Loads the config, printing every problem and exiting 2 if there are any.
pub fn with_config(cli: &Cli, f: impl FnOnce(Config) -> u8) -> u8 {
    match load_config(cli) {
        Ok(config) => f(config),
        Err(errors) => {
            say_raw!("{errors}");
            exit::USAGE
        }
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            say!("error: cannot start the async runtime: {e}");
            exit::USAGE
        })
}

pub fn find_job<'c>(config: &'c Config, name: &str) -> Result<&'c Job, u8> {
    config.job(name).ok_or_else(|| {
        let names: Vec<_> = config.jobs.keys().map(String::as_str).collect();
        say!(
            "error: no job named {name:?} (jobs: {})",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        );
        exit::USAGE
    })
}

/// The period a run reports on: `--period`, the period containing `--date`,
/// or the one the schedule would report on if it fired now.
pub fn resolve_period(
    job: &Job,
    date: Option<NaiveDate>,
    period: Option<Period>,
) -> Result<Period, String> {
    if let Some(p) = period {
        if p.kind() != job.period {
            return Err(format!(
                "job {} reports on a {}, but --period {p} is a {}",
                job.name,
                job.period.as_str(),
                p.kind().as_str()
            ));
        }
        return Ok(p);
    }
    if let Some(d) = date {
        return Ok(Period::containing(job.period, d));
    }
    Ok(crate::schedule::period_if_fired_at(
        job.period,
        job.timezone,
        Utc::now(),
    ))
}

fn run_job(
    config: &Config,
    name: &str,
    date: Option<NaiveDate>,
    period: Option<Period>,
    opts: &RunOptions,
) -> u8 {
    let job = match find_job(config, name) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let period = match resolve_period(job, date, period) {
        Ok(p) => p,
        Err(e) => {
            say!("error: {e}");
            return exit::USAGE;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let cancel = CancellationToken::new();
    let result = rt.block_on(run::run_job(config, job, period, opts, &cancel));
    report_run(result)
}

pub fn report_run(result: Result<run::JobRun, RunError>) -> u8 {
    match result {
        Ok(run) => {
            say!(
                "{} {}: {} -> {}",
                run.job,
                run.period,
                run.outcome.as_str(),
                run.folder.display()
            );
            for d in &run.summary.deliveries {
                say!("  {} [{}] {}", d.team, d.status, d.to.join(", "));
            }
            run.exit_code()
        }
        Err(e) => {
            print_error(&e);
            e.exit_code()
        }
    }
}

fn backfill(config: &Config, name: &str, from: NaiveDate, to: NaiveDate, no_send: bool) -> u8 {
    let job = match find_job(config, name) {
        Ok(j) => j,
        Err(code) => return code,
    };
    if to < from {
        say!("error: --to {to} is before --from {from}");
        return exit::USAGE;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let cancel = CancellationToken::new();
    let first = Period::containing(job.period, from);
    let periods: Vec<Period> = std::iter::successors(Some(first), |p| Some(p.next()))
        .take_while(|p| p.start <= to)
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(periods.len());
    if threads > 1 && run::runs_in_parallel(config, job) {
        return backfill_parallel(config, job, &periods, no_send, threads, &cancel);
    }
    let mut progress = super::progress::Progress::new("backfill", periods.len());
    let mut worst = exit::OK;
    for period in periods {
        let mut opts = RunOptions::new(Utc::now());
        opts.no_send = no_send;
        let result = rt.block_on(run::run_job(config, job, period, &opts, &cancel));
        let code = match (&result, progress.is_bar()) {
            // With a bar on screen only problems get a line of their own.
            (Ok(run), true) => run.exit_code(),
            _ => report_run(result),
        };
        progress.tick(&period.to_string());
        worst = worst.max(code);
        if code >= exit::USAGE {
            progress.finish();
            return code;
        }
    }
    progress.finish();
    worst
}

/// A backfill on every core: the inbox is ingested once up to the end of
/// the range, then each thread runs a contiguous block of periods in order.
///
/// Blocks rather than alternating periods: a day's run reads the daily
/// snapshots of the 30-odd days before it and computes those missing, so
/// neighbours running at once would compute the same days twice; with
/// blocks only the start of each block finds its history missing, and the
/// snapshots it computes are found by the block before when it gets there.
fn backfill_parallel(
    config: &Config,
    job: &Job,
    periods: &[Period],
    no_send: bool,
    threads: usize,
    cancel: &CancellationToken,
) -> u8 {
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return exit::OK;
    };
    if let Err(e) = run::ingest_for_backfill(config, *first, *last, cancel) {
        print_error(&e);
        return e.exit_code();
    }
    let block = periods.len().div_ceil(threads);
    // A run that fails for good (usage, input) stops the blocks from
    // starting further periods, as the sequential backfill stops.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<(Period, Result<run::JobRun, run::RunError>)>();
    let mut progress = super::progress::Progress::new("backfill", periods.len());
    let mut worst = exit::OK;
    std::thread::scope(|scope| {
        for chunk in periods.chunks(block) {
            let tx = tx.clone();
            let stop = &stop;
            scope.spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        say!("error: cannot start the async runtime: {e}");
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        return;
                    }
                };
                for period in chunk {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let mut opts = RunOptions::new(Utc::now());
                    opts.no_send = no_send;
                    opts.skip_ingest = true;
                    let result = rt.block_on(run::run_job(config, job, *period, &opts, cancel));
                    if let Err(e) = &result
                        && e.exit_code() >= exit::USAGE
                    {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    if tx.send((*period, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (period, result) in rx {
            let code = match (&result, progress.is_bar()) {
                (Ok(run), true) => run.exit_code(),
                _ => report_run(result),
            };
            progress.tick(&period.to_string());
            worst = worst.max(code);
        }
    });
    progress.finish();
    worst
}

fn import(config: &Config, dataset: Dataset, files: &[PathBuf]) -> u8 {
    let mut store = match run::open_store(config) {
        Ok(s) => s,
        Err(e) => {
            print_error(&e);
            return e.exit_code();
        }
    };
    let mut progress = super::progress::Progress::new("import", files.len());
    for file in files {
        let result = run::ingest::import_files(
            config,
            &mut store,
            dataset,
            std::slice::from_ref(file),
            config.timezone,
        );
        progress.tick(&file.display().to_string());
        match result {
            Ok(reports) => {
                for r in reports {
                    if progress.is_bar() {
                        say!();
                    }
                    say!(
                        "{}: {} rows, {} rejected, {} duplicate keys",
                        r.file,
                        r.rows,
                        r.rejected,
                        r.duplicates_total
                    );
                }
            }
            Err(e) => {
                progress.finish();
                print_error(&e);
                return e.exit_code();
            }
        }
    }
    progress.finish();
    exit::OK
}

fn history(config: &Config, job: Option<&str>, limit: usize) -> u8 {
    let store = match run::open_store(config) {
        Ok(s) => s,
        Err(e) => {
            print_error(&e);
            return e.exit_code();
        }
    };
    match store.runs(job, limit) {
        Ok(runs) => {
            put!(
                "{:<18} {:<10} {:>3}  {:<11} {:<25} {:<25} error",
                "job",
                "period",
                "try",
                "status",
                "started",
                "finished"
            );
            for r in runs {
                put!(
                    "{:<18} {:<10} {:>3}  {:<11} {:<25} {:<25} {}",
                    r.job,
                    r.period,
                    r.attempt,
                    r.status,
                    r.started.to_rfc3339(),
                    r.finished.map(|f| f.to_rfc3339()).unwrap_or_default(),
                    r.error.unwrap_or_default()
                );
            }
            exit::OK
        }
        Err(e) => {
            print_error(&e);
            exit::INPUT
        }
    }
}

/// `validate`: every problem in config, jobs, templates and mappings, each
/// with its file and key; exit 2 when there is any.
fn validate(cli: &Cli) -> u8 {
    let config = match load_config(cli) {
        Ok(c) => c,
        Err(errors) => {
            say_raw!("{errors}");
            return exit::USAGE;
        }
    };
    let errors = run::validate::validate(&config);
    if !errors.is_empty() {
        say_raw!("{errors}");
        return exit::USAGE;
    }
    say!(
        "ok: {} ({} jobs, {} teams)",
        config.file.display(),
        config.jobs.len(),
        config.teams.len()
    );
    exit::OK
}
