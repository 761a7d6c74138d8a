//! Delivery: turns a finished run into one email per team and gets it into
//! the team's inbox exactly once.
//!
//! The flow is compose → outbox → send. [`compose`] renders the subject and
//! both bodies from the user-editable minijinja templates in
//! `templates/email/` and builds the full RFC 5322 message (attachment names
//! in RFC 2231 and RFC 2047 form, a Message-ID that is stable per job, period
//! and team, the size guard). [`outbox`] stores that rendered message in the
//! SQLite store *before* anything touches the network, refuses a second copy
//! of the same job/period/team unless a resend is asked for, and records each
//! attempt; `outbox-only` delivery also writes the message as an `.eml` file
//! into the run folder. [`smtp`] sends what the outbox holds over lettre with
//! rustls, with a hard timeout around every network call, retries transient
//! (4xx, network, timeout) failures with backoff and jitter, and marks a
//! message sent only once the server has answered 250.

pub mod compose;
pub mod outbox;
pub mod smtp;

use std::path::PathBuf;
use std::time::Duration;

pub use compose::{
    Addressing, AlertKind, Attachment, CheckLevel, ComposeOptions, ComposedEmail, Direction,
    EmailCheck, EmailContext, EmailTemplates, Kpi, OwnerAlertContext, compose_owner_alert,
    compose_report, message_id,
};
pub use outbox::{
    EnqueueMode, Enqueued, NewMessage, OUTBOX_SQL, Outbox, OutboxEntry, OutboxStatus, write_eml,
};
pub use smtp::{
    Backoff, FlushReport, MailTransport, RetryPolicy, SendOutcome, Sleeper, SmtpConfig,
    SmtpConfigError, SmtpConfigRaw, SmtpMailer, TlsMode, TokioSleeper, deliver_ids, flush,
    send_with_retry,
};

/// Whether retrying the same operation later can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A 4xx reply, a timeout or a network failure: try again later.
    Transient,
    /// A 5xx reply, a TLS or authentication problem, a bad message: retrying
    /// the same thing will fail the same way.
    Permanent,
}

/// Everything that can go wrong while composing, storing or sending mail.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("email template {name}: not found in {dir}")]
    TemplateMissing { dir: PathBuf, name: String },

    #[error("email template {name}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },

    #[error("reading email templates from {path}")]
    TemplateRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{field}: invalid email address {value:?}")]
    Address {
        field: String,
        value: String,
        #[source]
        source: lettre::address::AddressError,
    },

    #[error("{what}")]
    Invalid { what: String },

    #[error("building the email message")]
    Build {
        #[source]
        source: lettre::error::Error,
    },

    #[error("zipping attachment {file_name}")]
    Zip {
        file_name: String,
        #[source]
        source: zip::result::ZipError,
    },

    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("outbox: {op}")]
    Store {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error("outbox: no message with id {id}")]
    NotFound { id: i64 },

    #[error("outbox message {id}: status is {status}, cannot {op}")]
    BadState {
        id: i64,
        status: String,
        op: &'static str,
    },

    #[error("SMTP {host}:{port}: {source}")]
    Smtp {
        host: String,
        port: u16,
        class: ErrorClass,
        #[source]
        source: lettre::transport::smtp::Error,
    },

    #[error("SMTP {host}:{port}: no answer within {after:?}")]
    Timeout {
        host: String,
        port: u16,
        after: Duration,
    },

    #[error("SMTP TLS setup for {host}")]
    TlsSetup {
        host: String,
        #[source]
        source: lettre::transport::smtp::Error,
    },
}

impl DeliverError {
    /// How a retry policy should treat this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            DeliverError::Smtp { class, .. } => *class,
            DeliverError::Timeout { .. } => ErrorClass::Transient,
            // A busy or locked SQLite file clears up by itself.
            DeliverError::Store { source, .. } => match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    ErrorClass::Transient
                }
                _ => ErrorClass::Permanent,
            },
            _ => ErrorClass::Permanent,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// The text to keep in the outbox's `last_error`: the error and its
    /// causes, which for an SMTP rejection includes the server's reply.
    pub fn chain_text(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(err) = source {
            let part = err.to_string();
            // lettre repeats its own message in the source chain.
            if !text.contains(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = err.source();
        }
        text
    }
}
