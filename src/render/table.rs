//! Writing one table (header row plus data rows) onto one or more
//! worksheets: number formats per cell kind, bold header, frozen header,
//! autofilter, widths that count wide characters twice, row colouring by
//! check level and arrows on changes. A table longer than a sheet allows
//! continues on numbered sheets (`商品 (2)`), each with its own header.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{
    Color, ConditionalFormatCustomIcon, ConditionalFormatFormula, ConditionalFormatIconSet,
    ConditionalFormatIconType, ConditionalFormatType, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};

use super::text::{display_width, sanitize_sheet_name};

/// One cell's value; the variant picks the number format.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    /// A value that cannot be computed (denominator zero, data absent): `—`.
    Missing,
    /// Text, always written as a string (never a formula).
    Text(String),
    /// Long text that wraps.
    Wrap(String),
    /// A label repeated down a long list, shared rather than copied.
    Shared(std::sync::Arc<str>),
    Money(Decimal),
    Ratio(Decimal),
    /// A relative change, with an up / down arrow.
    Change(Decimal),
    Count(i64),
    Number(Decimal),
    Seconds(Decimal),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// A check level's label; the row is coloured by the level.
    Level(crate::check::Level, String),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    pub fn opt_text(s: Option<&str>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
    }

    pub fn opt_count(v: Option<i64>) -> Cell {
        v.map_or(Cell::Missing, Cell::Count)
    }

    pub fn opt_money(v: Option<Decimal>) -> Cell {
        v.map_or(Cell::Missing, Cell::Money)
    }

    pub fn opt_ratio(v: Option<Decimal>) -> Cell {
        v.map_or(Cell::Missing, Cell::Ratio)
    }

    pub fn opt_number(v: Option<Decimal>) -> Cell {
        v.map_or(Cell::Missing, Cell::Number)
    }

    pub fn opt_date(v: Option<NaiveDate>) -> Cell {
        v.map_or(Cell::Empty, Cell::Date)
    }

    /// Lines a wrapped cell takes: wrapped text is the one kind allowed to
    /// make its column as wide as [`MAX_WIDTH`], so a line longer than that
    /// breaks into several.
    fn lines(&self) -> usize {
        match self {
            Cell::Wrap(s) => s
                .lines()
                .map(|l| display_width(l).div_ceil(MAX_WIDTH - 2).max(1))
                .sum::<usize>()
                .max(1),
            _ => 1,
        }
    }

    /// Approximate displayed width, for column sizing.
    fn width(&self, missing: &str) -> usize {
        // Integer digits plus thousands separators, without formatting the
        // number: a long list sizes millions of cells.
        fn int_width(mut n: u64) -> usize {
            let mut digits = 1;
            while n >= 10 {
                n /= 10;
                digits += 1;
            }
            digits + (digits - 1) / 3
        }
        let digits = |d: &Decimal, dp: u32| {
            let int = d.abs().trunc().to_u64().unwrap_or(u64::MAX);
            int_width(int) + dp as usize + 2
        };
        match self {
            Cell::Empty => 0,
            Cell::Missing => display_width(missing),
            Cell::Text(s) => display_width(s),
            Cell::Shared(s) => display_width(s),
            // Wrapped text is capped by the column maximum anyway.
            Cell::Wrap(s) => display_width(s).min(60),
            Cell::Money(d) => digits(d, 2) + 1,
            Cell::Ratio(_) | Cell::Change(_) => 9,
            Cell::Count(c) => int_width(c.unsigned_abs()) + 1,
            Cell::Number(d) => digits(d, 2),
            Cell::Seconds(d) => digits(d, 1),
            Cell::Date(_) => 10,
            Cell::DateTime(_) => 16,
            Cell::Level(_, s) => display_width(s),
        }
    }
}

/// The workbook's shared formats.
pub struct Formats {
    pub header: Format,
    pub text: Format,
    pub wrap: Format,
    pub money: Format,
    pub ratio: Format,
    pub change: Format,
    pub count: Format,
    pub number: Format,
    pub seconds: Format,
    pub date: Format,
    pub datetime: Format,
    pub missing: Format,
    pub title: Format,
    pub note: Format,
    pub banner_fail: Format,
    pub banner_ok: Format,
    pub fail_fill: Format,
    pub warn_fill: Format,
}

pub const MONEY_FORMAT: &str = "¥#,##0.00";
pub const RATIO_FORMAT: &str = "0.00%";
pub const DATE_FORMAT: &str = "yyyy-mm-dd";

