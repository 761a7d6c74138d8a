//! End-to-end delivery against a real SMTP server on 127.0.0.1
//! (tests/smtp/server.py, aiosmtpd): compose → outbox → send → parse what
//! the server received.

mod deliver_common;

use std::path::Path;
use std::time::Duration;

use deliver_common::*;
use storepulse::deliver::{
    Attachment, DeliverError, EnqueueMode, Enqueued, FlushReport, NewMessage, Outbox, OutboxStatus,
    SendOutcome, SmtpConfig, SmtpConfigRaw, SmtpMailer, compose_report, deliver_ids, flush,
    send_with_retry,
};

const PASSWORD: &str = "correct horse battery staple";

fn config(text: &str, base: &Path) -> SmtpConfig {
    let raw: SmtpConfigRaw = toml::from_str(text).unwrap();
    raw.build_with_env(base, |name| {
        (name == "TEST_SMTP_PASSWORD").then(|| PASSWORD.to_string())
    })
    .unwrap_or_else(|e| panic!("config errors: {e:?}"))
}

fn plain_config(port: u16, timeout_secs: u64) -> SmtpConfig {
    config(
        &format!(
            "host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nfrom = \"reports@shop.example.com\"\n\
             timeout_secs = {timeout_secs}"
        ),
        Path::new("/"),
    )
}

/// Composes and enqueues one team's report; returns the outbox id.
fn enqueue_team(
    outbox: &Outbox<'_>,
    team: &str,
    team_name: &str,
    to: &[&str],
    resend: bool,
) -> Enqueued {
    let att = Attachment {
        file_name: format!("{team_name}_日报_2026-11-22.xlsx"),
        bytes: workbook_bytes(40_000),
    };
    let email = compose_report(
        &templates(),
        &sample_context(team, team_name, Some(att)),
        &addressing(to, &[]),
        &options(),
    )
    .unwrap();
    outbox
        .enqueue(
            &NewMessage::from_composed("daily-ops", "2026-11-22", team, &email),
            EnqueueMode::Send,
            resend,
        )
        .unwrap()
}

fn new_id(e: Enqueued) -> i64 {
    match e {
        Enqueued::New { id } => id,
        other => panic!("expected a new row, got {other:?}"),
    }
}

/// Guards a test against hanging: a send that never returns fails the test.
async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("delivery call did not return")
}

