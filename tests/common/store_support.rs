//! Builders shared by the store tests: records written by hand in each
//! dataset's field order, and a store in a fresh temporary directory.
#![allow(dead_code)]

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use storepulse::model::{Dataset, Record, Value};
use storepulse::store::{FileMeta, IngestSummary, Store};

pub const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// An instant written as RFC 3339.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn txt(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub fn money(s: &str) -> Value {
    Value::Decimal(dec(s))
}

pub fn opt_money(s: Option<&str>) -> Value {
    s.map_or(Value::Missing, money)
}

pub fn m() -> Value {
    Value::Missing
}

pub fn rec(row: u64, values: Vec<Value>) -> Record {
    Record { row, values }
}

pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

pub fn fresh() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db")).unwrap();
    TestStore { dir, store }
}

/// An order: created, optional paid time, status, paid and refund amounts.
#[allow(clippy::too_many_arguments)]
pub fn order(
    row: u64,
    id: &str,
    member: &str,
    created: &str,
    paid: Option<&str>,
    status: &str,
    paid_amount: &str,
    refund: Option<&str>,
) -> Record {
    rec(
        row,
        vec![
            txt(id),
            txt(member),
            Value::DateTime(t(created)),
            paid.map_or(Value::Missing, |p| Value::DateTime(t(p))),
            txt(status),
            money(paid_amount),
            m(),
            opt_money(refund),
            Value::Int(1),
            txt("旗舰店"),
            m(),
        ],
    )
}

pub fn item(row: u64, order_id: &str, sku: &str, qty: i64, price: &str) -> Record {
    rec(
        row,
        vec![
            txt(order_id),
            txt(sku),
            txt("宝贝"),
            Value::Int(qty),
            money(price),
        ],
    )
}

/// Replaces `day` of `dataset` with `records`, as a daily ingest does.
pub fn replace_day(
    store: &mut Store,
    dataset: Dataset,
    day: NaiveDate,
    file: &str,
    records: &[Record],
) -> IngestSummary {
    let mut ing = store.begin_ingest(dataset, SHANGHAI).unwrap();
    ing.clear_day(day).unwrap();
    for r in records {
        ing.insert(day, r, file).unwrap();
    }
    ing.commit().unwrap()
}

pub fn meta(path: &str, date: Option<&str>, sha: &str) -> FileMeta {
    FileMeta {
        date: date.map(d),
        path: path.to_owned(),
        size: 1234,
        mtime: t("2026-11-22T01:02:03.123456789Z"),
        sha256: sha.to_owned(),
        rows: 3,
        rejected: 1,
        ingested_at: t("2026-11-23T06:00:00Z"),
        archive: Some(format!("archive/{sha}.csv")),
    }
}

pub fn count(store: &Store, table: &str) -> i64 {
    store
        .connection()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}