impl Formats {
    pub fn new() -> Formats {
        let base = Format::new().set_align(FormatAlign::Top);
        Formats {
            header: Format::new()
                .set_bold()
                .set_font_color(Color::White)
                .set_background_color(Color::RGB(0x2F5597))
                .set_border(FormatBorder::Thin)
                .set_border_color(Color::RGB(0xBFBFBF))
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            text: base.clone(),
            wrap: base.clone().set_text_wrap().set_align(FormatAlign::Top),
            money: base.clone().set_num_format(MONEY_FORMAT),
            ratio: base.clone().set_num_format(RATIO_FORMAT),
            change: base.clone().set_num_format("+0.00%;-0.00%;0.00%"),
            count: base.clone().set_num_format("#,##0"),
            number: base.clone().set_num_format("#,##0.00"),
            seconds: base.clone().set_num_format("#,##0.0"),
            date: base.clone().set_num_format(DATE_FORMAT),
            datetime: base.clone().set_num_format("yyyy-mm-dd hh:mm"),
            missing: base
                .clone()
                .set_align(FormatAlign::Center)
                .set_font_color(Color::RGB(0x808080)),
            title: Format::new().set_bold().set_font_size(16),
            note: Format::new().set_font_color(Color::RGB(0x595959)),
            banner_fail: Format::new()
                .set_bold()
                .set_font_color(Color::White)
                .set_background_color(Color::RGB(0xC00000)),
            banner_ok: Format::new()
                .set_bold()
                .set_font_color(Color::RGB(0x375623))
                .set_background_color(Color::RGB(0xE2EFDA)),
            fail_fill: Format::new()
                .set_background_color(Color::RGB(0xFFC7CE))
                .set_font_color(Color::RGB(0x9C0006)),
            warn_fill: Format::new()
                .set_background_color(Color::RGB(0xFFEB9C))
                .set_font_color(Color::RGB(0x9C5700)),
        }
    }
}

impl Default for Formats {
    fn default() -> Self {
        Formats::new()
    }
}

/// Lines printed above the header on a table's first sheet (the cover's
/// title block).
#[derive(Debug, Clone)]
pub enum Preamble {
    Title(String),
    Pair(String, String),
    Banner { text: String, bad: bool },
    Blank,
}

/// What a table looks like, apart from its rows.
pub struct TableSpec<'a> {
    /// The sheet name; continuation sheets add ` (2)`, ` (3)`, ….
    pub name: String,
    pub headers: Vec<String>,
    pub preamble: Vec<Preamble>,
    /// Stream rows to disk instead of holding them (large lists).
    pub constant_memory: bool,
    /// Rows per sheet including the header (and preamble), at most
    /// Excel's 1,048,576.
    pub max_rows: u32,
    pub missing: &'a str,
    /// The level labels the level column may hold, for row colouring.
    pub level_labels: Vec<(crate::check::Level, String)>,
}

/// Where a written table sits, for charts.
#[derive(Debug, Clone)]
pub struct Placed {
    pub sheet: String,
    /// 0-based row of the header.
    pub header_row: u32,
    /// Data rows on this sheet.
    pub rows: u32,
    pub columns: u16,
}

/// Excel's hard limit of rows per sheet.
pub const EXCEL_MAX_ROWS: u32 = 1_048_576;

const MAX_WIDTH: usize = 60;

struct SheetState {
    index: usize,
    header_row: u32,
    next_row: u32,
    widths: Vec<usize>,
    change_cols: Vec<bool>,
    level_col: Option<u16>,
}

