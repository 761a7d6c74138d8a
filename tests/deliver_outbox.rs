//! The durable outbox on a real SQLite file: dedup, resend, state changes,
//! `outbox-only` .eml files.

mod deliver_common;

use std::cell::Cell;

use deliver_common::*;
use storepulse::deliver::{
    DeliverError, EnqueueMode, Enqueued, NewMessage, Outbox, OutboxStatus, compose_report,
    write_eml,
};

fn message<'a>(team: &'a str, eml: &'a [u8], recipients: &'a [String]) -> NewMessage<'a> {
    NewMessage {
        job: "daily-ops",
        period: "2026-11-22",
        team,
        message_id: "<abc@storepulse.example.com>",
        recipients,
        subject: "日报",
        eml,
        attachment: Some("运营_日报_2026-11-22.xlsx"),
    }
}

fn id(e: Enqueued) -> i64 {
    match e {
        Enqueued::New { id } => id,
        other => panic!("{other:?}"),
    }
}

#[test]
fn enqueue_stores_the_message_before_any_send() {
    let (_d, conn) = store();
    let now = Cell::new(1_700_000_000);
    let outbox = Outbox::with_clock(&conn, || now.get());
    let rcpt = vec!["a@example.com".to_string(), "b@example.com".to_string()];
    let first = id(outbox
        .enqueue(&message("ops", b"RAW", &rcpt), EnqueueMode::Send, false)
        .unwrap());
    let entry = outbox.get(first).unwrap();
    assert_eq!(entry.status, OutboxStatus::Queued);
    assert_eq!(entry.recipients, rcpt);
    assert_eq!(entry.attempts, 0);
    assert_eq!(entry.created_at, 1_700_000_000);
    assert_eq!(
        entry.attachment.as_deref(),
        Some("运营_日报_2026-11-22.xlsx")
    );
    assert!(!entry.resend);
    assert_eq!(outbox.eml(first).unwrap(), b"RAW");
    assert_eq!(outbox.pending().unwrap().len(), 1);

    // Reopening the file finds it: it is durable, not in memory.
    let path = conn.path().unwrap().to_string();
    let other = rusqlite::Connection::open(path).unwrap();
    assert_eq!(Outbox::new(&other).eml(first).unwrap(), b"RAW");
}

#[test]
fn duplicates_are_refused_unless_resend() {
    let (_d, conn) = store();
    let outbox = Outbox::new(&conn);
    let rcpt = vec!["a@example.com".to_string()];
    let first = id(outbox
        .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::Send, false)
        .unwrap());
    // Another team of the same run is fine.
    id(outbox
        .enqueue(&message("crm", b"1", &rcpt), EnqueueMode::Send, false)
        .unwrap());
    assert_eq!(
        outbox
            .enqueue(&message("ops", b"2", &rcpt), EnqueueMode::Send, false)
            .unwrap(),
        Enqueued::Duplicate {
            id: first,
            status: OutboxStatus::Queued
        }
    );
    // Resend while the first is still waiting: the old copy is superseded,
    // so only one goes out.
    let second = id(outbox
        .enqueue(&message("ops", b"2", &rcpt), EnqueueMode::Send, true)
        .unwrap());
    assert_eq!(outbox.get(first).unwrap().status, OutboxStatus::Superseded);
    let pending: Vec<i64> = outbox
        .pending()
        .unwrap()
        .iter()
        .filter(|e| e.team == "ops")
        .map(|e| e.id)
        .collect();
    assert_eq!(pending, vec![second]);
    assert!(outbox.get(second).unwrap().resend);
}

#[test]
fn a_permanent_failure_does_not_block_a_new_run() {
    let (_d, conn) = store();
    let outbox = Outbox::new(&conn);
    let rcpt = vec!["a@example.com".to_string()];
    let first = id(outbox
        .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::Send, false)
        .unwrap());
    outbox.mark_sending(first).unwrap();
    outbox
        .mark_failed(first, "550 5.1.1 no such user", true)
        .unwrap();
    let second = outbox
        .enqueue(&message("ops", b"2", &rcpt), EnqueueMode::Send, false)
        .unwrap();
    assert!(matches!(second, Enqueued::New { .. }));
    assert_eq!(
        outbox.get(first).unwrap().last_error.as_deref(),
        Some("550 5.1.1 no such user")
    );
}

