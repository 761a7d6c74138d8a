//! How typed values are laid out in SQLite columns, in one place so every
//! reader and writer agrees: money as INTEGER ten-thousandths of a yuan
//! (exact, summable in SQL), plain numbers and ratios as exact decimal TEXT,
//! instants as INTEGER unix seconds UTC, calendar dates as `YYYY-MM-DD` TEXT
//! (which sorts like the dates themselves).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::error::StoreError;

/// Ten-thousandths of a yuan per stored unit.
pub(crate) const MONEY_SCALE: u32 = 4;

/// Money to its stored integer; digits beyond 4 places are rounded half-even.
/// `None` if the amount does not fit (beyond ±9.2 × 10¹⁴ yuan).
pub(crate) fn money_to_i64(d: Decimal) -> Option<i64> {
    let rounded = d.round_dp_with_strategy(MONEY_SCALE, RoundingStrategy::MidpointNearestEven);
    rounded.checked_mul(Decimal::from(10_000))?.trunc().to_i64()
}

pub(crate) fn money_from_i64(v: i64) -> Decimal {
    Decimal::new(v, MONEY_SCALE).normalize()
}

pub(crate) fn decimal_to_text(d: Decimal) -> String {
    d.normalize().to_string()
}

pub(crate) fn decimal_from_text(
    table: &'static str,
    column: &'static str,
    s: &str,
) -> Result<Decimal, StoreError> {
    Decimal::from_str(s).map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: s.to_owned(),
    })
}

pub(crate) fn instant_to_i64(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn instant_from_i64(
    table: &'static str,
    column: &'static str,
    v: i64,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(v, 0).ok_or_else(|| StoreError::Corrupt {
        table,
        column,
        value: v.to_string(),
    })
}

/// Milliseconds, for the run ledger where durations of a few seconds matter.
pub(crate) fn instant_to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn instant_from_ms(
    table: &'static str,
    column: &'static str,
    v: i64,
) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| StoreError::Corrupt {
        table,
        column,
        value: v.to_string(),
    })
}

/// Nanoseconds, for file modification times: two writes within one second
/// must still look different to the inbox check.
pub(crate) fn instant_to_ns(t: DateTime<Utc>) -> Option<i64> {
    t.timestamp_nanos_opt()
}

pub(crate) fn instant_from_ns(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(v)
}

pub(crate) fn date_to_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn date_from_text(
    table: &'static str,
    column: &'static str,
    s: &str,
) -> Result<NaiveDate, StoreError> {
    // Every stored day is written by `date_to_text`: read that form
    // directly (loaders parse one per row, hundreds of thousands a run),
    // anything else through chrono, which also reports what is wrong.
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10))
        && let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d)
    {
        return Ok(date);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: s.to_owned(),
    })
}

/// Traffic source names that mean "the whole shop" in exports.
pub(crate) fn is_shop_total_source(s: &str) -> bool {
    matches!(s.trim(), "" | "全店" | "汇总" | "total" | "Total" | "TOTAL")
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_days_read_back_and_bad_ones_are_reported() {
        use super::{date_from_text, date_to_text};
        let d = chrono::NaiveDate::from_ymd_opt(2028, 2, 29).unwrap();
        assert_eq!(date_from_text("t", "day", &date_to_text(d)).unwrap(), d);
        for bad in ["2026-02-30", "2026-13-01", "20261101", "2026-11-0x", ""] {
            assert!(date_from_text("t", "day", bad).is_err(), "{bad:?}");
        }
    }

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn money_round_trips_exactly_at_four_places() {
        for s in ["0", "0.1", "0.2", "12.34", "-5.0001", "999999999.9999"] {
            let stored = money_to_i64(dec(s)).unwrap();
            assert_eq!(money_from_i64(stored), dec(s), "{s}");
        }
        assert_eq!(money_to_i64(dec("0.1")), Some(1_000));
        assert_eq!(money_to_i64(dec("12.34")), Some(123_400));
    }

    #[test]
    fn money_beyond_four_places_rounds_half_even() {
        assert_eq!(money_to_i64(dec("0.00005")), Some(0));
        assert_eq!(money_to_i64(dec("0.00015")), Some(2));
        assert_eq!(money_to_i64(dec("0.00025")), Some(2));
        assert_eq!(money_to_i64(dec("0.000251")), Some(3));
        assert_eq!(money_to_i64(dec("-0.00015")), Some(-2));
    }

    #[test]
    fn money_too_large_is_refused() {
        assert_eq!(money_to_i64(dec("1000000000000000")), None);
        assert!(money_to_i64(dec("900000000000000")).is_some());
    }

    #[test]
    fn shop_total_names() {
        for s in ["", " ", "全店", "汇总", "total", "Total"] {
            assert!(is_shop_total_source(s), "{s:?}");
        }
        assert!(!is_shop_total_source("手淘搜索"));
    }

    #[test]
    fn corrupt_values_are_reported_with_their_column() {
        let e = date_from_text("traffic", "day", "22/11/2026").unwrap_err();
        assert!(e.to_string().contains("traffic"), "{e}");
        assert!(decimal_from_text("traffic", "bounce_rate", "abc").is_err());
        assert!(instant_from_i64("orders", "paid_at", i64::MAX).is_err());
    }
}
