//! A process killed with SIGKILL between "stored" and "sent" loses nothing
//! and sends nothing twice: the next flush delivers each team exactly once.
//!
//! The test re-runs this test binary as a child process (selected with an
//! environment variable) that stores two teams' emails and starts sending
//! to a server that never answers; the parent kills it mid-attempt.

mod deliver_common;

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use deliver_common::*;
use rusqlite::Connection;
use storepulse::deliver::{
    Attachment, EnqueueMode, Enqueued, FlushReport, NewMessage, Outbox, OutboxStatus,
    SmtpConfigRaw, SmtpMailer, compose_report, deliver_ids, flush,
};

const CHILD_ENV: &str = "STOREPULSE_DELIVER_CRASH_CHILD";
const TEAMS: [(&str, &str); 2] = [("ops", "运营"), ("crm", "会员")];

fn mailer(port: u16, timeout_secs: u64) -> SmtpMailer {
    let raw: SmtpConfigRaw = toml::from_str(&format!(
        "host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"reports@shop.example.com\"\n\
         timeout_secs = {timeout_secs}"
    ))
    .unwrap();
    SmtpMailer::new(&raw.build_with_env(Path::new("/"), |_| None).unwrap()).unwrap()
}

/// The child's side; a no-op unless started by the test below.
#[tokio::test]
async fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (db, port) = spec.split_once('|').unwrap();
    let conn = Connection::open(db).unwrap();
    let outbox = Outbox::new(&conn);
    let mut ids = Vec::new();
    for (team, name) in TEAMS {
        let ctx = sample_context(
            team,
            name,
            Some(Attachment {
                file_name: format!("{name}_日报_2026-11-22.xlsx"),
                bytes: workbook_bytes(10_000),
            }),
        );
        let email = compose_report(
            &templates(),
            &ctx,
            &addressing(&[&format!("{team}@example.com")], &[]),
            &options(),
        )
        .unwrap();
        match outbox
            .enqueue(
                &NewMessage::from_composed("daily-ops", "2026-11-22", team, &email),
                EnqueueMode::Send,
                false,
            )
            .unwrap()
        {
            Enqueued::New { id } => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    // The server never answers and the bound is long: the parent kills this
    // process while the first message is being sent.
    let (backoff, _) = recorded_backoff(1);
    let _ = deliver_ids(&outbox, &mailer(port.parse().unwrap(), 600), &ids, &backoff).await;
    panic!("the child should have been killed before its send returned");
}

#[tokio::test]
async fn kill_9_between_stored_and_sent_delivers_each_team_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.sqlite");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(storepulse::deliver::OUTBOX_SQL).unwrap();
    let silent = SmtpServer::start("silent", 0, &dir.path().join("silent"), &[]);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}|{}", db.display(), silent.port))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the child has stored both and begun sending.
    let outbox = Outbox::new(&conn);
    let mut started = false;
    for _ in 0..1200 {
        let rows = outbox.list(None).unwrap_or_default();
        if rows.iter().any(|r| r.status == OutboxStatus::Sending) {
            started = true;
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("child exited on its own: {status}\n{err}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started, "the child never started sending");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    silent.stop();

    let rows = outbox.list(None).unwrap();
    let statuses: Vec<(String, OutboxStatus)> = rows
        .iter()
        .rev()
        .map(|r| (r.team.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("ops".to_string(), OutboxStatus::Sending),
            ("crm".to_string(), OutboxStatus::Queued)
        ]
    );

    let spool = dir.path().join("spool");
    let server = SmtpServer::start("normal", 0, &spool, &[]);
    let mailer = mailer(server.port, 20);
    let report = flush(&outbox, &mailer).await.unwrap();
    assert_eq!(report.sent.len(), 2, "{report:?}");
    assert_eq!(
        flush(&outbox, &mailer).await.unwrap(),
        FlushReport::default()
    );
    let parsed = parse_spool(&spool, &dir.path().join("parsed"));
    let rcpts: Vec<&serde_json::Value> = parsed
        .iter()
        .map(|m| &m["envelope"]["rcpt_tos"][0])
        .collect();
    assert_eq!(rcpts, vec!["ops@example.com", "crm@example.com"]);
    for (msg, (_, name)) in parsed.iter().zip(TEAMS) {
        assert_eq!(
            msg["attachments"][0]["filename"],
            format!("{name}_日报_2026-11-22.xlsx")
        );
    }
}