#[test]
fn state_changes_follow_the_send_protocol() {
    let (_d, conn) = store();
    let now = Cell::new(100);
    let outbox = Outbox::with_clock(&conn, || now.get());
    let rcpt = vec!["a@example.com".to_string()];
    let m = id(outbox
        .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::Send, false)
        .unwrap());

    // Sent only from sending.
    assert!(matches!(
        outbox.mark_sent(m),
        Err(DeliverError::BadState { .. })
    ));
    outbox.mark_sending(m).unwrap();
    outbox.mark_failed(m, "451 4.3.0 later", false).unwrap();
    let e = outbox.get(m).unwrap();
    assert_eq!((e.status, e.attempts), (OutboxStatus::Deferred, 1));
    assert_eq!(e.last_error.as_deref(), Some("451 4.3.0 later"));

    now.set(160);
    outbox.mark_sending(m).unwrap();
    outbox.mark_sent(m).unwrap();
    let e = outbox.get(m).unwrap();
    assert_eq!(
        (e.status, e.attempts, e.sent_at, e.updated_at),
        (OutboxStatus::Sent, 2, Some(160), 160)
    );
    assert_eq!(e.last_error, None);
    assert_eq!(outbox.attempts(m).unwrap(), 2);
    // A sent message cannot be sent or failed again.
    assert!(matches!(
        outbox.mark_sending(m),
        Err(DeliverError::BadState { .. })
    ));
    assert!(matches!(
        outbox.mark_failed(m, "x", true),
        Err(DeliverError::BadState { .. })
    ));
    assert!(matches!(
        outbox.get(999),
        Err(DeliverError::NotFound { id: 999 })
    ));
    assert!(outbox.pending().unwrap().is_empty());
}

#[test]
fn pending_is_oldest_first_and_list_newest_first() {
    let (_d, conn) = store();
    let now = Cell::new(10);
    let outbox = Outbox::with_clock(&conn, || now.get());
    let rcpt = vec!["a@example.com".to_string()];
    let a = id(outbox
        .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::Send, false)
        .unwrap());
    now.set(20);
    let b = id(outbox
        .enqueue(&message("crm", b"1", &rcpt), EnqueueMode::Send, false)
        .unwrap());
    now.set(30);
    let c = id(outbox
        .enqueue(
            &message("design", b"1", &rcpt),
            EnqueueMode::StoreOnly,
            false,
        )
        .unwrap());
    assert_eq!(
        outbox
            .pending()
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![a, b]
    );
    assert_eq!(
        outbox
            .list(None)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        vec![c, b, a]
    );
    assert_eq!(outbox.list(Some(1)).unwrap().len(), 1);
    assert_eq!(outbox.get(c).unwrap().status, OutboxStatus::Stored);
    assert_eq!(
        outbox.for_key("daily-ops", "2026-11-22", "crm").unwrap()[0].id,
        b
    );
}

#[test]
fn store_only_twice_is_refused_but_does_not_block_smtp() {
    let (_d, conn) = store();
    let outbox = Outbox::new(&conn);
    let rcpt = vec!["a@example.com".to_string()];
    let s = id(outbox
        .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::StoreOnly, false)
        .unwrap());
    assert_eq!(
        outbox
            .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::StoreOnly, false)
            .unwrap(),
        Enqueued::Duplicate {
            id: s,
            status: OutboxStatus::Stored
        }
    );
    assert!(matches!(
        outbox
            .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::Send, false)
            .unwrap(),
        Enqueued::New { .. }
    ));
}

#[test]
fn write_eml_puts_the_message_in_the_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let email = compose_report(
        &templates(),
        &sample_context("ops", "运营", None),
        &addressing(&["ops@example.com"], &[]),
        &options(),
    )
    .unwrap();
    let path = write_eml(dir.path(), "ops", &email.eml).unwrap();
    assert_eq!(path, dir.path().join("mail/ops.eml"));
    assert_eq!(std::fs::read(&path).unwrap(), email.eml);
    // No temp file left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["ops.eml".to_string()]);
    // Overwrites on a re-run.
    write_eml(dir.path(), "ops", b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
}

#[test]
fn write_eml_refuses_team_ids_that_are_not_file_names() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "../ops", "a/b", "运营"] {
        assert!(
            matches!(
                write_eml(dir.path(), bad, b"x"),
                Err(DeliverError::Invalid { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn a_table_from_another_schema_is_a_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("s.sqlite")).unwrap();
    let outbox = Outbox::new(&conn);
    let rcpt = vec!["a@example.com".to_string()];
    let err = outbox
        .enqueue(&message("ops", b"1", &rcpt), EnqueueMode::Send, false)
        .unwrap_err();
    assert!(matches!(err, DeliverError::Store { .. }), "{err:?}");
}
