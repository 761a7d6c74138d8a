//! Reading rows back as the typed facts compute and check work on.
//!
//! Every loader is an index range scan over its instant or day range, so a
//! daily run reads a day's rows however much history the store holds. The
//! purchase stream for member tiers walks a covering index in member order
//! and hands rows to a callback, never holding the history in memory.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::types::FromSql;
use rusqlite::{Params, Row};
use rust_decimal::Decimal;

use super::Store;
use super::codec::{
    date_from_text, date_to_text, decimal_from_text, instant_from_i64, instant_to_i64,
    money_from_i64,
};
use super::error::{Context, StoreError};
use super::schema::table_name;
use crate::model::facts::{
    AdFact, ItemFact, MemberFact, OrderFact, ProductFact, ServiceFact, SourceRef, StockWindow,
    TargetFact, TrafficFact,
};
use crate::model::{Dataset, OrderStatus, ProductStatus};

macro_rules! order_cols {
    () => {
        "order_id, member_id, created_at, paid_at, status, paid_amount, total_amount, \
         refund_amount, item_qty, shop, phone, file, \"row\", day"
    };
}

macro_rules! member_cols {
    () => {
        "member_id, joined_at, level, phone, birthday, gender, city, points, source"
    };
}

pub(crate) const SQL_ORDERS_PAID: &str = concat!(
    "SELECT ",
    order_cols!(),
    " FROM orders WHERE paid_at >= ?1 AND paid_at < ?2 ORDER BY paid_at, order_id"
);
// An order's `day` is the shop-calendar day it was created on, so the
// orders created on a range of days are a range of `orders_key`.
pub(crate) const SQL_ORDERS_CREATED: &str = concat!(
    "SELECT ",
    order_cols!(),
    " FROM orders WHERE day >= ?1 AND day < ?2 ORDER BY created_at, order_id"
);
pub(crate) const SQL_COUNT_CREATED: &str =
    "SELECT count(*) FROM orders WHERE day >= ?1 AND day < ?2";
pub(crate) const SQL_UNPAID_CREATED: &str = concat!(
    "SELECT ",
    order_cols!(),
    " FROM orders WHERE day >= ?1 AND day < ?2 AND status = 'unpaid' \
     ORDER BY created_at, order_id"
);
pub(crate) const SQL_PAID_IDS: &str = "SELECT order_id, day FROM orders \
     WHERE paid_at >= ?1 AND paid_at < ?2 ORDER BY paid_at, order_id";
pub(crate) const SQL_ITEMS_OF_ORDER_DAY: &str = "SELECT order_id, sku_id, title, quantity, \
     unit_price, file, \"row\" FROM order_items WHERE day = ?1 AND order_id = ?2 \
     ORDER BY \"row\", sku_id";
// `stray = 1` as written lets the planner use the partial index. A line
// marked stray when written may have had its order arrive on its day
// since: it is that order's line, read with its day, and not stray now.
pub(crate) const SQL_STRAY_ITEMS_OF_ORDER: &str = "SELECT order_id, sku_id, title, quantity, \
     unit_price, file, \"row\" FROM order_items i WHERE order_id = ?1 AND stray = 1 \
     AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.day = i.day AND o.order_id = i.order_id) \
     ORDER BY \"row\", sku_id";
pub(crate) const SQL_ITEMS_OF_DAY: &str = "SELECT order_id, sku_id, title, quantity, \
     unit_price, file, \"row\" FROM order_items WHERE day = ?1";
pub(crate) const SQL_TRAFFIC: &str = "SELECT day, source, visitors, page_views, bounce_rate, \
     avg_stay_seconds, cart_users, order_buyers, paying_buyers, paid_amount, new_followers, \
     file, \"row\" FROM traffic WHERE day >= ?1 AND day < ?2 ORDER BY day, source";
pub(crate) const SQL_PRODUCTS: &str = "SELECT day, sku_id, title, category, status, price, \
     unit_cost, stock, visitors, page_views, cart_users, fav_users, paid_buyers, paid_units, \
     paid_amount, refund_amount, bounce_rate, listed_at, file, \"row\" FROM products \
     WHERE day >= ?1 AND day < ?2 ORDER BY day, sku_id";
pub(crate) const SQL_COUNT_PRODUCTS: &str =
    "SELECT count(*) FROM products WHERE day >= ?1 AND day < ?2";
pub(crate) const SQL_LAST_PRODUCT_DAY: &str =
    "SELECT max(day) FROM products WHERE day >= ?1 AND day < ?2";
// sum() of only NULLs is NULL: no row of the SKU had a count.
pub(crate) const SQL_UNITS_BY_SKU: &str = "SELECT sku_id, sum(paid_units) FROM products \
     WHERE day >= ?1 AND day < ?2 GROUP BY sku_id";
// In table order: see `Store::members`.
pub(crate) const SQL_MEMBERS: &str = concat!("SELECT ", member_cols!(), " FROM members");
pub(crate) const SQL_MEMBER_BIRTHDAYS: &str = "SELECT member_id, birthday FROM members";
pub(crate) const SQL_MEMBERS_JOINED: &str = concat!(
    "SELECT ",
    member_cols!(),
    " FROM members WHERE joined_at >= ?1 AND joined_at < ?2 ORDER BY joined_at, member_id"
);
pub(crate) const SQL_SERVICE: &str = "SELECT day, agent, consultations, converted_buyers, \
     sales, avg_response_seconds, satisfaction, file, \"row\" FROM service \
     WHERE day >= ?1 AND day < ?2 ORDER BY day, agent";
pub(crate) const SQL_ADS: &str = "SELECT day, channel, campaign, spend, impressions, clicks, \
     cart_adds, orders, revenue, file, \"row\" FROM ads WHERE day >= ?1 AND day < ?2 \
     ORDER BY day, channel, campaign";
pub(crate) const SQL_TARGETS: &str =
    "SELECT month, metric, target FROM targets WHERE month = ?1 ORDER BY metric";
pub(crate) const SQL_FIRST_PAID: &str =
    "SELECT min(paid_at) FROM orders WHERE member_id = ?1 AND paid_at IS NOT NULL";
// Every paid order of the members in [?1, ?2], member by member, earliest
// first; INDEXED BY pins the order the merge in `first_paid_by_scan`
// relies on.
pub(crate) const SQL_FIRST_PAID_SCAN: &str = "SELECT member_id, paid_at \
     FROM orders INDEXED BY orders_member_paid \
     WHERE paid_at IS NOT NULL AND member_id >= ?1 AND member_id <= ?2 \
     ORDER BY member_id, paid_at";
pub(crate) const SQL_FIRST_PAID_OF_BUYERS: &str = "SELECT b.member_id, \
     (SELECT min(x.paid_at) FROM orders x WHERE x.member_id = b.member_id \
      AND x.paid_at IS NOT NULL) \
     FROM (SELECT DISTINCT member_id FROM orders WHERE paid_at >= ?1 AND paid_at < ?2) b";
// INDEXED BY pins the member-ordered covering index: with a narrow window
// the planner might otherwise pick the paid_at index and sort everything.
pub(crate) const SQL_PURCHASES: &str = "SELECT member_id, paid_at, paid_amount - refund_amount \
     FROM orders INDEXED BY orders_member_paid \
     WHERE paid_at IS NOT NULL AND paid_at >= ?1 AND paid_at < ?2 AND status <> 'closed' \
     AND paid_amount - refund_amount > 0 ORDER BY member_id, paid_at";

