//! The parse stage's error type: every variant names the file it is about
//! and, where there is one, the row, so a user can open the export and look.

use std::fmt;

/// Where in a file a problem sits: a CSV line or an Excel sheet row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// 1-based physical line of a text file where the record starts.
    Line(u64),
    /// 1-based row of a worksheet.
    SheetRow { sheet: String, row: u64 },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(l) => write!(f, "line {l}"),
            Location::SheetRow { sheet, row } => write!(f, "sheet {sheet:?} row {row}"),
        }
    }
}

/// Why a file could not be parsed at all. Row-level problems are not errors:
/// they are [`crate::parse::InvalidValue`]s in the report.
///
/// All of these are permanent for the file's content: retrying the same
/// bytes fails the same way (only [`ParseError::Io`] may be transient).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}: the file is empty")]
    Empty { file: String },

    #[error("{file}: binary content, not a text table or an Excel workbook")]
    Binary { file: String },

    #[error("{file}: an HTML page, not a table export (save it from the platform as CSV or Excel)")]
    Html { file: String },

    #[error("{file}: {detail}")]
    Encoding { file: String, detail: String },

    #[error("{file}: cannot read the workbook: {source}")]
    Excel {
        file: String,
        #[source]
        source: calamine::Error,
    },

    #[error(
        "{file}: no sheet named {sheet:?} (the workbook has {})",
        quoted_list(available)
    )]
    SheetNotFound {
        file: String,
        sheet: String,
        available: Vec<String>,
    },

    #[error("{file}: the workbook has no sheets")]
    NoSheets { file: String },

    #[error(
        "{file}: no header row in the first 10 rows: a header needs at least {needed} of the required columns {}; the best candidate ({best_location}) lacks {}",
        required.join(", "),
        missing_list(missing)
    )]
    NoHeader {
        file: String,
        needed: usize,
        required: Vec<&'static str>,
        best_location: Location,
        missing: Vec<MissingField>,
    },

    #[error(
        "{file}: header row ({location}) has no column for required field(s) {}",
        missing_list(missing)
    )]
    MissingColumns {
        file: String,
        location: Location,
        missing: Vec<MissingField>,
    },

    #[error("{file}: {location}: {detail}")]
    Malformed {
        file: String,
        location: Location,
        detail: String,
    },
}

/// A required field no header matched, with the headers that would have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingField {
    pub field: &'static str,
    pub aliases: Vec<String>,
}

impl fmt::Display for MissingField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.aliases.is_empty() {
            f.write_str(self.field)
        } else {
            write!(f, "{} ({})", self.field, self.aliases.join(" / "))
        }
    }
}

fn missing_list(m: &[MissingField]) -> String {
    m.iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted_list(names: &[String]) -> String {
    if names.is_empty() {
        return "no sheets".to_string();
    }
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ParseError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ParseError::Io { file, .. }
            | ParseError::Empty { file }
            | ParseError::Binary { file }
            | ParseError::Html { file }
            | ParseError::Encoding { file, .. }
            | ParseError::Excel { file, .. }
            | ParseError::SheetNotFound { file, .. }
            | ParseError::NoSheets { file }
            | ParseError::NoHeader { file, .. }
            | ParseError::MissingColumns { file, .. }
            | ParseError::Malformed { file, .. } => file,
        }
    }

    /// True when trying again may succeed (an I/O hiccup); every other
    /// variant is about the content and fails the same way every time.
    pub fn is_transient(&self) -> bool {
        matches!(self, ParseError::Io { source, .. }
            if matches!(source.kind(), std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock))
    }
}
