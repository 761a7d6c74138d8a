//! The daemon as a process (SPEC §6): a run stopped by SIGTERM at its next
//! safe point is recorded `interrupted` and the daemon exits 0; the next
//! start retries it to completion; `/healthz` and `/metrics` answer on
//! loopback meanwhile; a second daemon on the same state is refused.
//!
//! The run is for the fixed period 2026-11-22 of the sample data: the
//! ledger starts with an interrupted attempt of it, which a daemon retries
//! first on start. Every job's schedule is set to fire only on 29 February,
//! so no fire of the real clock joins in.

mod cli_schedule_common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use cli_schedule_common::{Install, latest_attempt, stderr, stdout};
use storepulse::store::Store;

const RARE: &str = "0 0 29 2 *";
const JOB: &str = "daily-ops";
const PERIOD: &str = "2026-11-22";
/// Upper bound on any wait below; only reached when something is broken.
const PATIENCE: Duration = Duration::from_secs(600);

/// A child process killed if the test fails before stopping it.
struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(install: &Install, port: u16, name: &str) -> Daemon {
        let log = install.path().join(format!("{name}.log"));
        let mut cmd = install.command(&daemon_args(port));
        cmd.stdout(Stdio::null())
            .stderr(Stdio::from(File::create(&log).unwrap()));
        Daemon {
            child: cmd.spawn().unwrap(),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn daemon_args(port: u16) -> Vec<String> {
    let mut args = vec![
        "--set".to_string(),
        format!("daemon.health_port={port}"),
        "--set".to_string(),
        "daemon.grace_secs=300".to_string(),
    ];
    for job in ["daily-ops", "weekly-review", "monthly-members"] {
        args.push("--set".into());
        args.push(format!("jobs.{job}.schedule={RARE}"));
    }
    args.push("daemon".into());
    args
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for<T>(what: &str, daemon: &Daemon, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what}:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

fn seed_interrupted_run(state: &Path) {
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let mut store = Store::open(state).unwrap();
    let at = Utc::now();
    let id = store.begin_run(JOB, PERIOD, 1, at).unwrap();
    store
        .finish_run(id, "interrupted", Some("interrupted"), at)
        .unwrap();
}

#[test]
fn sigterm_interrupts_the_run_and_the_next_start_completes_it() {
    let install = Install::new(None);
    let state = install.state();
    seed_interrupted_run(&state);

    // First start: the interrupted run is retried as attempt 2; SIGTERM
    // arrives while it ingests the sample inbox.
    let mut first = Daemon::start(&install, free_port(), "first");
    let (attempt, status, _) = wait_for("attempt 2 to start", &first, || {
        latest_attempt(&state, JOB, PERIOD).filter(|(a, _, _)| *a == 2)
    });
    assert_eq!(
        (attempt, status.as_str()),
        (2, "running"),
        "the run ended before SIGTERM:\n{}",
        first.log()
    );
    first.sigterm();
    let exit = first.wait();
    assert_eq!(exit.code(), Some(0), "{}", first.log());
    // Stopped by the run itself at a safe point, within the grace period
    // (a run cut off after it would read "interrupted by shutdown").
    assert_eq!(
        latest_attempt(&state, JOB, PERIOD),
        Some((
            2,
            "interrupted".to_string(),
            Some("interrupted".to_string())
        )),
        "{}",
        first.log()
    );
    assert!(first.log().contains("shutting down signal=\"SIGTERM\""));

    // Second start: attempt 3 runs to the end.
    let port = free_port();
    let mut second = Daemon::start(&install, port, "second");
    let (attempt, final_status, error) = wait_for("attempt 3 to finish", &second, || {
        latest_attempt(&state, JOB, PERIOD).filter(|(a, s, _)| *a == 3 && s != "running")
    });
    assert_eq!(attempt, 3);
    assert!(
        matches!(final_status.as_str(), "success" | "warn" | "held"),
        "{final_status} {error:?}\n{}",
        second.log()
    );

    // The health endpoint answers while the daemon runs.
    let health = wait_for("/healthz", &second, || get(port, "/healthz"));
    assert!(health.starts_with("HTTP/1.1 200 OK"), "{health}");
    assert!(health.contains("ok heartbeat_age_seconds="), "{health}");
    let failures = if final_status == "held" { 1 } else { 0 };
    let metrics = wait_for("the run's metrics", &second, || {
        get(port, "/metrics")
            .filter(|m| m.contains("storepulse_run_duration_seconds{job=\"daily-ops\"}"))
    });
    assert!(metrics.starts_with("HTTP/1.1 200 OK"), "{metrics}");
    for line in [
        format!("storepulse_run_failures_total{{job=\"daily-ops\"}} {failures}"),
        // 2028-02-29T00:00:00+08:00, the next 29 February.
        "storepulse_next_run_timestamp_seconds{job=\"weekly-review\"} 1835366400".to_string(),
        "# TYPE storepulse_heartbeat_timestamp_seconds gauge".to_string(),
    ] {
        assert!(metrics.contains(&line), "missing {line}:\n{metrics}");
    }

    // A second daemon on the same state is refused, naming the first.
    let intruder = install.run(&["--set", "daemon.health_port=0", "daemon"]);
    assert_eq!(intruder.status.code(), Some(2), "{}", stderr(&intruder));
    let expected = format!(
        "another storepulse daemon (pid {}) already runs on this state",
        second.child.id()
    );
    assert!(
        stderr(&intruder).contains(&expected),
        "{}",
        stderr(&intruder)
    );

    second.sigterm();
    let exit = second.wait();
    assert_eq!(exit.code(), Some(0), "{}", second.log());

    // The ledger keeps every attempt, newest first.
    let history = install.run(&["history", JOB]);
    assert_eq!(history.status.code(), Some(0));
    let attempts: Vec<(String, String)> = stdout(&history)
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[2].to_string(), cells[3].to_string())
        })
        .collect();
    assert_eq!(
        attempts,
        [
            ("3".to_string(), final_status.clone()),
            ("2".to_string(), "interrupted".to_string()),
            ("1".to_string(), "interrupted".to_string()),
        ]
    );

    // One run folder, with at most one delivery per team.
    let summary = install
        .path()
        .join("var/out")
        .join(JOB)
        .join(PERIOD)
        .join("summary.json");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let mut teams: Vec<&str> = summary["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["team"].as_str().unwrap())
        .collect();
    let all = teams.len();
    teams.sort();
    teams.dedup();
    assert_eq!(teams.len(), all, "{summary}");
}
