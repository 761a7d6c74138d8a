//! Each member's first paid order, kept beside the orders: what "is this
//! buyer new?" asks of the whole history.
//!
//! The question used to be answered by an index of the orders by member
//! (`orders_member_paid`), which also gave the tier computation its
//! member-ordered purchase stream. Member ids arrive in no order, so each of
//! a day's ~35 k orders went to a random page of that 10 M-entry index:
//! measured on a year's store in the SQLite shell, inserting and committing
//! a day's orders took 0.87–1.05 s with it and 0.10–0.13 s without, and the
//! ~25 k pages it dirtied were most of the day's WAL. This table has one
//! row per member with a paid order (2 M for the large shop, a fifth of the
//! orders, each a few dozen bytes); a day's orders look their members up in
//! it, and only the day's new buyers write to it. The tier stream reads the
//! paid-time index instead, which grows at its end (see
//! [`crate::compute::tiers::TimeOrderedAggregator`]).
//!
//! How it is kept, all in the ingest's transaction:
//! - At the commit of an orders ingest, the orders of each day written
//!   lower their members' first paid time where they are earlier.
//! - A trigger on deleting an order that was its member's first moves the
//!   member to `first_paid_stale`, with the deleted time: every other order
//!   of that member was paid at or after it. Clearing a day deletes; so does
//!   `INSERT OR REPLACE` of an order with the same day and id, once
//!   recursive triggers are on (they are, on every connection that writes;
//!   see [`super::Store::open`]).
//! - The same commit finds the stale members' first paid times again by
//!   reading the paid-time index from the earliest deleted time on, until
//!   each is found (a member found nowhere has no paid order left).
//! - A bulk load (an import of many days) builds the table anew from the
//!   paid-time index instead: one pass over the history beats millions of
//!   look-ups.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::Connection;

use super::codec::date_to_text;
use super::error::{Context, StoreError};

