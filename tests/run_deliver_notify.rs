//! Failure and recovery alerts to a job's owners (`notify_owners`), as the
//! scheduler sends them: stored once per job, period and kind, and sent
//! through a real SMTP server on 127.0.0.1.

mod deliver_common;

use std::path::Path;

use deliver_common::*;
use storepulse::config::{self, Override};
use storepulse::deliver::AlertKind;
use storepulse::period::Period;
use storepulse::run::{RunError, notify_owners};

fn config(dir: &Path, port: u16) -> config::Config {
    let root = manifest_dir();
    std::fs::copy(root.join("storepulse.toml"), dir.join("storepulse.toml")).unwrap();
    for sub in ["jobs", "templates/email"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
        }
    }
    let sets: Vec<Override> = [
        format!(
            "targets.file={}",
            root.join("sample-data/targets.csv").display()
        ),
        "delivery=smtp".into(),
        "smtp.host=127.0.0.1".into(),
        format!("smtp.port={port}"),
        "smtp.tls=none".into(),
        "smtp.from=reports@shop.example.com".into(),
        "smtp.retries.attempts=1".into(),
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    config::load(&dir.join("storepulse.toml"), &sets).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn owners_get_one_failure_and_one_recovery_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start("normal", 0, &dir.path().join("spool"), &[]);
    let config = config(dir.path(), server.port);
    let job = config.job("daily-ops").unwrap();
    let period: Period = "2026-11-22".parse().unwrap();

    notify_owners(
        &config,
        job,
        period,
        AlertKind::Failure,
        Some("orders: no export for 2026-11-22".into()),
    )
    .await
    .unwrap();
    // The scheduler may report the same failure again (a retry that fails
    // too): the owners hear about it once.
    notify_owners(&config, job, period, AlertKind::Failure, None)
        .await
        .unwrap();
    assert_eq!(server.delivered(), 1);
    notify_owners(&config, job, period, AlertKind::Recovery, None)
        .await
        .unwrap();
    assert_eq!(server.delivered(), 2);

    let parsed = parse_spool(&server.spool, &dir.path().join("parsed"));
    assert_eq!(
        parsed[0]["envelope"]["rcpt_tos"],
        serde_json::json!(["ops-lead@example.com"])
    );
    assert_eq!(
        parsed[0]["subject"],
        "【storepulse】日报 2026-11-22 运行失败（failed）"
    );
    let text = parsed[0]["text"].as_str().unwrap();
    assert!(text.contains("orders: no export for 2026-11-22"), "{text}");
    assert_eq!(
        parsed[1]["subject"],
        "【storepulse】日报 2026-11-22 已恢复正常"
    );
}

#[tokio::test]
async fn an_alert_the_server_rejects_is_a_delivery_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start("reject", 0, &dir.path().join("spool"), &[]);
    let config = config(dir.path(), server.port);
    let job = config.job("daily-ops").unwrap();
    let period: Period = "2026-11-22".parse().unwrap();
    let err = notify_owners(&config, job, period, AlertKind::Failure, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RunError::Delivery(m) if m.contains("owners-failure") && m.contains("550")),
        "{err}"
    );
    assert_eq!(err.exit_code(), 4);
}
