//! Cell → [`Value`] by field kind (SPEC §4.2 value rules). A cell is either
//! text (every CSV field, Excel strings) or one of Excel's typed cells;
//! numbers from Excel go through their shortest decimal representation so
//! money stays exact.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::datetime::{from_serial, localize, parse_stamp, serial_text, stamp_instant, yyyymmdd};
use crate::model::{FieldKind, OrderStatus, ProductStatus, Value};

/// One source cell, borrowed from the row it sits in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    Empty,
    Text(&'a str),
    Float(f64),
    Int(i64),
    Bool(bool),
    /// An Excel date/time cell, already turned into wall time.
    DateTime(Option<NaiveDateTime>),
    /// An Excel duration cell, in days.
    Duration(f64),
    Error,
}

impl Cell<'_> {
    /// True for an empty cell or one holding only whitespace.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => trim(s).is_empty(),
            _ => false,
        }
    }

    /// The text of a text cell, trimmed.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(trim(s)),
            _ => None,
        }
    }
}

impl fmt::Display for Cell<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Empty => Ok(()),
            Cell::Text(s) => f.write_str(s),
            Cell::Float(x) => write!(f, "{x}"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Cell::DateTime(Some(t)) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S")),
            Cell::DateTime(None) => f.write_str("(date out of range)"),
            Cell::Duration(d) => write!(f, "{}", d * 86_400.0),
            Cell::Error => f.write_str("#ERROR"),
        }
    }
}

/// Trims ordinary and full-width spaces.
pub(crate) fn trim(s: &str) -> &str {
    // Most cells start and end with a visible ASCII character: skip the
    // char-by-char scan for them.
    if let (Some(f), Some(l)) = (s.as_bytes().first(), s.as_bytes().last())
        && f.is_ascii_graphic()
        && l.is_ascii_graphic()
    {
        return s;
    }
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Texts meaning "no value" in any column.
pub(crate) fn is_missing_token(s: &str) -> bool {
    matches!(s, "" | "-" | "--" | "—" | "——" | "无") || s.eq_ignore_ascii_case("null")
}

/// Texts platforms put into number columns instead of a number.
fn is_number_placeholder(s: &str) -> bool {
    matches!(
        s,
        "无退款申请" | "暂无" | "暂无数据" | "无退款" | "没有退款" | "不适用" | "未知"
    ) || s.eq_ignore_ascii_case("n/a")
        || s.eq_ignore_ascii_case("nan")
}

/// Why a cell could not be read as its field's kind. The text reads as the
/// start of a message that continues with the quoted value.
pub(crate) type Invalid = Cow<'static, str>;

/// The outcome of converting one cell.
pub(crate) enum Converted {
    Value(Value),
    /// A status text no mapping knows: kept as `unknown`, reported once.
    UnknownStatus(Value),
}

/// Converts a cell to its field's kind. `Value::Missing` comes back for the
/// missing spellings; the caller decides whether that rejects the row.
pub(crate) fn convert(
    kind: FieldKind,
    cell: Cell<'_>,
    tz: Tz,
    verbatim_text: bool,
) -> Result<Converted, Invalid> {
    let v = match cell {
        Cell::Empty if verbatim_text => Value::Text(String::new()),
        Cell::Empty => Value::Missing,
        Cell::Text(raw) => return convert_text(kind, trim(raw), tz, verbatim_text),
        Cell::Error => return Err("cell holds an Excel error".into()),
        // A number or date where a status belongs is a status nobody knows.
        _ if matches!(kind, FieldKind::Status | FieldKind::ProductStatus) => {
            return Ok(Converted::UnknownStatus(Value::Text(
                OrderStatus::Unknown.as_str().to_string(),
            )));
        }
        Cell::Float(x) => convert_float(kind, x, tz)?,
        Cell::Int(i) => convert_int(kind, i, tz)?,
        Cell::Bool(b) => match kind {
            FieldKind::Text | FieldKind::Pii | FieldKind::Id => {
                Value::Text(if b { "TRUE" } else { "FALSE" }.to_string())
            }
            _ => return Err(invalid_for(kind).into()),
        },
        Cell::DateTime(t) => {
            let t = t.ok_or("date out of Excel's range")?;
            match kind {
                FieldKind::Date => Value::Date(t.date()),
                FieldKind::DateTime => Value::DateTime(localize(t, tz)),
                FieldKind::Text | FieldKind::Pii => {
                    Value::Text(t.format("%Y-%m-%d %H:%M:%S").to_string())
                }
                _ => return Err(invalid_for(kind).into()),
            }
        }
        Cell::Duration(days) => match kind {
            FieldKind::Number | FieldKind::Int | FieldKind::Money | FieldKind::Ratio => {
                // A `[h]:mm:ss` cell in a seconds column: count its seconds.
                let ms = (days * 86_400_000.0).round() as i64;
                let d = Decimal::new(ms, 3).normalize();
                if kind == FieldKind::Int {
                    Value::Int(i64::try_from(d.trunc().mantissa()).map_err(|_| invalid_for(kind))?)
                } else {
                    Value::Decimal(d)
                }
            }
            _ => return Err(invalid_for(kind).into()),
        },
    };
    Ok(Converted::Value(v))
}

fn invalid_for(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Id => "invalid id",
        FieldKind::Text | FieldKind::Pii => "invalid text",
        FieldKind::Int => "invalid whole number",
        FieldKind::Money => "invalid amount",
        FieldKind::Number => "invalid number",
        FieldKind::Ratio => "invalid ratio",
        FieldKind::Date => "invalid date",
        FieldKind::DateTime => "invalid date-time",
        FieldKind::Status | FieldKind::ProductStatus => "invalid status",
    }
}

