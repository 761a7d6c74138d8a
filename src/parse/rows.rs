//! The row engine shared by text and workbook sources: header detection
//! over the first rows, then per data row the drop rules (blank, summary,
//! placeholder, note), truncation, value conversion, and the report.

use std::collections::HashMap;

use chrono_tz::Tz;

use super::error::{Location, MissingField, ParseError};
use super::header::{AliasTable, HeaderMatch, match_header};
use super::value::{Cell, Converted, convert, trim};
use super::{ColumnMap, DropReason, InvalidValue, ParseReport};
use crate::model::{Dataset, FieldKind, FieldSpec, Record, Value};

/// Most invalid values kept as samples in a report; the total is counted.
pub const MAX_INVALID_SAMPLES: usize = 1000;

/// A row of cells, whatever the source.
pub(crate) trait Row {
    fn width(&self) -> usize;
    fn cell(&self, i: usize) -> Cell<'_>;
}

impl Row for csv::StringRecord {
    fn width(&self) -> usize {
        self.len()
    }
    fn cell(&self, i: usize) -> Cell<'_> {
        self.get(i).map_or(Cell::Empty, Cell::Text)
    }
}

/// How a text stream ended, known when its last record is handled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextEnd {
    pub(crate) newline: bool,
    pub(crate) open_quote: bool,
}

/// A row's cells as header text.
pub(crate) fn header_cells<R: Row + ?Sized>(row: &R) -> Vec<String> {
    (0..row.width()).map(|i| row.cell(i).to_string()).collect()
}

/// Finds the header among the first rows: the first in which at least half
/// of the required fields match. On failure, the error names the best row.
pub(crate) fn find_header(
    file: &str,
    table: &AliasTable,
    rows: &[(Vec<String>, Location)],
) -> Result<(usize, HeaderMatch), ParseError> {
    let needed = table.needed();
    let mut best: Option<(usize, HeaderMatch)> = None;
    for (i, (cells, _)) in rows.iter().enumerate() {
        let m = match_header(table, cells);
        if m.required_matched >= needed {
            return Ok((i, m));
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| m.required_matched > b.required_matched)
        {
            best = Some((i, m));
        }
    }
    let Some((bi, bm)) = best else {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
    };
    let fields = table_fields(table);
    Err(ParseError::NoHeader {
        file: file.to_string(),
        needed,
        required: table.required().iter().map(|&i| fields[i].name).collect(),
        best_location: rows[bi].1.clone(),
        missing: missing_fields(table, &bm),
    })
}

fn table_fields(table: &AliasTable) -> &'static [FieldSpec] {
    table.dataset().fields()
}

pub(crate) fn missing_fields(table: &AliasTable, m: &HeaderMatch) -> Vec<MissingField> {
    let fields = table_fields(table);
    table
        .required()
        .into_iter()
        .filter(|&i| m.columns[i].is_none())
        .map(|i| MissingField {
            field: fields[i].name,
            aliases: table.aliases(i).to_vec(),
        })
        .collect()
}

fn is_summary_word(s: &str) -> bool {
    let s = s.trim_end_matches([':', '：']);
    matches!(s, "合计" | "总计" | "汇总" | "总合计" | "全部合计") || s.eq_ignore_ascii_case("total")
}

/// Lines exports append below the data: notes, sources, export stamps.
fn is_note_text(s: &str) -> bool {
    const MARKERS: [&str; 14] = [
        "注",
        "备注",
        "说明",
        "数据来源",
        "来源",
        "统计时间",
        "导出时间",
        "温馨提示",
        "提示",
        "*",
        "※",
        "#",
        "note",
        "source",
    ];
    let lower = s.to_lowercase();
    MARKERS.iter().any(|m| lower.starts_with(m))
}

/// Converts data rows to records and keeps the tally.
pub(crate) struct Engine<'a> {
    file: &'a str,
    sheet: Option<String>,
    tz: Tz,
    fields: &'static [FieldSpec],
    columns: Vec<Option<usize>>,
    headers: Vec<String>,
    verbatim: Vec<bool>,
    key_col: Option<usize>,
    /// Cells a row needs to reach every mapped column.
    needed_width: usize,
    record_no: u64,
    pub(crate) report: ParseReport,
    unknown: HashMap<(usize, String), (u64, u64)>,
    scratch: Vec<InvalidValue>,
}