/// Version 13: the table, its trigger, and the paid-time index made to
/// cover what the tier stream reads; the member index goes.
///
/// The table is filled from the member index while it still exists (a pass
/// in member order); the covering paid-time index is built once.
pub(crate) const V13: &str = r#"
CREATE TABLE member_first_paid (
    member_id TEXT    NOT NULL PRIMARY KEY,
    paid_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE first_paid_stale (
    member_id TEXT    NOT NULL PRIMARY KEY,
    since     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO member_first_paid (member_id, paid_at)
SELECT member_id, min(paid_at) FROM orders WHERE paid_at IS NOT NULL GROUP BY member_id;
CREATE TRIGGER orders_first_paid_delete AFTER DELETE ON orders
WHEN OLD.paid_at IS NOT NULL BEGIN
    INSERT OR IGNORE INTO first_paid_stale (member_id, since)
    SELECT member_id, paid_at FROM member_first_paid
    WHERE member_id = OLD.member_id AND paid_at = OLD.paid_at;
    DELETE FROM member_first_paid
    WHERE member_id = OLD.member_id AND paid_at = OLD.paid_at;
END;
DROP INDEX IF EXISTS orders_member_paid;
DROP INDEX IF EXISTS orders_paid_at;
CREATE INDEX orders_paid_at
    ON orders (paid_at, member_id, status, paid_amount, refund_amount)
    WHERE paid_at IS NOT NULL;
"#;

/// Takes a store's schema from version 13 back to 12, for tests of the
/// migration.
#[cfg(test)]
pub(crate) const BACK_TO_V12: &str = r#"
DROP TRIGGER orders_first_paid_delete;
DROP TABLE member_first_paid;
DROP TABLE first_paid_stale;
DROP INDEX orders_paid_at;
CREATE INDEX orders_paid_at ON orders (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX orders_member_paid
    ON orders (member_id, paid_at, status, paid_amount, refund_amount)
    WHERE paid_at IS NOT NULL;
PRAGMA user_version = 12;
"#;

/// Lowers the first paid time of the members of day `?1`'s paid orders
/// where one of those orders is earlier.
const SQL_LOWER_FROM_DAY: &str = "INSERT INTO member_first_paid (member_id, paid_at) \
     SELECT member_id, min(paid_at) FROM orders \
     WHERE day = ?1 AND paid_at IS NOT NULL GROUP BY member_id \
     ON CONFLICT (member_id) DO UPDATE SET paid_at = excluded.paid_at \
     WHERE excluded.paid_at < member_first_paid.paid_at";

/// Sets a member's first paid time unless an earlier one is stored.
const SQL_LOWER_ONE: &str = "INSERT INTO member_first_paid (member_id, paid_at) \
     VALUES (?1, ?2) ON CONFLICT (member_id) DO UPDATE SET paid_at = excluded.paid_at \
     WHERE excluded.paid_at < member_first_paid.paid_at";

/// Paid orders from `?1` on, by paid time, as the paid-time index holds them.
const SQL_PAID_FROM: &str = "SELECT member_id, paid_at FROM orders INDEXED BY orders_paid_at \
     WHERE paid_at IS NOT NULL AND paid_at >= ?1 ORDER BY paid_at";

/// Brings the table up to date at the commit of an orders ingest that
/// wrote `days` and kept its indexes.
pub(crate) fn after_ingest(conn: &Connection, days: &[NaiveDate]) -> Result<(), StoreError> {
    let mut lower = conn
        .prepare_cached(SQL_LOWER_FROM_DAY)
        .ctx("member_first_paid", "prepare")?;
    for day in days {
        lower
            .execute([date_to_text(*day)])
            .ctx("member_first_paid", "lower from a day's orders")?;
    }
    resolve_stale(conn)
}

/// Finds the first paid time again of each member whose first paid order
/// was deleted.
fn resolve_stale(conn: &Connection) -> Result<(), StoreError> {
    let mut stale: HashMap<String, i64> = HashMap::new();
    {
        let mut stmt = conn
            .prepare_cached("SELECT member_id, since FROM first_paid_stale")
            .ctx("first_paid_stale", "prepare")?;
        let mut rows = stmt.query([]).ctx("first_paid_stale", "read")?;
        while let Some(r) = rows.next().ctx("first_paid_stale", "read")? {
            stale.insert(
                r.get(0).ctx("first_paid_stale", "read")?,
                r.get(1).ctx("first_paid_stale", "read")?,
            );
        }
    }
    let Some(&since) = stale.values().min() else {
        return Ok(());
    };
    let wanted = stale.len();
    let mut found: Vec<(String, i64)> = Vec::with_capacity(wanted);
    {
        let mut stmt = conn
            .prepare_cached(SQL_PAID_FROM)
            .ctx("orders", "prepare")?;
        let mut rows = stmt.query([since]).ctx("orders", "first paid again")?;
        while let Some(r) = rows.next().ctx("orders", "first paid again")? {
            let member = r
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx("orders", "first paid again")?;
            // Removed once found: the scan is in paid order, so the first
            // entry of a member is its earliest.
            if stale.remove(member).is_some() {
                found.push((
                    member.to_owned(),
                    r.get(1).ctx("orders", "first paid again")?,
                ));
                if stale.is_empty() {
                    break;
                }
            }
        }
    }
    let mut lower = conn
        .prepare_cached(SQL_LOWER_ONE)
        .ctx("member_first_paid", "prepare")?;
    for (member, paid) in &found {
        lower
            .execute(rusqlite::params![member, paid])
            .ctx("member_first_paid", "first paid again")?;
    }
    conn.execute("DELETE FROM first_paid_stale", [])
        .ctx("first_paid_stale", "clear")?;
    tracing::debug!(
        wanted,
        found = found.len(),
        "first paid times found again after their orders were replaced"
    );
    Ok(())
}

/// Builds the table anew from the paid-time index: after a bulk load,
/// whose rows may lower or remove any member's first paid time.
pub(crate) fn rebuild(conn: &Connection) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let mut first: HashMap<Box<str>, i64> = HashMap::new();
    {
        let mut stmt = conn
            .prepare_cached(SQL_PAID_FROM)
            .ctx("orders", "prepare")?;
        let mut rows = stmt.query([i64::MIN]).ctx("orders", "first paid")?;
        while let Some(r) = rows.next().ctx("orders", "first paid")? {
            let member = r
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx("orders", "first paid")?;
            if !first.contains_key(member) {
                first.insert(member.into(), r.get(1).ctx("orders", "first paid")?);
            }
        }
    }
    // In key order, so the table is written front to back.
    let mut rows: Vec<(Box<str>, i64)> = first.into_iter().collect();
    rows.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    conn.execute_batch("DELETE FROM member_first_paid; DELETE FROM first_paid_stale;")
        .ctx("member_first_paid", "clear")?;
    let mut insert = conn
        .prepare_cached("INSERT INTO member_first_paid (member_id, paid_at) VALUES (?1, ?2)")
        .ctx("member_first_paid", "prepare")?;
    for (member, paid) in &rows {
        insert
            .execute(rusqlite::params![&**member, paid])
            .ctx("member_first_paid", "rebuild")?;
    }
    tracing::debug!(
        members = rows.len(),
        ms = started.elapsed().as_millis() as u64,
        "first paid times rebuilt after bulk load"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use rust_decimal::Decimal;

    use super::*;
    use crate::model::{Dataset, Record, Value};
    use crate::store::Store;

    const SHANGHAI: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

    /// An order of `member` created on `day` at 01:00 UTC, paid `paid`
    /// minutes later (unpaid for `None`).
    fn order(id: &str, member: &str, day: &str, paid: Option<i64>, row: u64) -> Record {
        let created: DateTime<Utc> = format!("{day}T01:00:00Z").parse().unwrap();
        let values = Dataset::Orders
            .fields()
            .iter()
            .map(|f| match f.name {
                "order_id" => Value::Text(id.to_owned()),
                "member_id" => Value::Text(member.to_owned()),
                "created_at" => Value::DateTime(created),
                "paid_at" => paid.map_or(Value::Missing, |m| {
                    Value::DateTime(created + chrono::Duration::minutes(m))
                }),
                "status" => Value::Text(if paid.is_some() { "paid" } else { "unpaid" }.into()),
                "paid_amount" => Value::Decimal(Decimal::new(10, 0)),
                _ => Value::Missing,
            })
            .collect();
        Record { row, values }
    }

    type Order<'a> = (&'a str, &'a str, Option<i64>);

    /// Writes `orders` under `day`, clearing it first when `clear`.
    fn ingest(store: &mut Store, bulk: bool, clear: bool, day: &str, orders: &[Order<'_>]) {
        let mut ing = if bulk {
            store.begin_bulk_ingest(Dataset::Orders, SHANGHAI).unwrap()
        } else {
            store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap()
        };
        let d: NaiveDate = day.parse().unwrap();
        if clear {
            ing.clear_day(d).unwrap();
        }
        for (i, (id, member, paid)) in orders.iter().enumerate() {
            ing.insert(d, &order(id, member, day, *paid, i as u64 + 2), "o.csv")
                .unwrap();
        }
        ing.commit().unwrap();
    }

    fn table(store: &Store, sql: &str) -> Vec<(String, i64)> {
        store
            .conn
            .prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The kept table against the first paid times worked out from the
    /// orders themselves; returns the members kept.
    fn assert_kept(store: &Store) -> Vec<String> {
        let kept = table(
            store,
            "SELECT member_id, paid_at FROM member_first_paid ORDER BY member_id",
        );
        let truth = table(
            store,
            "SELECT member_id, min(paid_at) FROM orders WHERE paid_at IS NOT NULL \
             GROUP BY member_id ORDER BY member_id",
        );
        assert_eq!(kept, truth);
        let stale = table(store, "SELECT member_id, since FROM first_paid_stale");
        assert!(stale.is_empty(), "{stale:?}");
        kept.into_iter().map(|(m, _)| m).collect()
    }

    #[test]
    fn first_paid_times_follow_inserts_replaced_days_and_replaced_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        ingest(
            &mut store,
            false,
            true,
            "2026-11-21",
            &[
                ("A", "m1", Some(5)),
                ("B", "m2", Some(9)),
                ("U", "m3", None),
            ],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2"]);
        ingest(
            &mut store,
            false,
            true,
            "2026-11-22",
            &[
                ("C", "m1", Some(1)),
                ("D", "m4", Some(2)),
                ("E", "m2", Some(3)),
            ],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2", "m4"]);
        // The 21st exported again: m1's first order is gone (its first is
        // now on the 22nd), m2's comes again unchanged, m3 paid.
        ingest(
            &mut store,
            false,
            true,
            "2026-11-21",
            &[("B", "m2", Some(9)), ("U", "m3", Some(30))],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2", "m3", "m4"]);
        // The 22nd again without m4's only order.
        ingest(
            &mut store,
            false,
            true,
            "2026-11-22",
            &[("C", "m1", Some(1)), ("E", "m2", Some(3))],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2", "m3"]);
        // A row replaced without clearing its day (same day and id, paid
        // later): only recursive triggers let its delete be seen.
        ingest(
            &mut store,
            false,
            false,
            "2026-11-21",
            &[("U", "m3", Some(50))],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2", "m3"]);
        // The same day and id twice in one file: the later row is kept.
        ingest(
            &mut store,
            false,
            true,
            "2026-11-23",
            &[("F", "m5", Some(1)), ("F", "m5", Some(40))],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2", "m3", "m5"]);
    }

    #[test]
    fn a_bulk_load_builds_the_table_anew() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        ingest(
            &mut store,
            false,
            true,
            "2026-11-21",
            &[("A", "m1", Some(5)), ("B", "m2", Some(9))],
        );
        // A bulk load that replaces m1's first order with a later one and
        // brings an earlier one of m2.
        ingest(
            &mut store,
            true,
            false,
            "2026-11-21",
            &[("A", "m1", Some(50)), ("G", "m6", Some(1))],
        );
        ingest(
            &mut store,
            true,
            true,
            "2026-11-20",
            &[("H", "m2", Some(1))],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2", "m6"]);
    }

    /// A version-12 store gets the table filled from its orders, the
    /// member index dropped and the paid-time index covering the tier
    /// stream; the trigger then keeps the table.
    #[test]
    fn version_13_fills_the_table_and_replaces_the_member_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let store = Store::open(&path).unwrap();
            store.conn.execute_batch(BACK_TO_V12).unwrap();
            store
                .conn
                .execute_batch(
                    "INSERT INTO orders (order_id, member_id, created_at, paid_at, status,
                         paid_amount, day, file, \"row\")
                     VALUES ('A', 'm1', 0, 100, 'paid', 1, '2026-11-21', 'o.csv', 2),
                            ('B', 'm1', 0, 50, 'paid', 1, '2026-11-22', 'o.csv', 3),
                            ('C', 'm2', 0, 70, 'closed', 1, '2026-11-22', 'o.csv', 4),
                            ('D', 'm3', 0, NULL, 'unpaid', 1, '2026-11-22', 'o.csv', 5);",
                )
                .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(
            table(
                &store,
                "SELECT member_id, paid_at FROM member_first_paid ORDER BY member_id"
            ),
            vec![("m1".to_owned(), 50), ("m2".to_owned(), 70)]
        );
        let index = |name: &str| -> Option<String> {
            store
                .conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .ok()
        };
        assert!(index("orders_member_paid").is_none());
        assert!(
            index("orders_paid_at")
                .unwrap()
                .contains("(paid_at, member_id, status, paid_amount, refund_amount)")
        );
        // The trigger works on the migrated store: m1's first order goes
        // with its day.
        ingest(
            &mut store,
            false,
            true,
            "2026-11-22",
            &[("C", "m2", Some(3))],
        );
        assert_eq!(assert_kept(&store), ["m1", "m2"]);
    }
}