fn convert_text(
    kind: FieldKind,
    s: &str,
    tz: Tz,
    verbatim_text: bool,
) -> Result<Converted, Invalid> {
    if verbatim_text {
        return Ok(Converted::Value(Value::Text(s.to_string())));
    }
    if is_missing_token(s) {
        return Ok(Converted::Value(Value::Missing));
    }
    let v = match kind {
        FieldKind::Text => Value::Text(s.to_string()),
        FieldKind::Id | FieldKind::Pii => {
            let id = clean_id(s)?;
            if is_missing_token(id) {
                Value::Missing
            } else {
                Value::Text(id.to_string())
            }
        }
        FieldKind::Status => {
            return Ok(match OrderStatus::from_platform(s) {
                Some(st) => Converted::Value(Value::Text(st.as_str().to_string())),
                None => {
                    Converted::UnknownStatus(Value::Text(OrderStatus::Unknown.as_str().to_string()))
                }
            });
        }
        FieldKind::ProductStatus => {
            return Ok(match ProductStatus::from_platform(s) {
                Some(st) => Converted::Value(Value::Text(st.as_str().to_string())),
                None => Converted::UnknownStatus(Value::Text("unknown".to_string())),
            });
        }
        _ if is_number_placeholder(s) => Value::Missing,
        FieldKind::Int => Value::Int(parse_int(s).ok_or(invalid_for(kind))?),
        FieldKind::Money => Value::Decimal(parse_money(s).ok_or(invalid_for(kind))?),
        FieldKind::Number => Value::Decimal(parse_grouped(s).ok_or(invalid_for(kind))?),
        FieldKind::Ratio => Value::Decimal(parse_ratio(s).ok_or(invalid_for(kind))?),
        FieldKind::Date => Value::Date(parse_date(s).ok_or(invalid_for(kind))?),
        FieldKind::DateTime => Value::DateTime(if let Some(st) = parse_stamp(s) {
            stamp_instant(st, tz)
        } else {
            let t = serial_text(s)
                .and_then(from_serial)
                .ok_or(invalid_for(kind))?;
            localize(t, tz)
        }),
    };
    Ok(Converted::Value(v))
}

fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    if let Some(st) = parse_stamp(s) {
        return Some(st.local.date());
    }
    serial_text(s).and_then(from_serial).map(|t| t.date())
}

