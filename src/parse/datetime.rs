//! Dates and timestamps as exports write them: `2026-11-22 10:01:02`,
//! `2026/11/22 10:01`, `2026年11月22日 10:01:02`, ISO 8601 with an offset,
//! `20261122`, and Excel serial numbers. Hand-written rather than a list of
//! `strftime` patterns tried in turn: this runs once per cell of every row.

use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;

/// A parsed timestamp: wall time plus the offset written with it, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) local: NaiveDateTime,
    pub(crate) offset: Option<FixedOffset>,
    pub(crate) has_time: bool,
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_str(&mut self, t: &str) -> bool {
        if self.s[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    /// Between `min` and `max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        let mut v: u32 = 0;
        while self.i - start < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    v = v * 10 + u32::from(b - b'0');
                    self.i += 1;
                }
                _ => break,
            }
        }
        (self.i - start >= min).then_some(v)
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
}

/// Parses date text, with an optional time and offset after it.
pub(crate) fn parse_stamp(s: &str) -> Option<Stamp> {
    let mut c = Cursor { s, i: 0 };
    let year = c.digits(4, 4)? as i32;
    let (month, day);
    if matches!(c.peek(), Some(b'0'..=b'9')) {
        month = c.digits(2, 2)?;
        day = c.digits(2, 2)?;
    } else if c.eat_str("年") {
        month = c.digits(1, 2)?;
        if !c.eat_str("月") {
            return None;
        }
        day = c.digits(1, 2)?;
        c.eat_str("日");
    } else {
        let sep = c.peek().filter(|b| matches!(b, b'-' | b'/' | b'.'))?;
        c.i += 1;
        month = c.digits(1, 2)?;
        if !c.eat(sep) {
            return None;
        }
        day = c.digits(1, 2)?;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if c.done() {
        return Some(Stamp {
            local: date.and_time(NaiveTime::MIN),
            offset: None,
            has_time: false,
        });
    }
    if !c.eat(b'T') {
        let before = c.i;
        while c.eat(b' ') {}
        if c.i == before {
            return None;
        }
    }
    let hour = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2, 2)?;
    let mut second = 0;
    let mut milli = 0;
    if c.eat(b':') {
        second = c.digits(2, 2)?;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.i;
            let frac = c.digits(1, 9)?;
            let len = (c.i - start) as u32;
            milli = if len >= 3 {
                frac / 10u32.pow(len - 3)
            } else {
                frac * 10u32.pow(3 - len)
            };
        }
    }
    let time = NaiveTime::from_hms_milli_opt(hour, minute, second, milli)?;
    while c.eat(b' ') {}
    let offset = if c.done() {
        None
    } else if c.eat(b'Z') || c.eat(b'z') {
        Some(FixedOffset::east_opt(0)?)
    } else {
        let sign = match c.peek()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        c.i += 1;
        let oh = c.digits(2, 2)?;
        c.eat(b':');
        let om = if c.done() { 0 } else { c.digits(2, 2)? };
        FixedOffset::east_opt(sign * (oh as i32 * 3600 + om as i32 * 60))
    };
    if !c.done() {
        return None;
    }
    Some(Stamp {
        local: date.and_time(time),
        offset,
        has_time: true,
    })
}

/// The instant a wall-clock time names in `tz`. In a DST overlap the
/// earlier instant is taken; in a gap the time is read with the offset in
/// force just before the gap (02:30 on a spring-forward night becomes 03:30).
pub(crate) fn localize(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            let before = local - Duration::hours(6);
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.offset().fix(),
                LocalResult::None => Utc.fix(),
            };
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(offset.local_minus_utc()))))
        }
    }
}

/// An instant from a stamp: its own offset if it has one, else the shop's zone.
pub(crate) fn stamp_instant(st: Stamp, tz: Tz) -> DateTime<Utc> {
    match st.offset {
        Some(off) => {
            Utc.from_utc_datetime(&(st.local - Duration::seconds(i64::from(off.local_minus_utc()))))
        }
        None => localize(st.local, tz),
    }
}

/// Excel's largest serial (9999-12-31) plus one.
const MAX_SERIAL: f64 = 2_958_466.0;

/// Wall time of an Excel serial in the 1900 date system (with Excel's
/// phantom 1900-02-29 below serial 60).
pub(crate) fn from_serial(serial: f64) -> Option<NaiveDateTime> {
    if !serial.is_finite() || !(1.0..MAX_SERIAL).contains(&serial) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_time(NaiveTime::MIN);
    let adjusted = if serial < 60.0 { serial + 1.0 } else { serial };
    let ms = (adjusted * 86_400_000.0).round() as i64;
    epoch.checked_add_signed(Duration::milliseconds(ms))
}

