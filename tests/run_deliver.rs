//! Delivery as part of a run, end to end through the real binary on a copy
//! of the shipped config and the sample inbox: outbox-only `.eml` files,
//! STARTTLS + AUTH delivery to a real SMTP server on 127.0.0.1 (once per
//! team, again only with `--resend`), a permanent rejection (exit 4, kept in
//! the outbox with the reply), and a server that is down during the run and
//! up for `outbox flush`.

mod deliver_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deliver_common::*;
use serde_json::Value;

const PASSWORD: &str = "s3cret pass";
const PERIOD: &str = "2026-11-22";

/// The teams of `daily-ops` with their recipients and cc in the shipped
/// storepulse.toml.
const TEAMS: [(&str, &str, &[&str], &[&str]); 6] = [
    ("design", "美工", &["design@example.com"], &[]),
    (
        "management",
        "管理层",
        &["boss@example.com"],
        &["ops@example.com"],
    ),
    ("marketing", "推广", &["marketing@example.com"], &[]),
    ("ops", "运营", &["ops@example.com"], &[]),
    ("service", "客服", &["service@example.com"], &[]),
    ("warehouse", "仓储", &["warehouse@example.com"], &[]),
];

/// A private copy of the shipped config with its state, run folders and
/// archive in a temp dir, reading the repository's sample inbox.
struct Install {
    dir: tempfile::TempDir,
    sets: Vec<String>,
}

impl Install {
    fn new() -> Install {
        let dir = tempfile::tempdir().unwrap();
        let root = manifest_dir();
        std::fs::copy(
            root.join("storepulse.toml"),
            dir.path().join("storepulse.toml"),
        )
        .unwrap();
        copy_dir(&root.join("jobs"), &dir.path().join("jobs"));
        copy_dir(&root.join("templates"), &dir.path().join("templates"));
        let sets = vec![
            format!("inbox={}", root.join("sample-data/inbox").display()),
            format!(
                "targets.file={}",
                root.join("sample-data/targets.csv").display()
            ),
        ];
        Install { dir, sets }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `--set` SMTP delivery to 127.0.0.1:`port`; one attempt per run so a
    /// failing server does not make the test wait for backoff.
    fn smtp(&mut self, port: u16, tls: &str) {
        self.sets.extend([
            "delivery=smtp".to_string(),
            "smtp.host=127.0.0.1".to_string(),
            format!("smtp.port={port}"),
            format!("smtp.tls={tls}"),
            "smtp.from=reports@shop.example.com".to_string(),
            "smtp.timeout_secs=20".to_string(),
            "smtp.retries.attempts=1".to_string(),
        ]);
    }

    fn auth(&mut self, ca: &Path) {
        self.sets.extend([
            "smtp.username=reports".to_string(),
            "smtp.password_env=TEST_RUN_SMTP_PASSWORD".to_string(),
            format!("smtp.ca_file={}", ca.display()),
        ]);
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_storepulse"));
        cmd.arg("--config")
            .arg(self.path().join("storepulse.toml"))
            .arg("-q");
        for s in &self.sets {
            cmd.arg("--set").arg(s);
        }
        cmd.args(args)
            .env("TEST_RUN_SMTP_PASSWORD", PASSWORD)
            .env_remove("STOREPULSE_CONFIG")
            .output()
            .unwrap()
    }

    fn run_job(&self, extra: &[&str]) -> Output {
        let mut args = vec!["run-job", "daily-ops", "--date", PERIOD];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn run_folder(&self) -> PathBuf {
        self.path().join("var/out/daily-ops").join(PERIOD)
    }

    fn summary(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.run_folder().join("summary.json")).unwrap())
            .unwrap()
    }