/// Unwraps an id the way exports protect it from Excel: `="…"`, a leading
/// tab or apostrophe, a trailing `.0`. Scientific notation means Excel
/// already rounded the id: its digits are gone.
pub(crate) fn clean_id(s: &str) -> Result<&str, Invalid> {
    let mut id = s;
    if id.len() >= 3 && id.starts_with("=\"") && id.ends_with('"') {
        id = &id[2..id.len() - 1];
    }
    id = trim(id.trim_start_matches(['\t', '\'']));
    if is_scientific(id) {
        return Err("id in scientific notation, digits lost".into());
    }
    if let Some(int) = id.strip_suffix(".0")
        && !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
    {
        id = int;
    }
    Ok(id)
}

fn is_scientific(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(e) = b.iter().position(|&c| c == b'e' || c == b'E') else {
        return false;
    };
    let (mant, exp) = (&b[..e], &b[e + 1..]);
    let mant = mant
        .strip_prefix(b"-")
        .or_else(|| mant.strip_prefix(b"+"))
        .unwrap_or(mant);
    let exp = exp
        .strip_prefix(b"-")
        .or_else(|| exp.strip_prefix(b"+"))
        .unwrap_or(exp);
    let dots = mant.iter().filter(|&&c| c == b'.').count();
    !mant.is_empty()
        && mant[0].is_ascii_digit()
        && dots <= 1
        && mant.iter().all(|c| c.is_ascii_digit() || *c == b'.')
        && !exp.is_empty()
        && exp.iter().all(u8::is_ascii_digit)
}

/// A decimal with optional sign and thousands separators that group by
/// three (`1,234.5`; `1,2.3` is refused). Parsed by hand into an exact
/// decimal: no allocation, no binary float.
pub(crate) fn parse_grouped(s: &str) -> Option<Decimal> {
    let b = s.as_bytes();
    let mut i = 0;
    let neg = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut mantissa: u128 = 0;
    let mut digits = 0usize;
    let mut group = 0usize;
    let mut grouped = false;
    let mut first_group = true;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(u128::from(c - b'0'))?;
                digits += 1;
                group += 1;
            }
            b',' => {
                if group == 0 || (first_group && group > 3) || (!first_group && group != 3) {
                    return None;
                }
                grouped = true;
                first_group = false;
                group = 0;
            }
            _ => break,
        }
        i += 1;
    }
    if grouped && group != 3 {
        return None;
    }
    let int_digits = digits;
    let mut scale = 0u32;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(u128::from(b[i] - b'0'))?;
            scale += 1;
            i += 1;
        }
    }
    if i != b.len() || (int_digits == 0 && scale == 0) || scale > 28 {
        return None;
    }
    let m = i128::try_from(mantissa).ok()?;
    let d = Decimal::try_from_i128_with_scale(if neg { -m } else { m }, scale).ok()?;
    Some(d)
}

/// Money: `¥`, `￥` and `元` around the number are dropped, then as
/// [`parse_grouped`].
pub(crate) fn parse_money(s: &str) -> Option<Decimal> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let body = trim(rest.trim_start_matches(['¥', '￥']));
    let body = trim(body.trim_end_matches('元'));
    // `¥-5` carries its sign after the symbol; `-¥-5` carries two.
    if neg && body.starts_with(['-', '+']) {
        return None;
    }
    let d = parse_grouped(body)?;
    Some(if neg { -d } else { d })
}

/// A whole number; thousands separators allowed, `12.0` accepted.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let d = parse_grouped(s)?;
    if !d.fract().is_zero() {
        return None;
    }
    i64::try_from(d.trunc().normalize().mantissa()).ok()
}

/// `3.25%` → 0.0325; a bare number as given.
pub(crate) fn parse_ratio(s: &str) -> Option<Decimal> {
    match s.strip_suffix('%').or_else(|| s.strip_suffix('％')) {
        Some(num) => {
            let d = parse_grouped(trim(num))?;
            d.checked_div(Decimal::ONE_HUNDRED)
        }
        None => parse_grouped(s),
    }
}

