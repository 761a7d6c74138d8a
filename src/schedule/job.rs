//! What the scheduler knows about one job: its schedule, period kind and the
//! policies of SPEC §6 (catch-up, overlap, retries, timeouts).

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::period::{Period, PeriodKind};
use crate::schedule::cron::{Schedule, period_for_fire};

/// What to run after downtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatchUp {
    /// Only the most recent missed fire.
    #[default]
    Latest,
    /// Every missed fire, oldest first, up to `max_catchup`.
    All,
    /// Nothing: missed fires are logged and dropped.
    None,
}

impl CatchUp {
    pub fn parse(s: &str) -> Option<CatchUp> {
        match s {
            "latest" => Some(CatchUp::Latest),
            "all" => Some(CatchUp::All),
            "none" => Some(CatchUp::None),
            _ => None,
        }
    }
}

/// What a fire does while the job is still running. Either way a job never
/// runs twice at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// The fire is skipped and logged.
    #[default]
    Skip,
    /// The fire waits for the running one and then runs.
    Queue,
}

impl Overlap {
    pub fn parse(s: &str) -> Option<Overlap> {
        match s {
            "skip" => Some(Overlap::Skip),
            "queue" => Some(Overlap::Queue),
            _ => None,
        }
    }
}

/// Exponential backoff with jitter for transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first included.
    pub attempts: u32,
    /// Delay before the second attempt; doubled for each one after.
    pub base: Duration,
    /// Longest delay between attempts, jitter excluded.
    pub cap: Duration,
    /// Up to this fraction of the delay is added at random, so jobs failing
    /// together do not retry in lockstep.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base: Duration::from_secs(5 * 60),
            cap: Duration::from_secs(60 * 60),
            jitter: 0.1,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1-based) before the next.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << doublings).min(self.cap);
        let fraction = self.jitter.clamp(0.0, 1.0) * random_unit();
        raw + raw.mul_f64(fraction)
    }
}

/// A number in `[0, 1)` from the process's randomly keyed hasher; enough
/// spread for jitter without a random-number crate.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// One job as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct ScheduledJob {
    pub name: String,
    pub schedule: Schedule,
    pub period: PeriodKind,
    pub catchup: CatchUp,
    pub max_catchup: u32,
    pub overlap: Overlap,
    /// When the job first appeared (from the store); nothing earlier is
    /// ever caught up.
    pub first_seen: DateTime<Utc>,
    pub retries: RetryPolicy,
    pub run_timeout: Duration,
    /// Handed to the runner through its configuration; the scheduler itself
    /// only enforces `run_timeout`.
    pub step_timeout: Duration,
}

impl ScheduledJob {
    pub fn timezone(&self) -> Tz {
        self.schedule.timezone()
    }

    /// The period a fire of this job reports on.
    pub fn period_for(&self, fire: &DateTime<Tz>) -> Period {
        period_for_fire(self.period, fire)
    }

    /// The next `count` fires after `from`, with the period each reports on:
    /// what `storepulse schedule` prints.
    pub fn upcoming(&self, from: DateTime<Utc>, count: usize) -> Vec<(DateTime<Tz>, Period)> {
        self.schedule
            .fires(&from, count)
            .into_iter()
            .map(|fire| (fire, self.period_for(&fire)))
            .collect()
    }
}

/// Lines of `storepulse schedule`: `<fire RFC 3339>  <period>`.
pub fn format_upcoming(fires: &[(DateTime<Tz>, Period)]) -> String {
    let mut out = String::new();
    for (fire, period) in fires {
        out.push_str(&fire.to_rfc3339());
        out.push_str("  ");
        out.push_str(&period.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_bounded_jitter() {
        let policy = RetryPolicy {
            attempts: 6,
            base: Duration::from_secs(300),
            cap: Duration::from_secs(1800),
            jitter: 0.1,
        };
        for (attempt, raw) in [(1, 300u64), (2, 600), (3, 1200), (4, 1800), (5, 1800)] {
            let d = policy.delay_after(attempt);
            let raw = Duration::from_secs(raw);
            assert!(
                d >= raw && d <= raw.mul_f64(1.1),
                "attempt {attempt}: {d:?}"
            );
        }
        let exact = RetryPolicy {
            jitter: 0.0,
            ..policy
        };
        assert_eq!(exact.delay_after(2), Duration::from_secs(600));
    }

    #[test]
    fn policies_parse_their_config_words() {
        assert_eq!(CatchUp::parse("all"), Some(CatchUp::All));
        assert_eq!(CatchUp::parse("none"), Some(CatchUp::None));
        assert_eq!(CatchUp::parse("latest"), Some(CatchUp::Latest));
        assert_eq!(CatchUp::parse("Latest"), None);
        assert_eq!(Overlap::parse("queue"), Some(Overlap::Queue));
        assert_eq!(Overlap::parse("parallel"), None);
    }

    #[test]
    fn upcoming_pairs_fires_with_periods() {
        let job = ScheduledJob {
            name: "weekly-review".into(),
            schedule: Schedule::parse("0 9 * * 1", "Asia/Shanghai".parse().unwrap()).unwrap(),
            period: PeriodKind::Week,
            catchup: CatchUp::Latest,
            max_catchup: 7,
            overlap: Overlap::Skip,
            first_seen: "2026-01-01T00:00:00Z".parse().unwrap(),
            retries: RetryPolicy::default(),
            run_timeout: Duration::from_secs(60),
            step_timeout: Duration::from_secs(60),
        };
        let lines = format_upcoming(&job.upcoming("2026-11-20T00:00:00Z".parse().unwrap(), 2));
        assert_eq!(
            lines,
            "2026-11-23T09:00:00+08:00  2026-W47\n2026-11-30T09:00:00+08:00  2026-W48\n"
        );
    }
}
