//! Workbooks (.xlsx, .xls) through calamine: the chosen sheet is read into
//! a range (workbooks are bounded by Excel's own row limit), its first rows
//! searched for the header, and each row fed to the row engine with typed
//! cells, so dates stay dates and numbers keep their exact digits.

use std::io::Cursor;

use calamine::{Data, Range, Reader, Xls, Xlsx, open_workbook_from_rs};

use super::error::{Location, ParseError};
use super::header::{AliasTable, HEADER_SCAN_ROWS};
use super::rows::{Engine, Row, find_header, header_cells, missing_fields};
use super::text::Container;
use super::value::Cell;
use super::{Format, ParseOptions, ParseReport};
use crate::model::Record;

impl Row for [Data] {
    fn width(&self) -> usize {
        self.len()
    }
    fn cell(&self, i: usize) -> Cell<'_> {
        match self.get(i) {
            None | Some(Data::Empty) => Cell::Empty,
            Some(Data::String(s)) | Some(Data::DateTimeIso(s)) | Some(Data::DurationIso(s)) => {
                Cell::Text(s)
            }
            Some(Data::Float(x)) => Cell::Float(*x),
            Some(Data::Int(i)) => Cell::Int(*i),
            Some(Data::Bool(b)) => Cell::Bool(*b),
            Some(Data::DateTime(d)) if d.is_duration() => Cell::Duration(d.as_f64()),
            Some(Data::DateTime(d)) => Cell::DateTime(d.as_datetime()),
            Some(Data::Error(_)) => Cell::Error,
        }
    }
}

fn excel_error(file: &str, e: impl Into<calamine::Error>) -> ParseError {
    ParseError::Excel {
        file: file.to_string(),
        source: e.into(),
    }
}

/// The wanted sheet's name and cells.
fn read_sheet<W>(
    file: &str,
    wb: &mut W,
    wanted: Option<&str>,
) -> Result<(String, Range<Data>), ParseError>
where
    W: Reader<Cursor<Vec<u8>>>,
    W::Error: Into<calamine::Error>,
{
    let names = wb.sheet_names();
    let name = match wanted {
        Some(w) => names
            .iter()
            .find(|n| n.as_str() == w)
            .cloned()
            .ok_or_else(|| ParseError::SheetNotFound {
                file: file.to_string(),
                sheet: w.to_string(),
                available: names.clone(),
            })?,
        None => names.first().cloned().ok_or_else(|| ParseError::NoSheets {
            file: file.to_string(),
        })?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| excel_error(file, e))?;
    Ok((name, range))
}

pub(crate) fn parse_workbook(
    bytes: Vec<u8>,
    container: Container,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Record),
    warnings: Vec<String>,
) -> Result<ParseReport, ParseError> {
    let file = opts.file_name.as_str();
    let wanted = opts.sheet.as_deref();
    let (encoding, (sheet, range)) = match container {
        Container::Cfb => {
            let mut wb: Xls<_> =
                open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| excel_error(file, e))?;
            ("xls", read_sheet(file, &mut wb, wanted)?)
        }
        Container::Zip | Container::Text => {
            let mut wb: Xlsx<_> =
                open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| excel_error(file, e))?;
            ("xlsx", read_sheet(file, &mut wb, wanted)?)
        }
    };
    let first_row = u64::from(range.start().map_or(0, |(r, _)| r));
    let at = |i: usize| Location::SheetRow {
        sheet: sheet.clone(),
        row: first_row + i as u64 + 1,
    };
    let candidates: Vec<(Vec<String>, Location)> = range
        .rows()
        .take(HEADER_SCAN_ROWS)
        .enumerate()
        .map(|(i, r)| (header_cells(r), at(i)))
        .collect();
    if candidates
        .iter()
        .all(|(cells, _)| cells.iter().all(|c| c.trim().is_empty()))
    {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
    }
    let table = AliasTable::new(opts.dataset, &opts.extra_aliases);
    let (hi, m) = find_header(file, &table, &candidates)?;
    let missing = missing_fields(&table, &m);
    if !missing.is_empty() {
        return Err(ParseError::MissingColumns {
            file: file.to_string(),
            location: at(hi),
            missing,
        });
    }
    let mut report = ParseReport::new(encoding, Format::Excel);
    report.sheet = Some(sheet.clone());
    report.header_row = first_row + hi as u64 + 1;
    report.warnings = warnings;
    for f in &table.unknown_fields {
        report.warnings.push(format!(
            "{file}: configured aliases name {f:?}, which {} does not have",
            opts.dataset
        ));
    }
    let mut engine = Engine::new(file, Some(sheet.clone()), opts.dataset, opts.tz, m, report);
    for (i, row) in range.rows().enumerate().skip(hi + 1) {
        engine.row(row, first_row + i as u64 + 1, None, sink);
    }
    Ok(engine.finish())
}