/// The shortest decimal text that reads back as `x` (Rust's `Display` for
/// f64), as an exact decimal.
fn float_decimal(x: f64) -> Option<Decimal> {
    if !x.is_finite() {
        return None;
    }
    parse_grouped(&x.to_string())
}

/// Ids stored as numbers keep all digits only below 1e15; above, Excel's
/// 15 significant digits have already eaten the tail.
const ID_FLOAT_LIMIT: f64 = 1e15;

fn convert_float(kind: FieldKind, x: f64, tz: Tz) -> Result<Value, Invalid> {
    if !x.is_finite() {
        return Err(invalid_for(kind).into());
    }
    Ok(match kind {
        FieldKind::Id
        | FieldKind::Pii
        | FieldKind::Text
        | FieldKind::Status
        | FieldKind::ProductStatus => {
            if kind == FieldKind::Id && x.abs() >= ID_FLOAT_LIMIT {
                return Err("id stored as a number, digits lost".into());
            }
            let text = if x.fract() == 0.0 && x.abs() < 9.0e15 {
                format!("{}", x as i64)
            } else {
                x.to_string()
            };
            match kind {
                FieldKind::Status | FieldKind::ProductStatus => {
                    return Err(invalid_for(kind).into());
                }
                _ => Value::Text(text),
            }
        }
        FieldKind::Int => {
            if x.fract() != 0.0 || x.abs() >= 9.0e18 {
                return Err(invalid_for(kind).into());
            }
            Value::Int(x as i64)
        }
        FieldKind::Money | FieldKind::Number | FieldKind::Ratio => {
            Value::Decimal(float_decimal(x).ok_or(invalid_for(kind))?)
        }
        FieldKind::Date => {
            if x.fract() == 0.0
                && let Some(d) = yyyymmdd(x as i64)
            {
                Value::Date(d)
            } else {
                Value::Date(from_serial(x).ok_or(invalid_for(kind))?.date())
            }
        }
        FieldKind::DateTime => {
            Value::DateTime(localize(from_serial(x).ok_or(invalid_for(kind))?, tz))
        }
    })
}

