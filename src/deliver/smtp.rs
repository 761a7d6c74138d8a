//! SMTP sending: the `[smtp]` config section, a lettre transport over
//! rustls, and the loops that move outbox rows to `sent`.
//!
//! lettre's own timeout only bounds the TCP connect on tokio, so a server
//! that accepts the connection and then says nothing would hang a run; every
//! send here runs under `tokio::time::timeout`. Failures are classified:
//! 4xx replies, timeouts and network errors are transient and retried with
//! exponential backoff and jitter; 5xx replies, TLS and authentication
//! problems are permanent, stop at once, and stay in the outbox as `failed`
//! with the server's reply. The password is read once, held in a type that
//! never prints it, and never appears in logs or errors.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use super::outbox::{Outbox, OutboxStatus};
use super::{DeliverError, ErrorClass};

/// `[smtp]` as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfigRaw {
    pub host: Option<String>,
    pub port: Option<i64>,
    /// `none` | `starttls` | `tls`
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub timeout_secs: Option<i64>,
    pub max_attachment_mb: Option<i64>,
    pub retries: Option<RetriesRaw>,
}

/// `[smtp.retries]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetriesRaw {
    pub attempts: Option<i64>,
    pub base_secs: Option<i64>,
    pub cap_secs: Option<i64>,
}

/// One problem in `[smtp]`, naming its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SmtpConfigError {
    pub key: String,
    pub message: String,
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text; for loopback relays and tests.
    None,
    /// STARTTLS upgrade, required (port 587).
    StartTls,
    /// Implicit TLS from the first byte (port 465).
    Tls,
}

impl TlsMode {
    fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// A password that never prints.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Exponential backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base: Duration::from_secs(300),
            cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1 = after the first failure):
    /// `min(cap, base · 2^(retry-1))`, of which the upper half is scaled by
    /// `jitter` ∈ [0, 1) so that many runs failing together spread out.
    pub fn delay(&self, retry: u32, jitter: f64) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let full = self.base.saturating_mul(factor).min(self.cap);
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Something that waits; tests pass one that records and returns at once.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Real waiting on the tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(delay))
    }
}

/// A retry policy with its waiting and its randomness.
#[derive(Clone)]
pub struct Backoff {
    pub policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Backoff {
    /// The policy with the tokio timer and clock-seeded jitter.
    pub fn new(policy: RetryPolicy) -> Self {
        let state = AtomicU64::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9E37_79B9_7F4A_7C15)
                | 1,
        );
        Self::with(policy, Arc::new(TokioSleeper), move || {
            // xorshift64*: plenty for spreading retries, no extra crate.
            let mut x = state.load(Ordering::Relaxed);
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            state.store(x, Ordering::Relaxed);
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        })
    }

    pub fn with(
        policy: RetryPolicy,
        sleeper: Arc<dyn Sleeper>,
        jitter: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Self {
        Self {
            policy,
            sleeper,
            jitter: Arc::new(jitter),
        }
    }

    /// One try, no waiting: what a flush does.
    pub fn once() -> Self {
        Self::new(RetryPolicy {
            attempts: 1,
            base: Duration::ZERO,
            cap: Duration::ZERO,
        })
    }

    async fn wait(&self, retry: u32) {
        let delay = self.policy.delay(retry, (self.jitter)());
        tracing::info!(
            retry,
            delay_ms = delay.as_millis() as u64,
            "waiting before the next delivery attempt"
        );
        self.sleeper.sleep(delay).await;
    }
}

/// The resolved `[smtp]` section.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    password: Option<Secret>,
    pub from: Mailbox,
    pub ca_file: Option<PathBuf>,
    ca_pem: Option<Vec<u8>>,
    /// Bound on a silent server; see [`SmtpMailer`].
    pub timeout: Duration,
    /// Largest encoded attachment (decimal megabytes × 10^6).
    pub max_attachment_bytes: u64,
    pub retry: RetryPolicy,
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

impl SmtpConfigRaw {
    /// Resolves the section, reading the password from the environment.
    /// Relative paths are taken from `base_dir` (the config file's folder).
    pub fn build(&self, base_dir: &Path) -> Result<SmtpConfig, Vec<SmtpConfigError>> {
        self.build_with_env(base_dir, |name| std::env::var(name).ok())
    }