#[tokio::test]
async fn starttls_auth_delivers_every_team_intact() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let spool = dir.path().join("spool");
    let server = SmtpServer::start(
        "starttls",
        0,
        &spool,
        &[
            "--cert".into(),
            certs.cert.display().to_string(),
            "--key".into(),
            certs.key.display().to_string(),
            "--user".into(),
            "reports".into(),
            "--password".into(),
            PASSWORD.into(),
        ],
    );
    std::fs::write(dir.path().join("smtp-password"), format!("{PASSWORD}\n")).unwrap();
    let cfg = config(
        &format!(
            "host = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nusername = \"reports\"\n\
             password_file = \"smtp-password\"\nfrom = \"reports@shop.example.com\"\nfrom_name = \"storepulse 报表\"\n\
             ca_file = \"ca.pem\"\ntimeout_secs = 20",
            server.port
        ),
        dir.path(),
    );
    let mailer = SmtpMailer::new(&cfg).unwrap();

    let (_db_dir, conn) = store();
    let outbox = Outbox::new(&conn);
    let teams = [
        ("ops", "运营", "ops-lead@example.com"),
        ("service", "客服", "service@example.com"),
    ];
    let mut ids = Vec::new();
    for (team, name, to) in teams {
        ids.push(new_id(enqueue_team(&outbox, team, name, &[to], false)));
    }
    let (backoff, _) = recorded_backoff(3);
    let report = bounded(deliver_ids(&outbox, &mailer, &ids, &backoff))
        .await
        .unwrap();
    assert_eq!(report.sent, ids, "{report:?}");
    assert!(report.all_sent());

    let parsed = parse_spool(&spool, &dir.path().join("parsed"));
    assert_eq!(parsed.len(), 2);
    for (msg, (team, name, to)) in parsed.iter().zip(teams) {
        assert_eq!(msg["envelope"]["auth_user"], "reports");
        assert_eq!(msg["envelope"]["auth_mechanism"], "PLAIN");
        assert_eq!(msg["envelope"]["tls"], true);
        assert_eq!(msg["envelope"]["mail_from"], "reports@shop.example.com");
        assert_eq!(msg["envelope"]["rcpt_tos"], serde_json::json!([to]));
        assert_eq!(msg["to_addrs"], serde_json::json!([to]));
        assert_eq!(msg["from"], "storepulse 报表 <reports@shop.example.com>");
        assert_eq!(
            msg["subject"],
            format!("云朵旗舰店 日报 2026-11-22｜{name}｜销售额 ¥128,450.00（+5.2%）｜1 项警告")
        );
        assert_eq!(msg["content_type"], "multipart/mixed");
        let text = msg["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!(
                "{name}团队：\n\n以下是 云朵旗舰店 2026-11-22 的日报。"
            )),
            "{text}"
        );
        assert!(text.contains("- 销售额：¥128,450.00（+5.2% ↑）"), "{text}");
        assert!(
            text.contains("[警告] 退款率偏高：退款率 8.1%，高于上限 5.0%"),
            "{text}"
        );
        assert!(
            !text.contains("订单文件存在"),
            "pass-level checks stay out: {text}"
        );
        let html = msg["html"].as_str().unwrap();
        assert!(html.contains("<td style=\"padding: 4px 12px; text-align: right; font-weight: bold;\">¥128,450.00</td>"));
        assert!(html.contains("<strong>退款率偏高</strong>"));

        let file_name = format!("{name}_日报_2026-11-22.xlsx");
        let atts = msg["attachments"].as_array().unwrap();
        assert_eq!(atts.len(), 1);
        assert_eq!(atts[0]["filename"], file_name.as_str(), "RFC 2231 name");
        assert_eq!(atts[0]["ct_name"], file_name.as_str(), "RFC 2047 name");
        assert!(
            atts[0]["ct_name_raw"]
                .as_str()
                .unwrap()
                .starts_with("=?UTF-8?B?")
        );
        assert_eq!(
            atts[0]["content_type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let bytes = std::fs::read(atts[0]["path"].as_str().unwrap()).unwrap();
        assert!(
            bytes == workbook_bytes(40_000),
            "{team}: attachment differs from the workbook"
        );
        assert_eq!(msg["defects"], serde_json::json!([]));
    }
    for id in ids {
        let entry = outbox.get(id).unwrap();
        assert_eq!(entry.status, OutboxStatus::Sent);
        assert_eq!(entry.attempts, 1);
        assert!(entry.sent_at.is_some());
    }
}

#[tokio::test]
async fn implicit_tls_with_auth_login_and_password_from_env() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let spool = dir.path().join("spool");
    let server = SmtpServer::start(
        "tls",
        0,
        &spool,
        &[
            "--cert".into(),
            certs.cert.display().to_string(),
            "--key".into(),
            certs.key.display().to_string(),
            "--user".into(),
            "reports".into(),
            "--password".into(),
            PASSWORD.into(),
            "--auth-exclude".into(),
            "PLAIN".into(),
        ],
    );
    let cfg = config(
        &format!(
            "host = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nusername = \"reports\"\npassword_env = \"TEST_SMTP_PASSWORD\"\n\
             from = \"reports@shop.example.com\"\nca_file = \"{}\"",
            server.port,
            certs.ca.display()
        ),
        dir.path(),
    );
    let mailer = SmtpMailer::new(&cfg).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let id = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let (backoff, _) = recorded_backoff(1);
    let outcome = bounded(send_with_retry(&outbox, &mailer, id, &backoff))
        .await
        .unwrap();
    assert!(
        matches!(outcome, SendOutcome::Sent { attempts: 1, .. }),
        "{outcome:?}"
    );
    let parsed = parse_spool(&spool, &dir.path().join("parsed"));
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0]["envelope"]["auth_user"], "reports");
    assert_eq!(parsed[0]["envelope"]["auth_mechanism"], "LOGIN");
}

#[tokio::test]
async fn wrong_password_is_a_permanent_failure_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let spool = dir.path().join("spool");
    let server = SmtpServer::start(
        "starttls",
        0,
        &spool,
        &[
            "--cert".into(),
            certs.cert.display().to_string(),
            "--key".into(),
            certs.key.display().to_string(),
            "--user".into(),
            "reports".into(),
            "--password".into(),
            "another password".into(),
        ],
    );
    let cfg = config(
        &format!(
            "host = \"127.0.0.1\"\nport = {}\nusername = \"reports\"\npassword_env = \"TEST_SMTP_PASSWORD\"\n\
             from = \"reports@shop.example.com\"\nca_file = \"ca.pem\"",
            server.port
        ),
        dir.path(),
    );
    let mailer = SmtpMailer::new(&cfg).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let id = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let (backoff, sleeper) = recorded_backoff(3);
    let err = bounded(send_with_retry(&outbox, &mailer, id, &backoff))
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    assert!(
        sleeper.delays.lock().unwrap().is_empty(),
        "no retry after a permanent failure"
    );
    let entry = outbox.get(id).unwrap();
    assert_eq!(entry.status, OutboxStatus::Failed);
    let last = entry.last_error.unwrap();
    assert!(last.contains("535"), "{last}");
    assert!(!last.contains(PASSWORD) && !format!("{err:?}").contains(PASSWORD));
    assert_eq!(server.delivered(), 0);
}

