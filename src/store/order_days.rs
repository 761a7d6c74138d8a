//! The day each stored order is filed under, for filing undated order
//! lines (an `import` of 订单宝贝明细, which has no date column) under their
//! order's day.
//!
//! Why it matters: the loaders read a period's lines by scanning the days
//! of its orders ([`Store::items_for_paid_orders_between`]), which only
//! finds lines filed under those days; lines filed under the day of the
//! import would be found one lookup at a time, each a cold page on a large
//! store. It also gives an import of lines the replace-by-day semantics of
//! every other dataset, where filing a whole file under the import day made
//! a second file imported the same day replace the first.
//!
//! A year of a large shop is ~10 M orders, so ids are kept as 64-bit
//! hashes (~250 MB in all instead of ~1 GB of text). Two ids sharing a
//! hash, about 1 in 400 000 for 10 M orders, would file one order's lines
//! under the other's day as lines at home there (not stray): they are
//! kept, but reads of their own order do not find them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use chrono::{Days, NaiveDate};

use super::Store;
use super::codec::date_from_text;
use super::error::{Context, StoreError};

/// The epoch day numbers are counted from; any date before every shop.
const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a date");

/// Order id (hashed) → the day its order is filed under.
#[derive(Debug, Default)]
pub struct OrderDays {
    days: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
}

impl OrderDays {
    /// The day `order_id` is filed under, if the store has the order.
    pub fn get(&self, order_id: &str) -> Option<NaiveDate> {
        let n = self.days.get(&id_hash(order_id))?;
        EPOCH.checked_add_days(Days::new(u64::from(*n)))
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

/// A fixed-key hash: the map is built and read in one process, but a
/// fixed function keeps the result the same from run to run.
fn id_hash(id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// A hasher for keys that are already 64-bit hashes (hashing them again
/// would only cost time); shared by every map keyed that way.
#[derive(Default)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Pairs handed from the scan to the thread filling the map at a time.
const CHUNK: usize = 65_536;

impl Store {
    /// Every stored order's day, read in one pass over the orders table.
    ///
    /// Filling a map of ten million entries is mostly cache misses (each
    /// insert lands at a random place in ~250 MB), as long as the scan that
    /// feeds it; a second thread fills the map while this one scans, so the
    /// two overlap instead of adding up.
    pub fn order_days(&self) -> Result<OrderDays, StoreError> {
        let count: i64 = self
            .conn
            .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
            .ctx("orders", "count")?;
        let capacity = usize::try_from(count).unwrap_or(0);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(u64, u32)>>(4);
        std::thread::scope(|s| {
            let filler = s.spawn(move || {
                let mut days =
                    HashMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default());
                for chunk in rx {
                    days.extend(chunk);
                }
                days
            });
            let scanned = self.scan_order_days(&tx);
            // Ends the filler's loop, also when the scan failed.
            drop(tx);
            let days = filler
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            scanned.map(|()| OrderDays { days })
        })
    }

    /// Sends (id hash, day number) of every order to `tx` in chunks, in
    /// the order SQLite reads them; of an id stored on two days, the map
    /// keeps the one read last.
    fn scan_order_days(
        &self,
        tx: &std::sync::mpsc::SyncSender<Vec<(u64, u32)>>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT order_id, day FROM orders")
            .ctx("orders", "order days")?;
        let mut rows = stmt.query([]).ctx("orders", "order days")?;
        // Days repeat ~30 000 times each: parse each distinct text once.
        let mut parsed: HashMap<String, u32> = HashMap::new();
        let mut chunk = Vec::with_capacity(CHUNK);
        while let Some(row) = rows.next().ctx("orders", "order days")? {
            let id = row
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx("orders", "order days")?;
            let hash = id_hash(id);
            let day = row
                .get_ref(1)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx("orders", "order days")?;
            let n = match parsed.get(day) {
                Some(n) => *n,
                None => {
                    let date = date_from_text("orders", "day", day)?;
                    let n = u32::try_from((date - EPOCH).num_days()).unwrap_or(0);
                    parsed.insert(day.to_string(), n);
                    n
                }
            };
            chunk.push((hash, n));
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                // The filler only stops when this sender is dropped.
                let _ = tx.send(full);
            }
        }
        let _ = tx.send(chunk);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dataset, Record, Value};
    use rust_decimal::Decimal;

    #[test]
    fn each_order_maps_to_its_own_day_and_unknown_ids_to_none() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let tz = chrono_tz::Asia::Shanghai;
        let mut ing = store.begin_ingest(Dataset::Orders, tz).unwrap();
        for (row, (id, day)) in [("A", "2026-11-10"), ("B", "2026-11-11")]
            .into_iter()
            .enumerate()
        {
            let day: NaiveDate = day.parse().unwrap();
            let created = day.and_hms_opt(2, 0, 0).unwrap().and_utc();
            let fields = [
                ("order_id", Value::Text(id.into())),
                ("member_id", Value::Text("m".into())),
                ("created_at", Value::DateTime(created)),
                ("status", Value::Text("paid".into())),
                ("paid_amount", Value::Decimal(Decimal::ONE)),
            ];
            let values = Dataset::Orders
                .fields()
                .iter()
                .map(|f| {
                    fields
                        .iter()
                        .find(|(n, _)| *n == f.name)
                        .map_or(Value::Missing, |(_, v)| v.clone())
                })
                .collect();
            let rec = Record {
                row: row as u64 + 2,
                values,
            };
            ing.insert(day, &rec, "o.csv").unwrap();
        }
        ing.commit().unwrap();
        let days = store.order_days().unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days.get("A"), "2026-11-10".parse().ok());
        assert_eq!(days.get("B"), "2026-11-11".parse().ok());
        assert_eq!(days.get("C"), None);
    }

    #[test]
    fn orders_past_the_first_chunk_are_all_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        // Rowid i is order "o<i>" on day 2026-01-01 + (i mod 7): the
        // scan hands them over in chunks, the last one partly filled.
        let n = CHUNK as i64 + 10;
        store
            .conn
            .execute(
                "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
                 INSERT INTO orders (order_id, member_id, created_at, status, paid_amount,
                                     day, file, \"row\")
                 SELECT 'o' || i, 'm', 0, 'paid', 0, date('2026-01-01', '+' || (i % 7) || ' days'),
                        'o.csv', i FROM k",
                [n],
            )
            .unwrap();
        let days = store.order_days().unwrap();
        assert_eq!(days.len(), CHUNK + 10);
        let day = |d: &str| d.parse::<NaiveDate>().ok();
        assert_eq!(days.get("o1"), day("2026-01-02"));
        assert_eq!(days.get("o65536"), day("2026-01-03")); // 65536 = 7 * 9362 + 2
        assert_eq!(days.get("o65537"), day("2026-01-04"));
        assert_eq!(days.get("o65546"), day("2026-01-06"));
        assert_eq!(days.get("o65547"), None);
    }
}