    /// As [`build`](Self::build) with the environment given as a lookup.
    /// Every problem is reported, each with its key.
    pub fn build_with_env(
        &self,
        base_dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<SmtpConfig, Vec<SmtpConfigError>> {
        let mut errors = Vec::new();
        let mut err = |key: &str, message: String| {
            errors.push(SmtpConfigError {
                key: format!("smtp.{key}"),
                message,
            })
        };

        let host = match self.host.as_deref().map(str::trim) {
            Some(h) if !h.is_empty() => h.to_string(),
            _ => {
                err("host", "missing: the SMTP server's host name".into());
                String::new()
            }
        };
        let tls = match self.tls.as_deref() {
            None | Some("starttls") => TlsMode::StartTls,
            Some("tls") => TlsMode::Tls,
            Some("none") => TlsMode::None,
            Some(other) => {
                err(
                    "tls",
                    format!("{other:?} is not one of none, starttls, tls"),
                );
                TlsMode::StartTls
            }
        };
        let port = match self.port {
            None => tls.default_port(),
            Some(p) => match u16::try_from(p) {
                Ok(p) if p > 0 => p,
                _ => {
                    err("port", format!("{p} is not a port number (1-65535)"));
                    0
                }
            },
        };

        let username = self.username.as_ref().map(|u| u.trim().to_string());
        if username.as_deref() == Some("") {
            err("username", "is empty".into());
        }
        let mut password = None;
        match (&self.password_env, &self.password_file) {
            (Some(_), Some(_)) => err(
                "password_env",
                "set only one of password_env and password_file".into(),
            ),
            (Some(var), None) => match env(var) {
                Some(v) if !v.is_empty() => password = Some(Secret(v)),
                _ => err(
                    "password_env",
                    format!("environment variable {var} is not set or empty"),
                ),
            },
            (None, Some(file)) => {
                let path = base_dir.join(file);
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let text = text.trim_end_matches(['\r', '\n']).to_string();
                        if text.is_empty() {
                            err("password_file", format!("{} is empty", path.display()));
                        } else {
                            password = Some(Secret(text));
                        }
                    }
                    Err(e) => err(
                        "password_file",
                        format!("cannot read {}: {e}", path.display()),
                    ),
                }
            }
            (None, None) => {}
        }
        if username.is_some() && self.password_env.is_none() && self.password_file.is_none() {
            err(
                "username",
                "set password_env or password_file too (passwords never live in config files)"
                    .into(),
            );
        }
        if username.is_none() && (self.password_env.is_some() || self.password_file.is_some()) {
            err(
                "username",
                "missing: a password is configured without a user name".into(),
            );
        }
        if tls == TlsMode::None && username.is_some() && !host.is_empty() && !is_loopback(&host) {
            err(
                "tls",
                format!(
                    "\"none\" would send the password in clear text to {host}; use starttls or tls"
                ),
            );
        }

        let from = match self.from.as_deref() {
            None => {
                err("from", "missing: the sender address".into());
                None
            }
            Some(f) => match f.trim().parse::<Address>() {
                Ok(a) => Some(Mailbox::new(
                    self.from_name.clone().filter(|n| !n.trim().is_empty()),
                    a,
                )),
                Err(e) => {
                    err("from", format!("{f:?} is not an email address: {e}"));
                    None
                }
            },
        };

        let mut ca_pem = None;
        let ca_file = self.ca_file.as_ref().map(|f| base_dir.join(f));
        if let Some(path) = &ca_file {
            match std::fs::read(path) {
                Ok(pem) => {
                    let text = String::from_utf8_lossy(&pem);
                    if !text.contains("-----BEGIN CERTIFICATE-----") {
                        err(
                            "ca_file",
                            format!("{} holds no PEM certificate", path.display()),
                        );
                    } else if let Err(e) = Certificate::from_pem(&pem) {
                        err("ca_file", format!("{}: {e}", path.display()));
                    } else {
                        ca_pem = Some(pem);
                    }
                }
                Err(e) => err("ca_file", format!("cannot read {}: {e}", path.display())),
            }
        }