/// Whether one pass over the member-ordered index of about `entries` paid
/// orders costs less than looking up `wanted` members one by one.
///
/// `entries` is the orders table's largest rowid, which also counts unpaid
/// orders and replaced rows: the estimate errs towards the lookups.
/// Measured on a year of a large shop (10 M orders, the index's pages in
/// the OS cache but not the connection's): in the SQLite shell a month's
/// ~710 000 lookups took 5–8 s and a pass over the whole index 0.6 s; in
/// the weekly job, a week's ~200 000 buyers cost ~0.5 s less CPU looked up
/// than passed over. The pass is taken from about one wanted member per 32
/// entries: in a store of a year, a day's or a week's buyers are looked up
/// and a month's merged into the pass.
pub(crate) fn scan_beats_lookups(wanted: usize, entries: u64) -> bool {
    const ENTRIES_PER_LOOKUP: u64 = 32;
    (wanted as u64).saturating_mul(ENTRIES_PER_LOOKUP) > entries
}

/// A row reader that turns column failures into store errors naming the
/// table.
struct Cols<'a, 'r> {
    row: &'a Row<'r>,
    table: &'static str,
    files: &'a FileNames,
}

/// The source file name of the row read last, handed out again while the
/// rows that follow come from the same file: a month of a large shop is
/// millions of rows from a few dozen files, and each row had its own copy
/// of the name.
#[derive(Default)]
struct FileNames(RefCell<Option<Arc<str>>>);

impl FileNames {
    fn get(&self, name: &str) -> Arc<str> {
        let mut last = self.0.borrow_mut();
        match &*last {
            Some(shared) if **shared == *name => Arc::clone(shared),
            _ => {
                let shared: Arc<str> = Arc::from(name);
                *last = Some(Arc::clone(&shared));
                shared
            }
        }
    }
}

impl Cols<'_, '_> {
    fn get<T: FromSql>(&self, i: usize) -> Result<T, StoreError> {
        self.row.get(i).ctx(self.table, "read")
    }

    fn money(&self, i: usize) -> Result<Decimal, StoreError> {
        Ok(money_from_i64(self.get(i)?))
    }

    fn opt_money(&self, i: usize) -> Result<Option<Decimal>, StoreError> {
        Ok(self.get::<Option<i64>>(i)?.map(money_from_i64))
    }

    fn opt_decimal(&self, i: usize, column: &'static str) -> Result<Option<Decimal>, StoreError> {
        self.get::<Option<String>>(i)?
            .map(|s| decimal_from_text(self.table, column, &s))
            .transpose()
    }

    fn instant(&self, i: usize, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        instant_from_i64(self.table, column, self.get(i)?)
    }

    fn opt_instant(
        &self,
        i: usize,
        column: &'static str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.get::<Option<i64>>(i)?
            .map(|v| instant_from_i64(self.table, column, v))
            .transpose()
    }

    fn date(&self, i: usize, column: &'static str) -> Result<NaiveDate, StoreError> {
        let text = self
            .row
            .get_ref(i)
            .and_then(|v| v.as_str().map_err(Into::into))
            .ctx(self.table, "read")?;
        date_from_text(self.table, column, text)
    }

    fn opt_date(&self, i: usize, column: &'static str) -> Result<Option<NaiveDate>, StoreError> {
        self.get::<Option<String>>(i)?
            .map(|s| date_from_text(self.table, column, &s))
            .transpose()
    }

    fn source(&self, file: usize) -> Result<SourceRef, StoreError> {
        let row: i64 = self.get(file + 1)?;
        let name = self
            .row
            .get_ref(file)
            .and_then(|v| v.as_str().map_err(Into::into))
            .ctx(self.table, "read")?;
        Ok(SourceRef {
            file: self.files.get(name),
            row: u64::try_from(row).unwrap_or(0),
        })
    }
}

fn range(start: DateTime<Utc>, end: DateTime<Utc>) -> [i64; 2] {
    [instant_to_i64(start), instant_to_i64(end)]
}

fn day_range(start: NaiveDate, end: NaiveDate) -> [String; 2] {
    [date_to_text(start), date_to_text(end)]
}

fn read_order(c: &Cols<'_, '_>) -> Result<OrderFact, StoreError> {
    let status: String = c.get(4)?;
    Ok(OrderFact {
        order_id: c.get(0)?,
        day: c.date(13, "day")?,
        member_id: c.get(1)?,
        created_at: c.instant(2, "created_at")?,
        paid_at: c.opt_instant(3, "paid_at")?,
        status: OrderStatus::from_platform(&status).unwrap_or(OrderStatus::Unknown),
        paid_amount: c.money(5)?,
        total_amount: c.opt_money(6)?,
        refund_amount: c.money(7)?,
        item_qty: c.get(8)?,
        shop: c.get(9)?,
        phone: c.get(10)?,
        source: c.source(11)?,
    })
}

/// A line as the line of the order filed under `order_day`.
fn read_item(c: &Cols<'_, '_>, order_day: NaiveDate) -> Result<ItemFact, StoreError> {
    Ok(ItemFact {
        order_id: c.get(0)?,
        order_day,
        sku_id: c.get(1)?,
        title: c.get(2)?,
        quantity: c.get(3)?,
        unit_price: c.opt_money(4)?,
        source: c.source(5)?,
    })
}

fn read_member(c: &Cols<'_, '_>) -> Result<MemberFact, StoreError> {
    Ok(MemberFact {
        member_id: c.get(0)?,
        joined_at: c.opt_instant(1, "joined_at")?,
        level: c.get(2)?,
        phone: c.get(3)?,
        birthday: c.opt_date(4, "birthday")?,
        gender: c.get(5)?,
        city: c.get(6)?,
        points: c.get(7)?,
        source: c.get(8)?,
    })
}

