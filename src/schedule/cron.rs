//! Cron schedules in a job's IANA time zone, with the daylight-saving rules
//! of SPEC §6.
//!
//! Expressions are parsed by `croner` (5 fields, an optional leading seconds
//! field, POSIX weekdays with 0 and 7 as Sunday, day-of-month OR day-of-week,
//! `L`, `W`, `#`, `@daily`-style aliases) and matched against *local wall
//! time* only. Turning a wall time into an instant is done here rather than by
//! croner, because the SPEC's rules depend on the shape of the hour field:
//!
//! - fixed hours: a wall time inside a spring-forward gap fires at the first
//!   valid instant after the gap; a repeated wall time fires once, at its first
//!   occurrence;
//! - hour field `*` or `*/n`: the job follows real time, so wall times inside
//!   a gap are skipped and a repeated one fires at both occurrences.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::period::{Period, PeriodKind};

/// Why an expression was rejected.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    #[error("invalid cron expression {expr:?}: {source}")]
    Invalid {
        expr: String,
        #[source]
        source: croner::errors::CronError,
    },
    #[error(
        "invalid cron expression {expr:?}: expected 5 fields (or 6 with leading seconds), found {found}"
    )]
    FieldCount { expr: String, found: usize },
    #[error("cron expression {expr:?} never fires")]
    NeverFires { expr: String },
}

/// Upper bound on how far ahead the search for one fire goes; anything
/// further is treated as "never".
const SEARCH_ITERATIONS: usize = 100_000;

/// A parsed cron expression bound to a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: Cron,
    tz: Tz,
    follows_real_time: bool,
}

impl Schedule {
    /// Parses `expr` for jobs running in `tz`.
    pub fn parse(expr: &str, tz: Tz) -> Result<Schedule, CronError> {
        let trimmed = expr.trim();
        let expanded = expand_alias(trimmed).unwrap_or(trimmed);
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let hour_field = match fields.len() {
            5 => fields[1],
            6 => fields[2],
            found => {
                return Err(CronError::FieldCount {
                    expr: expr.to_string(),
                    found,
                });
            }
        };
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .dom_and_dow(false)
            .alternative_weekdays(false)
            .build();
        let cron = parser
            .parse(expanded)
            .map_err(|source| CronError::Invalid {
                expr: expr.to_string(),
                source,
            })?;
        let follows_real_time =
            hour_field == "*" || hour_field == "?" || hour_field.starts_with("*/");
        let schedule = Schedule {
            expr: trimmed.to_string(),
            cron,
            tz,
            follows_real_time,
        };
        // A pattern such as `0 0 30 2 *` parses but can never match; saying
        // so at load time beats a daemon that silently never runs the job.
        let probe = NaiveDateTime::parse_from_str("2000-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")
            .ok()
            .and_then(|start| schedule.next_naive(start));
        if probe.is_none() {
            return Err(CronError::NeverFires {
                expr: expr.to_string(),
            });
        }
        Ok(schedule)
    }

    /// The expression as written in the job file.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// True when the hour field is `*` or `*/n`: the job then follows real
    /// time across DST changes instead of the wall clock.
    pub fn follows_real_time(&self) -> bool {
        self.follows_real_time
    }

    /// The first fire strictly after `after`.
    pub fn next_after<Z: TimeZone>(&self, after: &DateTime<Z>) -> Option<DateTime<Tz>> {
        let after = after.with_timezone(&Utc);
        // A wall time earlier than `after`'s own can still map to a later
        // instant when the clocks go back near `after`.
        let lookback = offset_swing(self.tz, after);
        let local = after.with_timezone(&self.tz).naive_local();
        let mut cursor = local - lookback - TimeDelta::seconds(1);
        let mut best: Option<DateTime<Tz>> = None;
        let mut best_naive_limit: Option<NaiveDateTime> = None;
        for _ in 0..SEARCH_ITERATIONS {
            let naive = self.next_naive(cursor)?;
            if let Some(limit) = best_naive_limit
                && naive > limit
            {
                break;
            }
            for instant in self.instants_for(naive) {
                if instant.with_timezone(&Utc) > after && best.as_ref().is_none_or(|b| instant < *b)
                {
                    // Later wall times can only yield an earlier instant
                    // within one DST swing of this one.
                    let swing = offset_swing(self.tz, instant.with_timezone(&Utc));
                    best_naive_limit = Some(instant.naive_local() + swing);
                    best = Some(instant);
                }
            }
            cursor = naive;
        }
        best
    }

