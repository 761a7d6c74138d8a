//! The shop's calendar: weekly rhythm, shopping festivals (双11 with its
//! presale, 618, 双12...), the season's pull on warm clothes and the hour of
//! day people shop at. Plain tables and arithmetic, so results are identical
//! everywhere.

use chrono::{Datelike, NaiveDate, Weekday};

/// Demand multiplier of a festival day against a normal day.
pub fn event_factor(d: NaiveDate) -> f64 {
    match (d.month(), d.day()) {
        (11, 11) => 9.0,
        (11, 12) => 2.3,
        (11, 13..=15) => 1.25,
        (11, 10) => 0.85,
        (11, 1) => 3.2,
        (11, 2) => 2.0,
        (11, 3) => 1.5,
        (11, 4..=9) => 0.9,
        (10, 20..=31) => 1.03,
        (6, 18) => 4.5,
        (6, 1) => 2.0,
        (6, 2) => 1.4,
        (6, 17) => 0.85,
        (6, 19) => 1.6,
        (12, 12) => 2.8,
        (3, 8) => 1.8,
        (1, 10..=20) => 1.15,
        (2, 10..=22) => 0.55,
        _ => 1.0,
    }
}

/// The day presale orders created on `d` pay their balance, if `d` is in a
/// presale window.
pub fn presale_balance_day(d: NaiveDate) -> Option<NaiveDate> {
    match (d.month(), d.day()) {
        (10, 20..=31) | (11, 1..=10) => NaiveDate::from_ymd_opt(d.year(), 11, 11),
        (5, 20..=31) | (6, 1..=17) => NaiveDate::from_ymd_opt(d.year(), 6, 18),
        _ => None,
    }
}

/// Weekends sell more.
pub fn weekday_factor(d: NaiveDate) -> f64 {
    match d.weekday() {
        Weekday::Mon => 0.94,
        Weekday::Tue => 0.95,
        Weekday::Wed => 0.97,
        Weekday::Thu => 0.98,
        Weekday::Fri => 1.03,
        Weekday::Sat => 1.11,
        Weekday::Sun => 1.09,
    }
}

const COLD_BY_MONTH: [f64; 12] = [
    1.0, 0.85, 0.55, 0.3, 0.1, 0.0, 0.0, 0.05, 0.3, 0.6, 0.9, 1.0,
];

/// How cold the season is, 0 (midsummer) .. 1 (midwinter), interpolated
/// through the month.
pub fn coldness(d: NaiveDate) -> f64 {
    let m = d.month0() as usize;
    let a = COLD_BY_MONTH[m];
    let b = COLD_BY_MONTH[(m + 1) % 12];
    a + (b - a) * f64::from(d.day0()) / 30.0
}

/// Demand multiplier for a category that leans `cold` (-1 .. 1).
pub fn season_factor(cold: f64, d: NaiveDate) -> f64 {
    (1.0 + cold * (coldness(d) - 0.5) * 1.4).max(0.15)
}

const HOURS_NORMAL: [u32; 24] = [
    30, 14, 7, 4, 3, 4, 8, 18, 32, 48, 58, 60, 55, 54, 58, 60, 56, 52, 50, 58, 75, 85, 80, 55,
];
const HOURS_PEAK: [u32; 24] = [
    320, 170, 60, 20, 10, 8, 10, 20, 40, 60, 70, 70, 65, 60, 60, 60, 58, 56, 56, 65, 110, 140, 125,
    95,
];

/// Hour-of-day weights: festival days open with a midnight rush.
pub fn hour_weights(d: NaiveDate) -> &'static [u32; 24] {
    if event_factor(d) >= 2.0 {
        &HOURS_PEAK
    } else {
        &HOURS_NORMAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_eleven_is_the_peak_and_presale_pays_on_it() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(event_factor(d(11, 11)), 9.0);
        assert_eq!(presale_balance_day(d(10, 20)), Some(d(11, 11)));
        assert_eq!(presale_balance_day(d(11, 11)), None);
        assert!(season_factor(1.0, d(11, 20)) > season_factor(1.0, d(8, 20)));
    }
}
