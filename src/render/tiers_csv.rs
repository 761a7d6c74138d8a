//! `member_tiers.csv` (SPEC §12): one row per member with the exact column
//! list, UTF-8 with a byte-order mark so Excel opens the Chinese text
//! correctly, CRLF line ends, dates as `YYYY-MM-DD` and empty cells for
//! values a member does not have (no purchase, not scored, no previous
//! level).
//!
//! Text cells (member ids, segment and level names) that start with `=`,
//! `+`, `-` or `@` are prefixed with `'` so a spreadsheet never evaluates
//! them (SPEC §10). Rows are streamed: two million members never exist as
//! strings at once.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::compute::tiers::{MemberTier, TierResult};

/// The header row, in order.
pub const MEMBER_TIERS_COLUMNS: [&str; 16] = [
    "member_id",
    "first_purchase",
    "last_purchase",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "segment",
    "level",
    "level_prev",
    "level_change",
    "class",
    "lifecycle",
    "cycle_days",
];

const BOM: &[u8] = "\u{feff}".as_bytes();

#[derive(Debug, thiserror::Error)]
pub enum TiersCsvError {
    #[error("member_tiers.csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("member_tiers.csv: {0}")]
    Io(#[from] io::Error),
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Writes the file's bytes to `out` and returns it (flushed).
pub fn write_member_tiers<'a, W, I>(mut out: W, rows: I) -> Result<W, TiersCsvError>
where
    W: Write,
    I: IntoIterator<Item = MemberTier<'a>>,
{
    out.write_all(BOM)?;
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    csv.write_record(MEMBER_TIERS_COLUMNS)?;
    let mut cell = String::new();
    for row in rows {
        write_row(&mut csv, &mut cell, &row)?;
    }
    csv.flush()?;
    csv.into_inner()
        .map_err(|e| TiersCsvError::Io(e.into_error()))
}

/// Writes `<dir>/member_tiers.csv` through a temporary name and a rename, so
/// a reader never sees half a file.
pub fn write_member_tiers_file(dir: &Path, result: &TierResult) -> Result<PathBuf, TiersCsvError> {
    let path = dir.join("member_tiers.csv");
    let tmp = dir.join(".member_tiers.csv.tmp");
    let file_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TiersCsvError::File { path: p, source }
    };
    let file = fs::File::create(&tmp).map_err(file_err(&tmp))?;
    let written = write_member_tiers(io::BufWriter::with_capacity(1 << 20, file), result.rows())
        .and_then(|w| {
            let file = w
                .into_inner()
                .map_err(|e| TiersCsvError::Io(e.into_error()))?;
            file.sync_all().map_err(file_err(&tmp))
        });
    if let Err(e) = written {
        // The temp file is garbage now; failing to remove it changes nothing.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, &path).map_err(file_err(&path))?;
    Ok(path)
}

fn write_row<W: Write>(
    csv: &mut csv::Writer<W>,
    cell: &mut String,
    row: &MemberTier<'_>,
) -> Result<(), TiersCsvError> {
    // Numbers and dates go through the small formatters below rather than
    // `Display`: four million rows are ~40 million such cells, and the
    // formatting machinery was most of the file's cost.
    macro_rules! field {
        ($push:ident, $v:expr) => {{
            cell.clear();
            $push(cell, $v);
            csv.write_field(cell.as_bytes())?;
        }};
    }
    macro_rules! opt {
        ($push:ident, $v:expr) => {{
            match $v {
                Some(v) => field!($push, v),
                None => csv.write_field(b"")?,
            }
        }};
    }
    text(csv, cell, row.member_id)?;
    opt!(push_date, row.first_purchase);
    opt!(push_date, row.last_purchase);
    opt!(push_uint, row.recency_days.map(u64::from));
    field!(push_uint, u64::from(row.frequency));
    field!(push_decimal, row.monetary);
    opt!(push_uint, row.r_score.map(u64::from));
    opt!(push_uint, row.f_score.map(u64::from));
    opt!(push_uint, row.m_score.map(u64::from));
    text(csv, cell, row.segment.unwrap_or(""))?;
    text(csv, cell, row.level)?;
    text(csv, cell, row.level_prev.unwrap_or(""))?;
    csv.write_field(row.level_change.as_str())?;
    csv.write_field(row.class.as_str())?;
    csv.write_field(row.lifecycle.as_str())?;
    opt!(push_decimal, row.cycle_days);
    csv.write_record(std::iter::empty::<&[u8]>())?;
    Ok(())
}

/// Appends `n` in decimal.
fn push_uint(out: &mut String, n: u64) {
    let mut digits = [0u8; 40];
    let at = write_digits(u128::from(n), &mut digits);
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// Writes `n`'s decimal digits at the end of `digits`, returning where
/// they start (40 bytes hold any u128).
fn write_digits(mut n: u128, digits: &mut [u8; 40]) -> usize {
    let mut at = digits.len();
    loop {
        at -= 1;
        // n % 10 < 10: the cast cannot truncate.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return at;
        }
    }
}

/// Appends `d` as `Display` writes it (`YYYY-MM-DD`).
fn push_date(out: &mut String, d: NaiveDate) {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        // Signed or five-digit years: rare enough for the slow path.
        let _ = write!(out, "{d}");
        return;
    }
    let two = |out: &mut String, n: u32| {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    // 0 ≤ year ≤ 9999 was checked above.
    let year = year.unsigned_abs();
    two(out, year / 100);
    two(out, year % 100);
    out.push('-');
    two(out, d.month());
    out.push('-');
    two(out, d.day());
}

/// Appends `d` as `Display` writes it: every digit of its scale, so
/// `23.20` stays `23.20` and zero at scale 2 is `0.00`.
fn push_decimal(out: &mut String, d: Decimal) {
    if d.is_sign_negative() {
        // Never a member's amount or cycle; `Display` knows its sign rules.
        let _ = write!(out, "{d}");
        return;
    }
    let scale = d.scale() as usize;
    let mut digits = [0u8; 40];
    let mut at = write_digits(d.mantissa().unsigned_abs(), &mut digits);
    // At least one digit before the point.
    while digits.len() - at < scale + 1 {
        at -= 1;
        digits[at] = b'0';
    }
    let point = digits.len() - scale;
    for (i, &c) in digits.iter().enumerate().skip(at) {
        if i == point {
            out.push('.');
        }
        out.push(char::from(c));
    }
}

/// Writes a text cell, neutralising spreadsheet formulas.
fn text<W: Write>(
    csv: &mut csv::Writer<W>,
    cell: &mut String,
    s: &str,
) -> Result<(), TiersCsvError> {
    if s.starts_with(['=', '+', '-', '@']) {
        cell.clear();
        cell.push('\'');
        cell.push_str(s);
        csv.write_field(cell.as_bytes())?;
    } else {
        csv.write_field(s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::tiers::{LevelChange, Lifecycle, PurchaseClass};

    fn row<'a>(id: &'a str) -> MemberTier<'a> {
        MemberTier {
            member_id: id,
            first_purchase: None,
            last_purchase: None,
            recency_days: None,
            frequency: 0,
            monetary: Decimal::ZERO,
            r_score: None,
            f_score: None,
            m_score: None,
            segment: None,
            level: "小白",
            level_prev: None,
            level_change: LevelChange::New,
            class: PurchaseClass::A,
            lifecycle: Lifecycle::Potential,
            cycle_days: None,
        }
    }

    #[test]
    fn bom_header_and_rows() {
        let full = MemberTier {
            member_id: "张三,\"VIP\"",
            first_purchase: NaiveDate::from_ymd_opt(2026, 1, 2),
            last_purchase: NaiveDate::from_ymd_opt(2026, 10, 30),
            recency_days: Some(1),
            frequency: 3,
            monetary: "1234.50".parse().unwrap(),
            r_score: Some(5),
            f_score: Some(4),
            m_score: Some(3),
            segment: Some("champions"),
            level: "素人",
            level_prev: Some("小白"),
            level_change: LevelChange::Up,
            class: PurchaseClass::C,
            lifecycle: Lifecycle::Active,
            cycle_days: Some("150.50".parse().unwrap()),
        };
        let bytes = write_member_tiers(
            Vec::new(),
            [full, row("=HYPERLINK(1)"), row("-1"), row("@x"), row("+y")],
        )
        .unwrap();
        assert_eq!(&bytes[..3], [0xEF, 0xBB, 0xBF]);
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let expected = "member_id,first_purchase,last_purchase,recency_days,frequency,monetary,r_score,f_score,m_score,segment,level,level_prev,level_change,class,lifecycle,cycle_days\r\n\
            \"张三,\"\"VIP\"\"\",2026-01-02,2026-10-30,1,3,1234.50,5,4,3,champions,素人,小白,up,C,active,150.50\r\n\
            '=HYPERLINK(1),,,,0,0,,,,,小白,,new,A,potential,\r\n\
            '-1,,,,0,0,,,,,小白,,new,A,potential,\r\n\
            '@x,,,,0,0,,,,,小白,,new,A,potential,\r\n\
            '+y,,,,0,0,,,,,小白,,new,A,potential,\r\n";
        assert_eq!(text, expected);
    }

    /// The small formatters write what `Display` writes, across scales,
    /// sizes, zeros and the years at the edges of the fast path.
    #[test]
    fn number_and_date_formatters_match_display() {
        let mut decimals = vec![
            Decimal::ZERO,
            Decimal::new(0, 2),
            Decimal::new(5, 2),
            Decimal::new(2320, 2),
            Decimal::new(17519, 1),
            Decimal::new(-5, 2),
            Decimal::new(-12345, 0),
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 28),
            Decimal::new(i64::MAX, 28),
            "0.0000".parse().unwrap(),
            "-0.00".parse().unwrap(),
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for scale in 0..=28 {
            for _ in 0..50 {
                // xorshift: varied mantissas without a dependency.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let m = i64::try_from(x >> (x % 60 + 1)).unwrap();
                decimals.push(Decimal::new(m, scale));
            }
        }
        for d in decimals {
            let mut s = String::new();
            push_decimal(&mut s, d);
            assert_eq!(s, d.to_string(), "{d:?}");
        }
        for n in [0, 1, 9, 10, 99, 100, 12345, u64::from(u32::MAX), u64::MAX] {
            let mut s = String::new();
            push_uint(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let dates = [
            NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(0, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(999, 10, 9).unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(10000, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(-1, 6, 15).unwrap(),
            NaiveDate::MIN,
            NaiveDate::MAX,
        ];
        for d in dates {
            let mut s = String::new();
            push_date(&mut s, d);
            assert_eq!(s, d.to_string());
        }
    }

    #[test]
    fn failing_writer_reports_the_error() {
        #[derive(Debug)]
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_member_tiers(Broken, [row("a")]).unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }
}
