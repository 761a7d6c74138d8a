//! Scheduler behaviour on tokio's paused time (SPEC §6): daily fires across
//! DST, catch-up policies, overlap, retries, timeouts, cancellation and
//! restart, clock jumps, and the health endpoint of a running daemon.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use storepulse::period::{Period, PeriodKind};
use storepulse::schedule::{
    CatchUp, Clock, DaemonConfig, DaemonError, DaemonHandles, JobRunner, Ledger, LedgerError,
    Notifier, Overlap, RetryPolicy, RunOutcome, RunReason, RunState, Schedule, ScheduledJob,
    Scheduler, SystemClock, TokioClock, run_daemon,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> Period {
    Period::day(s.parse::<NaiveDate>().unwrap())
}

/// The run ledger, in memory.
#[derive(Default)]
struct MemStore {
    last_fire: Mutex<HashMap<String, DateTime<Utc>>>,
    runs: Mutex<HashMap<(String, Period), (RunState, u32)>>,
}

impl MemStore {
    fn state(&self, job: &str, period: Period) -> Option<(RunState, u32)> {
        self.runs
            .lock()
            .unwrap()
            .get(&(job.to_string(), period))
            .copied()
    }

    fn set(&self, job: &str, period: Period, state: RunState, attempt: u32) {
        self.runs
            .lock()
            .unwrap()
            .insert((job.to_string(), period), (state, attempt));
    }
}

struct MemLedger(Arc<MemStore>);

impl Ledger for MemLedger {
    fn last_fire(&self, job: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        Ok(self.0.last_fire.lock().unwrap().get(job).copied())
    }
    fn set_last_fire(&self, job: &str, fire: DateTime<Utc>) -> Result<(), LedgerError> {
        self.0
            .last_fire
            .lock()
            .unwrap()
            .insert(job.to_string(), fire);
        Ok(())
    }
    fn run_state(&self, job: &str, period: Period) -> Result<Option<RunState>, LedgerError> {
        Ok(self.0.state(job, period).map(|(s, _)| s))
    }
    fn unfinished_runs(&self, job: &str) -> Result<Vec<(Period, u32)>, LedgerError> {
        let runs = self.0.runs.lock().unwrap();
        let mut out: Vec<(Period, u32)> = runs
            .iter()
            .filter(|((j, _), (s, _))| {
                j == job && matches!(s, RunState::Interrupted | RunState::Running)
            })
            .map(|((_, p), (_, a))| (*p, *a))
            .collect();
        out.sort();
        Ok(out)
    }
    fn record_interrupted(
        &self,
        job: &str,
        period: Period,
        attempt: u32,
    ) -> Result<(), LedgerError> {
        self.0.set(job, period, RunState::Interrupted, attempt);
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Call {
    job: String,
    period: Period,
    attempt: u32,
    at: DateTime<Utc>,
}

type Script = dyn Fn(u32) -> (Duration, RunOutcome) + Send + Sync;

/// A runner that takes a scripted time and outcome per attempt and records
/// its calls and run states like the pipeline would.
struct FakeRunner {
    store: Arc<MemStore>,
    clock: Arc<dyn Clock>,
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Script>,
    honours_cancel: bool,
}

impl JobRunner for FakeRunner {
    async fn run(
        &self,
        job: &str,
        period: Period,
        attempt: u32,
        cancel: CancellationToken,
    ) -> RunOutcome {
        self.calls.lock().unwrap().push(Call {
            job: job.to_string(),
            period,
            attempt,
            at: self.clock.now(),
        });
        self.store.set(job, period, RunState::Running, attempt);
        let (takes, outcome) = (self.script)(attempt);
        if self.honours_cancel {
            tokio::select! {
                _ = cancel.cancelled() => return RunOutcome::Interrupted,
                _ = tokio::time::sleep(takes) => {}
            }
        } else {
            tokio::time::sleep(takes).await;
        }
        let state = match outcome {
            RunOutcome::Success | RunOutcome::Warn => RunState::Succeeded,
            RunOutcome::Interrupted => RunState::Interrupted,
            _ => RunState::Failed,
        };
        self.store.set(job, period, state, attempt);
        outcome
    }
}

#[derive(Default, Clone)]
struct Notes(Arc<Mutex<Vec<String>>>);

impl Notifier for Notes {
    async fn job_failed(&self, job: &str, period: Period, error: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("failed {job} {period}: {error}"));
    }
    async fn job_recovered(&self, job: &str, period: Period) {
        self.0
            .lock()
            .unwrap()
            .push(format!("recovered {job} {period}"));
    }
}

fn job(name: &str, expr: &str, tz: &str, catchup: CatchUp, first_seen: &str) -> ScheduledJob {
    ScheduledJob {
        name: name.to_string(),
        schedule: Schedule::parse(expr, tz.parse().unwrap()).unwrap(),
        period: PeriodKind::Day,
        catchup,
        max_catchup: 7,
        overlap: Overlap::Skip,
        first_seen: at(first_seen),
        retries: RetryPolicy {
            attempts: 3,
            base: Duration::from_secs(300),
            cap: Duration::from_secs(3600),
            jitter: 0.1,
        },
        run_timeout: Duration::from_secs(2 * 3600),
        step_timeout: Duration::from_secs(1800),
    }
}

fn daemon_config() -> DaemonConfig {
    DaemonConfig {
        health_port: None,
        grace: Duration::from_secs(30),
        wake: Duration::from_secs(60),
    }
}

struct Harness {
    clock: Arc<TokioClock>,
    store: Arc<MemStore>,
    calls: Arc<Mutex<Vec<Call>>>,
    notes: Notes,
}

impl Harness {
    fn new(start: &str) -> Harness {
        Harness {
            clock: Arc::new(TokioClock::starting_at(at(start))),
            store: Arc::new(MemStore::default()),
            calls: Arc::default(),
            notes: Notes::default(),
        }
    }

    fn scheduler(
        &self,
        jobs: Vec<ScheduledJob>,
        honours_cancel: bool,
        script: impl Fn(u32) -> (Duration, RunOutcome) + Send + Sync + 'static,
    ) -> Scheduler<FakeRunner, MemLedger, Notes> {
        let runner = FakeRunner {
            store: Arc::clone(&self.store),
            clock: self.clock.clone(),
            calls: Arc::clone(&self.calls),
            script: Arc::new(script),
            honours_cancel,
        };
        Scheduler::new(
            jobs,
            runner,
            MemLedger(Arc::clone(&self.store)),
            self.notes.clone(),
            self.clock.clone(),
            daemon_config(),
        )
    }

    fn set_last_fire(&self, job: &str, fire: &str) {
        self.store
            .last_fire
            .lock()
            .unwrap()
            .insert(job.to_string(), at(fire));
    }

    /// Runs the daemon until the clock reads `until`, then cancels it and
    /// returns the clock reading when it has stopped.
    async fn run_until(
        &self,
        scheduler: &Scheduler<FakeRunner, MemLedger, Notes>,
        until: &str,
    ) -> DateTime<Utc> {
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let clock = Arc::clone(&self.clock);
        let until = at(until);
        let (result, ()) = tokio::join!(scheduler.run(cancel), async move {
            clock.sleep_until(until).await;
            stop.cancel();
        });
        result.unwrap();
        self.clock.now()
    }

    fn calls(&self) -> Vec<(String, String, u32, String)> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c.job.clone(),
                    c.period.to_string(),
                    c.attempt,
                    c.at.to_rfc3339(),
                )
            })
            .collect()
    }

    fn call_periods(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.period.to_string())
            .collect()
    }
}

