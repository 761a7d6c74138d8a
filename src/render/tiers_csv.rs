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
    let written = write_member_tiers(io::BufWriter::new(file), result.rows()).and_then(|w| {
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
    // Formatting into a String cannot fail, so the fmt::Results are ignored.
    macro_rules! field {
        ($fmt:expr) => {{
            cell.clear();
            let _ = write!(cell, "{}", $fmt);
            csv.write_field(cell.as_bytes())?;
        }};
    }
    macro_rules! opt {
        ($v:expr) => {{
            match $v {
                Some(v) => field!(v),
                None => csv.write_field(b"")?,
            }
        }};
    }
    text(csv, cell, row.member_id)?;
    opt!(row.first_purchase);
    opt!(row.last_purchase);
    opt!(row.recency_days);
    field!(row.frequency);
    field!(row.monetary);
    opt!(row.r_score);
    opt!(row.f_score);
    opt!(row.m_score);
    text(csv, cell, row.segment.unwrap_or(""))?;
    text(csv, cell, row.level)?;
    text(csv, cell, row.level_prev.unwrap_or(""))?;
    csv.write_field(row.level_change.as_str())?;
    csv.write_field(row.class.as_str())?;
    csv.write_field(row.lifecycle.as_str())?;
    opt!(row.cycle_days);
    csv.write_record(std::iter::empty::<&[u8]>())?;
    Ok(())
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
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

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
