//! `/healthz` and `/metrics` for the daemon, served on a loopback port by a
//! deliberately tiny HTTP/1.1 responder: two fixed GET routes, one response
//! per connection, no keep-alive. Monitoring needs nothing more and it keeps
//! a web framework out of the binary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::schedule::clock::Clock;

/// Per-job figures behind `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobMetrics {
    pub last_success: Option<DateTime<Utc>>,
    /// Seconds the most recent finished run took.
    pub last_duration_secs: Option<f64>,
    /// Runs that ended failed or held after their retries.
    pub failures: u64,
    pub next_run: Option<DateTime<Utc>>,
}

/// Scheduler heartbeat and job metrics, shared with the HTTP responder.
#[derive(Debug, Default)]
pub struct Health {
    inner: Mutex<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    heartbeat: Option<DateTime<Utc>>,
    jobs: BTreeMap<String, JobMetrics>,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HealthState> {
        // The state is plain data, valid even if a holder panicked.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn beat(&self, at: DateTime<Utc>) {
        self.state().heartbeat = Some(at);
    }

    pub fn heartbeat(&self) -> Option<DateTime<Utc>> {
        self.state().heartbeat
    }

    /// Changes one job's figures.
    pub fn update(&self, job: &str, change: impl FnOnce(&mut JobMetrics)) {
        change(self.state().jobs.entry(job.to_string()).or_default());
    }

    pub fn job(&self, job: &str) -> Option<JobMetrics> {
        self.state().jobs.get(job).cloned()
    }

    /// The Prometheus text exposition of every job's figures.
    pub fn render_metrics(&self) -> String {
        let state = self.state();
        let mut out = String::new();
        let families: [(&str, &str, &str); 4] = [
            (
                "storepulse_last_success_timestamp_seconds",
                "gauge",
                "Unix time of the job's last successful run.",
            ),
            (
                "storepulse_run_duration_seconds",
                "gauge",
                "Duration of the job's most recent finished run.",
            ),
            (
                "storepulse_run_failures_total",
                "counter",
                "Runs that failed or were held after their retries.",
            ),
            (
                "storepulse_next_run_timestamp_seconds",
                "gauge",
                "Unix time of the job's next scheduled fire.",
            ),
        ];
        for (name, kind, help) in families {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (job, m) in &state.jobs {
                let value = match name {
                    "storepulse_last_success_timestamp_seconds" => {
                        m.last_success.map(|t| t.timestamp() as f64)
                    }
                    "storepulse_run_duration_seconds" => m.last_duration_secs,
                    "storepulse_run_failures_total" => Some(m.failures as f64),
                    _ => m.next_run.map(|t| t.timestamp() as f64),
                };
                if let Some(value) = value {
                    let _ = writeln!(out, "{name}{{job=\"{}\"}} {value}", escape_label(job));
                }
            }
        }
        if let Some(beat) = state.heartbeat {
            let _ = writeln!(
                out,
                "# HELP storepulse_heartbeat_timestamp_seconds Unix time of the scheduler's last wake-up."
            );
            let _ = writeln!(out, "# TYPE storepulse_heartbeat_timestamp_seconds gauge");
            let _ = writeln!(
                out,
                "storepulse_heartbeat_timestamp_seconds {}",
                beat.timestamp()
            );
        }
        out
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Binds the health port on 127.0.0.1 (port 0 picks a free one).
pub async fn bind_loopback(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
}

/// Answers health requests until `cancel` fires. `/healthz` is 200 while
/// the heartbeat is younger than `stale_after`, 503 otherwise.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
    clock: Arc<dyn Clock>,
    stale_after: Duration,
    cancel: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let health = Arc::clone(&health);
                let clock = Arc::clone(&clock);
                tokio::spawn(async move {
                    let answer = tokio::time::timeout(
                        Duration::from_secs(5),
                        respond(stream, &health, clock.as_ref(), stale_after),
                    )
                    .await;
                    if !matches!(answer, Ok(Ok(()))) {
                        tracing::debug!("health request dropped");
                    }
                });
            }
            Err(error) => {
                tracing::warn!(%error, "health listener accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn respond(
    mut stream: TcpStream,
    health: &Health,
    clock: &dyn Clock,
    stale_after: Duration,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/healthz") => healthz(health, clock.now(), stale_after),
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            health.render_metrics(),
        ),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn healthz(
    health: &Health,
    now: DateTime<Utc>,
    stale_after: Duration,
) -> (&'static str, &'static str, String) {
    match health.heartbeat() {
        Some(beat) => {
            let age = (now - beat).num_seconds().max(0);
            let fresh = u64::try_from(age).unwrap_or(u64::MAX) <= stale_after.as_secs();
            let status = if fresh {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            let word = if fresh { "ok" } else { "stale" };
            (
                status,
                "text/plain",
                format!("{word} heartbeat_age_seconds={age}\n"),
            )
        }
        None => (
            "503 Service Unavailable",
            "text/plain",
            "starting\n".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::clock::TokioClock;
    use chrono::TimeDelta;

    async fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn answers_healthz_and_metrics_on_loopback() {
        let start: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
        let clock = Arc::new(TokioClock::starting_at(start));
        let health = Arc::new(Health::new());
        let listener = bind_loopback(0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        let cancel = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            Arc::clone(&health),
            clock.clone(),
            Duration::from_secs(180),
            cancel.clone(),
        ));

        let starting = get(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(starting.starts_with("HTTP/1.1 503"), "{starting}");

        health.beat(start);
        health.update("daily-ops", |m| {
            m.last_success = Some(start);
            m.last_duration_secs = Some(12.5);
            m.failures = 2;
            m.next_run = Some(start + TimeDelta::hours(1));
        });
        let ok = get(addr, "GET /healthz HTTP/1.1\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.ends_with("ok heartbeat_age_seconds=0\n"), "{ok}");

        let metrics = get(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
        for line in [
            "storepulse_last_success_timestamp_seconds{job=\"daily-ops\"} 1795392000",
            "storepulse_run_duration_seconds{job=\"daily-ops\"} 12.5",
            "storepulse_run_failures_total{job=\"daily-ops\"} 2",
            "storepulse_next_run_timestamp_seconds{job=\"daily-ops\"} 1795395600",
            "# TYPE storepulse_run_failures_total counter",
        ] {
            assert!(metrics.contains(line), "missing {line}:\n{metrics}");
        }

        clock.jump(TimeDelta::minutes(10));
        let stale = get(addr, "GET /healthz HTTP/1.1\r\n\r\n").await;
        assert!(stale.starts_with("HTTP/1.1 503"), "{stale}");
        assert!(stale.contains("stale heartbeat_age_seconds=600"), "{stale}");

        let missing = get(addr, "GET /nope HTTP/1.1\r\n\r\n").await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        let post = get(addr, "POST /healthz HTTP/1.1\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405"), "{post}");

        cancel.cancel();
        server.await.unwrap();
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