impl Store {
    /// Runs `sql` and maps every row with `f`.
    fn collect<T>(
        &self,
        table: &'static str,
        sql: &str,
        params: impl Params,
        f: impl Fn(&Cols<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.collect_into(&mut out, table, sql, params, f)?;
        Ok(out)
    }

    /// [`Store::collect`], appending to `out`.
    fn collect_into<T>(
        &self,
        out: &mut Vec<T>,
        table: &'static str,
        sql: &str,
        params: impl Params,
        f: impl Fn(&Cols<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).ctx(table, "prepare")?;
        let mut rows = stmt.query(params).ctx(table, "query")?;
        let files = FileNames::default();
        while let Some(row) = rows.next().ctx(table, "read")? {
            out.push(f(&Cols {
                row,
                table,
                files: &files,
            })?);
        }
        Ok(())
    }

    /// Orders with `paid_at` in `[start, end)`.
    pub fn orders_paid_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<OrderFact>, StoreError> {
        self.collect("orders", SQL_ORDERS_PAID, range(start, end), read_order)
    }

    /// Orders created on the shop-calendar days `[day_start, day_end)`
    /// (an order's day is the day, in the shop's zone, of its
    /// `created_at`), by creation time.
    pub fn orders_created_between(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<Vec<OrderFact>, StoreError> {
        self.collect(
            "orders",
            SQL_ORDERS_CREATED,
            day_range(day_start, day_end),
            read_order,
        )
    }

    /// How many orders were created on the days `[day_start, day_end)`.
    pub fn count_orders_created_between(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(SQL_COUNT_CREATED)
            .and_then(|mut s| s.query_row(day_range(day_start, day_end), |r| r.get(0)))
            .ctx("orders", "count created")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Orders created on the days `[day_start, day_end)` still waiting for
    /// payment (催付).
    pub fn unpaid_orders_created_between(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<Vec<OrderFact>, StoreError> {
        self.collect(
            "orders",
            SQL_UNPAID_CREATED,
            day_range(day_start, day_end),
            read_order,
        )
    }

    /// The order lines of orders paid in `[start, end)`, in the order of
    /// their orders' `paid_at` (then line).
    ///
    /// Lines are filed under their order's day, so the lines of a period's
    /// orders sit together in the table: for each day the orders were
    /// created on, that day's lines are read in one range scan and those of
    /// other orders skipped. An order of a day with few wanted orders is
    /// looked up by (day, order id) instead. An order with no lines on its
    /// day has its stray lines (filed under a day without an order of
    /// their id, see schema version 12) looked up by id, in id order so
    /// that the lookups walk that index forwards. A lookup costs a read of
    /// a cold index page on a large store; a day's scan reads a few hundred
    /// adjacent pages.
    ///
    /// Orders are told apart by day and id: an id stored on two days is two
    /// orders, each with the lines of its own day.
    pub fn items_for_paid_orders_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<ItemFact>, StoreError> {
        self.in_read_transaction("order_items", || {
            let orders: Vec<(String, String)> =
                self.collect("orders", SQL_PAID_IDS, range(start, end), |c| {
                    Ok((c.get(0)?, c.get(1)?))
                })?;
            let mut per_day: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, (_, day)) in orders.iter().enumerate() {
                per_day.entry(day.as_str()).or_default().push(i);
            }
            // Each line carries its order's day, which a stray line's own
            // day is not; parsed once per day, not per order.
            let mut order_days = vec![NaiveDate::MIN; orders.len()];
            for (day, wanted) in &per_day {
                let date = date_from_text("orders", "day", day)?;
                for &i in wanted {
                    order_days[i] = date;
                }
            }
            // Each line and, beside it, the position of its order.
            let files = FileNames::default();
            let line_of = |row: &rusqlite::Row<'_>, i: usize| {
                let cols = Cols {
                    row,
                    table: "order_items",
                    files: &files,
                };
                read_item(&cols, order_days[i])
            };
            let mut lines: Vec<ItemFact> = Vec::with_capacity(orders.len() * 3 / 2);
            let mut of_order: Vec<usize> = Vec::with_capacity(orders.len() * 3 / 2);
            let mut found = vec![false; orders.len()];
            let mut unscanned: Vec<usize> = Vec::new();
            for (day, wanted) in &per_day {
                if !self.worth_scanning(day, wanted.len() as u64)? {
                    unscanned.extend(wanted);
                    continue;
                }
                let position: HashMap<&str, usize> =
                    wanted.iter().map(|&i| (orders[i].0.as_str(), i)).collect();
                let mut stmt = self
                    .conn
                    .prepare_cached(SQL_ITEMS_OF_DAY)
                    .ctx("order_items", "prepare")?;
                let mut rows = stmt.query([day]).ctx("order_items", "query")?;
                while let Some(row) = rows.next().ctx("order_items", "read")? {
                    let id = row
                        .get_ref(0)
                        .and_then(|v| v.as_str().map_err(Into::into))
                        .ctx("order_items", "read")?;
                    let Some(&i) = position.get(id) else { continue };
                    found[i] = true;
                    lines.push(line_of(row, i)?);
                    of_order.push(i);
                }
            }
            // `per_day` went day by day, so these are in (day, id) order
            // once each day's ids are.
            unscanned.sort_unstable_by(|&a, &b| {
                (&orders[a].1, &orders[a].0).cmp(&(&orders[b].1, &orders[b].0))
            });
            let mut push_lines = |sql: &str, params: &[&str], i: usize| {
                let mut stmt = self
                    .conn
                    .prepare_cached(sql)
                    .ctx("order_items", "prepare")?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params))
                    .ctx("order_items", "query")?;
                let mut any = false;
                while let Some(row) = rows.next().ctx("order_items", "read")? {
                    any = true;
                    lines.push(line_of(row, i)?);
                    of_order.push(i);
                }
                Ok::<bool, StoreError>(any)
            };
            for i in unscanned {
                let (id, day) = &orders[i];
                found[i] = push_lines(SQL_ITEMS_OF_ORDER_DAY, &[day, id], i)?;
            }
            let mut rest: Vec<(&str, usize)> = orders
                .iter()
                .enumerate()
                .filter(|(i, _)| !found[*i])
                .map(|(i, (id, _))| (id.as_str(), i))
                .collect();
            rest.sort_unstable();
            // Stray lines go to one order of their id: an id with no lines
            // on either of two days would otherwise get them twice.
            rest.dedup_by_key(|(id, _)| *id);
            for (id, i) in rest {
                push_lines(SQL_STRAY_ITEMS_OF_ORDER, &[id], i)?;
            }
            // Sorted through small keys and then moved into place once: a
            // month's million lines are large rows to shuffle in a sort.
            let mut keys: Vec<(usize, u64, usize)> = lines
                .iter()
                .zip(&of_order)
                .enumerate()
                .map(|(k, (line, &i))| (i, line.source.row, k))
                .collect();
            keys.sort_unstable_by(|a, b| {
                (a.0, a.1)
                    .cmp(&(b.0, b.1))
                    .then_with(|| lines[a.2].sku_id.cmp(&lines[b.2].sku_id))
                    .then(a.2.cmp(&b.2))
            });
            crate::model::permute(&mut lines, keys.into_iter().map(|k| k.2).collect());
            Ok(lines)
        })
    }

    /// Whether reading all of `day`'s order lines is cheaper than looking
    /// up `wanted` orders one by one: a scan reads every line of the day
    /// (cheap, adjacent), a lookup costs about as much as reading a few
    /// dozen adjacent lines.
    fn worth_scanning(&self, day: &str, wanted: u64) -> Result<bool, StoreError> {
        const LINES_PER_LOOKUP: u64 = 32;
        let lines: u64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM order_items WHERE day = ?1")
            .and_then(|mut s| s.query_row([day], |r| r.get(0)))
            .ctx("order_items", "count day")?;
        Ok(lines > 0 && lines <= wanted.saturating_mul(LINES_PER_LOOKUP))
    }

    /// Units per SKU on the order lines of orders paid in `[start, end)`:
    /// what summing [`Store::items_for_paid_orders_between`] gives.
    pub fn units_by_sku_paid_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<HashMap<String, i64>, StoreError> {
        let mut out: HashMap<String, i64> = HashMap::new();
        for item in self.items_for_paid_orders_between(start, end)? {
            *out.entry(item.sku_id).or_default() += item.quantity;
        }
        Ok(out)
    }

    /// Runs `f`, a series of lookups, in one read transaction when none is
    /// open: each statement outside a transaction takes and drops the WAL
    /// read lock on its own, which costs more than a small lookup itself.
    pub(super) fn in_read_transaction<T>(
        &self,
        table: &'static str,
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if !self.conn.is_autocommit() {
            return f();
        }
        self.conn
            .execute_batch("BEGIN DEFERRED")
            .ctx(table, "begin read")?;
        let out = f();
        // Nothing was written: ending the transaction cannot lose anything,
        // and a failure to end it is reported only if `f` succeeded.
        let end = self.conn.execute_batch("COMMIT").ctx(table, "end read");
        let out = out?;
        end?;
        Ok(out)
    }