#[tokio::test]
async fn untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let spool = dir.path().join("spool");
    let server = SmtpServer::start(
        "starttls",
        0,
        &spool,
        &[
            "--cert".into(),
            certs.cert.display().to_string(),
            "--key".into(),
            certs.key.display().to_string(),
            "--user".into(),
            "reports".into(),
            "--password".into(),
            PASSWORD.into(),
        ],
    );
    // No ca_file: the throwaway CA is not trusted.
    let cfg = config(
        &format!(
            "host = \"127.0.0.1\"\nport = {}\nusername = \"reports\"\npassword_env = \"TEST_SMTP_PASSWORD\"\n\
             from = \"reports@shop.example.com\"",
            server.port
        ),
        dir.path(),
    );
    let mailer = SmtpMailer::new(&cfg).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let id = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let (backoff, _) = recorded_backoff(3);
    let err = bounded(send_with_retry(&outbox, &mailer, id, &backoff))
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    assert_eq!(outbox.get(id).unwrap().status, OutboxStatus::Failed);
    assert_eq!(server.delivered(), 0);
}

#[tokio::test]
async fn tempfail_451_then_250_is_delivered_once_after_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let server = SmtpServer::start("tempfail", 0, &spool, &[]);
    let mailer = SmtpMailer::new(&plain_config(server.port, 20)).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let id = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let (backoff, sleeper) = recorded_backoff(3);
    let outcome = bounded(send_with_retry(&outbox, &mailer, id, &backoff))
        .await
        .unwrap();
    match outcome {
        SendOutcome::Sent {
            attempts, reply, ..
        } => {
            assert_eq!(attempts, 2);
            assert!(reply.starts_with("250"), "{reply}");
        }
        other => panic!("{other:?}"),
    }
    // One wait between the two tries: half of base 2 s with zero jitter.
    assert_eq!(
        *sleeper.delays.lock().unwrap(),
        vec![Duration::from_secs(1)]
    );
    assert_eq!(server.delivered(), 1);
    let entry = outbox.get(id).unwrap();
    assert_eq!((entry.status, entry.attempts), (OutboxStatus::Sent, 2));
}

#[tokio::test]
async fn reject_550_fails_loudly_and_stays_in_the_outbox_with_the_reply() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let server = SmtpServer::start("reject", 0, &spool, &[]);
    let mailer = SmtpMailer::new(&plain_config(server.port, 20)).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let id = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let (backoff, sleeper) = recorded_backoff(3);
    let report = bounded(deliver_ids(&outbox, &mailer, &[id], &backoff))
        .await
        .unwrap();
    assert!(report.sent.is_empty() && report.deferred.is_empty());
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].1.contains("Relaying denied"), "{report:?}");
    assert!(sleeper.delays.lock().unwrap().is_empty());
    let entry = outbox.get(id).unwrap();
    assert_eq!((entry.status, entry.attempts), (OutboxStatus::Failed, 1));
    let last = entry.last_error.unwrap();
    assert!(
        last.contains("550") && last.contains("Relaying denied: mailbox unavailable"),
        "{last}"
    );
    // A failed message is not picked up again by a flush.
    assert!(outbox.pending().unwrap().is_empty());
    assert_eq!(server.delivered(), 0);
}

#[tokio::test]
async fn silent_server_times_out_within_the_configured_bound() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let server = SmtpServer::start("silent", 0, &spool, &[]);
    let mailer = SmtpMailer::new(&plain_config(server.port, 1)).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let id = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let (backoff, sleeper) = recorded_backoff(2);
    let err = bounded(send_with_retry(&outbox, &mailer, id, &backoff))
        .await
        .unwrap_err();
    match &err {
        // 1 s configured, plus nothing for a small message.
        DeliverError::Timeout { after, .. } => assert_eq!(*after, Duration::from_secs(1)),
        other => panic!("expected the outer timeout, got {other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(
        sleeper.delays.lock().unwrap().len(),
        1,
        "timeouts are retried"
    );
    let entry = outbox.get(id).unwrap();
    assert_eq!((entry.status, entry.attempts), (OutboxStatus::Deferred, 2));
    assert!(entry.last_error.unwrap().contains("no answer within 1s"));
}

