//! Acceptance test for SPEC §6 cron schedules: our fire instants agree, one
//! for one, with croniter evaluated on local wall time and localized by the
//! SPEC's DST rules (scripts/croniter_fires.py), across three zones and both
//! DST changes of 2026. Needs Python 3 with croniter: scripts/test-deps.sh.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use storepulse::schedule::Schedule;

const EXPRESSIONS: &[&str] = &[
    "30 8 * * *",
    "0 9 * * 1",
    "0 9 1 * *",
    "0 2 * * *",
    "30 2 * * *",
    "59 2 * * *",
    "0 3 * * *",
    "0 1 * * *",
    "30 1 * * *",
    "15 2 * * 0",
    "0 * * * *",
    "30 * * * *",
    "*/15 * * * *",
    "*/20 * * * *",
    "0 */2 * * *",
    "0 */3 * * *",
    "45 */4 * * *",
    "0 0-6 * * *",
    "0,30 1,2,3 * * *",
    "*/30 2 * * *",
    "0 12 * * 1-5",
    "0 9 * * 0",
    "0 9 * * 7",
    "0 9 1,15 * 1",
    "0 9 L * *",
    "0 9 15W * *",
    "0 9 * * 5#2",
    "0 9 * * 0#1",
    "@daily",
    "@hourly",
    "@weekly",
    "@monthly",
    "30 0 9 * * *",
    "*/10 30 2 * * *",
    "0 8-18/2 * * *",
    "0 22 * * 6",
    "0 9 * 3,10,11 0",
    "5 4 * * SUN",
    "0 9 * JAN-MAR MON",
];

const ZONES: &[&str] = &["Asia/Shanghai", "America/New_York", "Europe/Berlin"];

/// Local midnights on and two days before each 2026 DST change (US 8 Mar and
/// 1 Nov, EU 29 Mar and 25 Oct), plus an ordinary winter start.
const FROM: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2026-03-06T05:00:00Z",
    "2026-03-08T05:00:00Z",
    "2026-03-27T00:00:00Z",
    "2026-03-28T23:00:00Z",
    "2026-10-23T00:00:00Z",
    "2026-10-24T22:00:00Z",
    "2026-10-30T04:00:00Z",
    "2026-11-01T04:00:00Z",
];

const COUNT: usize = 12;

struct Case {
    expr: &'static str,
    tz: &'static str,
    from: &'static str,
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn croniter_fires(cases: &[Case]) -> Vec<Vec<String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/croniter_fires.py");
    let probe = Command::new(python())
        .args(["-c", "import croniter"])
        .output()
        .unwrap_or_else(|e| panic!("cannot start {} ({e}); run scripts/test-deps.sh", python()));
    assert!(
        probe.status.success(),
        "croniter is not importable ({}); run scripts/test-deps.sh",
        String::from_utf8_lossy(&probe.stderr).trim()
    );
    let mut child = Command::new(python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the croniter reference script");
    let mut input = String::new();
    for case in cases {
        let line = serde_json::json!({
            "expr": case.expr, "tz": case.tz, "from": case.from, "count": COUNT,
        });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    // Fed from a thread: the script answers while it reads, and both pipes
    // filling up at once would deadlock a single thread.
    let mut stdin = child.stdin.take().expect("piped stdin");
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("reference script output");
    feeder.join().expect("feeder thread").expect("feed cases");
    assert!(
        out.status.success(),
        "croniter reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON list per case"))
        .collect();
    assert_eq!(rows.len(), cases.len(), "one answer per case");
    rows
}

#[test]
fn fires_agree_with_croniter_across_2026_dst_changes() {
    assert!(EXPRESSIONS.len() >= 30);
    let mut cases = Vec::new();
    for &expr in EXPRESSIONS {
        for &tz in ZONES {
            for &from in FROM {
                cases.push(Case { expr, tz, from });
            }
        }
    }
    let expected = croniter_fires(&cases);
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for (case, want) in cases.iter().zip(&expected) {
        let tz: Tz = case.tz.parse().expect("known zone");
        let schedule = Schedule::parse(case.expr, tz)
            .unwrap_or_else(|e| panic!("{} in {}: {e}", case.expr, case.tz));
        let from: DateTime<Utc> = case.from.parse().expect("RFC 3339");
        let got: Vec<String> = schedule
            .fires(&from, COUNT)
            .iter()
            .map(|f| f.to_rfc3339())
            .collect();
        assert_eq!(want.len(), COUNT, "{} {} {}", case.expr, case.tz, case.from);
        compared += got.len();
        if &got != want {
            mismatches.push(format!(
                "{:?} in {} from {}:\n  ours     {:?}\n  croniter {:?}",
                case.expr, case.tz, case.from, got, want
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
    assert_eq!(compared, cases.len() * COUNT);
}

#[test]
fn the_table_exercises_every_dst_rule() {
    // Guards the table itself: it must contain a fixed-hour fire inside a
    // gap, one in a repeated hour, and real-time fires in both.
    let ny: Tz = "America/New_York".parse().unwrap();
    let gap = Schedule::parse("30 2 * * *", ny).unwrap();
    let from: DateTime<Utc> = "2026-03-08T05:00:00Z".parse().unwrap();
    assert_eq!(
        gap.next_after(&from).unwrap().to_rfc3339(),
        "2026-03-08T03:00:00-04:00"
    );
    let hourly = Schedule::parse("30 * * * *", ny).unwrap();
    let fall: DateTime<Utc> = "2026-11-01T04:00:00Z".parse().unwrap();
    let fires: Vec<String> = hourly
        .fires(&fall, 3)
        .iter()
        .map(|f| f.to_rfc3339())
        .collect();
    assert_eq!(
        fires,
        [
            "2026-11-01T00:30:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:30:00-05:00"
        ]
    );
}
