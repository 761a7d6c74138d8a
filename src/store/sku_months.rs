//! Which days of each month a SKU sold and had a unit cost, kept beside the
//! product rows: what the zero-seller check and the unit-cost lookups ask of
//! the history.
//!
//! Both questions are per SKU over many days ("did it sell on any day of
//! the last 90?", "what was its latest cost on or before this day?"), and
//! they used to be answered by two SKU-first indexes on `products`. Every
//! products export adds a row for each of ~20 k SKUs at the end of that
//! SKU's run in such an index, so a day's ingest dirtied one page per SKU
//! in each: measured on a year's store, inserting and committing a day of
//! 20 k rows took 1.1–1.2 s with both indexes and 0.08 s without. This
//! table is clustered by month first, so a day's rows update ~20 k adjacent
//! rows of one month (a few hundred pages), and a question about a window
//! reads the rows of the months it spans.
//!
//! Triggers on `products` keep it: an inserted row sets its day's bits to
//! what it says (so a row replacing another through `INSERT OR REPLACE`,
//! whose delete fires no trigger, still leaves the right bits), a deleted
//! row clears them, and an update does both. `products_key` makes
//! (day, sku) unique, so a day's bit belongs to exactly one row.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Days, Months, NaiveDate};
use rusqlite::OptionalExtension;
use rust_decimal::Decimal;

use super::Store;
use super::codec::{date_from_text, date_to_text, money_from_i64};
use super::error::{Context, StoreError};

/// The bit of a row's day in its month's masks: bit d − 1 for day d.
/// `$row` is `NEW` or `OLD`.
macro_rules! day_bit {
    ($row:literal) => {
        concat!("(1 << (CAST(substr(", $row, ".day, 9, 2) AS INTEGER) - 1))")
    };
}

/// Clears the day of the `OLD` row in its month's masks.
macro_rules! clear_old_day {
    () => {
        concat!(
            "UPDATE sku_months SET sold = sold & ~",
            day_bit!("OLD"),
            ", costed = costed & ~",
            day_bit!("OLD"),
            " WHERE month = substr(OLD.day, 1, 7) AND sku_id = OLD.sku_id;"
        )
    };
}

/// Sets the day of the `NEW` row in its month's masks to what the row
/// says, clearing whatever an earlier row of that day left there.
macro_rules! set_new_day {
    () => {
        concat!(
            "INSERT INTO sku_months (month, sku_id, sold, costed) VALUES (",
            "substr(NEW.day, 1, 7), NEW.sku_id, ",
            "CASE WHEN NEW.paid_units > 0 THEN ",
            day_bit!("NEW"),
            " ELSE 0 END, ",
            "CASE WHEN NEW.unit_cost IS NOT NULL THEN ",
            day_bit!("NEW"),
            " ELSE 0 END) ",
            "ON CONFLICT (month, sku_id) DO UPDATE SET ",
            "sold = (sold & ~",
            day_bit!("NEW"),
            ") | excluded.sold, ",
            "costed = (costed & ~",
            day_bit!("NEW"),
            ") | excluded.costed;"
        )
    };
}

/// Version 11: the month table, filled from the stored product rows, its
/// triggers, and the two SKU-first indexes it replaces dropped.
pub(crate) const V11: &str = concat!(
    "CREATE TABLE sku_months (
    month  TEXT    NOT NULL,
    sku_id TEXT    NOT NULL,
    sold   INTEGER NOT NULL,
    costed INTEGER NOT NULL,
    PRIMARY KEY (month, sku_id)
) STRICT, WITHOUT ROWID;
INSERT INTO sku_months (month, sku_id, sold, costed)
SELECT substr(day, 1, 7), sku_id,
       sum(coalesce(paid_units > 0, 0) << (CAST(substr(day, 9, 2) AS INTEGER) - 1)),
       sum((unit_cost IS NOT NULL) << (CAST(substr(day, 9, 2) AS INTEGER) - 1))
FROM products
GROUP BY substr(day, 1, 7), sku_id;
CREATE TRIGGER products_months_insert AFTER INSERT ON products BEGIN ",
    set_new_day!(),
    " END;
CREATE TRIGGER products_months_delete AFTER DELETE ON products BEGIN ",
    clear_old_day!(),
    " END;
CREATE TRIGGER products_months_update
AFTER UPDATE OF day, sku_id, paid_units, unit_cost ON products BEGIN ",
    clear_old_day!(),
    " ",
    set_new_day!(),
    " END;
DROP INDEX IF EXISTS products_cost;
DROP INDEX IF EXISTS products_sold;
"
);

