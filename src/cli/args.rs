//! Command-line arguments (clap derive), exactly the surface of SPEC §2.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Override;
use crate::model::Dataset;
use crate::period::Period;

#[derive(Debug, Parser)]
#[command(
    name = "storepulse",
    version,
    about = "Daily shop exports in; checked numbers, member tiers and team workbooks out."
)]
pub struct Cli {
    /// Global config file (default: $STOREPULSE_CONFIG, else ./storepulse.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Override any config key: KEY=VALUE, VALUE in TOML (bare strings allowed).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<Override>,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one job for one period: ingest, check, compute, render, deliver.
    RunJob {
        job: String,
        /// The day to report on (daily jobs; for weekly/monthly jobs, the period containing it).
        #[arg(long, conflicts_with = "period")]
        date: Option<NaiveDate>,
        /// 2026-11-22 (day), 2026-W47 (ISO week) or 2026-11 (month).
        #[arg(long)]
        period: Option<Period>,
        /// Everything except delivery and the ledger's sent marks; print what would be sent.
        #[arg(long)]
        dry_run: bool,
        /// Build and record, queue nothing.
        #[arg(long)]
        no_send: bool,
        /// Deliver again even if this job+period+team was already sent.
        #[arg(long)]
        resend: bool,
        /// Write the run folder here instead of <out>/<job>/<period>.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run a job for every period from --from to --to.
    Backfill {
        job: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long)]
        no_send: bool,
    },
    /// Load a multi-day export (e.g. a year of orders), split by date.
    Import {
        dataset: Dataset,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Name of the source, recorded with the files.
        #[arg(long)]
        source: Option<String>,
    },
    /// Long-running scheduler.
    Daemon,
    /// Run what the schedule missed, by policy, then exit.
    CatchUp,
    /// Next fire times and the period each one reports on.
    Schedule {
        job: String,
        #[arg(long, value_name = "RFC3339")]
        from: Option<String>,
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Jobs with schedule, time zone, next run, last run and status.
    ListJobs,
    /// The run ledger.
    History {
        job: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Queued / failed / sent mail.
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
    },
    /// Check config, jobs, templates and mappings; report every problem.
    Validate,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum OutboxAction {
    /// List messages with their status.
    List,
    /// Send every queued or failed-transient message now.
    Flush,
}
