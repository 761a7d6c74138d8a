//! Typed values of a parsed row.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// One parsed cell, already converted to its field's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Empty, `-`, `--`, `无`, `null` or a known text-in-number placeholder.
    Missing,
    /// Ids, free text, PII, and normalised statuses (`paid`, `online`).
    Text(String),
    Int(i64),
    /// Money, plain numbers and ratios: exact decimals, never binary floats.
    Decimal(Decimal),
    Date(NaiveDate),
    /// An instant; text without an offset was read in the shop's time zone.
    DateTime(DateTime<Utc>),
}

impl Value {
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Value::Decimal(d) => Some(*d),
            Value::Int(i) => Some(Decimal::from(*i)),
            _ => None,
        }
    }

    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    pub fn as_datetime(&self) -> Option<DateTime<Utc>> {
        match self {
            Value::DateTime(t) => Some(*t),
            _ => None,
        }
    }
}

/// A parsed row: one value per canonical field of its dataset, in the order
/// of [`crate::model::Dataset::fields`], plus where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based row number in the source (the line for CSV, the sheet row for
    /// Excel), so errors and check samples can point at it.
    pub row: u64,
    pub values: Vec<Value>,
}

impl Record {
    pub fn get(&self, index: usize) -> &Value {
        // A record always has one value per field; `Missing` for an index past
        // the end keeps callers from panicking on a malformed record.
        self.values.get(index).unwrap_or(&Value::Missing)
    }
}