        let positive = |value: Option<i64>,
                        default: u64,
                        key: &str,
                        err: &mut dyn FnMut(&str, String)| match value {
            None => default,
            Some(v) if v > 0 => v as u64,
            Some(v) => {
                err(key, format!("{v} must be greater than zero"));
                default
            }
        };
        let timeout = positive(self.timeout_secs, 30, "timeout_secs", &mut err);
        let max_mb = positive(self.max_attachment_mb, 20, "max_attachment_mb", &mut err);
        let retries = self.retries.clone().unwrap_or_default();
        let defaults = RetryPolicy::default();
        let attempts = positive(
            retries.attempts,
            u64::from(defaults.attempts),
            "retries.attempts",
            &mut err,
        );
        let base = positive(
            retries.base_secs,
            defaults.base.as_secs(),
            "retries.base_secs",
            &mut err,
        );
        let cap = positive(
            retries.cap_secs,
            defaults.cap.as_secs().max(base),
            "retries.cap_secs",
            &mut err,
        );
        if cap < base {
            err(
                "retries.cap_secs",
                format!("{cap} is below retries.base_secs ({base})"),
            );
        }
        if attempts > 20 {
            err("retries.attempts", format!("{attempts} is more than 20"));
        }

        match from {
            Some(from) if errors.is_empty() => Ok(SmtpConfig {
                host,
                port,
                tls,
                username,
                password,
                from,
                ca_file,
                ca_pem,
                timeout: Duration::from_secs(timeout),
                max_attachment_bytes: max_mb.saturating_mul(1_000_000),
                retry: RetryPolicy {
                    attempts: attempts as u32,
                    base: Duration::from_secs(base),
                    cap: Duration::from_secs(cap),
                },
            }),
            _ => Err(errors),
        }
    }
}

/// Sends one stored message. Implemented by [`SmtpMailer`]; the flush loops
/// are written against this so the outbox logic does not depend on lettre.
pub trait MailTransport {
    /// Sends `eml` to `recipients`; `Ok` carries the server's acceptance
    /// reply and is returned only after the server's 250.
    fn send(
        &self,
        recipients: &[String],
        eml: &[u8],
    ) -> impl Future<Output = Result<String, DeliverError>> + Send;
}