/// Writes a table, continuing on new sheets when one fills up. `names`
/// holds the sheet names already taken in the workbook. Returns one entry
/// per sheet written.
pub fn write_table<I>(
    wb: &mut Workbook,
    fmts: &Formats,
    spec: &TableSpec<'_>,
    names: &mut Vec<String>,
    rows: I,
) -> Result<Vec<Placed>, XlsxError>
where
    I: IntoIterator<Item = Vec<Cell>>,
{
    let ncols = spec.headers.len();
    let mut placed = Vec::new();
    let mut part = 1;
    let mut state = open_sheet(wb, fmts, spec, names, part)?;
    for row in rows {
        // At least the header and one data row fit on every sheet.
        if state.next_row >= spec.max_rows.clamp(state.header_row + 2, EXCEL_MAX_ROWS) {
            placed.push(close_sheet(wb, fmts, spec, &state, names)?);
            part += 1;
            state = open_sheet(wb, fmts, spec, names, part)?;
        }
        let ws = sheet_at(wb, state.index)?;
        // Row heights are not recomputed by Excel or LibreOffice on
        // opening, so a row with wrapped text is sized here.
        let lines = row.iter().map(Cell::lines).max().unwrap_or(1);
        if lines > 1 {
            ws.set_row_height(state.next_row, 15.0 * lines.min(20) as f64)?;
        }
        for (c, cell) in row.iter().enumerate().take(ncols) {
            let col = c as u16;
            write_cell(ws, fmts, state.next_row, col, cell, spec.missing)?;
            let w = cell.width(spec.missing);
            if w > state.widths[c] {
                state.widths[c] = w;
            }
            match cell {
                Cell::Change(_) => state.change_cols[c] = true,
                Cell::Level(..) => state.level_col = Some(col),
                _ => {}
            }
        }
        state.next_row += 1;
    }
    placed.push(close_sheet(wb, fmts, spec, &state, names)?);
    Ok(placed)
}

fn sheet_at(wb: &mut Workbook, index: usize) -> Result<&mut Worksheet, XlsxError> {
    wb.worksheet_from_index(index)
}

fn unique_name(base: &str, names: &[String], n: usize) -> String {
    let mut k = n;
    loop {
        let suffix = if k <= 1 {
            String::new()
        } else {
            format!(" ({k})")
        };
        let room = 31 - suffix.chars().count();
        let stem: String = sanitize_sheet_name(base).chars().take(room).collect();
        let name = format!("{stem}{suffix}");
        if !names.iter().any(|x| x.eq_ignore_ascii_case(&name)) {
            return name;
        }
        k += 1;
    }
}

fn open_sheet(
    wb: &mut Workbook,
    fmts: &Formats,
    spec: &TableSpec<'_>,
    names: &mut Vec<String>,
    part: usize,
) -> Result<SheetState, XlsxError> {
    let first = part == 1;
    let name = unique_name(&spec.name, names, part);
    let ws = if spec.constant_memory {
        wb.add_worksheet_with_constant_memory()?
    } else {
        wb.add_worksheet()
    };
    ws.set_name(&name)?;
    let index = wb.worksheets().len() - 1;
    names.push(name);
    let ws = sheet_at(wb, index)?;
    let mut widths: Vec<usize> = spec.headers.iter().map(|h| display_width(h)).collect();
    let mut row = 0u32;
    if first {
        for p in &spec.preamble {
            match p {
                Preamble::Title(t) => {
                    ws.write_string_with_format(row, 0, t, &fmts.title)?;
                    ws.set_row_height(row, 24)?;
                }
                Preamble::Pair(k, v) => {
                    ws.write_string_with_format(row, 0, k, &fmts.note)?;
                    ws.write_string(row, 1, v)?;
                }
                Preamble::Banner { text, bad } => {
                    let f = if *bad {
                        &fmts.banner_fail
                    } else {
                        &fmts.banner_ok
                    };
                    ws.write_string_with_format(row, 0, text, f)?;
                    for c in 1..spec.headers.len().max(1) as u16 {
                        ws.write_blank(row, c, f)?;
                    }
                }
                Preamble::Blank => {}
            }
            row += 1;
        }
        // Only pair keys size a column: values, titles and banners run on
        // into the empty cells to their right.
        for p in &spec.preamble {
            if let Preamble::Pair(k, _) = p {
                widths[0] = widths[0].max(display_width(k));
            }
        }
    }
    for (c, h) in spec.headers.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, h, &fmts.header)?;
    }
    ws.set_freeze_panes(row + 1, 0)?;
    ws.set_landscape();
    ws.set_paper_size(9);
    // A cover prints on one page; lists one page wide, as long as they run.
    let tall = if first && !spec.preamble.is_empty() {
        1
    } else {
        0
    };
    ws.set_print_fit_to_pages(1, tall);
    ws.set_repeat_rows(row, row)?;
    Ok(SheetState {
        index,
        header_row: row,
        next_row: row + 1,
        change_cols: vec![false; spec.headers.len()],
        level_col: None,
        widths,
    })
}