/// A serial written as text (`46348.41875`): digits with at most one point.
pub(crate) fn serial_text(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() || b.iter().filter(|&&c| c == b'.').count() > 1 {
        return None;
    }
    if !b.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return None;
    }
    s.parse().ok()
}

/// A `yyyymmdd` number (from text or a numeric cell).
pub(crate) fn yyyymmdd(n: i64) -> Option<NaiveDate> {
    if !(10_000_101..=99_991_231).contains(&n) {
        return None;
    }
    NaiveDate::from_ymd_opt((n / 10000) as i32, (n / 100 % 100) as u32, (n % 100) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn the_spec_formats_parse() {
        let want = dt("2026-11-22 10:01:02");
        assert_eq!(parse_stamp("2026-11-22 10:01:02").unwrap().local, want);
        assert_eq!(parse_stamp("2026年11月22日 10:01:02").unwrap().local, want);
        assert_eq!(
            parse_stamp("2026/11/22 10:01").unwrap().local,
            dt("2026-11-22 10:01:00")
        );
        assert_eq!(
            parse_stamp("2026/1/5 9:01").unwrap().local,
            dt("2026-01-05 09:01:00")
        );
        assert_eq!(
            parse_stamp("2026-11-22T10:01:02.5").unwrap().local,
            dt("2026-11-22 10:01:02.5")
        );
        let iso = parse_stamp("2026-11-22T10:01:02+08:00").unwrap();
        assert_eq!(iso.offset, FixedOffset::east_opt(8 * 3600));
        assert_eq!(
            parse_stamp("2026-11-22T02:01:02Z").unwrap().offset,
            FixedOffset::east_opt(0)
        );
        let d = parse_stamp("20261122").unwrap();
        assert!(!d.has_time);
        assert_eq!(d.local, dt("2026-11-22 00:00:00"));
        assert_eq!(
            parse_stamp("2026年11月22日").unwrap().local.date(),
            want.date()
        );
    }

    #[test]
    fn impossible_dates_and_junk_are_refused() {
        for s in [
            "2026-13-45",
            "2026-02-30",
            "2026-11-22 25:00:00",
            "2026-11",
            "11/22/2026",
            "2026-11-22 10:01:02 foo",
            "2026-11/22",
        ] {
            assert_eq!(parse_stamp(s), None, "{s}");
        }
    }

    #[test]
    fn offsets_and_shop_zone() {
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        let st = parse_stamp("2026-11-22 10:01:02").unwrap();
        assert_eq!(
            stamp_instant(st, sh),
            Utc.with_ymd_and_hms(2026, 11, 22, 2, 1, 2).unwrap()
        );
        let st = parse_stamp("2026-11-22T10:01:02-05:00").unwrap();
        assert_eq!(
            stamp_instant(st, sh),
            Utc.with_ymd_and_hms(2026, 11, 22, 15, 1, 2).unwrap()
        );
    }

    #[test]
    fn dst_gap_and_overlap() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 2026-03-08 02:30 does not exist in New York: read as EST (-5).
        let gap = localize(dt("2026-03-08 02:30:00"), ny);
        assert_eq!(gap, Utc.with_ymd_and_hms(2026, 3, 8, 7, 30, 0).unwrap());
        // 2026-11-01 01:30 happens twice: the earlier is EDT (-4).
        let overlap = localize(dt("2026-11-01 01:30:00"), ny);
        assert_eq!(
            overlap,
            Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap()
        );
    }

    #[test]
    fn excel_serials() {
        assert_eq!(from_serial(46348.0).unwrap(), dt("2026-11-22 00:00:00"));
        assert_eq!(
            from_serial(46348.41738425926).unwrap(),
            dt("2026-11-22 10:01:02")
        );
        assert_eq!(from_serial(61.0).unwrap(), dt("1900-03-01 00:00:00"));
        assert_eq!(from_serial(0.5), None);
        assert_eq!(from_serial(3e6), None);
        assert_eq!(serial_text("46348.5"), Some(46348.5));
        assert_eq!(serial_text("4.6e4"), None);
        assert_eq!(yyyymmdd(20261122), NaiveDate::from_ymd_opt(2026, 11, 22));
        assert_eq!(yyyymmdd(20261345), None);
    }
}