fn quick_success(_: u32) -> (Duration, RunOutcome) {
    (Duration::from_secs(600), RunOutcome::Success)
}

#[tokio::test(start_paused = true)]
async fn daily_job_fires_once_per_day_across_us_spring_forward() {
    let h = Harness::new("2026-03-06T12:00:00Z");
    h.set_last_fire("nightly", "2026-03-06T07:30:00Z");
    let s = h.scheduler(
        vec![job(
            "nightly",
            "30 2 * * *",
            "America/New_York",
            CatchUp::Latest,
            "2026-03-01T00:00:00Z",
        )],
        true,
        quick_success,
    );
    h.run_until(&s, "2026-03-10T12:00:00Z").await;
    let times: Vec<(String, String)> = h.calls().into_iter().map(|c| (c.1, c.3)).collect();
    assert_eq!(
        times,
        [
            ("2026-03-06".into(), "2026-03-07T07:30:00+00:00".into()),
            // 02:30 does not exist on 8 March: the run is at 03:00 EDT.
            ("2026-03-07".into(), "2026-03-08T07:00:00+00:00".into()),
            ("2026-03-08".into(), "2026-03-09T06:30:00+00:00".into()),
            ("2026-03-09".into(), "2026-03-10T06:30:00+00:00".into()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn daily_job_fires_once_per_day_across_eu_fall_back() {
    let h = Harness::new("2026-10-23T12:00:00Z");
    h.set_last_fire("nightly", "2026-10-23T00:30:00Z");
    let s = h.scheduler(
        vec![job(
            "nightly",
            "30 2 * * *",
            "Europe/Berlin",
            CatchUp::Latest,
            "2026-10-01T00:00:00Z",
        )],
        true,
        quick_success,
    );
    h.run_until(&s, "2026-10-27T12:00:00Z").await;
    let times: Vec<(String, String)> = h.calls().into_iter().map(|c| (c.1, c.3)).collect();
    assert_eq!(
        times,
        [
            ("2026-10-23".into(), "2026-10-24T00:30:00+00:00".into()),
            // 02:30 happens twice on 25 October: only the first (CEST) runs.
            ("2026-10-24".into(), "2026-10-25T00:30:00+00:00".into()),
            ("2026-10-25".into(), "2026-10-26T01:30:00+00:00".into()),
            ("2026-10-26".into(), "2026-10-27T01:30:00+00:00".into()),
        ]
    );
}

/// A daily 08:00 Shanghai job whose last fire was the 19th, started at
/// 06:00 on the 23rd: the fires of the 20th, 21st and 22nd were missed.
fn missed_three_days(catchup: CatchUp, max_catchup: u32) -> (Harness, ScheduledJob) {
    let h = Harness::new("2026-11-22T22:00:00Z");
    h.set_last_fire("daily-ops", "2026-11-19T00:00:00Z");
    let mut j = job(
        "daily-ops",
        "0 8 * * *",
        "Asia/Shanghai",
        catchup,
        "2026-11-01T00:00:00Z",
    );
    j.max_catchup = max_catchup;
    (h, j)
}

#[tokio::test(start_paused = true)]
async fn catchup_latest_runs_only_the_newest_missed_fire() {
    let (h, j) = missed_three_days(CatchUp::Latest, 7);
    let s = h.scheduler(vec![j], true, quick_success);
    let plan = s.plan_catch_up(h.clock.now()).unwrap();
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].period, day("2026-11-21"));
    assert_eq!(plan[0].reason, RunReason::Missed);
    h.run_until(&s, "2026-11-22T23:00:00Z").await;
    assert_eq!(
        h.calls(),
        [(
            "daily-ops".into(),
            "2026-11-21".into(),
            1,
            "2026-11-22T22:00:00+00:00".into()
        )]
    );
    assert_eq!(
        h.store.last_fire.lock().unwrap()["daily-ops"],
        at("2026-11-22T00:00:00Z")
    );
}

#[tokio::test(start_paused = true)]
async fn catchup_all_runs_the_three_in_order_one_at_a_time() {
    let (h, j) = missed_three_days(CatchUp::All, 7);
    let s = h.scheduler(vec![j], true, quick_success);
    h.run_until(&s, "2026-11-22T23:00:00Z").await;
    let got: Vec<(String, String)> = h.calls().into_iter().map(|c| (c.1, c.3)).collect();
    // Each run takes 10 minutes and the next starts when it ends.
    assert_eq!(
        got,
        [
            ("2026-11-19".into(), "2026-11-22T22:00:00+00:00".into()),
            ("2026-11-20".into(), "2026-11-22T22:10:00+00:00".into()),
            ("2026-11-21".into(), "2026-11-22T22:20:00+00:00".into()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn catchup_none_skips_missed_fires_but_keeps_the_schedule() {
    let (h, j) = missed_three_days(CatchUp::None, 7);
    let s = h.scheduler(vec![j], true, quick_success);
    assert!(s.plan_catch_up(h.clock.now()).unwrap().is_empty());
    // Until 09:00 local on the 23rd: only the regular 08:00 fire runs.
    h.run_until(&s, "2026-11-23T01:00:00Z").await;
    let got: Vec<(String, String)> = h.calls().into_iter().map(|c| (c.1, c.3)).collect();
    assert_eq!(
        got,
        [("2026-11-22".into(), "2026-11-23T00:00:00+00:00".into())]
    );
}

#[tokio::test(start_paused = true)]
async fn catchup_is_bounded_by_max_catchup_first_seen_and_done_runs() {
    let (h, j) = missed_three_days(CatchUp::All, 2);
    let s = h.scheduler(vec![j], true, quick_success);
    let periods: Vec<String> = s
        .plan_catch_up(h.clock.now())
        .unwrap()
        .iter()
        .map(|r| r.period.to_string())
        .collect();
    assert_eq!(periods, ["2026-11-20", "2026-11-21"]);

    // Never before the job first appeared (07:00 local on the 21st).
    let h = Harness::new("2026-11-22T22:00:00Z");
    let j = job(
        "daily-ops",
        "0 8 * * *",
        "Asia/Shanghai",
        CatchUp::All,
        "2026-11-20T23:00:00Z",
    );
    let s = h.scheduler(vec![j], true, quick_success);
    let periods: Vec<String> = s
        .plan_catch_up(h.clock.now())
        .unwrap()
        .iter()
        .map(|r| r.period.to_string())
        .collect();
    assert_eq!(periods, ["2026-11-20", "2026-11-21"]);

    // A period already run (say by `run-job`) is not run again.
    let (h, j) = missed_three_days(CatchUp::All, 7);
    h.store
        .set("daily-ops", day("2026-11-20"), RunState::Succeeded, 1);
    let s = h.scheduler(vec![j], true, quick_success);
    h.run_until(&s, "2026-11-22T23:00:00Z").await;
    assert_eq!(h.call_periods(), ["2026-11-19", "2026-11-21"]);
}

#[tokio::test(start_paused = true)]
async fn a_fire_during_a_long_run_is_skipped() {
    let h = Harness::new("2026-11-23T00:00:30Z");
    h.set_last_fire("sync", "2026-11-23T00:00:00Z");
    let s = h.scheduler(
        vec![job(
            "sync",
            "*/10 * * * *",
            "Asia/Shanghai",
            CatchUp::Latest,
            "2026-11-01T00:00:00Z",
        )],
        true,
        |_| (Duration::from_secs(25 * 60), RunOutcome::Success),
    );
    h.run_until(&s, "2026-11-23T01:09:00Z").await;
    let starts: Vec<String> = h.calls().into_iter().map(|c| c.3).collect();
    // 00:20 and 00:30 fall in the first run, 00:50 and 01:00 in the second.
    assert_eq!(
        starts,
        ["2026-11-23T00:10:00+00:00", "2026-11-23T00:40:00+00:00"]
    );
}

#[tokio::test(start_paused = true)]
async fn overlap_queue_runs_the_fire_after_the_running_one() {
    let h = Harness::new("2026-11-23T00:00:30Z");
    h.set_last_fire("sync", "2026-11-23T00:00:00Z");
    let mut j = job(
        "sync",
        "*/10 * * * *",
        "Asia/Shanghai",
        CatchUp::Latest,
        "2026-11-01T00:00:00Z",
    );
    j.overlap = Overlap::Queue;
    let s = h.scheduler(vec![j], true, |_| {
        (Duration::from_secs(15 * 60), RunOutcome::Success)
    });
    h.run_until(&s, "2026-11-23T00:29:00Z").await;
    let starts: Vec<String> = h.calls().into_iter().map(|c| c.3).collect();
    assert_eq!(
        starts,
        ["2026-11-23T00:10:00+00:00", "2026-11-23T00:25:00+00:00"]
    );
}

#[tokio::test(start_paused = true)]
async fn transient_failures_retry_with_growing_delays() {
    let (h, j) = missed_three_days(CatchUp::Latest, 7);
    let s = h.scheduler(vec![j], true, |attempt| {
        let outcome = if attempt < 3 {
            RunOutcome::Failed {
                transient: true,
                error: "HTTP 503".into(),
            }
        } else {
            RunOutcome::Success
        };
        (Duration::ZERO, outcome)
    });
    let finished = s.catch_up(CancellationToken::new()).await.unwrap();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].attempts, 3);
    assert_eq!(finished[0].outcome, RunOutcome::Success);
    let calls = h.calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let first = calls[1].at - calls[0].at;
    let second = calls[2].at - calls[1].at;
    // 5 min, then 10 min, each with up to 10 % jitter on top.
    assert!(
        first >= TimeDelta::seconds(300) && first <= TimeDelta::seconds(330),
        "{first}"
    );
    assert!(
        second >= TimeDelta::seconds(600) && second <= TimeDelta::seconds(660),
        "{second}"
    );
    assert!(second > first);
    assert!(
        h.notes.0.lock().unwrap().is_empty(),
        "a run that recovered within its retries is not a failure"
    );
}

#[tokio::test(start_paused = true)]
async fn transient_failures_stop_after_the_last_attempt() {
    let (h, j) = missed_three_days(CatchUp::Latest, 7);
    let s = h.scheduler(vec![j], true, |_| {
        (
            Duration::ZERO,
            RunOutcome::Failed {
                transient: true,
                error: "SMTP 451".into(),
            },
        )
    });
    let finished = s.catch_up(CancellationToken::new()).await.unwrap();
    assert_eq!(finished[0].attempts, 3);
    assert_eq!(h.calls().len(), 3);
    assert_eq!(s.health().job("daily-ops").unwrap().failures, 1);
    assert_eq!(
        *h.notes.0.lock().unwrap(),
        ["failed daily-ops 2026-11-21: SMTP 451"]
    );
}

#[tokio::test(start_paused = true)]
async fn permanent_failures_and_held_runs_do_not_retry_and_recovery_is_told() {
    let (h, j) = missed_three_days(CatchUp::All, 7);
    // 19th: input error; 20th: held by a fail-level check; 21st: success.
    let s = h.scheduler(vec![j], true, {
        let calls = Arc::clone(&h.calls);
        move |_| {
            let n = calls.lock().unwrap().len();
            let outcome = match n {
                1 => RunOutcome::Failed {
                    transient: false,
                    error: "orders.csv missing".into(),
                },
                2 => RunOutcome::Held,
                _ => RunOutcome::Success,
            };
            (Duration::ZERO, outcome)
        }
    });
    let finished = s.catch_up(CancellationToken::new()).await.unwrap();
    let attempts: Vec<(String, u32)> = finished
        .iter()
        .map(|f| (f.period.to_string(), f.attempts))
        .collect();
    assert_eq!(
        attempts,
        [
            ("2026-11-19".into(), 1),
            ("2026-11-20".into(), 1),
            ("2026-11-21".into(), 1)
        ]
    );
    assert_eq!(h.calls().len(), 3);
    assert_eq!(
        *h.notes.0.lock().unwrap(),
        [
            "failed daily-ops 2026-11-19: orders.csv missing",
            "recovered daily-ops 2026-11-21"
        ]
    );
    let m = s.health().job("daily-ops").unwrap();
    assert_eq!(m.failures, 2);
    assert_eq!(m.last_success, Some(at("2026-11-22T22:00:00Z")));
}

#[tokio::test(start_paused = true)]
async fn a_run_past_its_timeout_is_a_transient_failure() {
    let (h, mut j) = missed_three_days(CatchUp::Latest, 7);
    j.run_timeout = Duration::from_secs(1800);
    j.retries.attempts = 2;
    let s = h.scheduler(vec![j], true, |_| {
        (Duration::from_secs(3 * 3600), RunOutcome::Success)
    });
    let finished = s.catch_up(CancellationToken::new()).await.unwrap();
    assert_eq!(finished[0].attempts, 2);
    match &finished[0].outcome {
        RunOutcome::Failed { transient, error } => {
            assert!(*transient);
            assert_eq!(error, "run timed out after 1800s");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn cancellation_records_interrupted_and_the_next_start_retries_it() {
    let (h, j) = missed_three_days(CatchUp::Latest, 7);
    let s = h.scheduler(vec![j.clone()], true, |_| {
        (Duration::from_secs(2 * 3600), RunOutcome::Success)
    });
    let stopped = h.run_until(&s, "2026-11-22T22:10:00Z").await;
    assert_eq!(
        stopped,
        at("2026-11-22T22:10:00Z"),
        "a cooperative run stops at once"
    );
    assert_eq!(
        h.store.state("daily-ops", day("2026-11-21")),
        Some((RunState::Interrupted, 1))
    );

    let again = h.scheduler(vec![j], true, quick_success);
    let plan = again.plan_catch_up(h.clock.now()).unwrap();
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert_eq!(plan[0].reason, RunReason::Interrupted);
    assert_eq!(plan[0].first_attempt, 2);
    h.run_until(&again, "2026-11-22T23:00:00Z").await;
    let calls = h.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[1].1.as_str(), calls[1].2), ("2026-11-21", 2));
    assert_eq!(
        h.store.state("daily-ops", day("2026-11-21")),
        Some((RunState::Succeeded, 2))
    );
}

#[tokio::test(start_paused = true)]
async fn a_run_ignoring_cancellation_is_cut_after_the_grace_period() {
    let (h, j) = missed_three_days(CatchUp::Latest, 7);
    let s = h.scheduler(vec![j], false, |_| {
        (Duration::from_secs(2 * 3600), RunOutcome::Success)
    });
    let stopped = h.run_until(&s, "2026-11-22T22:10:00Z").await;
    assert_eq!(stopped, at("2026-11-22T22:10:30Z"), "30 s grace");
    assert_eq!(
        h.store.state("daily-ops", day("2026-11-21")),
        Some((RunState::Interrupted, 1))
    );
}

#[tokio::test(start_paused = true)]
async fn fires_passed_during_a_suspend_are_caught_up_by_policy() {
    for (catchup, expected) in [
        // Fires of the 23rd, 24th and 25th report on the day before each.
        (CatchUp::Latest, vec!["2026-11-24"]),
        (CatchUp::All, vec!["2026-11-22", "2026-11-23", "2026-11-24"]),
        (CatchUp::None, vec![]),
    ] {
        // 07:00 in Shanghai on the 23rd; the host sleeps three days at 07:10.
        let h = Harness::new("2026-11-22T23:00:00Z");
        h.set_last_fire("daily-ops", "2026-11-22T00:00:00Z");
        let j = job(
            "daily-ops",
            "0 8 * * *",
            "Asia/Shanghai",
            catchup,
            "2026-11-01T00:00:00Z",
        );
        let s = h.scheduler(vec![j], true, quick_success);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let clock = Arc::clone(&h.clock);
        let (result, ()) = tokio::join!(s.run(cancel), async move {
            clock.sleep_until(at("2026-11-22T23:10:00Z")).await;
            clock.jump(TimeDelta::days(3));
            // Back at 07:10 on the 26th; stop before that day's 08:00.
            clock.sleep_until(at("2026-11-25T23:50:00Z")).await;
            stop.cancel();
        });
        result.unwrap();
        assert_eq!(h.call_periods(), expected, "{catchup:?}");
    }
}

#[tokio::test]
async fn daemon_serves_health_and_holds_the_state_lock() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.sqlite");
    let store = Arc::new(MemStore::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let runner = FakeRunner {
        store: Arc::clone(&store),
        clock: Arc::clone(&clock),
        calls: Arc::default(),
        script: Arc::new(quick_success),
        honours_cancel: true,
    };
    let config = DaemonConfig {
        health_port: Some(0),
        ..daemon_config()
    };
    let now = Utc::now();
    let j = job(
        "monthly-members",
        "0 9 1 * *",
        "Asia/Shanghai",
        CatchUp::None,
        "2026-01-01T00:00:00Z",
    );
    let mut j = j;
    j.first_seen = now;
    let scheduler = Scheduler::new(
        vec![j],
        runner,
        MemLedger(Arc::clone(&store)),
        Notes::default(),
        clock,
        config,
    );
    let handles = DaemonHandles::acquire(&state, &config).await.unwrap();
    let addr = handles.health_addr().unwrap();
    assert!(addr.ip().is_loopback());

    let second = DaemonHandles::acquire(&state, &config).await;
    match second {
        Err(DaemonError::Lock(e)) => {
            assert!(
                e.to_string()
                    .contains(&format!("pid {}", std::process::id())),
                "{e}"
            )
        }
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("a second daemon got the lock"),
    }

    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let client = async move {
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        // The first heartbeat comes as the loop starts.
        let mut health = get("/healthz").await;
        for _ in 0..100 {
            if health.starts_with("HTTP/1.1 200") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            health = get("/healthz").await;
        }
        let metrics = get("/metrics").await;
        stop.cancel();
        (health, metrics)
    };
    let (result, (health, metrics)) =
        tokio::join!(run_daemon(&scheduler, handles, &config, cancel), client);
    result.unwrap();
    assert!(health.starts_with("HTTP/1.1 200 OK"), "{health}");
    assert!(health.contains("ok heartbeat_age_seconds="), "{health}");
    assert!(
        metrics.contains("storepulse_next_run_timestamp_seconds{job=\"monthly-members\"} "),
        "{metrics}"
    );
    // The lock is released when the daemon stops.
    DaemonHandles::acquire(
        &state,
        &DaemonConfig {
            health_port: None,
            ..config
        },
    )
    .await
    .unwrap();
}