/// lettre's SMTP transport with the configured TLS, credentials and bound.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
    host: String,
    port: u16,
    timeout: Duration,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, DeliverError> {
        let tls_err = |source| DeliverError::TlsSetup {
            host: config.host.clone(),
            source,
        };
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            mode => {
                let mut params = TlsParameters::builder(config.host.clone());
                if let Some(pem) = &config.ca_pem {
                    params =
                        params.add_root_certificate(Certificate::from_pem(pem).map_err(tls_err)?);
                }
                let params = params.build_rustls().map_err(tls_err)?;
                if mode == TlsMode::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                }
            }
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder
                .credentials(Credentials::new(user.clone(), password.0.clone()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(Self {
            transport: builder.build(),
            from: config.from.email.clone(),
            host: config.host.clone(),
            port: config.port,
            timeout: config.timeout,
        })
    }

    /// The whole-transaction bound for a message of `len` bytes: the
    /// configured timeout plus one second per 100 kB, so a large workbook on
    /// a slow uplink is not cut off while a silent server still is.
    pub fn bound_for(&self, len: usize) -> Duration {
        self.timeout + Duration::from_secs(len as u64 / 100_000)
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> ErrorClass {
    if e.is_permanent() || e.is_tls() || e.is_client() || is_certificate_error(e) {
        ErrorClass::Permanent
    } else {
        // 4xx, timeouts, refused or dropped connections, garbled replies.
        ErrorClass::Transient
    }
}

/// A rejected certificate (unknown issuer, wrong name, expired) surfaces
/// from lettre as a connection error wrapping an `io::Error` that wraps the
/// rustls error; retrying cannot fix it.
fn is_certificate_error(e: &lettre::transport::smtp::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return matches!(
                inner,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        source = err.source();
    }
    false
}

impl MailTransport for SmtpMailer {
    async fn send(&self, recipients: &[String], eml: &[u8]) -> Result<String, DeliverError> {
        let to = recipients
            .iter()
            .map(|r| {
                r.parse::<Address>()
                    .map_err(|source| DeliverError::Address {
                        field: "recipients".into(),
                        value: r.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope =
            Envelope::new(Some(self.from.clone()), to).map_err(|e| DeliverError::Invalid {
                what: format!("envelope: {e}"),
            })?;
        let bound = self.bound_for(eml.len());
        match tokio::time::timeout(bound, self.transport.send_raw(&envelope, eml)).await {
            Err(_) => Err(DeliverError::Timeout {
                host: self.host.clone(),
                port: self.port,
                after: bound,
            }),
            Ok(Err(source)) => Err(DeliverError::Smtp {
                host: self.host.clone(),
                port: self.port,
                class: classify(&source),
                source,
            }),
            Ok(Ok(response)) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
        }
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent {
        id: i64,
        attempts: u32,
        reply: String,
    },
    /// Already sent earlier; nothing was sent now.
    AlreadySent { id: i64 },
}

/// Result of sending several outbox messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    pub sent: Vec<i64>,
    /// Transient failure; still pending for the next flush.
    pub deferred: Vec<(i64, String)>,
    /// Permanent failure, with the server's reply.
    pub failed: Vec<(i64, String)>,
}

impl FlushReport {
    /// Every message went out.
    pub fn all_sent(&self) -> bool {
        self.deferred.is_empty() && self.failed.is_empty()
    }
}

/// Sends one outbox message, retrying transient failures per `backoff`.
/// The row is `sending` during each attempt, `sent` only after the 250,
/// `deferred` after a transient failure and `failed` after a permanent one
/// (both with the reply). The error returned is the last attempt's.
pub async fn send_with_retry<T: MailTransport>(
    outbox: &Outbox<'_>,
    transport: &T,
    id: i64,
    backoff: &Backoff,
) -> Result<SendOutcome, DeliverError> {
    let entry = outbox.get(id)?;
    if entry.status == OutboxStatus::Sent {
        return Ok(SendOutcome::AlreadySent { id });
    }
    if !entry.status.is_pending() {
        return Err(DeliverError::BadState {
            id,
            status: entry.status.to_string(),
            op: "send",
        });
    }
    let eml = outbox.eml(id)?;
    let attempts = backoff.policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        outbox.mark_sending(id)?;
        match transport.send(&entry.recipients, &eml).await {
            Ok(reply) => {
                outbox.mark_sent(id)?;
                tracing::info!(id, job = %entry.job, period = %entry.period, team = %entry.team, attempt, %reply, "message delivered");
                return Ok(SendOutcome::Sent {
                    id,
                    attempts: attempt,
                    reply,
                });
            }
            Err(e) => {
                let permanent = !e.is_transient();
                let text = e.chain_text();
                outbox.mark_failed(id, &text, permanent)?;
                if permanent {
                    tracing::error!(id, job = %entry.job, period = %entry.period, team = %entry.team, error = %text, "delivery failed permanently");
                    return Err(e);
                }
                if attempt >= attempts {
                    tracing::warn!(id, job = %entry.job, period = %entry.period, team = %entry.team, attempt, error = %text, "delivery deferred after the last attempt");
                    return Err(e);
                }
                tracing::warn!(id, job = %entry.job, period = %entry.period, team = %entry.team, attempt, error = %text, "transient delivery failure, will retry");
                backoff.wait(attempt).await;
                attempt += 1;
            }
        }
    }
}

/// Sends the given messages (a run's teams), each with retries; one team's
/// failure does not hold back the others.
pub async fn deliver_ids<T: MailTransport>(
    outbox: &Outbox<'_>,
    transport: &T,
    ids: &[i64],
    backoff: &Backoff,
) -> Result<FlushReport, DeliverError> {
    let mut report = FlushReport::default();
    for &id in ids {
        record(
            &mut report,
            id,
            send_with_retry(outbox, transport, id, backoff).await,
        )?;
    }
    Ok(report)
}

/// `outbox flush`: one attempt for every pending message (queued, deferred,
/// or interrupted while sending), oldest first.
pub async fn flush<T: MailTransport>(
    outbox: &Outbox<'_>,
    transport: &T,
) -> Result<FlushReport, DeliverError> {
    let once = Backoff::once();
    let mut report = FlushReport::default();
    for entry in outbox.pending()? {
        record(
            &mut report,
            entry.id,
            send_with_retry(outbox, transport, entry.id, &once).await,
        )?;
    }
    Ok(report)
}

/// Sorts one outcome into the report; store errors abort the whole loop
/// since nothing can be recorded without the store.
fn record(
    report: &mut FlushReport,
    id: i64,
    outcome: Result<SendOutcome, DeliverError>,
) -> Result<(), DeliverError> {
    match outcome {
        Ok(SendOutcome::Sent { .. }) => report.sent.push(id),
        Ok(SendOutcome::AlreadySent { .. }) => {}
        Err(e @ (DeliverError::Store { .. } | DeliverError::NotFound { .. })) => return Err(e),
        Err(e) if e.is_transient() => report.deferred.push((id, e.chain_text())),
        Err(e) => report.failed.push((id, e.chain_text())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(toml_text: &str) -> SmtpConfigRaw {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            attempts: 5,
            base: Duration::from_secs(300),
            cap: Duration::from_secs(1000),
        };
        // Without jitter: half of base·2^(n-1), capped.
        assert_eq!(p.delay(1, 0.0), Duration::from_secs(150));
        assert_eq!(p.delay(2, 0.0), Duration::from_secs(300));
        assert_eq!(p.delay(3, 0.0), Duration::from_secs(500));
        // Full jitter end approaches the whole step.
        assert_eq!(p.delay(1, 1.0), Duration::from_secs(300));
        assert_eq!(p.delay(2, 0.5), Duration::from_secs(450));
        assert_eq!(p.delay(40, 0.0), Duration::from_secs(500));
    }

    #[test]
    fn defaults_follow_the_spec() {
        let cfg = raw("host = \"smtp.example.com\"\nfrom = \"reports@example.com\"")
            .build_with_env(Path::new("/"), |_| None)
            .unwrap();
        assert_eq!(cfg.port, 587);
        assert_eq!(cfg.tls, TlsMode::StartTls);
        assert_eq!(cfg.timeout, Duration::from_secs(30));
        assert_eq!(cfg.max_attachment_bytes, 20_000_000);
        assert_eq!(cfg.retry.attempts, 3);
        assert_eq!(cfg.retry.base, Duration::from_secs(300));
    }

    #[test]
    fn implicit_tls_defaults_to_465() {
        let cfg = raw("host = \"smtp.example.com\"\ntls = \"tls\"\nfrom = \"a@example.com\"")
            .build_with_env(Path::new("/"), |_| None)
            .unwrap();
        assert_eq!((cfg.port, cfg.tls), (465, TlsMode::Tls));
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let errors = raw(
            "port = 70000\ntls = \"ssl\"\nusername = \"u\"\npassword_env = \"NOPE\"\nfrom = \"not an address\"\n\
             timeout_secs = 0\nca_file = \"missing.pem\"\n[retries]\nattempts = 0\nbase_secs = 10\ncap_secs = 5",
        )
        .build_with_env(Path::new("/nonexistent"), |_| None)
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "smtp.host",
                "smtp.tls",
                "smtp.port",
                "smtp.password_env",
                "smtp.from",
                "smtp.ca_file",
                "smtp.timeout_secs",
                "smtp.retries.attempts",
                "smtp.retries.cap_secs",
            ]
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err =
            toml::from_str::<SmtpConfigRaw>("host = \"h\"\npassword = \"hunter2\"").unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
    }

    #[test]
    fn password_sources_are_exclusive_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret-pass\n").unwrap();
        let cfg =
            raw("host = \"h\"\nfrom = \"a@example.com\"\nusername = \"u\"\npassword_file = \"pw\"")
                .build_with_env(dir.path(), |_| None)
                .unwrap();
        assert_eq!(cfg.password.as_ref().unwrap().0, "s3cret-pass");
        assert!(!format!("{cfg:?}").contains("s3cret"));

        let errors = raw(
            "host = \"h\"\nfrom = \"a@example.com\"\nusername = \"u\"\npassword_file = \"pw\"\npassword_env = \"P\"",
        )
        .build_with_env(dir.path(), |_| Some("x".into()))
        .unwrap_err();
        assert_eq!(errors[0].key, "smtp.password_env");

        let errors = raw("host = \"h\"\nfrom = \"a@example.com\"\nusername = \"u\"")
            .build_with_env(dir.path(), |_| None)
            .unwrap_err();
        assert_eq!(errors[0].key, "smtp.username");
    }

    #[test]
    fn clear_text_auth_only_on_loopback() {
        let text = |host: &str| {
            format!(
                "host = \"{host}\"\ntls = \"none\"\nfrom = \"a@example.com\"\nusername = \"u\"\npassword_env = \"P\""
            )
        };
        let env = |_: &str| Some("pw".to_string());
        assert!(
            raw(&text("127.0.0.1"))
                .build_with_env(Path::new("/"), env)
                .is_ok()
        );
        let errors = raw(&text("smtp.example.com"))
            .build_with_env(Path::new("/"), env)
            .unwrap_err();
        assert_eq!(errors[0].key, "smtp.tls");
    }
}