impl<'a> Engine<'a> {
    pub(crate) fn new(
        file: &'a str,
        sheet: Option<String>,
        dataset: Dataset,
        tz: Tz,
        m: HeaderMatch,
        mut report: ParseReport,
    ) -> Engine<'a> {
        let fields = dataset.fields();
        let key_col = dataset
            .field_index(dataset.key_field())
            .and_then(|i| m.columns[i]);
        let needed_width = m.columns.iter().flatten().map(|c| c + 1).max().unwrap_or(0);
        report.columns = fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                m.columns[i].map(|c| ColumnMap {
                    field: f.name,
                    header: m.headers[i].clone(),
                    column: c,
                })
            })
            .collect();
        report.columns.sort_by_key(|c| c.column);
        report.unmapped_headers = m.unmapped.clone();
        for (header, field) in &m.duplicates {
            report.warnings.push(format!(
                "{file}: column {header:?} also names {field}; the first such column is used"
            ));
        }
        // The traffic source is kept as written: an empty or `汇总` source is
        // how the shop-total row is told apart from the per-source rows.
        let verbatim = fields
            .iter()
            .map(|f| dataset == Dataset::Traffic && f.name == "source")
            .collect();
        Engine {
            file,
            sheet,
            tz,
            fields,
            columns: m.columns,
            headers: m.headers,
            verbatim,
            key_col,
            needed_width,
            record_no: 0,
            report,
            unknown: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    fn drop_row(&mut self, reason: DropReason) {
        *self.report.dropped.entry(reason).or_insert(0) += 1;
    }

    /// Handles one data row. `end` is given for the last record of a text
    /// file, to tell a row cut short by a truncated download.
    pub(crate) fn row<R: Row + ?Sized>(
        &mut self,
        row: &R,
        line: u64,
        end: Option<TextEnd>,
        sink: &mut dyn FnMut(Record),
    ) {
        self.record_no += 1;
        let width = row.width();
        let mut nonempty = 0usize;
        let mut first = None;
        for i in 0..width {
            if !row.cell(i).is_blank() {
                nonempty += 1;
                first.get_or_insert(i);
            }
        }
        let Some(first) = first else {
            self.drop_row(DropReason::Blank);
            return;
        };

        let key = self.key_col.map_or(Cell::Empty, |c| row.cell(c));
        match key.text() {
            Some(k) if is_summary_word(k) => return self.drop_row(DropReason::Summary),
            Some("-") => return self.drop_row(DropReason::Placeholder),
            _ => {}
        }
        if key.is_blank() && row.cell(first).text().is_some_and(is_summary_word) {
            return self.drop_row(DropReason::Summary);
        }
        if nonempty == 1 && Some(first) != self.key_col {
            // A lone number outside the key column is an unlabeled total.
            let reason = match row.cell(first) {
                Cell::Text(t) if !is_note_text(trim(t)) && trim(t).parse::<f64>().is_ok() => {
                    DropReason::Summary
                }
                Cell::Text(_) => DropReason::Note,
                _ => DropReason::Summary,
            };
            return self.drop_row(reason);
        }
        if nonempty == 1 && row.cell(first).text().is_some_and(is_note_text) {
            return self.drop_row(DropReason::Note);
        }
        // Summary and note rows are dropped even when cut short; any other
        // row the file ends in the middle of is rejected.
        if let Some(end) = end {
            let last_has_newline =
                matches!(row.cell(width.saturating_sub(1)), Cell::Text(t) if t.contains('\n'));
            let reason = if end.open_quote && (!end.newline || last_has_newline) {
                Some("truncated row: unterminated quote at end of file".to_string())
            } else if width < self.needed_width && !end.newline {
                Some(format!(
                    "truncated row: the file ends mid-row ({width} of {} fields)",
                    self.needed_width
                ))
            } else {
                None
            };
            if let Some(reason) = reason {
                self.reject_whole_row(row, line, width, reason);
                return;
            }
        }

        // A short row that is not the cut-off end of the file reads its
        // absent cells as empty: Excel's CSV export drops trailing empty
        // cells on some rows.
        self.scratch.clear();
        let mut rejected = false;
        let mut values = Vec::with_capacity(self.fields.len());
        for fi in 0..self.fields.len() {
            let spec = self.fields[fi];
            let Some(col) = self.columns[fi] else {
                values.push(Value::Missing);
                continue;
            };
            let cell = row.cell(col);
            let v = match convert(spec.kind, cell, self.tz, self.verbatim[fi]) {
                Ok(Converted::Value(v)) => v,
                Ok(Converted::UnknownStatus(v)) => {
                    let e = self
                        .unknown
                        .entry((fi, cell.to_string()))
                        .or_insert((0, line));
                    e.0 += 1;
                    v
                }
                Err(reason) => {
                    rejected |= spec.required;
                    self.push_scratch(line, fi, cell.to_string(), reason.into_owned());
                    values.push(Value::Missing);
                    continue;
                }
            };
            if spec.required && v.is_missing() {
                rejected = true;
                self.push_scratch(
                    line,
                    fi,
                    trim(&cell.to_string()).to_string(),
                    "missing required value".to_string(),
                );
            }
            values.push(v);
        }
        if rejected {
            self.report.rows_rejected += 1;
            for iv in &mut self.scratch {
                iv.row_rejected = true;
            }
        } else {
            self.report.records += 1;
            sink(Record { row: line, values });
        }
        self.flush_scratch();
    }

    fn push_scratch(&mut self, line: u64, field: usize, value: String, reason: String) {
        self.scratch.push(InvalidValue {
            file: self.file.to_string(),
            sheet: self.sheet.clone(),
            record: self.record_no,
            row: line,
            column: self.headers[field].clone(),
            field: self.fields[field].name,
            value,
            reason,
            row_rejected: false,
        });
    }

    fn flush_scratch(&mut self) {
        self.report.invalid_total += self.scratch.len() as u64;
        let room = MAX_INVALID_SAMPLES.saturating_sub(self.report.invalid.len());
        self.report
            .invalid
            .extend(self.scratch.drain(..).take(room));
    }

    /// Rejects a row that is broken as a whole; the message points at the
    /// first mapped column it does not reach (or the last one it has).
    fn reject_whole_row<R: Row + ?Sized>(
        &mut self,
        row: &R,
        line: u64,
        width: usize,
        reason: String,
    ) {
        let target = (0..self.fields.len())
            .filter_map(|fi| self.columns[fi].map(|c| (c, fi)))
            .filter(|&(c, _)| c + 1 >= width)
            .min()
            .or_else(|| {
                (0..self.fields.len())
                    .filter_map(|fi| self.columns[fi].map(|c| (c, fi)))
                    .max()
            });
        self.scratch.clear();
        if let Some((col, fi)) = target {
            let value = if col < width {
                row.cell(col).to_string()
            } else {
                String::new()
            };
            self.push_scratch(line, fi, value, reason);
            if let Some(iv) = self.scratch.last_mut() {
                iv.row_rejected = true;
            }
        }
        self.report.rows_rejected += 1;
        self.flush_scratch();
    }

    /// Final warnings and logging; hands back the report.
    pub(crate) fn finish(mut self) -> ParseReport {
        let mut unknown: Vec<_> = self.unknown.drain().collect();
        unknown.sort_by_key(|((_, _), (_, first))| *first);
        for ((fi, text), (count, first)) in unknown.into_iter().take(50) {
            let what = match self.fields[fi].kind {
                FieldKind::ProductStatus => "product status",
                _ => "order status",
            };
            let at = match &self.sheet {
                Some(s) => format!("sheet {s:?} row {first}"),
                None => format!("line {first}"),
            };
            self.report.warnings.push(format!(
                "{}: unknown {what} {text:?} in {count} row(s) (first at {at}); kept as \"unknown\"",
                self.file
            ));
        }
        if self.record_no == 0 {
            self.report
                .warnings
                .push(format!("{}: no data rows below the header", self.file));
        }
        for (reason, count) in &self.report.dropped {
            tracing::debug!(
                file = self.file,
                reason = reason.as_str(),
                count,
                "rows dropped"
            );
        }
        if self.report.invalid_total > 0 {
            // The first one in full (file, line, column, reason), so the log
            // alone says where to look; the rest are in the file's report.
            let first = self
                .report
                .invalid
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            tracing::warn!(
                file = self.file,
                invalid = self.report.invalid_total,
                rejected = self.report.rows_rejected,
                first = %first,
                "invalid values"
            );
        }
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_note_words() {
        for s in ["合计", "总计", "汇总", "Total", "TOTAL", "合计："] {
            assert!(is_summary_word(s), "{s}");
        }
        assert!(!is_summary_word("合计金额以外"));
        assert!(is_note_text("注：数据有延迟"));
        assert!(is_note_text("数据来源：生意参谋"));
        assert!(!is_note_text("3123456789"));
    }
}
