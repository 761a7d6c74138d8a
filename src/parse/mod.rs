//! The parse stage: turns one export file (CSV/TSV/semicolon/pipe text in
//! UTF-8, UTF-16 or GB18030, or an .xlsx/.xls workbook) into a stream of
//! [`Record`]s of one dataset, following SPEC §4.2: format and encoding
//! detected from content, the header row found among preamble rows and
//! matched against the dataset's aliases, summary/placeholder/note rows
//! dropped and counted, and every cell converted by its field's kind.
//!
//! Records go to a sink as they are parsed, so a file of millions of rows
//! never sits in memory; the [`ParseReport`] keeps the tally, the column
//! mapping and up to [`MAX_INVALID_SAMPLES`] invalid values for the checks.

mod datetime;
mod error;
mod excel;
mod header;
mod rows;
mod text;
mod textfile;
mod value;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

pub use error::{Location, MissingField, ParseError};
pub use rows::MAX_INVALID_SAMPLES;

use crate::model::{Dataset, Record};
use text::Container;

/// What the parse of one file needs to know.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub dataset: Dataset,
    /// The shop's zone, for datetimes written without an offset.
    pub tz: chrono_tz::Tz,
    /// Canonical field → extra header aliases from config.
    pub extra_aliases: HashMap<String, Vec<String>>,
    /// Worksheet to read; the first sheet when `None`.
    pub sheet: Option<String>,
    /// The name every error and warning starts with.
    pub file_name: String,
}

impl ParseOptions {
    /// Options with the default zone (Asia/Shanghai), no extra aliases and
    /// the first sheet.
    pub fn new(dataset: Dataset, file_name: impl Into<String>) -> ParseOptions {
        ParseOptions {
            dataset,
            tz: chrono_tz::Asia::Shanghai,
            extra_aliases: HashMap::new(),
            sheet: None,
            file_name: file_name.into(),
        }
    }
}

/// The container a file turned out to be, judged by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Excel,
}

/// Why a row was dropped without being an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Every cell empty.
    Blank,
    /// The key column says 合计 / 总计 / 汇总 / Total (or a lone number
    /// stands outside the key column: an unlabeled total).
    Summary,
    /// The key column is `-`.
    Placeholder,
    /// A single text cell such as `注：…` or `数据来源：…`.
    Note,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Blank => "blank",
            DropReason::Summary => "summary",
            DropReason::Placeholder => "placeholder",
            DropReason::Note => "note",
        }
    }
}

/// Which source column feeds a canonical field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    pub field: &'static str,
    /// The header text as found (after cleanup of spaces and BOM).
    pub header: String,
    /// 0-based column index within the row.
    pub column: usize,
}

/// A cell that could not be read as its field's kind, or a required value
/// that was missing, or a row broken as a whole (truncated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    pub file: String,
    /// The worksheet, for workbooks.
    pub sheet: Option<String>,
    /// 1-based number of the data row below the header (dropped rows count).
    pub record: u64,
    /// 1-based line where the record starts (CSV) or sheet row (Excel).
    pub row: u64,
    /// The source header of the column.
    pub column: String,
    /// The canonical field.
    pub field: &'static str,
    /// The cell as written.
    pub value: String,
    /// What is wrong, e.g. `invalid amount`.
    pub reason: String,
    /// True if the row was rejected (a required field was missing or
    /// invalid, or the row was truncated); false if only this optional
    /// value became missing.
    pub row_rejected: bool,
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: record {} (", self.file, self.record)?;
        match &self.sheet {
            Some(s) => write!(f, "sheet {s:?} row {}", self.row)?,
            None => write!(f, "line {}", self.row)?,
        }
        write!(f, ", column {:?}): {}", self.column, self.reason)?;
        if !self.value.is_empty() {
            write!(f, " {:?}", self.value)?;
        }
        Ok(())
    }
}

