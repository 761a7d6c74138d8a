//! Errors of a run, classified by what the user should do about them and
//! mapped to the exit codes of SPEC §2.

use crate::cli::exit;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A usage or configuration problem (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigErrors),
    /// A source missing, unreadable or rejected (exit 3).
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    Parse(Box<crate::parse::ParseError>),
    /// A required dataset has no export for the period (exit 3).
    #[error("{dataset}: {message}")]
    MissingInput { dataset: String, message: String },
    /// An HTTP-sourced export could not be fetched (exit 3). Transient when
    /// the export is not published yet or the server is in trouble: a
    /// scheduler retries later rather than reporting an empty day.
    #[error("fetching {dataset} for {date}")]
    Fetch {
        dataset: String,
        date: chrono::NaiveDate,
        #[source]
        source: crate::source::http::HttpError,
    },
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("writing the run folder {path}: {source}")]
    Output {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("rendering: {0}")]
    Render(String),
    /// Delivery failed after retries; the mail stays in the outbox (exit 4).
    #[error("delivery: {0}")]
    Delivery(String),
    /// The run was cancelled (shutdown) at a safe point.
    #[error("interrupted")]
    Interrupted,
    #[error("the run exceeded its timeout of {0} s")]
    Timeout(u64),
}

impl RunError {
    /// Input errors do not retry: the same file would fail the same way.
    pub fn is_input(&self) -> bool {
        match self {
            RunError::Source(_) | RunError::Parse(_) | RunError::MissingInput { .. } => true,
            RunError::Fetch { source, .. } => !source.is_transient(),
            _ => false,
        }
    }

    /// Whether trying again later may succeed (busy database, delivery
    /// server down, a timeout). Input and configuration errors never are.
    pub fn is_transient(&self) -> bool {
        match self {
            RunError::Store(e) => e.is_transient(),
            RunError::Fetch { source, .. } => source.is_transient(),
            RunError::Delivery(_) | RunError::Timeout(_) | RunError::Interrupted => true,
            _ => false,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Usage(_) | RunError::Config(_) => exit::USAGE,
            RunError::Source(_)
            | RunError::Parse(_)
            | RunError::MissingInput { .. }
            | RunError::Fetch { .. } => exit::INPUT,
            RunError::Delivery(_) => exit::DELIVERY,
            // An internal failure is neither the user's input nor delivery;
            // 3 tells a scheduler "not retriable as is", the whole chain says why.
            RunError::Store(_)
            | RunError::Output { .. }
            | RunError::Render(_)
            | RunError::Interrupted
            | RunError::Timeout(_) => exit::INPUT,
        }
    }
}