fn close_sheet(
    wb: &mut Workbook,
    fmts: &Formats,
    spec: &TableSpec<'_>,
    st: &SheetState,
    names: &[String],
) -> Result<Placed, XlsxError> {
    let ws = sheet_at(wb, st.index)?;
    let ncols = spec.headers.len() as u16;
    let last_row = st.next_row.saturating_sub(1).max(st.header_row);
    for (c, w) in st.widths.iter().enumerate() {
        let width = (*w + 2).clamp(6, MAX_WIDTH);
        ws.set_column_width(c as u16, width as f64)?;
    }
    if ncols > 0 {
        ws.autofilter(st.header_row, 0, last_row, ncols - 1)?;
    }
    let rows = st.next_row - st.header_row - 1;
    if rows > 0 {
        let first = st.header_row + 1;
        for (c, has) in st.change_cols.iter().enumerate() {
            if *has {
                ws.add_conditional_format(first, c as u16, last_row, c as u16, &arrows())?;
            }
        }
        if let Some(lc) = st.level_col {
            let col = column_letter(lc);
            for (level, fill) in [
                (crate::check::Level::Error, &fmts.fail_fill),
                (crate::check::Level::Fail, &fmts.fail_fill),
                (crate::check::Level::Warn, &fmts.warn_fill),
            ] {
                let Some((_, label)) = spec.level_labels.iter().find(|(l, _)| *l == level) else {
                    continue;
                };
                let rule = format!("=${col}{}=\"{}\"", first + 1, label.replace('"', "\"\""));
                let cf = ConditionalFormatFormula::new()
                    .set_rule(rule.as_str())
                    .set_format(fill.clone());
                ws.add_conditional_format(first, 0, last_row, ncols - 1, &cf)?;
            }
        }
    }
    Ok(Placed {
        sheet: names[st.index].clone(),
        header_row: st.header_row,
        rows,
        columns: ncols,
    })
}

/// Green up, amber level, red down arrows: > 0, = 0, < 0. The bounds sit a
/// hair either side of zero because LibreOffice ignores the "greater than,
/// not equal" flag and would show an unchanged figure as going up.
fn arrows() -> ConditionalFormatIconSet {
    ConditionalFormatIconSet::new()
        .set_icon_type(ConditionalFormatIconType::ThreeArrows)
        .set_icons(&[
            ConditionalFormatCustomIcon::new().set_rule(ConditionalFormatType::Percent, 0),
            ConditionalFormatCustomIcon::new().set_rule(ConditionalFormatType::Number, -1e-9),
            ConditionalFormatCustomIcon::new().set_rule(ConditionalFormatType::Number, 1e-9),
        ])
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column.
pub fn column_letter(col: u16) -> String {
    let mut n = u32::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(char::from(b'A' + r as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

fn dec(d: &Decimal) -> f64 {
    // Display only: the exact value lives in summary.json.
    d.to_f64().unwrap_or(0.0)
}

fn write_cell(
    ws: &mut Worksheet,
    f: &Formats,
    row: u32,
    col: u16,
    cell: &Cell,
    missing: &str,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => {}
        Cell::Missing => {
            ws.write_string_with_format(row, col, missing, &f.missing)?;
        }
        Cell::Text(s) | Cell::Level(_, s) => {
            ws.write_string_with_format(row, col, s, &f.text)?;
        }
        Cell::Wrap(s) => {
            ws.write_string_with_format(row, col, s, &f.wrap)?;
        }
        Cell::Shared(s) => {
            ws.write_string_with_format(row, col, &**s, &f.text)?;
        }
        Cell::Money(d) => {
            ws.write_number_with_format(row, col, dec(d), &f.money)?;
        }
        Cell::Ratio(d) => {
            ws.write_number_with_format(row, col, dec(d), &f.ratio)?;
        }
        Cell::Change(d) => {
            ws.write_number_with_format(row, col, dec(d), &f.change)?;
        }
        Cell::Count(c) => {
            ws.write_number_with_format(row, col, *c as f64, &f.count)?;
        }
        Cell::Number(d) => {
            ws.write_number_with_format(row, col, dec(d), &f.number)?;
        }
        Cell::Seconds(d) => {
            ws.write_number_with_format(row, col, dec(d), &f.seconds)?;
        }
        Cell::Date(d) => {
            ws.write_datetime_with_format(row, col, d, &f.date)?;
        }
        Cell::DateTime(d) => {
            ws.write_datetime_with_format(row, col, d, &f.datetime)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn continuation_names_stay_within_31_characters() {
        let taken = vec!["商品".to_string()];
        assert_eq!(unique_name("商品", &taken, 2), "商品 (2)");
        let long = "x".repeat(40);
        let name = unique_name(&long, &[], 12);
        assert_eq!(name.chars().count(), 31);
        assert!(name.ends_with(" (12)"));
    }
}