/// What parsing one file found.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseReport {
    /// `UTF-8`, `UTF-8-BOM`, `UTF-16LE`, `UTF-16BE`, `GB18030`; `xlsx` or
    /// `xls` for workbooks.
    pub encoding: &'static str,
    pub format: Format,
    /// The sheet read, for workbooks.
    pub sheet: Option<String>,
    /// The field delimiter, for text files.
    pub delimiter: Option<char>,
    /// 1-based line (CSV) or sheet row (Excel) of the header.
    pub header_row: u64,
    /// Mapped columns, in column order.
    pub columns: Vec<ColumnMap>,
    pub unmapped_headers: Vec<String>,
    /// Records handed to the sink.
    pub records: u64,
    pub dropped: BTreeMap<DropReason, u64>,
    /// Rows not handed to the sink because of a missing or invalid required
    /// value or a truncation.
    pub rows_rejected: u64,
    /// The first [`MAX_INVALID_SAMPLES`] invalid values.
    pub invalid: Vec<InvalidValue>,
    /// All invalid values, including those beyond the samples.
    pub invalid_total: u64,
    pub warnings: Vec<String>,
}

impl ParseReport {
    fn new(encoding: &'static str, format: Format) -> ParseReport {
        ParseReport {
            encoding,
            format,
            sheet: None,
            delimiter: None,
            header_row: 0,
            columns: Vec::new(),
            unmapped_headers: Vec::new(),
            records: 0,
            dropped: BTreeMap::new(),
            rows_rejected: 0,
            invalid: Vec::new(),
            invalid_total: 0,
            warnings: Vec::new(),
        }
    }

    /// Rows dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// The container by content: zip → workbook (.xlsx), OLE compound file →
/// workbook (.xls), anything else → text.
pub fn detect_format(prefix: &[u8]) -> Format {
    match text::container(prefix) {
        Container::Zip | Container::Cfb => Format::Excel,
        Container::Text => Format::Csv,
    }
}

/// Parses a file; the extension is only a hint, the content decides.
pub fn parse_path(
    path: &Path,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Record),
) -> Result<ParseReport, ParseError> {
    let file = File::open(path).map_err(|source| ParseError::Io {
        file: opts.file_name.clone(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    parse_reader(file, ext, opts, sink)
}

/// Parses a stream; `ext_hint` is the file's extension (`csv`, `xlsx`, …)
/// and only decides which warning a mismatch gives.
pub fn parse_reader<R: Read>(
    mut reader: R,
    ext_hint: &str,
    opts: &ParseOptions,
    sink: &mut dyn FnMut(Record),
) -> Result<ParseReport, ParseError> {
    let file = opts.file_name.as_str();
    let io_err = |source| ParseError::Io {
        file: file.to_string(),
        source,
    };
    let mut prefix = Vec::with_capacity(8 * 1024);
    let at_eof = (&mut reader)
        .take(text::SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(io_err)?
        < text::SNIFF_BYTES;
    if prefix.is_empty() {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
    }
    let ext = ext_hint.trim_start_matches('.').to_ascii_lowercase();
    let named_excel = matches!(ext.as_str(), "xlsx" | "xls" | "xlsm");
    let container = text::container(&prefix);
    let mut warnings = Vec::new();
    match container {
        Container::Zip | Container::Cfb => {
            if !named_excel && !ext.is_empty() {
                warnings.push(format!(
                    "{file}: named .{ext} but the content is an Excel workbook; read as a workbook"
                ));
            }
            let mut bytes = prefix;
            if !at_eof {
                reader.read_to_end(&mut bytes).map_err(io_err)?;
            }
            excel::parse_workbook(bytes, container, opts, sink, warnings)
        }
        Container::Text => {
            if named_excel {
                warnings.push(format!(
                    "{file}: named .{ext} but the content is text, not a workbook; read as CSV"
                ));
            }
            textfile::parse_text(prefix, at_eof, reader, opts, sink, warnings)
        }
    }
}