    /// `outbox list` rows as (team, status, attempts, rest of the line).
    fn outbox_rows(&self) -> Vec<(String, String, u32, String)> {
        let out = self.run(&["outbox", "list"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let mut lines = stdout.lines();
        let header = lines.next().unwrap();
        assert!(header.contains("last error"), "{header}");
        lines
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[3].to_string(),
                    f[4].to_string(),
                    f[5].parse().unwrap(),
                    f[7..].join(" "),
                )
            })
            .collect()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn statuses(summary: &Value) -> Vec<(String, String)> {
    summary["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["team"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn all(status: &str) -> Vec<(String, String)> {
    TEAMS
        .iter()
        .map(|(t, ..)| (t.to_string(), status.to_string()))
        .collect()
}

fn addrs(list: &[&str]) -> Value {
    Value::from(list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
}

#[test]
fn outbox_only_run_writes_each_teams_message_into_the_run_folder_and_the_outbox() {
    let install = Install::new();
    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let summary = install.summary();
    // The sample day's figures, as summary.json has them; the email shows
    // them formatted.
    assert_eq!(summary["kpis"]["gross_sales"], "101524.6");
    assert_eq!(summary["kpis"]["paying_buyers"], 321);
    assert_eq!(summary["kpis"]["visitors"], 7553);
    assert_eq!(statuses(&summary), all("written"));

    for (team, name, to, cc) in TEAMS {
        let eml = std::fs::read(
            install
                .run_folder()
                .join("mail")
                .join(format!("{team}.eml")),
        )
        .unwrap_or_else(|e| panic!("mail/{team}.eml: {e}"));
        let msg = parse_eml(&eml);
        let subject = msg["subject"].as_str().unwrap();
        assert!(
            subject.starts_with(&format!(
                "拾光服饰旗舰店 日报 {PERIOD}｜{name}｜支付金额 ¥101,524.60（"
            )),
            "{subject}"
        );
        assert_eq!(msg["to_addrs"], addrs(to), "{team}");
        assert_eq!(msg["cc_addrs"], addrs(cc), "{team}");
        assert_eq!(msg["from"], "storepulse <storepulse@localhost>");
        assert_eq!(msg["defects"], Value::from(Vec::<String>::new()));
        let body = msg["text"].as_str().unwrap();
        assert!(body.starts_with(&format!("{name}团队：")), "{body}");
        for line in [
            "- 支付金额：¥101,524.60",
            "- 支付买家数：321",
            "- 访客数：7,553",
            "- 支付转化率：4.25%",
            "[警告] 推广ROI：",
        ] {
            assert!(body.contains(line), "{team}: no {line:?} in\n{body}");
        }
        assert!(msg["html"].as_str().unwrap().contains("¥101,524.60"));
    }

    let rows = install.outbox_rows();
    let mut teams: Vec<_> = rows.iter().map(|r| (r.0.clone(), r.1.clone())).collect();
    teams.sort();
    assert_eq!(teams, all("stored"));

    // A dry run composes but stores and writes nothing.
    std::fs::remove_dir_all(install.run_folder().join("mail")).unwrap();
    let out = install.run_job(&["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("dry-run"));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("management [dry-run] boss@example.com, ops@example.com")
    );
    assert!(!install.run_folder().join("mail").exists());
    assert_eq!(install.outbox_rows().len(), 6);

    // A fail-level check holds the team mail; the owners get the alert.
    let fail_roi = "jobs.daily-ops.checks.ads_roi.level=fail";
    let mut held = Install {
        dir: install.dir,
        sets: install.sets.clone(),
    };
    held.sets.push(fail_roi.to_string());
    let out = held.run_job(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let mut expected = all("held");
    expected.push(("owners-failure".into(), "written".into()));
    assert_eq!(statuses(&held.summary()), expected);
    let mail: Vec<_> = std::fs::read_dir(held.run_folder().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(mail, vec!["owners-failure.eml".to_string()]);
    let alert =
        parse_eml(&std::fs::read(held.run_folder().join("mail/owners-failure.eml")).unwrap());
    assert_eq!(alert["to_addrs"], addrs(&["ops-lead@example.com"]));
    assert_eq!(
        alert["subject"],
        format!("【storepulse】日报 {PERIOD} 运行失败（held）")
    );
    assert!(
        alert["text"].as_str().unwrap().contains("[fail] 推广ROI："),
        "{}",
        alert["text"]
    );

    // send-flagged: every team gets it, with the banner; re-running the
    // period rewrites the folder's copies but keeps one row per team.
    held.sets
        .push("jobs.daily-ops.on_fail=send-flagged".to_string());
    let out = held.run_job(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(statuses(&held.summary()), all("written"));
    for (team, name, ..) in TEAMS {
        let msg =
            parse_eml(&std::fs::read(held.run_folder().join(format!("mail/{team}.eml"))).unwrap());
        let subject = msg["subject"].as_str().unwrap();
        assert!(
            subject.starts_with(&format!(
                "【检查未通过】拾光服饰旗舰店 日报 {PERIOD}｜{name}｜"
            )),
            "{subject}"
        );
        assert!(subject.ends_with("｜1 项未通过"), "{subject}");
        assert!(
            msg["text"].as_str().unwrap().starts_with("!!! 检查未通过"),
            "{}",
            msg["text"]
        );
    }
    assert_eq!(held.outbox_rows().len(), 7);
}

fn starttls_server(dir: &Path, port: u16) -> (SmtpServer, Certs) {
    let certs = make_certs(dir);
    let server = SmtpServer::start(
        "starttls",
        port,
        &dir.join("spool"),
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
    (server, certs)
}

#[test]
fn smtp_run_delivers_each_team_once_and_again_only_on_resend() {
    let dir = tempfile::tempdir().unwrap();
    let (server, certs) = starttls_server(dir.path(), 0);
    let mut install = Install::new();
    install.smtp(server.port, "starttls");
    install.auth(&certs.ca);

    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("sent"));
    assert_eq!(server.delivered(), 6);
    let first = parse_spool(&server.spool, &dir.path().join("parsed1"));
    let mut ids = Vec::new();
    for msg in &first {
        let team = TEAMS
            .iter()
            .find(|(_, name, ..)| {
                msg["subject"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("｜{name}｜"))
            })
            .unwrap_or_else(|| panic!("no team in {}", msg["subject"]));
        let (_, _, to, cc) = team;
        assert_eq!(msg["envelope"]["auth_user"], "reports");
        assert_eq!(msg["envelope"]["tls"], true);
        assert_eq!(msg["envelope"]["mail_from"], "reports@shop.example.com");
        let mut rcpt: Vec<&str> = to.iter().chain(cc.iter()).copied().collect();
        rcpt.sort();
        let mut got: Vec<String> =
            serde_json::from_value(msg["envelope"]["rcpt_tos"].clone()).unwrap();
        got.sort();
        assert_eq!(got, rcpt);
        assert_eq!(msg["from"], "reports@shop.example.com");
        ids.push(msg["message_id"].as_str().unwrap().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "one Message-ID per team");

    // The same job and period again: nothing new goes out.
    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("skipped"));
    assert_eq!(server.delivered(), 6);

    // --resend: every team again, recognisably the same messages.
    let out = install.run_job(&["--resend"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("sent"));
    assert_eq!(server.delivered(), 12);
    let all_msgs = parse_spool(&server.spool, &dir.path().join("parsed2"));
    let mut again: Vec<String> = all_msgs[6..]
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_string())
        .collect();
    again.sort();
    assert_eq!(again, ids);
    let sent = install
        .outbox_rows()
        .iter()
        .filter(|r| r.1 == "sent")
        .count();
    assert_eq!(sent, 12);
}

#[test]
fn rejected_mail_exits_4_and_stays_in_the_outbox_with_the_reply() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start("reject", 0, &dir.path().join("spool"), &[]);
    let mut install = Install::new();
    install.smtp(server.port, "none");

    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 of 6 messages not sent"), "{stderr}");
    assert!(stderr.contains("Relaying denied"), "{stderr}");
    assert_eq!(server.delivered(), 0);
    // The committed summary records what happened.
    assert_eq!(statuses(&install.summary()), all("failed"));

    let rows = install.outbox_rows();
    assert_eq!(rows.len(), 6);
    for (team, status, attempts, rest) in rows {
        assert_eq!(status, "failed", "{team}");
        assert_eq!(attempts, 1, "{team}");
        assert!(
            rest.contains("(550): 5.7.1 Relaying denied: mailbox unavailable"),
            "{team}: {rest}"
        );
    }
    // A permanent failure is not retried by a flush.
    let out = install.run(&["outbox", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.delivered(), 0);
}

#[test]
fn server_down_during_the_run_then_up_flush_delivers_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut install = Install::new();
    install.smtp(port, "none");

    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("queued"));
    let rows = install.outbox_rows();
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter().all(|r| r.1 == "deferred" && r.2 == 1),
        "{rows:?}"
    );

    // Flushing while the server is still down: still waiting, exit 4.
    let out = install.run(&["outbox", "flush"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));

    let server = SmtpServer::start("normal", port, &dir.path().join("spool"), &[]);
    let out = install.run(&["outbox", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.delivered(), 6);
    let out = install.run(&["outbox", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.delivered(), 6, "a second flush sends nothing");
    let rows = install.outbox_rows();
    assert!(rows.iter().all(|r| r.1 == "sent" && r.2 == 3), "{rows:?}");

    let parsed = parse_spool(&server.spool, &dir.path().join("parsed"));
    let mut subjects: Vec<String> = parsed
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 6);
}

#[test]
fn messages_left_sending_by_a_killed_run_go_out_once_with_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut install = Install::new();
    install.smtp(port, "none");
    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));

    // What a kill -9 during the send leaves behind: rows marked `sending`.
    let db = rusqlite::Connection::open(install.path().join("var/storepulse.db")).unwrap();
    let changed = db
        .execute("UPDATE outbox SET status = 'sending'", [])
        .unwrap();
    assert_eq!(changed, 6);
    drop(db);

    let server = SmtpServer::start("normal", port, &dir.path().join("spool"), &[]);
    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("sent"));
    assert_eq!(server.delivered(), 6);
    let rows = install.outbox_rows();
    assert_eq!(rows.len(), 6, "the waiting rows were sent, none added");

    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("skipped"));
    let out = install.run(&["outbox", "flush"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.delivered(), 6, "exactly one per team");
}

#[test]
fn a_451_is_retried_within_the_run_and_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start("tempfail", 0, &dir.path().join("spool"), &[]);
    let mut install = Install::new();
    install.smtp(server.port, "none");
    install.sets.extend([
        "smtp.retries.attempts=2".to_string(),
        "smtp.retries.base_secs=1".to_string(),
    ]);
    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(statuses(&install.summary()), all("sent"));
    assert_eq!(server.delivered(), 6);
    let mut attempts: Vec<u32> = install.outbox_rows().iter().map(|r| r.2).collect();
    attempts.sort();
    // The first message met the 451 and went through on its second try.
    assert_eq!(attempts, vec![1, 1, 1, 1, 1, 2]);
}

#[test]
fn a_server_that_never_answers_times_out_and_the_mail_waits() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start("silent", 0, &dir.path().join("spool"), &[]);
    let mut install = Install::new();
    install.smtp(server.port, "none");
    install.sets.push("smtp.timeout_secs=1".to_string());
    let out = install.run_job(&[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 of 6 messages not sent"), "{stderr}");
    assert!(stderr.contains("no answer within"), "{stderr}");
    assert_eq!(statuses(&install.summary()), all("queued"));
    let rows = install.outbox_rows();
    assert!(rows.iter().all(|r| r.1 == "deferred"), "{rows:?}");
}