pub(crate) const SQL_SOLD_IN_MONTH: &str =
    "SELECT sku_id, sold FROM sku_months WHERE month = ?1 AND sold <> 0";
pub(crate) const SQL_COSTED_IN_MONTH: &str =
    "SELECT sku_id, costed FROM sku_months WHERE month = ?1 AND costed <> 0";
// Two subqueries: SQLite reads a lone min() or max() off the key's ends,
// but both in one select scan the table.
pub(crate) const SQL_MONTH_SPAN: &str =
    "SELECT (SELECT min(month) FROM sku_months), (SELECT max(month) FROM sku_months)";
pub(crate) const SQL_COST_OF_DAY: &str =
    "SELECT unit_cost FROM products WHERE day = ?1 AND sku_id = ?2";

/// The first day of `day`'s month.
fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month after the one starting `first`; chrono's
/// last date when there is none, which ends every walk forwards.
fn month_after(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

/// `YYYY-MM`, as the table keys months.
fn month_key(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

/// The bits of days `[lo, hi)` of the month starting `first` (bit d − 1 for
/// day d); `lo` and `hi` lie within the month or on the first day after it.
fn day_bits(first: NaiveDate, lo: NaiveDate, hi: NaiveDate) -> i64 {
    // At most 31 days from the first: every shift stays below bit 63.
    let below = |d: NaiveDate| (1i64 << (d - first).num_days().clamp(0, 31)) - 1;
    below(hi) & !below(lo)
}

impl Store {
    /// The first days of the oldest and the newest month in the table;
    /// `None` when it is empty. Walks over months stay within them, so a
    /// day far from the stored ones costs no empty month reads.
    fn month_span(&self) -> Result<Option<(NaiveDate, NaiveDate)>, StoreError> {
        let span: (Option<String>, Option<String>) = self
            .conn
            .prepare_cached(SQL_MONTH_SPAN)
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
            .ctx("sku_months", "month span")?;
        let (Some(oldest), Some(newest)) = span else {
            return Ok(None);
        };
        let first = |m: String| date_from_text("sku_months", "month", &format!("{m}-01"));
        Ok(Some((first(oldest)?, first(newest)?)))
    }

    /// Runs `sql` (one of the per-month selects) for the month starting
    /// `first` and hands `f` each SKU whose mask has a bit in `mask`, with
    /// the mask cut to it.
    fn month_masks(
        &self,
        sql: &str,
        first: NaiveDate,
        mask: i64,
        mut f: impl FnMut(&str, i64),
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .ctx("sku_months", "month masks")?;
        let mut rows = stmt
            .query([month_key(first)])
            .ctx("sku_months", "month masks")?;
        while let Some(row) = rows.next().ctx("sku_months", "month masks")? {
            let bits = row.get::<_, i64>(1).ctx("sku_months", "month masks")? & mask;
            if bits == 0 {
                continue;
            }
            // Borrowed: no allocation for the many rows that are skipped.
            let sku = row
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx("sku_months", "month masks")?;
            f(sku, bits);
        }
        Ok(())
    }

    /// Which of `skus` sold in the days `[day_start, day_end)`: a products
    /// export row of the window shows `paid_units > 0` for it.
    ///
    /// Reads the SKUs that sold in each month the window touches (a 90-day
    /// window is four months of at most one row per SKU), so the cost
    /// follows the catalogue and the window's months, not the history.
    pub fn skus_sold_between<'s>(
        &self,
        skus: impl IntoIterator<Item = &'s str>,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<HashSet<String>, StoreError> {
        let wanted: HashSet<&str> = skus.into_iter().collect();
        let mut sold = HashSet::new();
        if wanted.is_empty() || day_start >= day_end {
            return Ok(sold);
        }
        self.in_read_transaction("sku_months", || {
            let Some((oldest, newest)) = self.month_span()? else {
                return Ok(sold);
            };
            let mut first = month_of(day_start).max(oldest);
            while first < day_end && first <= newest {
                let next = month_after(first);
                let mask = day_bits(first, day_start.max(first), day_end.min(next));
                self.month_masks(SQL_SOLD_IN_MONTH, first, mask, |sku, _| {
                    if wanted.contains(sku) && !sold.contains(sku) {
                        sold.insert(sku.to_owned());
                    }
                })?;
                first = next;
            }
            Ok(sold)
        })
    }

    /// Each SKU's latest known unit cost on or before `as_of`.
    pub fn latest_unit_costs(
        &self,
        as_of: NaiveDate,
    ) -> Result<HashMap<String, Decimal>, StoreError> {
        self.in_read_transaction("sku_months", || self.costs_as_of(as_of, None))
    }

    /// The latest known unit cost on or before `as_of` of each of `skus`
    /// that has one.
    pub fn unit_costs_for(
        &self,
        as_of: NaiveDate,
        skus: &[String],
    ) -> Result<HashMap<String, Decimal>, StoreError> {
        if skus.is_empty() {
            return Ok(HashMap::new());
        }
        let wanted: HashSet<&str> = skus.iter().map(String::as_str).collect();
        self.in_read_transaction("sku_months", || self.costs_as_of(as_of, Some(&wanted)))
    }

    /// Walks the months back from `as_of`'s, taking for each SKU (of
    /// `wanted`, or all) the last costed day of the newest month that has
    /// one, then reads that day's cost. Stops once every wanted SKU is
    /// found or the months run out; a SKU costed recently is found in the
    /// first month read.
    fn costs_as_of(
        &self,
        as_of: NaiveDate,
        wanted: Option<&HashSet<&str>>,
    ) -> Result<HashMap<String, Decimal>, StoreError> {
        let Some((oldest, newest)) = self.month_span()? else {
            return Ok(HashMap::new());
        };
        let mut days: HashMap<String, NaiveDate> = HashMap::new();
        let after_as_of = as_of.succ_opt().unwrap_or(NaiveDate::MAX);
        let mut first = month_of(as_of).min(newest);
        while first >= oldest {
            let mask = day_bits(first, first, after_as_of.min(month_after(first)));
            self.month_masks(SQL_COSTED_IN_MONTH, first, mask, |sku, bits| {
                if wanted.is_some_and(|w| !w.contains(sku)) || days.contains_key(sku) {
                    return;
                }
                // The highest set bit is the month's last costed day.
                let last = u64::from(63 - bits.leading_zeros());
                if let Some(day) = first.checked_add_days(Days::new(last)) {
                    days.insert(sku.to_owned(), day);
                }
            })?;
            if wanted.is_some_and(|w| days.len() == w.len()) {
                break;
            }
            let Some(earlier) = first.checked_sub_months(Months::new(1)) else {
                break;
            };
            first = earlier;
        }
        let mut cost = self
            .conn
            .prepare_cached(SQL_COST_OF_DAY)
            .ctx("products", "unit cost")?;
        // In (day, sku) order, so the lookups walk `products_key` forwards.
        let mut days: Vec<(NaiveDate, String)> = days.into_iter().map(|(s, d)| (d, s)).collect();
        days.sort_unstable();
        let mut out = HashMap::with_capacity(days.len());
        for (day, sku) in days {
            let value: Option<Option<i64>> = cost
                .query_row(rusqlite::params![date_to_text(day), &sku], |r| r.get(0))
                .optional()
                .ctx("products", "unit cost")?;
            // The bit says the row has a cost; a missing one would be a
            // table out of step with its rows, and a cost not known is the
            // honest answer then.
            if let Some(Some(v)) = value {
                out.insert(sku, money_from_i64(v));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// (month, sku_id, sold, costed).
    type MonthRow = (String, String, i64, i64);

    /// The table as it should be: computed again from the product rows
    /// (the migration's own query), beside what the triggers kept. Rows
    /// whose bits are all clear say nothing and are left out of both.
    fn kept_and_recomputed(store: &Store) -> (Vec<MonthRow>, Vec<MonthRow>) {
        let read = |sql: &str| {
            let mut stmt = store.conn.prepare(sql).unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        };
        let kept = read(
            "SELECT month, sku_id, sold, costed FROM sku_months \
             WHERE sold <> 0 OR costed <> 0 ORDER BY month, sku_id",
        );
        let recomputed = read(
            "SELECT * FROM (SELECT substr(day, 1, 7) AS month, sku_id, \
             sum(coalesce(paid_units > 0, 0) << (CAST(substr(day, 9, 2) AS INTEGER) - 1)) AS sold, \
             sum((unit_cost IS NOT NULL) << (CAST(substr(day, 9, 2) AS INTEGER) - 1)) AS costed \
             FROM products GROUP BY 1, 2) WHERE sold <> 0 OR costed <> 0 ORDER BY month, sku_id",
        );
        (kept, recomputed)
    }

    fn put(store: &Store, verb: &str, day: &str, sku: &str, units: Option<i64>, cost: Option<i64>) {
        store
            .conn
            .execute(
                &format!(
                    "{verb} INTO products (sku_id, paid_units, unit_cost, day, file, \"row\") \
                     VALUES (?1, ?2, ?3, ?4, 'p.csv', 2)"
                ),
                rusqlite::params![sku, units, cost, day],
            )
            .unwrap();
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn day_bits_cover_the_half_open_range() {
        let nov = d("2026-11-01");
        assert_eq!(day_bits(nov, nov, d("2026-12-01")), (1 << 30) - 1);
        assert_eq!(day_bits(nov, d("2026-11-03"), d("2026-11-05")), 0b1100);
        assert_eq!(day_bits(nov, d("2026-11-05"), d("2026-11-05")), 0);
        let jan = d("2027-01-01");
        assert_eq!(day_bits(jan, jan, d("2027-02-01")), (1 << 31) - 1);
        assert_eq!(day_bits(jan, d("2027-01-31"), d("2027-02-01")), 1 << 30);
    }

    /// Every way a product row is written or removed leaves the table equal
    /// to what the rows say, including a replacement through
    /// `INSERT OR REPLACE`, whose implicit delete fires no trigger.
    #[test]
    fn triggers_keep_the_table_in_step_with_the_rows() {
        let (_dir, store) = store();
        put(
            &store,
            "INSERT",
            "2026-10-31",
            "S1",
            Some(2),
            Some(1_000_000),
        );
        put(
            &store,
            "INSERT",
            "2026-11-01",
            "S1",
            Some(0),
            Some(1_000_000),
        );
        put(&store, "INSERT", "2026-11-01", "S2", None, None);
        put(&store, "INSERT", "2026-11-30", "S2", Some(1), None);
        put(&store, "INSERT", "2026-12-31", "S3", Some(5), Some(10));
        let (kept, recomputed) = kept_and_recomputed(&store);
        assert_eq!(kept, recomputed);
        // By hand: day d is bit d - 1.
        assert_eq!(
            kept,
            [
                ("2026-10".into(), "S1".into(), 1 << 30, 1 << 30),
                ("2026-11".into(), "S1".into(), 0, 1),
                ("2026-11".into(), "S2".into(), 1 << 29, 0),
                ("2026-12".into(), "S3".into(), 1 << 30, 1 << 30),
            ]
        );

        // The later row of a day wins, even when it clears the bits.
        put(
            &store,
            "INSERT OR REPLACE",
            "2026-10-31",
            "S1",
            Some(0),
            None,
        );
        put(
            &store,
            "INSERT OR REPLACE",
            "2026-11-01",
            "S1",
            Some(3),
            Some(900),
        );
        let (kept, recomputed) = kept_and_recomputed(&store);
        assert_eq!(kept, recomputed);
        assert!(!kept.iter().any(|r| r.0 == "2026-10"));

        store
            .conn
            .execute("DELETE FROM products WHERE day = '2026-11-30'", [])
            .unwrap();
        store
            .conn
            .execute(
                "UPDATE products SET day = '2026-11-02', unit_cost = 7 WHERE sku_id = 'S3'",
                [],
            )
            .unwrap();
        store
            .conn
            .execute("UPDATE products SET paid_units = 0 WHERE sku_id = 'S1'", [])
            .unwrap();
        let (kept, recomputed) = kept_and_recomputed(&store);
        assert_eq!(kept, recomputed);
        assert_eq!(
            kept,
            [
                ("2026-11".into(), "S1".into(), 0, 1),
                ("2026-11".into(), "S3".into(), 1 << 1, 1 << 1),
            ]
        );
    }

    /// A store of version 10 (the two SKU-first indexes, no month table)
    /// gets the table filled from its rows when opened.
    #[test]
    fn the_migration_fills_the_table_from_stored_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .conn
                .execute_batch(super::super::schema::BACK_TO_V11)
                .unwrap();
            store
                .conn
                .execute_batch(
                    "DROP TRIGGER products_months_insert; DROP TRIGGER products_months_delete;
                     DROP TRIGGER products_months_update; DROP TABLE sku_months;
                     CREATE INDEX products_cost ON products (sku_id, day, unit_cost)
                         WHERE unit_cost IS NOT NULL;
                     CREATE INDEX products_sold ON products (sku_id, day) WHERE paid_units > 0;
                     PRAGMA user_version = 10;",
                )
                .unwrap();
            put(&store, "INSERT", "2026-09-30", "S1", Some(1), Some(5));
            put(&store, "INSERT", "2026-11-05", "S1", None, Some(6));
            put(&store, "INSERT", "2026-11-06", "S2", Some(4), None);
        }
        let store = Store::open(&path).unwrap();
        let (kept, recomputed) = kept_and_recomputed(&store);
        assert_eq!(kept, recomputed);
        assert_eq!(kept.len(), 3);
        let indexes: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master \
                 WHERE name IN ('products_cost', 'products_sold')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0);
        assert_eq!(
            store.latest_unit_costs(d("2026-11-30")).unwrap(),
            HashMap::from([("S1".to_owned(), money_from_i64(6))])
        );
    }

    #[test]
    fn costs_are_found_in_earlier_months_and_never_after_the_day() {
        let (_dir, store) = store();
        // S1 costed in August and on 10 November; S2 only in September;
        // S3 sold but never costed.
        put(&store, "INSERT", "2026-08-15", "S1", Some(1), Some(80_000));
        put(&store, "INSERT", "2026-09-30", "S2", Some(1), Some(20_000));
        put(&store, "INSERT", "2026-10-01", "S2", Some(1), None);
        put(&store, "INSERT", "2026-11-10", "S1", Some(1), Some(110_000));
        put(&store, "INSERT", "2026-11-12", "S3", Some(1), None);
        let skus: Vec<String> = ["S1", "S2", "S3", "S9"].map(String::from).to_vec();
        let costs = |as_of: &str| store.unit_costs_for(d(as_of), &skus).unwrap();
        let yuan = |v: i64| money_from_i64(v);
        assert_eq!(
            costs("2026-11-22"),
            HashMap::from([
                ("S1".to_owned(), yuan(110_000)),
                ("S2".to_owned(), yuan(20_000))
            ])
        );
        // The 9th is before November's cost: August's is the latest.
        assert_eq!(costs("2026-11-09")["S1"], yuan(80_000));
        assert_eq!(costs("2026-11-10")["S1"], yuan(110_000));
        assert_eq!(
            costs("2026-09-29"),
            HashMap::from([("S1".to_owned(), yuan(80_000))])
        );
        assert!(costs("2026-08-14").is_empty());
        assert_eq!(
            store.latest_unit_costs(d("2026-12-31")).unwrap(),
            costs("2026-11-22")
        );
        assert!(
            store
                .unit_costs_for(d("2026-11-22"), &[])
                .unwrap()
                .is_empty()
        );
        // Days far from the stored months walk only the stored ones.
        assert_eq!(
            store.latest_unit_costs(NaiveDate::MAX).unwrap(),
            costs("2026-11-22")
        );
        assert!(store.latest_unit_costs(NaiveDate::MIN).unwrap().is_empty());
    }

    #[test]
    fn sold_windows_may_span_months_and_cut_them() {
        let (_dir, store) = store();
        put(&store, "INSERT", "2026-08-31", "S1", Some(1), None);
        put(&store, "INSERT", "2026-09-01", "S2", Some(0), None);
        put(&store, "INSERT", "2026-10-15", "S2", Some(2), None);
        put(&store, "INSERT", "2026-11-22", "S3", Some(1), None);
        let sold = |from: &str, to: &str| {
            let mut v: Vec<String> = store
                .skus_sold_between(["S1", "S2", "S3", "S4"], d(from), d(to))
                .unwrap()
                .into_iter()
                .collect();
            v.sort();
            v
        };
        assert_eq!(sold("2026-08-25", "2026-11-23"), ["S1", "S2", "S3"]);
        assert_eq!(sold("2026-09-01", "2026-11-22"), ["S2"]);
        assert_eq!(sold("2026-08-31", "2026-09-01"), ["S1"]);
        assert_eq!(sold("2026-10-16", "2026-11-22"), Vec::<String>::new());
        assert_eq!(sold("2026-11-22", "2026-11-22"), Vec::<String>::new());
        let only_s3 = store
            .skus_sold_between(["S3"], d("2026-01-01"), d("2027-01-01"))
            .unwrap();
        assert_eq!(only_s3, HashSet::from(["S3".to_owned()]));
        let all_time = store
            .skus_sold_between(["S1", "S3"], NaiveDate::MIN, NaiveDate::MAX)
            .unwrap();
        assert_eq!(all_time.len(), 2);
    }

    #[test]
    fn an_empty_store_knows_no_sales_and_no_costs() {
        let (_dir, store) = store();
        let skus = vec!["S1".to_owned()];
        assert!(
            store
                .unit_costs_for(d("2026-11-22"), &skus)
                .unwrap()
                .is_empty()
        );
        assert!(store.latest_unit_costs(d("2026-11-22")).unwrap().is_empty());
        let sold = store
            .skus_sold_between(["S1"], d("2026-01-01"), d("2027-01-01"))
            .unwrap();
        assert!(sold.is_empty());
    }
}