    /// The next `count` fires strictly after `from`.
    pub fn fires<Z: TimeZone>(&self, from: &DateTime<Z>, count: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(count);
        let mut cursor = from.with_timezone(&self.tz);
        while out.len() < count {
            match self.next_after(&cursor) {
                Some(next) => {
                    cursor = next;
                    out.push(next);
                }
                None => break,
            }
        }
        out
    }

    /// Every fire in `(after, until]`, oldest first.
    pub fn fires_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> FiresBetween<'_> {
        FiresBetween {
            schedule: self,
            cursor: after,
            until,
        }
    }

    /// The latest fire at or before `at`, looking back at most `horizon`.
    pub fn latest_at_or_before(
        &self,
        at: DateTime<Utc>,
        horizon: TimeDelta,
    ) -> Option<DateTime<Tz>> {
        self.fires_between(at - horizon, at).last()
    }

    fn next_naive(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        self.cron.find_next_occurrence(&after, false).ok()
    }

    /// The instants a matching wall time stands for, by the SPEC's rules.
    fn instants_for(&self, naive: NaiveDateTime) -> Vec<DateTime<Tz>> {
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(instant) => vec![instant],
            LocalResult::Ambiguous(first, second) => {
                if self.follows_real_time {
                    vec![first, second]
                } else {
                    vec![first]
                }
            }
            LocalResult::None => {
                if self.follows_real_time {
                    Vec::new()
                } else {
                    first_valid_after_gap(self.tz, naive).into_iter().collect()
                }
            }
        }
    }
}

/// Iterator behind [`Schedule::fires_between`].
pub struct FiresBetween<'a> {
    schedule: &'a Schedule,
    cursor: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl Iterator for FiresBetween<'_> {
    type Item = DateTime<Tz>;

    fn next(&mut self) -> Option<DateTime<Tz>> {
        let next = self.schedule.next_after(&self.cursor)?;
        let utc = next.with_timezone(&Utc);
        if utc > self.until {
            return None;
        }
        self.cursor = utc;
        Some(next)
    }
}

/// The period a fire reports on, judged by the fire's local date.
pub fn period_for_fire(kind: PeriodKind, fire: &DateTime<Tz>) -> Period {
    Period::reported_by_fire(kind, fire.date_naive())
}

/// The period a job would report on if it fired at `at`: what `run-job`
/// runs without `--date` / `--period` (for a daily job, yesterday in `tz`).
pub fn period_if_fired_at(kind: PeriodKind, tz: Tz, at: DateTime<Utc>) -> Period {
    Period::reported_by_fire(kind, at.with_timezone(&tz).date_naive())
}

