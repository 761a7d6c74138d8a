//! `schedule` and `list-jobs` on the sample config (SPEC §2, §6): fire
//! times as RFC 3339 with offset and the period each reports on, checked
//! against instants worked out by hand, DST in New York, every bad input,
//! and the job table after a `run-job`.

mod cli_schedule_common;

use chrono::{DateTime, Utc};
use cli_schedule_common::{Install, repo, stderr, stdout};
use std::process::Command;

/// `storepulse --config <repo>/storepulse.toml <args>`: commands that touch
/// no state can read the sample config in place.
fn sample(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_storepulse"))
        .arg("--config")
        .arg(repo().join("storepulse.toml"))
        .args(args)
        .env_remove("STOREPULSE_LOG")
        .output()
        .unwrap()
}

fn schedule_ok(args: &[&str]) -> String {
    let out = sample(args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn sample_jobs_fire_and_report_on_the_period_before() {
    let from = ["--from", "2026-11-22T00:00:00+08:00", "--count", "3"];
    let daily = schedule_ok(&[&["schedule", "daily-ops"][..], &from].concat());
    assert_eq!(
        daily,
        "2026-11-22T08:30:00+08:00  2026-11-21\n\
         2026-11-23T08:30:00+08:00  2026-11-22\n\
         2026-11-24T08:30:00+08:00  2026-11-23\n"
    );
    // Mondays 09:00; 2026-11-23 is the Monday of ISO week 48.
    let weekly = schedule_ok(&[&["schedule", "weekly-review"][..], &from].concat());
    assert_eq!(
        weekly,
        "2026-11-23T09:00:00+08:00  2026-W47\n\
         2026-11-30T09:00:00+08:00  2026-W48\n\
         2026-12-07T09:00:00+08:00  2026-W49\n"
    );
    let monthly = schedule_ok(&[&["schedule", "monthly-members"][..], &from].concat());
    assert_eq!(
        monthly,
        "2026-12-01T09:00:00+08:00  2026-11\n\
         2027-01-01T09:00:00+08:00  2026-12\n\
         2027-02-01T09:00:00+08:00  2027-01\n"
    );
    // A fire exactly at --from is not "next"; --count bounds the list.
    let one = schedule_ok(&[
        "schedule",
        "daily-ops",
        "--from",
        "2026-11-22T08:30:00+08:00",
        "--count",
        "1",
    ]);
    assert_eq!(one, "2026-11-23T08:30:00+08:00  2026-11-22\n");
    // --from in another offset means the same instant.
    let utc = schedule_ok(&[
        "schedule",
        "daily-ops",
        "--from",
        "2026-11-21T16:00:00Z",
        "--count",
        "1",
    ]);
    assert_eq!(utc, "2026-11-22T08:30:00+08:00  2026-11-21\n");
}

#[test]
fn seconds_field_fires_within_the_minute() {
    let out = schedule_ok(&[
        "--set",
        "jobs.daily-ops.schedule=*/20 * * * * *",
        "schedule",
        "daily-ops",
        "--from",
        "2026-11-22T00:00:00+08:00",
        "--count",
        "3",
    ]);
    assert_eq!(
        out,
        "2026-11-22T00:00:20+08:00  2026-11-21\n\
         2026-11-22T00:00:40+08:00  2026-11-21\n\
         2026-11-22T00:01:00+08:00  2026-11-21\n"
    );
}

#[test]
fn new_york_fires_follow_its_dst_changes() {
    let ny = "jobs.daily-ops.timezone=America/New_York";
    // 08:30 every day across the fall-back of 2026-11-01: the offset
    // changes, the wall time does not.
    let daily = schedule_ok(&[
        "--set",
        ny,
        "schedule",
        "daily-ops",
        "--from",
        "2026-10-31T00:00:00-04:00",
        "--count",
        "3",
    ]);
    assert_eq!(
        daily,
        "2026-10-31T08:30:00-04:00  2026-10-30\n\
         2026-11-01T08:30:00-05:00  2026-10-31\n\
         2026-11-02T08:30:00-05:00  2026-11-01\n"
    );
    // 02:30 does not exist on 2026-03-08 (02:00 → 03:00): the first valid
    // instant after the gap.
    let gap = schedule_ok(&[
        "--set",
        ny,
        "--set",
        "jobs.daily-ops.schedule=30 2 * * *",
        "schedule",
        "daily-ops",
        "--from",
        "2026-03-07T00:00:00-05:00",
        "--count",
        "3",
    ]);
    assert_eq!(
        gap,
        "2026-03-07T02:30:00-05:00  2026-03-06\n\
         2026-03-08T03:00:00-04:00  2026-03-07\n\
         2026-03-09T02:30:00-04:00  2026-03-08\n"
    );
    // 01:30 happens twice on 2026-11-01: a fixed-hour job fires once, at
    // the first.
    let twice = schedule_ok(&[
        "--set",
        ny,
        "--set",
        "jobs.daily-ops.schedule=30 1 * * *",
        "schedule",
        "daily-ops",
        "--from",
        "2026-10-31T00:00:00-04:00",
        "--count",
        "3",
    ]);
    assert_eq!(
        twice,
        "2026-10-31T01:30:00-04:00  2026-10-30\n\
         2026-11-01T01:30:00-04:00  2026-10-31\n\
         2026-11-02T01:30:00-05:00  2026-11-01\n"
    );
    // An hourly job follows real time: 01:00 fires at both occurrences.
    let hourly = schedule_ok(&[
        "--set",
        ny,
        "--set",
        "jobs.daily-ops.schedule=0 * * * *",
        "schedule",
        "daily-ops",
        "--from",
        "2026-11-01T00:30:00-04:00",
        "--count",
        "4",
    ]);
    assert_eq!(
        hourly,
        "2026-11-01T01:00:00-04:00  2026-10-31\n\
         2026-11-01T01:00:00-05:00  2026-10-31\n\
         2026-11-01T02:00:00-05:00  2026-10-31\n\
         2026-11-01T03:00:00-05:00  2026-10-31\n"
    );
}

#[test]
fn schedule_refuses_bad_input_with_exit_2() {
    let unknown = sample(&["schedule", "nightly"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown)
            .contains("no job named \"nightly\" (jobs: daily-ops, monthly-members, weekly-review)"),
        "{}",
        stderr(&unknown)
    );

    let from = sample(&["schedule", "daily-ops", "--from", "2026-11-22 08:00"]);
    assert_eq!(from.status.code(), Some(2));
    assert!(
        stderr(&from).contains("--from \"2026-11-22 08:00\" is not an RFC 3339 instant"),
        "{}",
        stderr(&from)
    );

    // Every problem at once, each with its file and key.
    let bad = sample(&[
        "--set",
        "jobs.daily-ops.schedule=0 0 30 2 *",
        "--set",
        "jobs.daily-ops.retries.attempts=0",
        "schedule",
        "daily-ops",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let text = stderr(&bad);
    assert!(text.contains("2 configuration problems"), "{text}");
    assert!(
        text.contains("daily-ops.toml: schedule: cron expression \"0 0 30 2 *\" never fires"),
        "{text}"
    );
    assert!(
        text.contains("daily-ops.toml: retries.attempts: must be at least 1"),
        "{text}"
    );
    assert!(stdout(&bad).is_empty());

    let unknown_key = sample(&[
        "--set",
        "jobs.weekly-review.retries.tries=2",
        "schedule",
        "weekly-review",
    ]);
    assert_eq!(unknown_key.status.code(), Some(2));
    let text = stderr(&unknown_key);
    assert!(
        text.contains("weekly-review.toml: retries: unknown field `tries`"),
        "{text}"
    );
}

#[test]
fn daemon_and_catch_up_refuse_a_bad_daemon_section_before_touching_state() {
    let install = Install::new(Some(&[]));
    let wake = install.run(&["--set", "daemon.wake_secs=0", "daemon"]);
    assert_eq!(wake.status.code(), Some(2), "{}", stderr(&wake));
    assert!(
        stderr(&wake).contains("storepulse.toml: daemon.wake_secs: 0 is outside 1..=60 seconds"),
        "{}",
        stderr(&wake)
    );
    let unknown = install.run(&["--set", "daemon.port=9750", "daemon"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("storepulse.toml: daemon.port: unknown field `port`"),
        "{}",
        stderr(&unknown)
    );
    let catch_up = install.run(&["--set", "jobs.daily-ops.timeout_secs=0", "catch-up"]);
    assert_eq!(catch_up.status.code(), Some(2));
    assert!(
        stderr(&catch_up).contains("daily-ops.toml: timeout_secs: must be at least 1 second"),
        "{}",
        stderr(&catch_up)
    );
    assert!(!install.path().join("var").exists());
}

#[test]
fn catch_up_on_a_new_state_runs_nothing() {
    // Jobs are first seen now: nothing before that is ever caught up.
    let install = Install::new(Some(&[]));
    let out = install.run(&["catch-up"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "nothing to catch up\n");
    let again = install.run(&["catch-up"]);
    assert_eq!(stdout(&again), "nothing to catch up\n");
}

fn row<'a>(table: &'a str, job: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{job} ")))
        .unwrap_or_else(|| panic!("no row for {job}:\n{table}"))
}

#[test]
fn list_jobs_shows_next_and_last_runs() {
    let install = Install::new(Some(&["2026-11-20", "2026-11-21", "2026-11-22"]));
    let before = install.run(&["list-jobs"]);
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
    let table = stdout(&before);
    assert_eq!(
        table.lines().next().unwrap(),
        "job              schedule    timezone       next run                   last run  period  status"
    );
    let daily = row(&table, "daily-ops");
    assert!(
        daily.starts_with("daily-ops        30 8 * * *  Asia/Shanghai  "),
        "{daily}"
    );
    let cells: Vec<&str> = daily.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 3..], ["never", "-", "-"], "{daily}");
    let next = DateTime::parse_from_rfc3339(cells[7]).unwrap();
    assert!(cells[7].ends_with("T08:30:00+08:00"), "{daily}");
    assert!(next.with_timezone(&Utc) > Utc::now() - chrono::TimeDelta::minutes(1));
    assert!(next.with_timezone(&Utc) <= Utc::now() + chrono::TimeDelta::days(1));
    let weekly = row(&table, "weekly-review");
    assert!(
        weekly.starts_with("weekly-review    0 9 * * 1   Asia/Shanghai  "),
        "{weekly}"
    );
    let next = weekly.split_whitespace().nth(7).unwrap();
    let next = DateTime::parse_from_rfc3339(next).unwrap();
    assert_eq!(
        next.format("%a %H:%M %:z").to_string(),
        "Mon 09:00 +08:00",
        "{weekly}"
    );

    let started = Utc::now();
    let run = install.run(&["-q", "run-job", "daily-ops", "--period", "2026-11-22"]);
    assert!(matches!(run.status.code(), Some(0 | 1)), "{}", stderr(&run));
    let finished = Utc::now();
    let (attempt, status, _) =
        cli_schedule_common::latest_attempt(&install.state(), "daily-ops", "2026-11-22").unwrap();
    assert_eq!(attempt, 1);

    let after = install.run(&["list-jobs"]);
    assert_eq!(after.status.code(), Some(0), "{}", stderr(&after));
    let table = stdout(&after);
    let daily = row(&table, "daily-ops");
    let cells: Vec<&str> = daily.split_whitespace().collect();
    assert_eq!(
        cells[cells.len() - 2..],
        ["2026-11-22", status.as_str()],
        "{daily}"
    );
    let last = cells[cells.len() - 3];
    assert!(last.ends_with("+08:00"), "{daily}");
    let last = DateTime::parse_from_rfc3339(last)
        .unwrap()
        .with_timezone(&Utc);
    // Printed to the second.
    assert!(
        last >= started - chrono::TimeDelta::seconds(1) && last <= finished,
        "{daily}"
    );
    let weekly = row(&table, "weekly-review");
    let cells: Vec<&str> = weekly.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 3..], ["never", "-", "-"], "{weekly}");
}

#[test]
fn catch_up_retries_an_interrupted_run_and_exits_with_its_code() {
    let install = Install::new(Some(&["2026-11-21", "2026-11-22"]));
    std::fs::create_dir_all(install.path().join("var")).unwrap();
    {
        let mut store = storepulse::store::Store::open(&install.state()).unwrap();
        let at = Utc::now();
        let id = store.begin_run("daily-ops", "2026-11-22", 1, at).unwrap();
        store
            .finish_run(id, "interrupted", Some("interrupted"), at)
            .unwrap();
    }
    let out = install.run(&["catch-up"]);
    let (attempt, status, _) =
        cli_schedule_common::latest_attempt(&install.state(), "daily-ops", "2026-11-22").unwrap();
    assert_eq!(attempt, 2, "{}", stderr(&out));
    let code = match status.as_str() {
        "success" | "warn" => 0,
        "held" => 1,
        other => panic!("run ended {other}:\n{}", stderr(&out)),
    };
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("daily-ops 2026-11-22: {status} (1 attempt)\n")
    );
    let again = install.run(&["catch-up"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again), "nothing to catch up\n");
}
