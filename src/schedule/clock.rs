//! Clocks the scheduler reads and sleeps on, injected so tests can run days
//! of schedule on tokio's paused time and simulate wall-clock jumps.
//!
//! The scheduler never trusts a sleep to have lasted as long as asked: it
//! wakes at least every `wake` interval and rereads `now()`, which is what
//! makes a suspended VM or a stepped clock visible.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::BoxFuture;

/// Wall-clock time and a way to wait for it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Waits until `deadline` by this clock, or less if the clock jumps;
    /// callers recheck `now()` afterwards.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// The real system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let wait = (deadline - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A wall clock driven by tokio's (usually paused) time: it starts at a
/// chosen instant and advances with `tokio::time`, plus any jumps applied.
#[derive(Debug)]
pub struct TokioClock {
    start_wall: DateTime<Utc>,
    start_tokio: tokio::time::Instant,
    jumped: Mutex<TimeDelta>,
}

impl TokioClock {
    /// Must be called inside a tokio runtime.
    pub fn starting_at(start_wall: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start_wall,
            start_tokio: tokio::time::Instant::now(),
            jumped: Mutex::new(TimeDelta::zero()),
        }
    }

    /// Steps the wall clock without any time passing for tokio, as an NTP
    /// correction or a resumed VM would.
    pub fn jump(&self, by: TimeDelta) {
        let mut jumped = self.jumped.lock().unwrap_or_else(|p| p.into_inner());
        *jumped += by;
    }

    fn jumped(&self) -> TimeDelta {
        *self.jumped.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = TimeDelta::from_std(self.start_tokio.elapsed()).unwrap_or(TimeDelta::MAX);
        self.start_wall + elapsed + self.jumped()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let wait = (deadline - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time_and_jumps() {
        let start: DateTime<Utc> = "2026-11-22T00:00:00Z".parse().unwrap();
        let clock = TokioClock::starting_at(start);
        assert_eq!(clock.now(), start);
        clock.sleep_until(start + TimeDelta::hours(5)).await;
        assert_eq!(clock.now(), start + TimeDelta::hours(5));
        clock.jump(TimeDelta::days(2));
        assert_eq!(clock.now(), start + TimeDelta::hours(53));
        // A deadline already passed returns at once.
        clock.sleep_until(start).await;
        assert_eq!(clock.now(), start + TimeDelta::hours(53));
    }
}