    /// Traffic rows of the days in `[day_start, day_end)`, the shop-total
    /// row (source `None`) first within each day.
    pub fn traffic_between(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<Vec<TrafficFact>, StoreError> {
        self.collect("traffic", SQL_TRAFFIC, day_range(day_start, day_end), |c| {
            Ok(TrafficFact {
                date: c.date(0, "day")?,
                source: c.get(1)?,
                visitors: c.get(2)?,
                page_views: c.get(3)?,
                bounce_rate: c.opt_decimal(4, "bounce_rate")?,
                avg_stay_seconds: c.opt_decimal(5, "avg_stay_seconds")?,
                cart_users: c.get(6)?,
                order_buyers: c.get(7)?,
                paying_buyers: c.get(8)?,
                paid_amount: c.opt_money(9)?,
                new_followers: c.get(10)?,
                row: c.source(11)?,
            })
        })
    }

    /// Product rows of the days in `[day_start, day_end)`.
    pub fn products_between(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<Vec<ProductFact>, StoreError> {
        // Counted first (the day index alone, milliseconds): a month of a
        // large catalogue is ~600 000 rows of ~300 bytes, and growing the
        // vector by doubling copies them again and holds up to twice the
        // memory at the last step. A count that is off (rows written in
        // between) only sizes the vector wrongly.
        let rows: i64 = self
            .conn
            .prepare_cached(SQL_COUNT_PRODUCTS)
            .and_then(|mut s| s.query_row(day_range(day_start, day_end), |r| r.get(0)))
            .ctx("products", "count")?;
        let mut out = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
        self.collect_into(
            &mut out,
            "products",
            SQL_PRODUCTS,
            day_range(day_start, day_end),
            |c| {
                let status: Option<String> = c.get(4)?;
                Ok(ProductFact {
                    date: c.date(0, "day")?,
                    sku_id: c.get(1)?,
                    title: c.get(2)?,
                    category: c.get(3)?,
                    status: status.as_deref().and_then(ProductStatus::from_platform),
                    price: c.opt_money(5)?,
                    unit_cost: c.opt_money(6)?,
                    stock: c.get(7)?,
                    visitors: c.get(8)?,
                    page_views: c.get(9)?,
                    cart_users: c.get(10)?,
                    fav_users: c.get(11)?,
                    paid_buyers: c.get(12)?,
                    paid_units: c.get(13)?,
                    paid_amount: c.opt_money(14)?,
                    refund_amount: c.opt_money(15)?,
                    bounce_rate: c.opt_decimal(16, "bounce_rate")?,
                    listed_at: c.opt_instant(17, "listed_at")?,
                    row: c.source(18)?,
                })
            },
        )?;
        Ok(out)
    }

    /// The stock window ([`StockWindow`]) of the last product day in
    /// `[day_start, day_end)`: that day's rows in full and, summed in the
    /// database, units per SKU over the 7 days ending with it. The days
    /// before the last are only counted, so a day job reads one day of
    /// full product rows for its stock checks, not seven.
    pub fn stock_window(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<StockWindow, StoreError> {
        self.in_read_transaction("products", || {
            let last: Option<String> = self
                .conn
                .prepare_cached(SQL_LAST_PRODUCT_DAY)
                .and_then(|mut s| s.query_row(day_range(day_start, day_end), |r| r.get(0)))
                .ctx("products", "last product day")?;
            let Some(last) = last else {
                return Ok(StockWindow::default());
            };
            let last = date_from_text("products", "day", &last)?;
            let first = last - Days::new(StockWindow::DAYS - 1);
            let units_7d = self
                .collect(
                    "products",
                    SQL_UNITS_BY_SKU,
                    day_range(first, last + Days::new(1)),
                    |c| Ok((c.get::<String>(0)?, c.get::<Option<i64>>(1)?)),
                )?
                .into_iter()
                .collect();
            Ok(StockWindow {
                last: Some(last),
                at_end: self.products_on(last)?,
                units_7d,
            })
        })
    }

    /// Product rows of one day.
    pub fn products_on(&self, day: NaiveDate) -> Result<Vec<ProductFact>, StoreError> {
        self.products_between(day, day + Days::new(1))
    }

    /// Every member, by member_id.
    ///
    /// The table is read in its own order and sorted here: walking the
    /// member_id index would fetch each of millions of rows from a random
    /// place in the table.
    pub fn members(&self) -> Result<Vec<MemberFact>, StoreError> {
        let mut all = self.collect("members", SQL_MEMBERS, [], read_member)?;
        // member_id is unique (members_member_id), so the order is total.
        crate::model::sort_by_id(&mut all, |m| m.member_id.as_str());
        Ok(all)
    }

    /// Every member's id and birthday, by member_id: what the tier
    /// evaluation reads of the member export. For a large shop's millions
    /// of members whole rows were a gigabyte of strings allocated and
    /// dropped, and sorting them moved hundreds of megabytes.
    pub fn member_birthdays(&self) -> Result<Vec<(String, Option<NaiveDate>)>, StoreError> {
        let mut all = self.collect("members", SQL_MEMBER_BIRTHDAYS, [], |c| {
            Ok((c.get::<String>(0)?, c.opt_date(1, "birthday")?))
        })?;
        crate::model::sort_by_id(&mut all, |m| m.0.as_str());
        Ok(all)
    }

    pub fn member_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM members")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .ctx("members", "count")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Members whose `joined_at` is in `[start, end)`.
    pub fn members_joined_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<MemberFact>, StoreError> {
        self.collect(
            "members",
            SQL_MEMBERS_JOINED,
            range(start, end),
            read_member,
        )
    }

    /// Customer-service rows of the days in `[day_start, day_end)`.
    pub fn service_between(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<Vec<ServiceFact>, StoreError> {
        self.collect("service", SQL_SERVICE, day_range(day_start, day_end), |c| {
            Ok(ServiceFact {
                date: c.date(0, "day")?,
                agent: c.get(1)?,
                consultations: c.get(2)?,
                converted_buyers: c.get(3)?,
                sales: c.opt_money(4)?,
                avg_response_seconds: c.opt_decimal(5, "avg_response_seconds")?,
                satisfaction: c.opt_decimal(6, "satisfaction")?,
                row: c.source(7)?,
            })
        })
    }

    /// Ad campaign rows of the days in `[day_start, day_end)`.
    pub fn ads_between(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<Vec<AdFact>, StoreError> {
        self.collect("ads", SQL_ADS, day_range(day_start, day_end), |c| {
            Ok(AdFact {
                date: c.date(0, "day")?,
                channel: c.get(1)?,
                campaign: c.get(2)?,
                spend: c.money(3)?,
                impressions: c.get(4)?,
                clicks: c.get(5)?,
                cart_adds: c.get(6)?,
                orders: c.get(7)?,
                revenue: c.opt_money(8)?,
                row: c.source(9)?,
            })
        })
    }

    /// The targets of a month (`2026-11`).
    pub fn targets_for_month(&self, month: &str) -> Result<Vec<TargetFact>, StoreError> {
        self.collect("targets", SQL_TARGETS, [month], |c| {
            Ok(TargetFact {
                month: c.get(0)?,
                metric: c.get(1)?,
                target: decimal_from_text("targets", "target", &c.get::<String>(2)?)?,
            })
        })
    }

    /// The first paid order's `paid_at` over the whole history, for each of
    /// `members` that has one (closed and refunded orders count: they were
    /// paid).
    ///
    /// A few members are looked up one by one. A month of a large shop's
    /// buyers (~700 000 of ten million orders) is answered by one pass over
    /// the member-ordered index instead, merged with the sorted members: a
    /// lookup costs a walk from the index root and, as often as not, a read
    /// of a page the connection does not hold, where the pass reads each
    /// page once. See [`scan_beats_lookups`].
    pub fn first_paid_at(
        &self,
        members: &[String],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        self.in_read_transaction("orders", || {
            let entries = self.approx_rows(crate::model::Dataset::Orders)?;
            if scan_beats_lookups(members.len(), entries) {
                self.first_paid_by_scan(members)
            } else {
                self.first_paid_by_lookups(members)
            }
        })
    }

    fn first_paid_by_lookups(
        &self,
        members: &[String],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(SQL_FIRST_PAID)
            .ctx("orders", "first paid")?;
        let mut out = HashMap::with_capacity(members.len());
        for m in members {
            let first: Option<i64> = stmt
                .query_row([m], |r| r.get(0))
                .ctx("orders", "first paid")?;
            if let Some(t) = first {
                out.insert(m.clone(), instant_from_i64("orders", "paid_at", t)?);
            }
        }
        Ok(out)
    }

    /// [`Store::first_paid_at`] by one pass over `orders_member_paid`
    /// between the lowest and the highest of `members`. The index holds a
    /// member's paid orders together, earliest first, and in the byte order
    /// `str` sorts by (SQLite's BINARY collation), so the first entry of a
    /// wanted member is its answer and the sorted members are merged in.
    fn first_paid_by_scan(
        &self,
        members: &[String],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let mut wanted: Vec<&str> = members.iter().map(String::as_str).collect();
        if !wanted.is_sorted() {
            wanted.sort_unstable();
        }
        wanted.dedup();
        let mut out = HashMap::with_capacity(wanted.len());
        let (Some(lo), Some(hi)) = (wanted.first(), wanted.last()) else {
            return Ok(out);
        };
        let mut stmt = self
            .conn
            .prepare_cached(SQL_FIRST_PAID_SCAN)
            .ctx("orders", "first paid")?;
        let mut rows = stmt.query([lo, hi]).ctx("orders", "first paid")?;
        let mut next = 0;
        while let Some(row) = rows.next().ctx("orders", "first paid")? {
            // Borrowed: most of the ten million entries are not wanted.
            let member = row
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx("orders", "first paid")?;
            // Wanted members sorting before this entry have no paid order.
            while next < wanted.len() && wanted[next] < member {
                next += 1;
            }
            let Some(&w) = wanted.get(next) else { break };
            if w == member {
                let paid: i64 = row.get(1).ctx("orders", "first paid")?;
                out.insert(w.to_owned(), instant_from_i64("orders", "paid_at", paid)?);
                // The member's later orders now sort below `wanted[next]`.
                next += 1;
            }
        }
        Ok(out)
    }

    /// The first paid order's `paid_at` over the whole history of every
    /// member with a paid order in `[start, end)`: [`Store::first_paid_at`]
    /// for a period's buyers, done in one statement.
    pub fn first_paid_at_of_buyers_between(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let pairs = self.collect("orders", SQL_FIRST_PAID_OF_BUYERS, range(start, end), |c| {
            Ok((c.get::<String>(0)?, c.instant(1, "paid_at")?))
        })?;
        Ok(pairs.into_iter().collect())
    }

    /// Streams every purchase (SPEC §9: paid, not closed, paid − refund > 0)
    /// with `paid_at` in `[window_start, end)` (from the beginning when
    /// `window_start` is `None`) to `f` as (member, paid day in `tz`, net
    /// amount), ordered by member then paid time.
    pub fn for_each_purchase(
        &self,
        window_start: Option<DateTime<Utc>>,
        end: DateTime<Utc>,
        tz: Tz,
        mut f: impl FnMut(&str, NaiveDate, Decimal),
    ) -> Result<(), StoreError> {
        let start = window_start.map_or(i64::MIN, instant_to_i64);
        let mut stmt = self
            .conn
            .prepare_cached(SQL_PURCHASES)
            .ctx("orders", "purchases")?;
        let mut rows = stmt
            .query([start, instant_to_i64(end)])
            .ctx("orders", "purchases")?;
        while let Some(row) = rows.next().ctx("orders", "purchases")? {
            // Borrowed: no allocation per purchase on a ten-million-row scan.
            let member = row
                .get_ref(0)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx("orders", "purchases")?;
            let paid: i64 = row.get(1).ctx("orders", "purchases")?;
            let net: i64 = row.get(2).ctx("orders", "purchases")?;
            let day = instant_from_i64("orders", "paid_at", paid)?
                .with_timezone(&tz)
                .date_naive();
            f(member, day, money_from_i64(net));
        }
        Ok(())
    }

    /// Stored rows per day in `[day_start, day_end)`; days without rows are
    /// absent.
    pub fn row_counts_by_day(
        &self,
        dataset: Dataset,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, u64>, StoreError> {
        let table = table_name(dataset);
        let sql =
            format!("SELECT day, count(*) FROM {table} WHERE day >= ?1 AND day < ?2 GROUP BY day");
        let pairs = self.collect(table, &sql, day_range(day_start, day_end), |c| {
            Ok((
                c.date(0, "day")?,
                u64::try_from(c.get::<i64>(1)?).unwrap_or(0),
            ))
        })?;
        Ok(pairs.into_iter().collect())
    }

    /// The days in `[day_start, day_end)` with at least one stored row.
    ///
    /// One index probe per day rather than [`Store::row_counts_by_day`]'s
    /// count, which reads every index entry: a month of a large shop's
    /// orders is a million entries counted only to be compared with zero.
    pub fn days_with_rows(
        &self,
        dataset: Dataset,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let table = table_name(dataset);
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE day = ?1)");
        let mut stmt = self.conn.prepare_cached(&sql).ctx(table, "prepare")?;
        let mut out = Vec::new();
        let mut day = day_start;
        while day < day_end {
            let any: bool = stmt
                .query_row([date_to_text(day)], |r| r.get(0))
                .ctx(table, "probe day")?;
            if any {
                out.push(day);
            }
            day = day + Days::new(1);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Record, Value};

    fn record(dataset: Dataset, row: u64, values: &[(&str, Value)]) -> Record {
        let values = dataset
            .fields()
            .iter()
            .map(|f| {
                values
                    .iter()
                    .find(|(name, _)| *name == f.name)
                    .map_or(Value::Missing, |(_, v)| v.clone())
            })
            .collect();
        Record { row, values }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Orders A (paid in the window), B (paid the day after), C (unpaid);
    /// lines of each.
    fn seeded() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let tz = chrono_tz::Asia::Shanghai;
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let orders = [
            ("A", Some("2026-11-22T03:00:00Z")),
            ("B", Some("2026-11-23T03:00:00Z")),
            ("C", None),
        ];
        let mut ing = store.begin_ingest(Dataset::Orders, tz).unwrap();
        for (i, (id, paid)) in orders.into_iter().enumerate() {
            let status = if paid.is_some() { "paid" } else { "unpaid" };
            let rec = record(
                Dataset::Orders,
                i as u64 + 2,
                &[
                    ("order_id", Value::Text(id.into())),
                    ("member_id", Value::Text("m1".into())),
                    ("created_at", Value::DateTime(at("2026-11-22T02:00:00Z"))),
                    (
                        "paid_at",
                        paid.map_or(Value::Missing, |p| Value::DateTime(at(p))),
                    ),
                    ("status", Value::Text(status.into())),
                    ("paid_amount", Value::Decimal(Decimal::new(10, 0))),
                ],
            );
            ing.insert(day, &rec, "o.csv").unwrap();
        }
        ing.commit().unwrap();
        let lines = [
            ("A", "S1", 2),
            ("A", "S2", 1),
            ("A", "S1", 3),
            ("B", "S1", 5),
            ("C", "S2", 7),
        ];
        let mut ing = store.begin_ingest(Dataset::OrderItems, tz).unwrap();
        for (i, (order, sku, qty)) in lines.into_iter().enumerate() {
            let rec = record(
                Dataset::OrderItems,
                i as u64 + 2,
                &[
                    ("order_id", Value::Text(order.into())),
                    ("sku_id", Value::Text(sku.into())),
                    ("quantity", Value::Int(qty)),
                ],
            );
            ing.insert(day, &rec, "i.csv").unwrap();
        }
        ing.commit().unwrap();
        (dir, store)
    }

    /// Lines filed under their order's day are found by the day's scan,
    /// lines filed under another day by a lookup, and the result is the
    /// same either way: every line of every order paid in the window, in
    /// paid order, and nothing of orders paid outside it.
    #[test]
    fn order_lines_are_found_whichever_day_they_are_filed_under() {
        let (_dir, mut store) = seeded();
        let tz = chrono_tz::Asia::Shanghai;
        // Order D, paid in the window like A, with its lines filed under a
        // later day (an undated import on another day).
        let mut ing = store.begin_ingest(Dataset::Orders, tz).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let rec = record(
            Dataset::Orders,
            9,
            &[
                ("order_id", Value::Text("D".into())),
                ("member_id", Value::Text("m2".into())),
                ("created_at", Value::DateTime(at("2026-11-22T01:00:00Z"))),
                ("paid_at", Value::DateTime(at("2026-11-22T01:30:00Z"))),
                ("status", Value::Text("paid".into())),
                ("paid_amount", Value::Decimal(Decimal::new(10, 0))),
            ],
        );
        ing.insert(day, &rec, "o2.csv").unwrap();
        ing.commit().unwrap();
        let mut ing = store.begin_ingest(Dataset::OrderItems, tz).unwrap();
        let later = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        for (row, sku, qty) in [(2, "S3", 4), (3, "S1", 1)] {
            let rec = record(
                Dataset::OrderItems,
                row,
                &[
                    ("order_id", Value::Text("D".into())),
                    ("sku_id", Value::Text(sku.into())),
                    ("quantity", Value::Int(qty)),
                ],
            );
            ing.insert(later, &rec, "i2.csv").unwrap();
        }
        ing.commit().unwrap();
        let (s, e) = shop_day_22();
        let got = lines_paid_between(&store, s, e);
        assert_eq!(
            got,
            vec![
                // D was paid first (01:30 UTC), then A (03:00 UTC).
                line("D", "S3", 4),
                line("D", "S1", 1),
                line("A", "S1", 2),
                line("A", "S2", 1),
                line("A", "S1", 3),
            ]
        );
        let units = store.units_by_sku_paid_between(s, e).unwrap();
        let expected: HashMap<String, i64> = [
            ("S1".to_owned(), 6),
            ("S2".to_owned(), 1),
            ("S3".to_owned(), 4),
        ]
        .into();
        assert_eq!(units, expected);
    }

    /// 22 November in Shanghai, as instants.
    fn shop_day_22() -> (DateTime<Utc>, DateTime<Utc>) {
        (at("2026-11-21T16:00:00Z"), at("2026-11-22T16:00:00Z"))
    }

    fn line(order: &str, sku: &str, quantity: i64) -> (String, String, i64) {
        (order.to_owned(), sku.to_owned(), quantity)
    }

    /// (order, sku, quantity) of the lines of orders paid in `[s, e)`.
    fn lines_paid_between(
        store: &Store,
        s: DateTime<Utc>,
        e: DateTime<Utc>,
    ) -> Vec<(String, String, i64)> {
        store
            .items_for_paid_orders_between(s, e)
            .unwrap()
            .into_iter()
            .map(|i| (i.order_id, i.sku_id, i.quantity))
            .collect()
    }

    fn put_order(store: &mut Store, id: &str, day: &str, created: &str, paid: Option<&str>) {
        let tz = chrono_tz::Asia::Shanghai;
        let mut ing = store.begin_ingest(Dataset::Orders, tz).unwrap();
        ing.insert(day.parse().unwrap(), &order_rec(id, created, paid), "o.csv")
            .unwrap();
        ing.commit().unwrap();
    }

    /// Replaces `day`'s orders with `orders` (id, created, paid), as a
    /// day's export ingested again does.
    fn replace_orders(store: &mut Store, day: &str, orders: &[(&str, &str, Option<&str>)]) {
        let tz = chrono_tz::Asia::Shanghai;
        let mut ing = store.begin_ingest(Dataset::Orders, tz).unwrap();
        ing.clear_day(day.parse().unwrap()).unwrap();
        for (id, created, paid) in orders {
            ing.insert(
                day.parse().unwrap(),
                &order_rec(id, created, *paid),
                "o.csv",
            )
            .unwrap();
        }
        ing.commit().unwrap();
    }

    fn order_rec(id: &str, created: &str, paid: Option<&str>) -> Record {
        let status = if paid.is_some() { "paid" } else { "unpaid" };
        record(
            Dataset::Orders,
            2,
            &[
                ("order_id", Value::Text(id.into())),
                ("member_id", Value::Text("m1".into())),
                ("created_at", Value::DateTime(at(created))),
                (
                    "paid_at",
                    paid.map_or(Value::Missing, |p| Value::DateTime(at(p))),
                ),
                ("status", Value::Text(status.into())),
                ("paid_amount", Value::Decimal(Decimal::new(10, 0))),
            ],
        )
    }

    /// (order id, day, stray) of the stored lines.
    fn stray_marks(store: &Store) -> Vec<(String, String, i64)> {
        store
            .conn
            .prepare(
                "SELECT DISTINCT order_id, day, stray FROM order_items \
                 ORDER BY order_id, day",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Writes `lines` under `day` from file row `first_row` on.
    fn put_lines(store: &mut Store, day: &str, first_row: u64, lines: &[(&str, &str, i64)]) {
        let tz = chrono_tz::Asia::Shanghai;
        let mut ing = store.begin_ingest(Dataset::OrderItems, tz).unwrap();
        for (i, (order, sku, qty)) in lines.iter().enumerate() {
            let rec = record(
                Dataset::OrderItems,
                first_row + i as u64,
                &[
                    ("order_id", Value::Text((*order).into())),
                    ("sku_id", Value::Text((*sku).into())),
                    ("quantity", Value::Int(*qty)),
                ],
            );
            ing.insert(day.parse().unwrap(), &rec, "i.csv").unwrap();
        }
        ing.commit().unwrap();
    }

    /// Orders are told apart by day and id, and each finds its lines
    /// whichever way they are read: by a scan of its day, by a lookup of
    /// (day, id) on a day with few wanted orders, or by id among the stray
    /// lines; a line stored before its order is found once, and a stray
    /// line goes to one order of its id.
    #[test]
    fn each_order_of_a_day_and_id_finds_its_own_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        // L's line comes before L: stray when written, though at home.
        put_lines(&mut store, "2026-11-22", 2, &[("L", "S3", 3)]);
        // X on 21 November, paid in the window after the others; its day
        // holds 40 lines of an unpaid order besides, too many to scan for
        // one order.
        let paid = |t: &str| Some(format!("2026-11-22T{t}:00Z"));
        for (id, day, created, paid) in [
            ("X", "2026-11-21", "2026-11-21T02:00:00Z", paid("03:45")),
            ("F", "2026-11-21", "2026-11-21T03:00:00Z", None),
            // The same id on 22 November, placed there by another export.
            ("X", "2026-11-22", "2026-11-22T01:30:00Z", paid("02:00")),
            ("L", "2026-11-22", "2026-11-22T02:30:00Z", paid("03:00")),
            ("M", "2026-11-22", "2026-11-22T02:40:00Z", paid("03:30")),
            ("N", "2026-11-22", "2026-11-22T02:50:00Z", paid("04:00")),
            // L again on the 21st, without lines: L's stray-marked line of
            // the 22nd is not its.
            ("L", "2026-11-21", "2026-11-21T04:00:00Z", paid("05:00")),
            // Y on two days, neither with lines on its day.
            ("Y", "2026-11-21", "2026-11-21T05:00:00Z", paid("06:00")),
            ("Y", "2026-11-22", "2026-11-22T05:00:00Z", paid("06:30")),
        ] {
            put_order(&mut store, id, day, created, paid.as_deref());
        }
        let mut day21: Vec<(&str, &str, i64)> = vec![("X", "S1", 1)];
        day21.extend((0..40).map(|_| ("F", "S9", 1)));
        put_lines(&mut store, "2026-11-21", 2, &day21);
        // The 22nd's X line is written after the orders (row 3: L's line
        // stays as written); M's line is filed under a later day; N has
        // no lines.
        put_lines(&mut store, "2026-11-22", 3, &[("X", "S2", 2)]);
        put_lines(
            &mut store,
            "2026-11-25",
            2,
            &[("M", "S4", 4), ("Y", "S5", 5)],
        );

        let flags = stray_marks(&store);
        let flag = |o: &str, d: &str, f| (o.to_owned(), d.to_owned(), f);
        assert_eq!(
            flags,
            vec![
                flag("F", "2026-11-21", 0),
                flag("L", "2026-11-22", 1),
                flag("M", "2026-11-25", 1),
                flag("X", "2026-11-21", 0),
                flag("X", "2026-11-22", 0),
                flag("Y", "2026-11-25", 1),
            ]
        );
        let (s, e) = shop_day_22();
        let got = lines_paid_between(&store, s, e);
        assert_eq!(
            got,
            vec![
                line("X", "S2", 2),
                line("L", "S3", 3),
                line("M", "S4", 4),
                line("X", "S1", 1),
                line("Y", "S5", 5),
            ]
        );
        // Each line carries the day of the order it went to, a stray
        // line's too: the KPIs match lines to orders by day and id.
        let order_days: Vec<(String, String)> = store
            .items_for_paid_orders_between(s, e)
            .unwrap()
            .into_iter()
            .map(|i| (i.sku_id, i.order_day.to_string()))
            .collect();
        let of = |s: &str, d: &str| (s.to_owned(), d.to_owned());
        let orders: Vec<(String, String)> = store
            .orders_paid_between(s, e)
            .unwrap()
            .into_iter()
            .map(|o| (o.order_id, o.day.to_string()))
            .collect();
        assert_eq!(
            orders,
            vec![
                of("X", "2026-11-22"),
                of("L", "2026-11-22"),
                of("M", "2026-11-22"),
                of("X", "2026-11-21"),
                of("N", "2026-11-22"),
                of("L", "2026-11-21"),
                of("Y", "2026-11-21"),
                of("Y", "2026-11-22"),
            ]
        );
        assert_eq!(
            order_days,
            vec![
                of("S2", "2026-11-22"),
                of("S3", "2026-11-22"),
                of("S4", "2026-11-22"),
                of("S1", "2026-11-21"),
                of("S5", "2026-11-21"),
            ]
        );
    }

    /// Replacing a day's orders brings its lines' stray marks up to date:
    /// the line of an order the new export no longer has (re-dated to the
    /// next day) becomes stray and is found by that order on its new day;
    /// a line written before its order is stray no more.
    #[test]
    fn replacing_a_days_orders_brings_its_lines_stray_marks_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let (p_created, p_paid) = ("2026-11-22T01:00:00Z", Some("2026-11-22T02:00:00Z"));
        put_lines(&mut store, "2026-11-22", 2, &[("P", "S1", 1)]);
        put_order(
            &mut store,
            "Q",
            "2026-11-22",
            "2026-11-22T01:30:00Z",
            Some("2026-11-22T01:40:00Z"),
        );
        put_lines(&mut store, "2026-11-22", 3, &[("Q", "S2", 2)]);
        let flag = |o: &str, d: &str, f| (o.to_owned(), d.to_owned(), f);
        assert_eq!(
            stray_marks(&store),
            vec![flag("P", "2026-11-22", 1), flag("Q", "2026-11-22", 0)]
        );

        replace_orders(&mut store, "2026-11-22", &[("P", p_created, p_paid)]);
        put_order(
            &mut store,
            "Q",
            "2026-11-23",
            "2026-11-23T01:00:00Z",
            Some("2026-11-23T01:10:00Z"),
        );
        assert_eq!(
            stray_marks(&store),
            vec![flag("P", "2026-11-22", 0), flag("Q", "2026-11-22", 1)]
        );
        let (s, e) = (at("2026-11-21T16:00:00Z"), at("2026-11-23T16:00:00Z"));
        let got: Vec<(String, String, String)> = store
            .items_for_paid_orders_between(s, e)
            .unwrap()
            .into_iter()
            .map(|i| (i.order_id, i.sku_id, i.order_day.to_string()))
            .collect();
        let on_day = |o: &str, s: &str, d: &str| (o.to_owned(), s.to_owned(), d.to_owned());
        assert_eq!(
            got,
            vec![
                on_day("P", "S1", "2026-11-22"),
                on_day("Q", "S2", "2026-11-23")
            ]
        );
    }

    #[test]
    fn days_with_rows_lists_exactly_the_stored_days() {
        let (_dir, store) = seeded();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            store
                .days_with_rows(Dataset::Orders, d("2026-11-20"), d("2026-11-24"))
                .unwrap(),
            vec![d("2026-11-22")]
        );
        // The end is exclusive.
        assert!(
            store
                .days_with_rows(Dataset::Orders, d("2026-11-20"), d("2026-11-22"))
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .days_with_rows(Dataset::Traffic, d("2026-11-20"), d("2026-11-24"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn units_by_sku_sum_the_lines_of_orders_paid_in_the_window() {
        let (_dir, store) = seeded();
        let (s, e) = (at("2026-11-21T16:00:00Z"), at("2026-11-22T16:00:00Z"));
        let units = store.units_by_sku_paid_between(s, e).unwrap();
        let expected: HashMap<String, i64> = [("S1".to_owned(), 5), ("S2".to_owned(), 1)].into();
        assert_eq!(units, expected);
        let mut summed: HashMap<String, i64> = HashMap::new();
        for i in store.items_for_paid_orders_between(s, e).unwrap() {
            *summed.entry(i.sku_id).or_default() += i.quantity;
        }
        assert_eq!(units, summed);
        let two_days = store
            .units_by_sku_paid_between(s, at("2026-11-23T16:00:00Z"))
            .unwrap();
        assert_eq!(two_days.get("S1"), Some(&10));
    }

    #[test]
    fn lookups_share_one_read_transaction_and_leave_none_open() {
        let (_dir, store) = seeded();
        let members = vec!["m1".to_owned(), "nobody".to_owned()];
        let first = store.first_paid_at(&members).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first["m1"], at("2026-11-22T03:00:00Z"));
        assert!(store.conn.is_autocommit(), "the read transaction was ended");
        store.conn.execute_batch("BEGIN").unwrap();
        let costs = store
            .unit_costs_for(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(), &members)
            .unwrap();
        assert!(costs.is_empty());
        assert!(
            !store.conn.is_autocommit(),
            "an open transaction is left to its owner"
        );
        store.conn.execute_batch("COMMIT").unwrap();
    }

    /// Orders of members whose ids share prefixes and straddle each
    /// other in byte order, paid out of time order, one never paid.
    fn members_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let orders = [
            ("m1", Some("2026-11-22T05:00:00Z")),
            ("m1", Some("2026-11-20T05:00:00Z")),
            ("m10", Some("2026-11-21T01:00:00Z")),
            ("m2", None),
            ("m2", Some("2026-11-19T09:30:00Z")),
            ("m3", None),
            ("张三", Some("2026-11-18T00:00:00Z")),
            ("Z9", Some("2026-11-17T12:00:00Z")),
        ];
        let mut ing = store
            .begin_ingest(Dataset::Orders, chrono_tz::Asia::Shanghai)
            .unwrap();
        for (i, (member, paid)) in orders.into_iter().enumerate() {
            let rec = record(
                Dataset::Orders,
                i as u64 + 2,
                &[
                    ("order_id", Value::Text(format!("O{i}"))),
                    ("member_id", Value::Text(member.into())),
                    ("created_at", Value::DateTime(at("2026-11-17T00:00:00Z"))),
                    (
                        "paid_at",
                        paid.map_or(Value::Missing, |p| Value::DateTime(at(p))),
                    ),
                    ("status", Value::Text("paid".into())),
                    ("paid_amount", Value::Decimal(Decimal::new(10, 0))),
                ],
            );
            ing.insert(day, &rec, "o.csv").unwrap();
        }
        ing.commit().unwrap();
        (dir, store)
    }

    /// The pass over the index and the lookups answer alike, whatever the
    /// order of the members asked for, duplicates and unknown ids
    /// included.
    #[test]
    fn first_paid_by_scan_and_by_lookups_agree() {
        let (_dir, store) = members_store();
        let ask = |ids: &[&str]| -> Vec<String> { ids.iter().map(|s| s.to_string()).collect() };
        let expected = HashMap::from([
            ("m1".to_owned(), at("2026-11-20T05:00:00Z")),
            ("m10".to_owned(), at("2026-11-21T01:00:00Z")),
            ("m2".to_owned(), at("2026-11-19T09:30:00Z")),
            ("张三".to_owned(), at("2026-11-18T00:00:00Z")),
            ("Z9".to_owned(), at("2026-11-17T12:00:00Z")),
        ]);
        for members in [
            ask(&["Z9", "m1", "m10", "m2", "m3", "张三"]),
            ask(&["张三", "m3", "m2", "m10", "m1", "Z9", "m1", "a", "zz", "m0"]),
        ] {
            let scan = store.first_paid_by_scan(&members).unwrap();
            let lookups = store.first_paid_by_lookups(&members).unwrap();
            assert_eq!(scan, expected, "{members:?}");
            assert_eq!(lookups, expected, "{members:?}");
        }
        // A range holding only some members: the pass starts at the lowest.
        let some = ask(&["m10", "m3"]);
        let want = HashMap::from([("m10".to_owned(), at("2026-11-21T01:00:00Z"))]);
        assert_eq!(store.first_paid_by_scan(&some).unwrap(), want);
        assert!(store.first_paid_by_scan(&[]).unwrap().is_empty());
        assert!(store.first_paid_by_scan(&ask(&["m3"])).unwrap().is_empty());
    }

    /// Rows of one file share its name; a row of another file has its own.
    #[test]
    fn rows_of_one_file_share_its_name() {
        let names = FileNames::default();
        let a1 = names.get("a.csv");
        let a2 = names.get("a.csv");
        let b = names.get("b.csv");
        let a3 = names.get("a.csv");
        assert!(Arc::ptr_eq(&a1, &a2));
        assert_eq!((&*b, &*a3), ("b.csv", "a.csv"));
        assert!(!Arc::ptr_eq(&a1, &a3), "only the last name is held");

        let (_dir, store) = seeded();
        let orders = store
            .orders_paid_between(at("2026-11-21T16:00:00Z"), at("2026-11-23T16:00:00Z"))
            .unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(&*orders[0].source.file, "o.csv");
        assert!(Arc::ptr_eq(&orders[0].source.file, &orders[1].source.file));
        assert_eq!((orders[0].source.row, orders[1].source.row), (2, 3));
    }

    #[test]
    fn a_day_of_buyers_is_looked_up_and_a_month_scanned() {
        let year = 10_000_000;
        assert!(!scan_beats_lookups(30_000, year), "a day of a large shop");
        assert!(!scan_beats_lookups(200_000, year), "a week of a large shop");
        assert!(scan_beats_lookups(700_000, year), "a month of a large shop");
        assert!(!scan_beats_lookups(0, 0));
        assert!(
            scan_beats_lookups(1, 0),
            "an empty index costs nothing to pass"
        );
    }

    /// Every loader must be an index search, never a scan of the table.
    #[test]
    fn loaders_use_index_range_scans() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let counts: Vec<String> = Dataset::ALL
            .iter()
            .map(|d| {
                format!(
                    "SELECT day, count(*) FROM {} WHERE day >= ?1 AND day < ?2 GROUP BY day",
                    table_name(*d)
                )
            })
            .collect();
        let mut queries: Vec<&str> = vec![
            SQL_ORDERS_PAID,
            SQL_ORDERS_CREATED,
            SQL_COUNT_CREATED,
            SQL_UNPAID_CREATED,
            SQL_PAID_IDS,
            SQL_ITEMS_OF_ORDER_DAY,
            SQL_STRAY_ITEMS_OF_ORDER,
            SQL_ITEMS_OF_DAY,
            SQL_TRAFFIC,
            SQL_PRODUCTS,
            SQL_COUNT_PRODUCTS,
            crate::store::sku_months::SQL_SOLD_IN_MONTH,
            crate::store::sku_months::SQL_COSTED_IN_MONTH,
            crate::store::sku_months::SQL_MONTH_SPAN,
            crate::store::sku_months::SQL_COST_OF_DAY,
            SQL_LAST_PRODUCT_DAY,
            SQL_UNITS_BY_SKU,
            SQL_MEMBERS_JOINED,
            SQL_SERVICE,
            SQL_ADS,
            SQL_TARGETS,
            SQL_FIRST_PAID,
            SQL_FIRST_PAID_SCAN,
            SQL_FIRST_PAID_OF_BUYERS,
            SQL_PURCHASES,
        ];
        // SQL_MEMBERS and SQL_MEMBER_BIRTHDAYS read every member on purpose
        // (see `Store::members`).
        queries.extend(counts.iter().map(String::as_str));
        // An ingest's writes: clearing a day, and a line's look for its
        // order on its day.
        let writes = [
            "DELETE FROM orders WHERE day = ?1".to_owned(),
            "DELETE FROM order_items WHERE day = ?1".to_owned(),
            crate::store::schema::insert_sql(Dataset::OrderItems),
        ];
        queries.extend(writes.iter().map(String::as_str));
        for sql in queries {
            let plan_sql = format!("EXPLAIN QUERY PLAN {sql}");
            let mut stmt = store.connection().prepare(&plan_sql).unwrap();
            let n = stmt.parameter_count();
            for i in 1..=n {
                stmt.raw_bind_parameter(i, 0).unwrap();
            }
            let mut rows = stmt.raw_query();
            let mut details = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                details.push(r.get::<_, String>(3).unwrap());
            }
            for d in &details {
                // Scanning a subquery's result (a co-routine) or the one
                // row of a select of subqueries reads no table.
                let scanned = d.strip_prefix("SCAN ").and_then(|r| r.split(' ').next());
                let full_scan = scanned.is_some_and(|name| {
                    name != "CONSTANT"
                        && !details.iter().any(|x| *x == format!("CO-ROUTINE {name}"))
                }) && !d.contains("INDEX");
                assert!(!full_scan, "{sql}\n  plan: {details:?}");
            }
            // A WITHOUT ROWID table (sku_months) is searched by its own
            // key: a month's rows are adjacent in it.
            assert!(
                details
                    .iter()
                    .any(|d| d.contains("INDEX") || d.contains("USING PRIMARY KEY")),
                "{sql}\n  plan: {details:?}"
            );
        }
    }
}