/// Expands the `@` aliases so the hour field can be inspected; croner would
/// accept them too, but then the shape of the hour field would be hidden.
fn expand_alias(expr: &str) -> Option<&'static str> {
    let alias = expr.to_ascii_lowercase();
    Some(match alias.as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

/// The first instant whose wall time is valid after the gap `naive` falls
/// in. Gaps end on whole minutes in every zone of the tz database since
/// 1970, so stepping by minutes finds the exact end.
fn first_valid_after_gap(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Tz>> {
    let mut probe = naive.with_second(0)?.with_nanosecond(0)?;
    for _ in 0..(24 * 60) {
        probe += TimeDelta::minutes(1);
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(instant) => return Some(instant),
            LocalResult::Ambiguous(first, _) => return Some(first),
            LocalResult::None => {}
        }
    }
    None
}

/// How far the UTC offset moves within a few hours either side of `at`:
/// the span over which wall-time order and instant order can disagree.
fn offset_swing(tz: Tz, at: DateTime<Utc>) -> TimeDelta {
    let offsets = (-4..=4).map(|h| {
        let t = at + TimeDelta::hours(h);
        i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    });
    let (low, high) = offsets.fold((i64::MAX, i64::MIN), |(lo, hi), o| (lo.min(o), hi.max(o)));
    TimeDelta::seconds((high - low).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rfc(fires: &[DateTime<Tz>]) -> Vec<String> {
        fires.iter().map(|f| f.to_rfc3339()).collect()
    }

    #[test]
    fn spring_forward_fixed_hour_fires_at_end_of_gap() {
        let s = Schedule::parse("30 2 * * *", tz("America/New_York")).unwrap();
        let fires = s.fires(&at("2026-03-07T00:00:00Z"), 3);
        assert_eq!(
            rfc(&fires),
            [
                "2026-03-07T02:30:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-09T02:30:00-04:00"
            ]
        );
    }

    #[test]
    fn fall_back_fixed_hour_fires_once_at_first_occurrence() {
        let s = Schedule::parse("30 1 * * *", tz("America/New_York")).unwrap();
        let fires = s.fires(&at("2026-10-31T12:00:00Z"), 3);
        assert_eq!(
            rfc(&fires),
            [
                "2026-11-01T01:30:00-04:00",
                "2026-11-02T01:30:00-05:00",
                "2026-11-03T01:30:00-05:00"
            ]
        );
    }

    #[test]
    fn hourly_job_follows_real_time_across_both_changes() {
        let s = Schedule::parse("30 * * * *", tz("Europe/Berlin")).unwrap();
        // 29 Mar: 02:30 does not exist, so 01:30 CET is followed by 03:30 CEST.
        let spring = s.fires(&at("2026-03-29T00:00:00Z"), 2);
        assert_eq!(
            rfc(&spring),
            ["2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"]
        );
        // 25 Oct: 02:30 happens twice, an hour apart in real time.
        let autumn = s.fires(&at("2026-10-24T23:45:00Z"), 3);
        assert_eq!(
            rfc(&autumn),
            [
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T03:30:00+01:00"
            ]
        );
    }

    #[test]
    fn repeated_hour_fires_in_real_time_order() {
        // Every wall time of the first 02:xx comes before any of the second.
        let s = Schedule::parse("*/20 * * * *", tz("Europe/Berlin")).unwrap();
        let fires = s.fires(&at("2026-10-24T23:50:00Z"), 6);
        assert_eq!(
            rfc(&fires),
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:20:00+02:00",
                "2026-10-25T02:40:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:20:00+01:00",
                "2026-10-25T02:40:00+01:00"
            ]
        );
    }

    #[test]
    fn fixed_hours_in_the_gap_collapse_to_one_fire() {
        let s = Schedule::parse("0,30 2,3 * * *", tz("America/New_York")).unwrap();
        let fires = s.fires(&at("2026-03-08T05:00:00Z"), 3);
        assert_eq!(
            rfc(&fires),
            [
                "2026-03-08T03:00:00-04:00",
                "2026-03-08T03:30:00-04:00",
                "2026-03-09T02:00:00-04:00"
            ]
        );
    }

    #[test]
    fn posix_weekdays_and_or_of_day_fields() {
        let shanghai = tz("Asia/Shanghai");
        let sunday0 = Schedule::parse("0 9 * * 0", shanghai).unwrap();
        let sunday7 = Schedule::parse("0 9 * * 7", shanghai).unwrap();
        let from = at("2026-11-20T00:00:00Z");
        assert_eq!(rfc(&sunday0.fires(&from, 1)), ["2026-11-22T09:00:00+08:00"]);
        assert_eq!(sunday0.fires(&from, 3), sunday7.fires(&from, 3));
        // 1st of the month OR any Monday.
        let either = Schedule::parse("0 9 1 * 1", shanghai).unwrap();
        assert_eq!(
            rfc(&either.fires(&at("2026-11-28T00:00:00Z"), 3)),
            [
                "2026-11-30T09:00:00+08:00",
                "2026-12-01T09:00:00+08:00",
                "2026-12-07T09:00:00+08:00"
            ]
        );
    }

    #[test]
    fn last_weekday_and_nth_and_aliases() {
        let shanghai = tz("Asia/Shanghai");
        let from = at("2026-01-01T00:00:00Z");
        let last = Schedule::parse("0 18 L * *", shanghai).unwrap();
        assert_eq!(
            rfc(&last.fires(&from, 2)),
            ["2026-01-31T18:00:00+08:00", "2026-02-28T18:00:00+08:00"]
        );
        // 15 Feb 2026 is a Sunday: nearest weekday is Monday 16th.
        let w = Schedule::parse("0 9 15W * *", shanghai).unwrap();
        assert_eq!(
            rfc(&w.fires(&at("2026-02-01T00:00:00Z"), 1)),
            ["2026-02-16T09:00:00+08:00"]
        );
        let nth = Schedule::parse("0 9 * * 5#2", shanghai).unwrap();
        assert_eq!(rfc(&nth.fires(&from, 1)), ["2026-01-09T09:00:00+08:00"]);
        let daily = Schedule::parse("@daily", shanghai).unwrap();
        assert!(!daily.follows_real_time());
        assert_eq!(rfc(&daily.fires(&from, 1)), ["2026-01-02T00:00:00+08:00"]);
        assert!(
            Schedule::parse("@hourly", shanghai)
                .unwrap()
                .follows_real_time()
        );
        let secs = Schedule::parse("15 0 9 * * *", shanghai).unwrap();
        assert_eq!(rfc(&secs.fires(&from, 1)), ["2026-01-01T09:00:15+08:00"]);
    }

    #[test]
    fn bad_expressions_are_rejected_with_the_expression() {
        let shanghai = tz("Asia/Shanghai");
        for bad in [
            "",
            "* * *",
            "0 0 0 1 1 * 2026",
            "61 * * * *",
            "0 9 * * MON-XYZ",
            "@often",
        ] {
            let err = Schedule::parse(bad, shanghai).unwrap_err();
            assert!(err.to_string().contains("cron expression"), "{bad}: {err}");
        }
        let never = Schedule::parse("0 0 30 2 *", shanghai).unwrap_err();
        assert!(matches!(never, CronError::NeverFires { .. }), "{never}");
    }

    #[test]
    fn period_uses_the_local_fire_date() {
        let s = Schedule::parse("30 0 * * *", tz("Asia/Shanghai")).unwrap();
        // 16:30 UTC on the 22nd is 00:30 on the 23rd in Shanghai.
        let fire = s.next_after(&at("2026-11-22T16:00:00Z")).unwrap();
        assert_eq!(
            period_for_fire(PeriodKind::Day, &fire),
            Period::day(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())
        );
        assert_eq!(
            period_for_fire(PeriodKind::Week, &fire).to_string(),
            "2026-W47"
        );
    }

    #[test]
    fn period_if_fired_now_uses_the_job_zone() {
        // 23:30 UTC on the 22nd is already the 23rd in Shanghai.
        let now = at("2026-11-22T23:30:00Z");
        let p = period_if_fired_at(PeriodKind::Day, tz("Asia/Shanghai"), now);
        assert_eq!(p.to_string(), "2026-11-22");
        let p = period_if_fired_at(PeriodKind::Day, tz("America/New_York"), now);
        assert_eq!(p.to_string(), "2026-11-21");
        let p = period_if_fired_at(PeriodKind::Month, tz("Asia/Shanghai"), now);
        assert_eq!(p.to_string(), "2026-10");
    }

    #[test]
    fn fires_between_is_half_open() {
        let s = Schedule::parse("0 8 * * *", tz("Asia/Shanghai")).unwrap();
        let got: Vec<_> = s
            .fires_between(at("2026-11-19T12:00:00Z"), at("2026-11-21T00:00:00Z"))
            .collect();
        assert_eq!(
            rfc(&got),
            ["2026-11-20T08:00:00+08:00", "2026-11-21T08:00:00+08:00"]
        );
        let none: Vec<_> = s
            .fires_between(at("2026-11-20T00:00:00Z"), at("2026-11-20T00:00:00Z"))
            .collect();
        assert!(none.is_empty());
    }
}