#[tokio::test]
async fn server_down_then_up_flush_delivers_once() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let port = free_port();
    let mailer = SmtpMailer::new(&plain_config(port, 20)).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let ops = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let crm = new_id(enqueue_team(
        &outbox,
        "crm",
        "会员",
        &["crm@example.com"],
        false,
    ));

    // Down: connection refused is transient; both stay pending.
    let (backoff, sleeper) = recorded_backoff(2);
    let report = bounded(deliver_ids(&outbox, &mailer, &[ops, crm], &backoff))
        .await
        .unwrap();
    assert_eq!(
        report.deferred.iter().map(|d| d.0).collect::<Vec<_>>(),
        vec![ops, crm]
    );
    assert_eq!(sleeper.delays.lock().unwrap().len(), 2);
    assert_eq!(outbox.get(ops).unwrap().status, OutboxStatus::Deferred);

    // Up: a flush delivers each once, oldest first.
    let server = SmtpServer::start("normal", port, &spool, &[]);
    let report = bounded(flush(&outbox, &mailer)).await.unwrap();
    assert_eq!(
        report,
        FlushReport {
            sent: vec![ops, crm],
            ..Default::default()
        }
    );
    // A second flush has nothing to do.
    let report = bounded(flush(&outbox, &mailer)).await.unwrap();
    assert_eq!(report, FlushReport::default());
    assert_eq!(server.delivered(), 2);
    let parsed = parse_spool(&spool, &dir.path().join("parsed"));
    assert_eq!(
        parsed[0]["envelope"]["rcpt_tos"],
        serde_json::json!(["ops@example.com"])
    );
    assert_eq!(
        parsed[1]["envelope"]["rcpt_tos"],
        serde_json::json!(["crm@example.com"])
    );
    assert_eq!(outbox.get(ops).unwrap().attempts, 3);
}

#[tokio::test]
async fn interrupted_send_is_delivered_by_the_next_flush() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let server = SmtpServer::start("normal", 0, &spool, &[]);
    let mailer = SmtpMailer::new(&plain_config(server.port, 20)).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);
    let stored = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    let sending = new_id(enqueue_team(
        &outbox,
        "crm",
        "会员",
        &["crm@example.com"],
        false,
    ));
    // As a process killed mid-attempt leaves it.
    outbox.mark_sending(sending).unwrap();

    let report = bounded(flush(&outbox, &mailer)).await.unwrap();
    assert_eq!(report.sent, vec![stored, sending]);
    assert_eq!(server.delivered(), 2);
    assert_eq!(
        bounded(flush(&outbox, &mailer)).await.unwrap(),
        FlushReport::default()
    );
    assert_eq!(server.delivered(), 2);
}

#[tokio::test]
async fn same_job_period_team_twice_sends_once_and_resend_reuses_the_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let server = SmtpServer::start("normal", 0, &spool, &[]);
    let mailer = SmtpMailer::new(&plain_config(server.port, 20)).unwrap();
    let (_db, conn) = store();
    let outbox = Outbox::new(&conn);

    let first = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        false,
    ));
    assert_eq!(
        bounded(flush(&outbox, &mailer)).await.unwrap().sent,
        vec![first]
    );

    // The same run again: refused, nothing sent.
    let again = enqueue_team(&outbox, "ops", "运营", &["ops@example.com"], false);
    assert_eq!(
        again,
        Enqueued::Duplicate {
            id: first,
            status: OutboxStatus::Sent
        }
    );
    assert_eq!(
        bounded(flush(&outbox, &mailer)).await.unwrap(),
        FlushReport::default()
    );
    assert_eq!(server.delivered(), 1);

    // --resend: a new row, sent again.
    let resent = new_id(enqueue_team(
        &outbox,
        "ops",
        "运营",
        &["ops@example.com"],
        true,
    ));
    assert_ne!(resent, first);
    assert!(outbox.get(resent).unwrap().resend);
    assert_eq!(
        bounded(flush(&outbox, &mailer)).await.unwrap().sent,
        vec![resent]
    );
    assert_eq!(server.delivered(), 2);

    let parsed = parse_spool(&spool, &dir.path().join("parsed"));
    let ids: Vec<&str> = parsed
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0], outbox.get(first).unwrap().message_id);
    assert!(
        ids[0].ends_with("@storepulse.shop.example.com>"),
        "{}",
        ids[0]
    );
}