fn convert_int(kind: FieldKind, i: i64, tz: Tz) -> Result<Value, Invalid> {
    match kind {
        FieldKind::Int => Ok(Value::Int(i)),
        FieldKind::Money | FieldKind::Number | FieldKind::Ratio => {
            Ok(Value::Decimal(Decimal::from(i)))
        }
        FieldKind::Id | FieldKind::Text | FieldKind::Pii => Ok(Value::Text(i.to_string())),
        FieldKind::Date => match yyyymmdd(i) {
            Some(d) => Ok(Value::Date(d)),
            None => convert_float(kind, i as f64, tz),
        },
        _ => convert_float(kind, i as f64, tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn tz() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }
    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn conv(kind: FieldKind, s: &str) -> Result<Value, String> {
        match convert(kind, Cell::Text(s), tz(), false) {
            Ok(Converted::Value(v)) => Ok(v),
            Ok(Converted::UnknownStatus(v)) => Err(format!("unknown status -> {v:?}")),
            Err(e) => Err(e.into_owned()),
        }
    }
    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    #[test]
    fn ids_are_unwrapped_text() {
        assert_eq!(
            conv(FieldKind::Id, "=\"3123456789012345678\""),
            Ok(text("3123456789012345678"))
        );
        assert_eq!(
            conv(FieldKind::Id, "\t3123456789012345678"),
            Ok(text("3123456789012345678"))
        );
        assert_eq!(conv(FieldKind::Id, "'00123"), Ok(text("00123")));
        assert_eq!(conv(FieldKind::Id, "12345.0"), Ok(text("12345")));
        assert_eq!(conv(FieldKind::Id, "tb_buyer.0x"), Ok(text("tb_buyer.0x")));
        assert_eq!(conv(FieldKind::Id, " 张三 "), Ok(text("张三")));
        assert_eq!(
            conv(FieldKind::Id, "5.11860902499103E+18"),
            Err("id in scientific notation, digits lost".to_string())
        );
        assert_eq!(
            conv(FieldKind::Id, "1e5"),
            Err("id in scientific notation, digits lost".to_string())
        );
        assert_eq!(conv(FieldKind::Id, "e5"), Ok(text("e5")));
        assert_eq!(conv(FieldKind::Id, "=\"-\""), Ok(Value::Missing));
    }

    #[test]
    fn ids_from_excel_numbers() {
        let c = |x| convert_float(FieldKind::Id, x, tz()).map_err(|e| e.into_owned());
        assert_eq!(c(123456789012.0), Ok(text("123456789012")));
        assert_eq!(
            c(5.11860902499103e18),
            Err("id stored as a number, digits lost".to_string())
        );
        assert_eq!(
            c(1e15),
            Err("id stored as a number, digits lost".to_string())
        );
        assert_eq!(c(999_999_999_999_999.0), Ok(text("999999999999999")));
    }

    #[test]
    fn money_rules() {
        assert_eq!(
            conv(FieldKind::Money, "¥1,234.50"),
            Ok(Value::Decimal(dec("1234.50")))
        );
        assert_eq!(
            conv(FieldKind::Money, "￥88"),
            Ok(Value::Decimal(dec("88")))
        );
        assert_eq!(
            conv(FieldKind::Money, "99.9元"),
            Ok(Value::Decimal(dec("99.9")))
        );
        assert_eq!(
            conv(FieldKind::Money, "-¥5.00"),
            Ok(Value::Decimal(dec("-5")))
        );
        assert_eq!(
            conv(FieldKind::Money, "1,234,567"),
            Ok(Value::Decimal(dec("1234567")))
        );
        for bad in [
            "1,2.3", "12,34", "1,2345", ",123", "1.2.3", "abc", "1e3", "¥", "12.5万",
        ] {
            assert_eq!(
                conv(FieldKind::Money, bad),
                Err("invalid amount".to_string()),
                "{bad}"
            );
        }
        assert_eq!(conv(FieldKind::Money, "无退款申请"), Ok(Value::Missing));
        // Excel floats: exact via the shortest representation.
        assert_eq!(
            convert_float(FieldKind::Money, 0.1 + 0.2, tz()),
            Ok(Value::Decimal(dec("0.30000000000000004")))
        );
        assert_eq!(
            convert_float(FieldKind::Money, 199.9, tz()),
            Ok(Value::Decimal(dec("199.9")))
        );
    }

    #[test]
    fn ratio_and_int_rules() {
        assert_eq!(
            conv(FieldKind::Ratio, "3.25%"),
            Ok(Value::Decimal(dec("0.0325")))
        );
        assert_eq!(
            conv(FieldKind::Ratio, "3.25 ％"),
            Ok(Value::Decimal(dec("0.0325")))
        );
        assert_eq!(
            conv(FieldKind::Ratio, "0.45"),
            Ok(Value::Decimal(dec("0.45")))
        );
        assert_eq!(conv(FieldKind::Ratio, "45"), Ok(Value::Decimal(dec("45"))));
        assert_eq!(
            conv(FieldKind::Ratio, "%"),
            Err("invalid ratio".to_string())
        );
        assert_eq!(conv(FieldKind::Int, "12,345"), Ok(Value::Int(12345)));
        assert_eq!(conv(FieldKind::Int, "12.0"), Ok(Value::Int(12)));
        assert_eq!(
            conv(FieldKind::Int, "12.5"),
            Err("invalid whole number".to_string())
        );
        assert_eq!(
            conv(FieldKind::Number, "-3.5"),
            Ok(Value::Decimal(dec("-3.5")))
        );
    }

    #[test]
    fn missing_spellings() {
        for m in ["", " ", "-", "--", "无", "null", "NULL"] {
            for kind in [
                FieldKind::Money,
                FieldKind::Id,
                FieldKind::Text,
                FieldKind::Date,
                FieldKind::Int,
            ] {
                assert_eq!(conv(kind, m), Ok(Value::Missing), "{kind:?} {m:?}");
            }
        }
        assert_eq!(conv(FieldKind::Text, "无退款申请"), Ok(text("无退款申请")));
        assert_eq!(conv(FieldKind::Int, "暂无"), Ok(Value::Missing));
        // Verbatim text (the traffic source) keeps even the missing spellings.
        match convert(FieldKind::Text, Cell::Text(" - "), tz(), true) {
            Ok(Converted::Value(v)) => assert_eq!(v, text("-")),
            _ => panic!("verbatim"),
        }
    }

    #[test]
    fn dates_and_datetimes() {
        let at = Value::DateTime(Utc.with_ymd_and_hms(2026, 11, 22, 2, 1, 2).unwrap());
        assert_eq!(
            conv(FieldKind::DateTime, "2026-11-22 10:01:02"),
            Ok(at.clone())
        );
        assert_eq!(
            conv(FieldKind::DateTime, "2026年11月22日 10:01:02"),
            Ok(at.clone())
        );
        assert_eq!(
            conv(FieldKind::DateTime, "2026-11-22T02:01:02Z"),
            Ok(at.clone())
        );
        assert_eq!(conv(FieldKind::DateTime, "46348.41738425926"), Ok(at));
        assert_eq!(
            conv(FieldKind::DateTime, "2026-13-45"),
            Err("invalid date-time".to_string())
        );
        let d = Value::Date(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        for s in [
            "2026-11-22",
            "2026/11/22",
            "20261122",
            "2026年11月22日",
            "2026-11-22 00:00:00",
            "46348",
        ] {
            assert_eq!(conv(FieldKind::Date, s), Ok(d.clone()), "{s}");
        }
        assert_eq!(
            conv(FieldKind::Date, "2026-13-45"),
            Err("invalid date".to_string())
        );
        assert_eq!(
            convert_float(FieldKind::Date, 20261122.0, tz()),
            Ok(d.clone())
        );
        assert_eq!(convert_float(FieldKind::Date, 46348.0, tz()), Ok(d));
    }

    #[test]
    fn statuses() {
        assert_eq!(conv(FieldKind::Status, "交易成功"), Ok(text("completed")));
        assert_eq!(conv(FieldKind::Status, "paid"), Ok(text("paid")));
        assert_eq!(
            conv(FieldKind::Status, "被风吹走"),
            Err("unknown status -> Text(\"unknown\")".to_string())
        );
        assert_eq!(
            conv(FieldKind::ProductStatus, "当前在线"),
            Ok(text("online"))
        );
    }

    #[test]
    fn excel_typed_cells() {
        let t = tz();
        let ok = |k, c| match convert(k, c, t, false) {
            Ok(Converted::Value(v)) => v,
            _ => panic!("{c:?}"),
        };
        assert_eq!(ok(FieldKind::Int, Cell::Float(3.0)), Value::Int(3));
        assert_eq!(ok(FieldKind::Text, Cell::Float(3.0)), text("3"));
        assert_eq!(
            ok(FieldKind::Number, Cell::Duration(83.0 / 86_400.0)),
            Value::Decimal(dec("83"))
        );
        let noon = NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(12, 0, 0);
        assert_eq!(
            ok(FieldKind::DateTime, Cell::DateTime(noon)),
            Value::DateTime(Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap())
        );
        assert!(convert(FieldKind::Money, Cell::Error, t, false).is_err());
        assert!(convert(FieldKind::Int, Cell::Float(2.5), t, false).is_err());
        assert!(matches!(
            convert(FieldKind::Status, Cell::Float(3.0), t, false),
            Ok(Converted::UnknownStatus(Value::Text(s))) if s == "unknown"
        ));
        assert_eq!(ok(FieldKind::Text, Cell::Empty), Value::Missing);
        match convert(FieldKind::Text, Cell::Empty, t, true) {
            Ok(Converted::Value(v)) => assert_eq!(v, text("")),
            _ => panic!("verbatim empty"),
        }
    }
}
