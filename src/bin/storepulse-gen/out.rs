//! Encoders for the exact byte shapes the platforms hand out: GBK CSV (淘宝
//! order exports), UTF-8 CSV with and without BOM, Excel "Unicode text"
//! (UTF-16LE with BOM, tab separated) and 生意参谋 style .xlsx workbooks with
//! preamble rows. Workbooks carry a fixed creation time so output is
//! byte-identical between runs.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

use crate::GenError;

/// A text table being built line by line, with a chosen delimiter and line
/// ending. Fields are quoted only when they must be, like the exporters do,
/// so `="5118609024991034"` stays bare.
pub struct Table {
    text: String,
    delim: char,
    eol: &'static str,
}

impl Table {
    pub fn new(delim: char, eol: &'static str) -> Self {
        Table {
            text: String::new(),
            delim,
            eol,
        }
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.text.push(self.delim);
            }
            let f = f.as_ref();
            let needs_quotes = f.contains(self.delim)
                || f.contains('\n')
                || f.contains('\r')
                || (f.starts_with('"'));
            if needs_quotes {
                self.text.push('"');
                self.text.push_str(&f.replace('"', "\"\""));
                self.text.push('"');
            } else {
                self.text.push_str(f);
            }
        }
        self.text.push_str(self.eol);
    }

    pub fn blank_line(&mut self) {
        self.text.push_str(self.eol);
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), GenError> {
    let io = |source| GenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::File::create(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    Ok(())
}

pub fn write_gbk(path: &Path, text: &str) -> Result<(), GenError> {
    let (bytes, _, had_errors) = encoding_rs::GBK.encode(text);
    if had_errors {
        let sample = text
            .chars()
            .find(|c| {
                let s = c.to_string();
                encoding_rs::GBK.encode(&s).2
            })
            .map(String::from)
            .unwrap_or_default();
        return Err(GenError::NotGbk {
            path: path.to_path_buf(),
            sample,
        });
    }
    write_bytes(path, &bytes)
}

pub fn write_utf8(path: &Path, text: &str, bom: bool) -> Result<(), GenError> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if bom {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    bytes.extend_from_slice(text.as_bytes());
    write_bytes(path, &bytes)
}

pub fn write_utf16le(path: &Path, text: &str) -> Result<(), GenError> {
    let mut bytes = Vec::with_capacity(text.len() * 2 + 2);
    bytes.extend_from_slice(&[0xFF, 0xFE]);
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    write_bytes(path, &bytes)
}

/// One worksheet cell.
pub enum Cell {
    Text(String),
    Int(i64),
    Money(Decimal),
    Num(f64),
    Blank,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// A percentage as 生意参谋 prints it: basis points to `48.25%`.
pub fn pct(bp: i64) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

/// A workbook with preamble rows, a header and data rows, first sheet only.
pub struct Sheet {
    pub preamble: Vec<String>,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

pub fn write_xlsx(
    path: &Path,
    sheet: &Sheet,
    created: NaiveDateTime,
    constant_memory: bool,
) -> Result<(), GenError> {
    let xerr = |source| GenError::Xlsx {
        path: path.to_path_buf(),
        source,
    };
    let mut wb = Workbook::new();
    let when = ExcelDateTime::from_timestamp(created.and_utc().timestamp()).map_err(xerr)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&when)
            .set_author("生意参谋"),
    );
    let ws = if constant_memory {
        wb.add_worksheet_with_constant_memory().map_err(xerr)?
    } else {
        wb.add_worksheet()
    };
    let ws = ws.set_name("Sheet1").map_err(xerr)?;
    let mut r: u32 = 0;
    for line in &sheet.preamble {
        if !line.is_empty() {
            ws.write_string(r, 0, line).map_err(xerr)?;
        }
        r += 1;
    }
    for (c, h) in sheet.header.iter().enumerate() {
        ws.write_string(r, c as u16, *h).map_err(xerr)?;
    }
    r += 1;
    for row in &sheet.rows {
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => {
                    ws.write_string(r, c, s).map_err(xerr)?;
                }
                Cell::Int(v) => {
                    ws.write_number(r, c, *v as f64).map_err(xerr)?;
                }
                Cell::Money(d) => {
                    ws.write_number(r, c, d.to_f64().unwrap_or(0.0))
                        .map_err(xerr)?;
                }
                Cell::Num(v) => {
                    ws.write_number(r, c, *v).map_err(xerr)?;
                }
                Cell::Blank => {}
            }
        }
        r += 1;
    }
    wb.save(path).map_err(xerr)?;
    Ok(())
}

/// `1234.5` → `¥1,234.50`, the way ad platforms decorate money.
pub fn yuan_decorated(d: Decimal) -> String {
    let s = format!("{:.2}", d.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if d.is_sign_negative() { "-" } else { "" };
    let mut out = String::new();
    let _ = write!(out, "{sign}¥{grouped}.{frac}");
    out
}

pub fn yuan(d: Decimal) -> String {
    format!("{:.2}", d)
}

pub fn dir(path: &Path) -> Result<PathBuf, GenError> {
    fs::create_dir_all(path).map_err(|source| GenError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut t = Table::new(',', "\r\n");
        t.row(&["=\"5118609024991034\"", "买家已付款,等待卖家发货", "128.00"]);
        assert_eq!(
            t.text(),
            "=\"5118609024991034\",\"买家已付款,等待卖家发货\",128.00\r\n"
        );
    }

    #[test]
    fn decorated_money_groups_thousands() {
        assert_eq!(yuan_decorated(Decimal::new(123450, 2)), "¥1,234.50");
        assert_eq!(yuan_decorated(Decimal::new(9990, 2)), "¥99.90");
        assert_eq!(yuan_decorated(Decimal::new(123456789, 2)), "¥1,234,567.89");
        assert_eq!(pct(4825), "48.25%");
    }
}
