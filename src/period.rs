//! Reporting periods: a day, an ISO week or a calendar month, as half-open
//! date ranges `[start, end)` in a job's time zone (SPEC §6).
//!
//! Periods are plain calendar values; turning them into instants is left to
//! the caller, who knows the zone. That keeps this type usable by the
//! scheduler (which reasons in local wall time) and the store (which queries
//! by instants) alike.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

/// The length of a job's reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodKind {
    Day,
    Week,
    Month,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
        }
    }
}

impl FromStr for PeriodKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(PeriodKind::Day),
            "week" => Ok(PeriodKind::Week),
            "month" => Ok(PeriodKind::Month),
            _ => Err(format!(
                "unknown period {s:?} (expected day, week or month)"
            )),
        }
    }
}

/// A concrete reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    /// First day of the period.
    pub start: NaiveDate,
    /// First day after the period (exclusive end).
    pub end: NaiveDate,
    kind_tag: u8,
}

impl Period {
    pub fn day(date: NaiveDate) -> Period {
        Period {
            start: date,
            end: date + Days::new(1),
            kind_tag: 0,
        }
    }

    /// The ISO week containing `date`.
    pub fn week_of(date: NaiveDate) -> Period {
        let start = date - Days::new(u64::from(date.weekday().num_days_from_monday()));
        Period {
            start,
            end: start + Days::new(7),
            kind_tag: 1,
        }
    }

    /// The calendar month containing `date`.
    pub fn month_of(date: NaiveDate) -> Period {
        // Day 1 of any valid date's month always exists.
        let start = date.with_day(1).expect("day 1 exists in every month");
        Period {
            start,
            end: start + Months::new(1),
            kind_tag: 2,
        }
    }

    /// The period of `kind` that contains `date`.
    pub fn containing(kind: PeriodKind, date: NaiveDate) -> Period {
        match kind {
            PeriodKind::Day => Period::day(date),
            PeriodKind::Week => Period::week_of(date),
            PeriodKind::Month => Period::month_of(date),
        }
    }

    /// The period a run firing on `fire_date` reports on: the day, ISO week
    /// or month before the one that contains the fire date.
    pub fn reported_by_fire(kind: PeriodKind, fire_date: NaiveDate) -> Period {
        Period::containing(kind, fire_date).previous()
    }

    pub fn kind(&self) -> PeriodKind {
        match self.kind_tag {
            0 => PeriodKind::Day,
            1 => PeriodKind::Week,
            _ => PeriodKind::Month,
        }
    }

    /// The period of the same kind just before this one.
    pub fn previous(&self) -> Period {
        let last_day_before = self.start - Days::new(1);
        Period::containing(self.kind(), last_day_before)
    }

    /// The period of the same kind just after this one.
    pub fn next(&self) -> Period {
        Period::containing(self.kind(), self.end)
    }

    /// The same period shifted back by whole weeks (same weekday a week ago).
    pub fn weeks_earlier(&self, weeks: u64) -> Period {
        let shift = Days::new(7 * weeks);
        Period {
            start: self.start - shift,
            end: self.end - shift,
            kind_tag: self.kind_tag,
        }
    }

    /// The same period a year earlier: the same date for a day (28 Feb for a
    /// leap day), the same ISO week number, the same month.
    pub fn year_earlier(&self) -> Period {
        match self.kind() {
            PeriodKind::Day => {
                let d = self.start;
                let prev = NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day())
                    .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day() - 1))
                    .unwrap_or(d - Days::new(365));
                Period::day(prev)
            }
            PeriodKind::Week => {
                let w = self.start.iso_week();
                let prev = NaiveDate::from_isoywd_opt(w.year() - 1, w.week(), Weekday::Mon)
                    .or_else(|| NaiveDate::from_isoywd_opt(w.year() - 1, 52, Weekday::Mon))
                    .unwrap_or(self.start - Days::new(364));
                Period::week_of(prev)
            }
            PeriodKind::Month => Period::month_of(self.start - Months::new(12)),
        }
    }

    /// Number of days in the period.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// The last day of the period (inclusive), the as-of date for tiers.
    pub fn last_day(&self) -> NaiveDate {
        self.end - Days::new(1)
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date < self.end
    }

    /// Every day of the period, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let start = self.start;
        (0..self.days()).map(move |i| start + Days::new(i as u64))
    }
}

impl fmt::Display for Period {
    /// `2026-11-22`, `2026-W47` or `2026-11`: the form `--period` takes and
    /// run folders are named by.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            PeriodKind::Day => write!(f, "{}", self.start.format("%Y-%m-%d")),
            PeriodKind::Week => {
                let w = self.start.iso_week();
                write!(f, "{}-W{:02}", w.year(), w.week())
            }
            PeriodKind::Month => write!(f, "{}", self.start.format("%Y-%m")),
        }
    }
}

impl FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid period {s:?} (expected 2026-11-22, 2026-W47 or 2026-11)");
        let s = s.trim();
        if let Some((year, week)) = s.split_once("-W") {
            let year: i32 = year.parse().map_err(|_| bad())?;
            let week: u32 = week.parse().map_err(|_| bad())?;
            let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
            return Ok(Period::week_of(monday));
        }
        match s.len() {
            10 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Period::day)
                .map_err(|_| bad()),
            7 => NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
                .map(Period::month_of)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_each_kind() {
        for s in ["2026-11-22", "2026-W47", "2026-11", "2020-W53"] {
            assert_eq!(s.parse::<Period>().unwrap().to_string(), s);
        }
        let w: Period = "2026-W47".parse().unwrap();
        assert_eq!((w.start, w.end), (d("2026-11-16"), d("2026-11-23")));
        let m: Period = "2026-02".parse().unwrap();
        assert_eq!(m.days(), 28);
        assert!("2026-13".parse::<Period>().is_err());
        assert!("2026-W54".parse::<Period>().is_err());
        assert!("2026-02-30".parse::<Period>().is_err());
    }

    #[test]
    fn fire_dates_report_on_the_period_before() {
        let fire = d("2026-11-23"); // a Monday
        assert_eq!(
            Period::reported_by_fire(PeriodKind::Day, fire).to_string(),
            "2026-11-22"
        );
        assert_eq!(
            Period::reported_by_fire(PeriodKind::Week, fire).to_string(),
            "2026-W47"
        );
        assert_eq!(
            Period::reported_by_fire(PeriodKind::Month, d("2026-12-01")).to_string(),
            "2026-11"
        );
        assert_eq!(
            Period::reported_by_fire(PeriodKind::Month, d("2026-01-01")).to_string(),
            "2025-12"
        );
    }

    #[test]
    fn comparisons_shift_correctly() {
        let leap = Period::day(d("2024-02-29"));
        assert_eq!(leap.year_earlier().start, d("2023-02-28"));
        assert_eq!(
            Period::day(d("2026-11-22")).weeks_earlier(1).start,
            d("2026-11-15")
        );
        let w: Period = "2026-W01".parse().unwrap();
        assert_eq!(w.previous().to_string(), "2025-W52");
        assert_eq!(w.year_earlier().to_string(), "2025-W01");
        let m: Period = "2026-03".parse().unwrap();
        assert_eq!(m.previous().to_string(), "2026-02");
        assert_eq!(m.year_earlier().to_string(), "2025-03");
    }
}
