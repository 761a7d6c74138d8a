//! The HTTP(S) source (SPEC §4.1): fetch one dataset's export for one date
//! from a URL template, robustly enough for a daily unattended run.
//!
//! A fetch streams the body to a hidden `.name.part` file next to its final
//! place, hashing as it goes, checks the length the server announced, and
//! only then renames it into place, so a dropped connection never leaves a
//! partial file for the ingest step to pick up. Server errors, rate limits,
//! timeouts and broken connections are retried with capped exponential
//! backoff and jitter; other client errors are not. An export that is not
//! published yet (404, or an empty body) is reported as [`HttpError::NotYet`]
//! until a configurable deadline, so the run retries later rather than
//! reporting an empty day. ETag / Last-Modified are remembered per URL
//! through [`ValidatorCache`] and sent back; a 304 means the file already in
//! the destination folder is current.
//!
//! Secrets (header values and query parameters read from the environment or
//! files) never appear in logs or error messages: URLs are shown with such
//! parameters redacted and headers are never shown.

mod config;
mod fetch;
mod name;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use config::{
    DEFAULT_ATTEMPTS, DEFAULT_BASE_MS, DEFAULT_CAP_MS, DEFAULT_CONNECT_TIMEOUT_SECS,
    DEFAULT_NOT_FOUND_HOURS, DEFAULT_RETRY_AFTER_MAX_SECS, DEFAULT_TIMEOUT_SECS, HttpSource,
    NotFoundUntil, ParamValue, RawHttpSource, RawRetries, RetryPolicy, Secret, build,
    build_with_env,
};
pub use fetch::{fetch, public_url};

/// What a fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// 304: the file fetched last time (still in the destination folder
    /// with the remembered hash) is current.
    Unchanged { path: PathBuf, sha256: String },
    /// A whole new file is in place.
    Downloaded {
        path: PathBuf,
        sha256: String,
        size: u64,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

impl FetchOutcome {
    pub fn path(&self) -> &std::path::Path {
        match self {
            FetchOutcome::Unchanged { path, .. } | FetchOutcome::Downloaded { path, .. } => path,
        }
    }
}

/// What is remembered about the last download of a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: String,
    /// The name the file was saved under in the destination folder.
    pub file_name: String,
}

/// Where validators live between runs, keyed by the redacted URL
/// ([`public_url`]), so no secret reaches the store. The cache only saves
/// downloads: an implementation that loses an entry (or fails to write one)
/// costs a full download, never a wrong result, so failures are for the
/// implementation to log, not to return.
pub trait ValidatorCache: Send + Sync {
    fn get(&self, url: &str) -> Option<Validators>;
    fn put(&self, url: &str, validators: &Validators);
}

/// A [`ValidatorCache`] that lives as long as the process.
#[derive(Debug, Default)]
pub struct MemoryValidatorCache {
    entries: Mutex<HashMap<String, Validators>>,
}

impl MemoryValidatorCache {
    pub fn new() -> Self {
        Self::default()
    }
}

impl ValidatorCache for MemoryValidatorCache {
    fn get(&self, url: &str) -> Option<Validators> {
        // A poisoned lock only means another thread panicked mid-insert of a
        // whole value; the map itself is intact.
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(url).cloned()
    }

    fn put(&self, url: &str, validators: &Validators) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(url.to_string(), validators.clone());
    }
}

/// The time now; injected so the "not there yet" deadline and `Retry-After`
/// dates can be tested.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Waits between retries; injected so tests need not sleep.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Sleeps on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Errors fetching from an HTTP source. `url` is always the redacted URL.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// 404 or an empty body before the deadline: try again later.
    #[error("{url}: not published yet ({reason}); it counts as missing after {deadline}")]
    NotYet {
        url: String,
        reason: String,
        deadline: String,
    },
    #[error("{url}: not found (HTTP {status}) and its deadline {deadline} has passed")]
    NotFound {
        url: String,
        status: u16,
        deadline: String,
    },
    #[error("{url}: the server sent an empty file and its deadline {deadline} has passed")]
    Empty { url: String, deadline: String },
    /// 401 / 403: the credentials are wrong; retrying cannot help.
    #[error(
        "{url}: access denied (HTTP {status}); check the credentials configured in [{key}] (token_env / headers)"
    )]
    Denied {
        url: String,
        status: u16,
        key: String,
    },
    #[error("{url}: HTTP {status} (after {attempts} attempt{s})", s = plural(*attempts))]
    Status {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error(
        "{url}: asked to wait {wait_secs} s before retrying (Retry-After), more than the {max_secs} s allowed"
    )]
    RetryAfterTooLong {
        url: String,
        wait_secs: u64,
        max_secs: u64,
    },
    #[error("{url}: no complete answer within {secs} s (after {attempts} attempt{s})", s = plural(*attempts))]
    Timeout {
        url: String,
        secs: u64,
        attempts: u32,
    },
    #[error("{url}: connection failed (after {attempts} attempt{s})", s = plural(*attempts))]
    Connect {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: transfer failed (after {attempts} attempt{s})", s = plural(*attempts))]
    Transfer {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: the body ended after {got} of {expected} bytes (after {attempts} attempt{s})", s = plural(*attempts))]
    ShortBody {
        url: String,
        got: u64,
        expected: u64,
        attempts: u32,
    },
    /// The source's settings cannot make a request (checked by `build`, so
    /// only a config that skipped validation gets here).
    #[error("{url}: {message}")]
    Config { url: String, message: String },
    #[error("{url}: cannot set up the HTTP client")]
    Client {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl HttpError {
    /// Whether trying again later may succeed: the export may be published,
    /// the server may recover. Wrong credentials, a missing export past its
    /// deadline or a local disk problem will not fix themselves.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::NotYet { .. }
            | HttpError::RetryAfterTooLong { .. }
            | HttpError::Timeout { .. }
            | HttpError::Connect { .. }
            | HttpError::Transfer { .. }
            | HttpError::ShortBody { .. } => true,
            HttpError::Status { status, .. } => retryable_status(*status),
            HttpError::NotFound { .. }
            | HttpError::Empty { .. }
            | HttpError::Denied { .. }
            | HttpError::Config { .. }
            | HttpError::Client { .. }
            | HttpError::Io { .. } => false,
        }
    }
}

/// Statuses worth another try: server trouble, rate limits, request timeout.
pub(crate) fn retryable_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}
