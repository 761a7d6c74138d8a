//! One job for one period, stage after stage (SPEC §2 `run-job`).
//!
//! ingest (source → parse → store) → required inputs present? → facts for
//! the period and its comparison periods → KPIs, comparisons, decomposition
//! → checks → member tiers → run folder (summary.json, workbooks,
//! member_tiers.csv) → delivery. The ledger records each attempt; a run is
//! identified by (job, period) and re-running it is idempotent: the store
//! ends with the same rows and the outbox refuses a second send.

mod deliver;
mod error;
mod facts;
pub mod fetch;
mod folder;
pub mod ingest;
mod pipeline;
mod reader;
mod report;
pub mod scheduled;
mod summary;
mod tiers;
pub mod validate;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use deliver::{notify_owners, smtp_config, validate_delivery};
pub use error::RunError;
pub use folder::RunFolder;
pub use pipeline::{JobRun, ingest_for_backfill, open_store, run_job, runs_in_parallel};
pub use summary::Summary;

/// How a run was asked for.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Everything except delivery and the ledger's sent marks.
    pub dry_run: bool,
    /// Build and record, queue nothing.
    pub no_send: bool,
    /// Deliver again even if already sent.
    pub resend: bool,
    /// Run folder override.
    pub out: Option<PathBuf>,
    /// The run's clock reading; injected so tests and backfills are stable.
    pub now: DateTime<Utc>,
    /// The caller has fetched and ingested the inbox for this run already
    /// ([`ingest_for_backfill`]); the run reads the store as it is.
    pub skip_ingest: bool,
}

impl RunOptions {
    pub fn new(now: DateTime<Utc>) -> RunOptions {
        RunOptions {
            dry_run: false,
            no_send: false,
            resend: false,
            out: None,
            now,
            skip_ingest: false,
        }
    }
}

/// How a finished run went, as the ledger and exit code see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed.
    Success,
    /// Warnings only; delivered.
    Warn,
    /// A fail-level check held delivery (`on_fail = "hold"`).
    Held,
    /// A fail-level check; delivered with a red banner (`send-flagged`).
    Flagged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Warn => "warn",
            Outcome::Held => "held",
            Outcome::Flagged => "flagged",
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Success | Outcome::Warn => crate::cli::exit::OK,
            Outcome::Held | Outcome::Flagged => crate::cli::exit::CHECK_FAILED,
        }
    }
}
