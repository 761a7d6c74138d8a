//! The `daemon` command's outer shell: the state lock, the health endpoint
//! beside the scheduler, and SIGTERM / SIGINT turned into a cancellation.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::schedule::config::DaemonConfig;
use crate::schedule::health;
use crate::schedule::lock::{LockError, StateLock};
use crate::schedule::scheduler::{JobRunner, Ledger, Notifier, Scheduler, SchedulerError};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot listen for /healthz on 127.0.0.1:{port}")]
    HealthBind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the {signal} handler")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
}

/// The daemon's resources, taken before anything runs so a second daemon
/// fails on the lock rather than on the port.
pub struct DaemonHandles {
    pub lock: StateLock,
    pub health: Option<TcpListener>,
}

impl DaemonHandles {
    /// Takes the lock on `state` and binds the health port of `config`.
    pub async fn acquire(state: &Path, config: &DaemonConfig) -> Result<Self, DaemonError> {
        let lock = StateLock::acquire(state)?;
        let health = match config.health_port {
            None => None,
            Some(port) => Some(
                health::bind_loopback(port)
                    .await
                    .map_err(|source| DaemonError::HealthBind { port, source })?,
            ),
        };
        Ok(DaemonHandles { lock, health })
    }

    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health.as_ref().and_then(|l| l.local_addr().ok())
    }
}

/// Runs the scheduler with its health endpoint until `cancel` fires and the
/// running work has stopped (or the grace period ran out).
pub async fn run_daemon<R: JobRunner, L: Ledger, N: Notifier>(
    scheduler: &Scheduler<R, L, N>,
    handles: DaemonHandles,
    config: &DaemonConfig,
    cancel: CancellationToken,
) -> Result<(), DaemonError> {
    let DaemonHandles { lock, health } = handles;
    tracing::info!(lock = %lock.path().display(), "daemon started");
    let serving = CancellationToken::new();
    let server = health.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "health endpoint listening");
        }
        tokio::spawn(health::serve(
            listener,
            scheduler.health(),
            Arc::clone(&scheduler.clock()),
            config.wake * 3,
            serving.clone(),
        ))
    });
    let result = scheduler.run(cancel).await;
    serving.cancel();
    if let Some(server) = server {
        let _ = server.await;
    }
    drop(lock);
    tracing::info!("daemon stopped");
    Ok(result?)
}

/// A token cancelled on the first SIGTERM or SIGINT (Ctrl-C).
pub fn cancel_on_signals() -> Result<CancellationToken, DaemonError> {
    let token = CancellationToken::new();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(|source| DaemonError::Signal {
            signal: "SIGTERM",
            source,
        })?;
        let mut int = signal(SignalKind::interrupt()).map_err(|source| DaemonError::Signal {
            signal: "SIGINT",
            source,
        })?;
        let cancel = token.clone();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "shutting down");
            cancel.cancel();
        });
    }
    #[cfg(not(unix))]
    {
        let cancel = token.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!(signal = "ctrl-c", "shutting down");
                cancel.cancel();
            }
        });
    }
    Ok(token)
}
