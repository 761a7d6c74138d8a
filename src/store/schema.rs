//! The schema: versioned migrations, and how each dataset's canonical fields
//! map onto its table's columns.
//!
//! Migrations are append-only: a released version's SQL never changes, a new
//! version is added at the end. `PRAGMA user_version` records how far a
//! database has come.

use crate::model::{Dataset, FieldSpec};

/// `(version, sql)`, applied in order, each in its own transaction.
pub(crate) const MIGRATIONS: &[(u32, &str)] = &[
    (1, V1),
    (2, super::reports::V2),
    (3, super::schedule_state::V3),
    (4, super::http_cache::V4),
    (5, V5),
    (6, V6),
    (7, V7),
    (8, V8),
    (9, V9),
    (10, V10),
    (11, super::sku_months::V11),
    (12, V12),
];

/// Version 5: the zero-seller check sums 90 days of `paid_units` per SKU;
/// with this index that is a scan of the index alone, not a table lookup
/// for each of the ~20 k × 90 product rows. Daily snapshots now carry the
/// day's units per SKU and keep decimals exact (they held JSON floats);
/// older ones are dropped so that they are computed again (they are a
/// cache of the stored rows).
const V5: &str = "
CREATE INDEX products_units ON products (day, sku_id, paid_units);
DELETE FROM daily_kpis;
";

/// Version 6: member level evaluations stored as chunks of 65,536 members
/// ("member<TAB>level" lines, ascending member_id, `\\`, tab and newline
/// escaped) instead of a row per member: an evaluation of a large shop is
/// millions of members, written and read whole every month.
const V6: &str = r"
CREATE TABLE member_level_sets (
    as_of  TEXT    NOT NULL,
    chunk  INTEGER NOT NULL,
    levels TEXT    NOT NULL,
    PRIMARY KEY (as_of, chunk)
) STRICT, WITHOUT ROWID;
INSERT INTO member_level_sets (as_of, chunk, levels)
SELECT as_of, n / 65536,
       group_concat(esc_member || char(9) || esc_level || char(10), '' ORDER BY member_id)
FROM (
    SELECT as_of, member_id,
           replace(replace(replace(member_id, '\', '\\'), char(9), '\t'), char(10), '\n')
               AS esc_member,
           replace(replace(replace(level, '\', '\\'), char(9), '\t'), char(10), '\n')
               AS esc_level,
           row_number() OVER (PARTITION BY as_of ORDER BY member_id) - 1 AS n
    FROM member_levels
)
GROUP BY as_of, n / 65536;
DROP TABLE member_levels;
";

/// Version 7: the zero-seller check asks, per SKU, whether any day of its
/// window sold; a partial index on the selling rows answers that with one
/// seek, where `products_units` (version 5) had every run sum 90 days of
/// the whole catalogue.
const V7: &str = "
DROP INDEX IF EXISTS products_units;
CREATE INDEX products_sold ON products (sku_id, day) WHERE paid_units > 0;
";

/// Version 8: KPI snapshots of whole weeks and months, so a run compares
/// with the previous period without loading its rows again. Each keeps
/// the days it covers: an ingest changing one of them drops it.
const V8: &str = "
CREATE TABLE period_kpis (
    period    TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day  TEXT NOT NULL,
    kpi       TEXT NOT NULL,
    value     TEXT,
    PRIMARY KEY (period, kpi)
) STRICT, WITHOUT ROWID;
";

/// Version 9: the count of committed ingests that guards snapshot writes
/// (see `snapshots::RowsVersion`).
const V9: &str = "
CREATE TABLE rows_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
) STRICT;
";

/// Version 10: orders created in a period are read by their `day` (the
/// shop-calendar day of `created_at`), so the index on `created_at` only
/// cost every ingest an insert and a year's import a 10 M-row rebuild.
const V10: &str = "
DROP INDEX IF EXISTS orders_created_at;
";

/// Version 12: orders and order lines keyed by day first.
///
/// Platform order ids arrive in no order, so each of a day's ~35 k orders
/// and ~48 k lines went into an order-id index at a random page of the
/// year's history. Measured on a year of a large shop, inserting and
/// committing a day took 1.9–2.0 s for the orders and 1.2 s for the lines
/// with those indexes, 0.9–1.0 s and 0.1 s with these keys, whose entries
/// for the day sit together at the end.
///
/// An order's day is the day it was created, which a platform never
/// changes, so (day, order id) tells the same orders apart as the id did;
/// and a date's rows are what that date's export says (re-ingesting a date
/// replaces them), so an id that two exports place on different days is
/// kept on both. Lines are mostly filed under their order's day and found
/// by scanning it; a line filed under a day that has no order of its id
/// is `stray` and sits in a small index by order id, which is how a
/// period's reads find it. The keys' leading `day` serves the day ranges
/// the two `day` indexes served.
const V12: &str = r#"
DROP INDEX IF EXISTS orders_order_id;
DROP INDEX IF EXISTS orders_day;
CREATE UNIQUE INDEX orders_key ON orders (day, order_id);
ALTER TABLE order_items ADD COLUMN stray INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS order_items_key;
DROP INDEX IF EXISTS order_items_day;
CREATE UNIQUE INDEX order_items_key ON order_items (day, order_id, sku_id, "row");
UPDATE order_items SET stray = 1
WHERE NOT EXISTS (
    SELECT 1 FROM orders o
    WHERE o.day = order_items.day AND o.order_id = order_items.order_id
);
CREATE INDEX order_items_stray ON order_items (order_id) WHERE stray = 1;
"#;

/// Takes a store's schema from version 12 back to 11, for tests of the
/// migrations from older versions.
#[cfg(test)]
pub(crate) const BACK_TO_V11: &str = r#"
DROP INDEX orders_key;
CREATE UNIQUE INDEX orders_order_id ON orders (order_id);
CREATE INDEX orders_day ON orders (day);
DROP INDEX order_items_stray;
DROP INDEX order_items_key;
ALTER TABLE order_items DROP COLUMN stray;
CREATE UNIQUE INDEX order_items_key ON order_items (order_id, sku_id, "row");
CREATE INDEX order_items_day ON order_items (day);
PRAGMA user_version = 11;
"#;

/// Version 1: the datasets, the file registry, snapshots, the run ledger and
/// the outbox.
///
/// Dataset tables: text ids; instants as INTEGER unix seconds UTC; money as
/// INTEGER ten-thousandths of a yuan; ratios and plain numbers as exact
/// decimal TEXT; `day` is the `YYYY-MM-DD` the row belongs to (a dated
/// dataset's `date` field lives there), `file` and `row` point at the source.
const V1: &str = r#"
CREATE TABLE orders (
    order_id      TEXT    NOT NULL,
    member_id     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    paid_at       INTEGER,
    status        TEXT    NOT NULL,
    paid_amount   INTEGER NOT NULL,
    total_amount  INTEGER,
    refund_amount INTEGER NOT NULL DEFAULT 0,
    item_qty      INTEGER,
    shop          TEXT,
    phone         TEXT,
    day           TEXT    NOT NULL,
    file          TEXT    NOT NULL,
    "row"         INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX orders_order_id ON orders (order_id);
CREATE INDEX orders_paid_at ON orders (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX orders_created_at ON orders (created_at);
-- Covers first-purchase lookups and the member-ordered purchase stream of
-- the tier computation without touching the table.
CREATE INDEX orders_member_paid
    ON orders (member_id, paid_at, status, paid_amount, refund_amount)
    WHERE paid_at IS NOT NULL;
CREATE INDEX orders_day ON orders (day);

CREATE TABLE order_items (
    order_id   TEXT    NOT NULL,
    sku_id     TEXT    NOT NULL,
    title      TEXT,
    quantity   INTEGER NOT NULL,
    unit_price INTEGER,
    day        TEXT    NOT NULL,
    file       TEXT    NOT NULL,
    "row"      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX order_items_key ON order_items (order_id, sku_id, "row");
CREATE INDEX order_items_day ON order_items (day);

CREATE TABLE traffic (
    source           TEXT,
    visitors         INTEGER NOT NULL,
    page_views       INTEGER,
    bounce_rate      TEXT,
    avg_stay_seconds TEXT,
    cart_users       INTEGER,
    order_buyers     INTEGER,
    paying_buyers    INTEGER,
    paid_amount      INTEGER,
    new_followers    INTEGER,
    day              TEXT    NOT NULL,
    file             TEXT    NOT NULL,
    "row"            INTEGER NOT NULL
) STRICT;
-- The shop-total row has source NULL; COALESCE makes it one key per day.
CREATE UNIQUE INDEX traffic_key ON traffic (day, COALESCE(source, ''));

CREATE TABLE products (
    sku_id        TEXT    NOT NULL,
    title         TEXT,
    category      TEXT,
    status        TEXT,
    price         INTEGER,
    unit_cost     INTEGER,
    stock         INTEGER,
    visitors      INTEGER,
    page_views    INTEGER,
    cart_users    INTEGER,
    fav_users     INTEGER,
    paid_buyers   INTEGER,
    paid_units    INTEGER,
    paid_amount   INTEGER,
    refund_amount INTEGER,
    bounce_rate   TEXT,
    listed_at     INTEGER,
    day           TEXT    NOT NULL,
    file          TEXT    NOT NULL,
    "row"         INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX products_key ON products (day, sku_id);
CREATE INDEX products_cost ON products (sku_id, day, unit_cost)
    WHERE unit_cost IS NOT NULL;

CREATE TABLE members (
    member_id TEXT    NOT NULL,
    joined_at INTEGER,
    level     TEXT,
    phone     TEXT,
    birthday  TEXT,
    gender    TEXT,
    city      TEXT,
    points    INTEGER,
    source    TEXT,
    day       TEXT    NOT NULL,
    file      TEXT    NOT NULL,
    "row"     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX members_member_id ON members (member_id);
CREATE INDEX members_day ON members (day);
CREATE INDEX members_joined_at ON members (joined_at) WHERE joined_at IS NOT NULL;

CREATE TABLE service (
    agent                TEXT    NOT NULL,
    consultations        INTEGER,
    converted_buyers     INTEGER,
    sales                INTEGER,
    avg_response_seconds TEXT,
    satisfaction         TEXT,
    day                  TEXT    NOT NULL,
    file                 TEXT    NOT NULL,
    "row"                INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX service_key ON service (day, agent);

-- Campaign names repeat across channels, so the channel is part of the key.
CREATE TABLE ads (
    channel     TEXT,
    campaign    TEXT    NOT NULL,
    spend       INTEGER NOT NULL,
    impressions INTEGER,
    clicks      INTEGER,
    cart_adds   INTEGER,
    orders      INTEGER,
    revenue     INTEGER,
    day         TEXT    NOT NULL,
    file        TEXT    NOT NULL,
    "row"       INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX ads_key ON ads (day, COALESCE(channel, ''), campaign);

CREATE TABLE targets (
    month  TEXT NOT NULL,
    metric TEXT NOT NULL,
    target TEXT NOT NULL,
    day    TEXT NOT NULL,
    file   TEXT NOT NULL,
    "row"  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX targets_key ON targets (month, metric);
CREATE INDEX targets_day ON targets (day);

CREATE TABLE ingested_files (
    dataset     TEXT    NOT NULL,
    date        TEXT,
    path        TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    rows        INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,
    archive     TEXT,
    PRIMARY KEY (dataset, path)
) STRICT;
CREATE INDEX ingested_files_sha ON ingested_files (dataset, sha256);

CREATE TABLE daily_kpis (
    day   TEXT NOT NULL,
    kpi   TEXT NOT NULL,
    value TEXT,
    PRIMARY KEY (day, kpi)
) STRICT, WITHOUT ROWID;

CREATE TABLE member_levels (
    as_of     TEXT NOT NULL,
    member_id TEXT NOT NULL,
    level     TEXT NOT NULL,
    PRIMARY KEY (as_of, member_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE tier_snapshots (
    job     TEXT NOT NULL,
    period  TEXT NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (job, period)
) STRICT;

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT    NOT NULL,
    period      TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN
                    ('running', 'success', 'warn', 'held', 'failed', 'interrupted')),
    started_ms  INTEGER NOT NULL,
    finished_ms INTEGER,
    error       TEXT
) STRICT;
CREATE UNIQUE INDEX runs_identity ON runs (job, period, attempt);
CREATE INDEX runs_job ON runs (job, id);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    job        TEXT    NOT NULL,
    period     TEXT    NOT NULL,
    team       TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    recipients TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    eml        BLOB    NOT NULL,
    attachment TEXT,
    status     TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at    INTEGER,
    resend     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_job_period_team ON outbox (job, period, team);
"#;

/// The table holding a dataset's rows.
pub(crate) fn table_name(dataset: Dataset) -> &'static str {
    match dataset {
        Dataset::Orders => "orders",
        Dataset::OrderItems => "order_items",
        Dataset::Traffic => "traffic",
        Dataset::Products => "products",
        Dataset::Members => "members",
        Dataset::Service => "service",
        Dataset::Ads => "ads",
        Dataset::Targets => "targets",
    }
}

/// Secondary indexes a bulk ingest drops and rebuilds at commit: building
/// an index once from sorted data beats millions of random inserts into it.
/// Unique keys stay: the loads' `INSERT OR REPLACE` needs them, and those
/// of the large tables start with `day`, so a load's entries land together
/// at the end of their day (and clearing a day must not scan the table).
pub(crate) fn deferrable_indexes(dataset: Dataset) -> &'static [&'static str] {
    match dataset {
        Dataset::Orders => &["orders_paid_at", "orders_member_paid"],
        Dataset::Members => &["members_joined_at"],
        _ => &[],
    }
}

/// The fields that have a column of their own, with their index in the
/// record: every field except a dated dataset's `date`, which is the row's
/// `day`.
pub(crate) fn stored_fields(dataset: Dataset) -> Vec<(usize, &'static FieldSpec)> {
    let date_field = date_column_field(dataset);
    dataset
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| Some(f.name) != date_field)
        .collect()
}

/// The field stored in `day` rather than a column of its own.
pub(crate) fn date_column_field(dataset: Dataset) -> Option<&'static str> {
    match dataset.date_field() {
        Some("date") => Some("date"),
        _ => None,
    }
}

/// The statement one record is written with; parameters are the stored
/// fields in order, then day, file, row, and for order lines whether the
/// line is filed under its order's day.
pub(crate) fn insert_sql(dataset: Dataset) -> String {
    let table = table_name(dataset);
    let mut cols: Vec<String> = stored_fields(dataset)
        .iter()
        .map(|(_, f)| f.name.to_owned())
        .collect();
    cols.extend(["day".to_owned(), "file".to_owned(), "\"row\"".to_owned()]);
    let params: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    match dataset {
        // Members are upserted; an older file re-ingested later does not
        // overwrite what a newer file said about the same member.
        Dataset::Members => {
            let updates: Vec<String> = cols
                .iter()
                .filter(|c| c.as_str() != "member_id")
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            format!(
                "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT (member_id) DO UPDATE SET {} \
                 WHERE excluded.day >= {table}.day",
                cols.join(", "),
                params.join(", "),
                updates.join(", ")
            )
        }
        // A line is stray unless its day has an order of its id; the
        // parameter after `row` says the caller filed it under its order's
        // day, which saves the lookup (an import's ten million lines).
        Dataset::OrderItems => {
            let n = cols.len();
            // order_id is a required field of the dataset, so a column.
            let id = 1 + cols
                .iter()
                .position(|c| c == "order_id")
                .expect("order_items stores order_id");
            let day = n - 2;
            format!(
                "INSERT OR REPLACE INTO {table} ({}, stray) VALUES ({}, \
                 CASE WHEN ?{home} THEN 0 ELSE NOT EXISTS \
                 (SELECT 1 FROM orders WHERE day = ?{day} AND order_id = ?{id}) END)",
                cols.join(", "),
                params.join(", "),
                home = n + 1,
            )
        }
        _ => format!(
            "INSERT OR REPLACE INTO {table} ({}) VALUES ({})",
            cols.join(", "),
            params.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_versions_increase() {
        let mut last = 0;
        for (v, _) in MIGRATIONS {
            assert!(*v > last, "version {v} after {last}");
            last = *v;
        }
    }

    #[test]
    fn dated_datasets_keep_their_date_in_day() {
        let traffic = stored_fields(Dataset::Traffic);
        assert!(traffic.iter().all(|(_, f)| f.name != "date"));
        assert_eq!(traffic.len(), Dataset::Traffic.fields().len() - 1);
        assert_eq!(
            stored_fields(Dataset::Orders).len(),
            Dataset::Orders.fields().len()
        );
    }

    #[test]
    fn insert_statements_name_every_column() {
        let sql = insert_sql(Dataset::Service);
        assert!(sql.starts_with("INSERT OR REPLACE INTO service (agent, consultations"));
        assert!(sql.contains("?9)"), "{sql}");
        let sql = insert_sql(Dataset::Members);
        assert!(sql.contains("ON CONFLICT (member_id)"), "{sql}");
        assert!(!sql.contains("member_id = excluded"), "{sql}");
    }

    /// A version-11 store's orders and lines are keyed by day once opened,
    /// and the lines whose day has no order of their id are marked stray.
    #[test]
    fn version_12_keys_orders_and_lines_by_day_and_marks_stray_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let store = super::super::Store::open(&path).unwrap();
            store.conn.execute_batch(BACK_TO_V11).unwrap();
            store
                .conn
                .execute_batch(
                    "INSERT INTO orders (order_id, member_id, created_at, status, paid_amount,
                         day, file, \"row\")
                     VALUES ('A', 'm', 0, 'paid', 1, '2026-11-21', 'o.csv', 2),
                            ('B', 'm', 0, 'paid', 1, '2026-11-22', 'o.csv', 3);
                     INSERT INTO order_items (order_id, sku_id, quantity, day, file, \"row\")
                     VALUES ('A', 'S1', 1, '2026-11-21', 'i.csv', 2),
                            ('A', 'S2', 1, '2026-11-22', 'i.csv', 3),
                            ('B', 'S1', 1, '2026-11-22', 'i.csv', 4),
                            ('C', 'S1', 1, '2026-11-21', 'i.csv', 5);",
                )
                .unwrap();
        }
        let store = super::super::Store::open(&path).unwrap();
        let conn = &store.conn;
        let strays: Vec<(String, String)> = conn
            .prepare("SELECT order_id, sku_id FROM order_items WHERE stray = 1 ORDER BY 1, 2")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let pair = |o: &str, s: &str| (o.to_owned(), s.to_owned());
        assert_eq!(strays, vec![pair("A", "S2"), pair("C", "S1")]);
        let index = |name: &str| -> Option<String> {
            conn.query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .ok()
        };
        assert!(index("orders_key").unwrap().contains("(day, order_id)"));
        assert!(
            index("order_items_key")
                .unwrap()
                .contains("(day, order_id, sku_id, \"row\")")
        );
        assert!(
            index("order_items_stray")
                .unwrap()
                .contains("WHERE stray = 1")
        );
        for gone in ["orders_order_id", "orders_day", "order_items_day"] {
            assert_eq!(index(gone), None, "{gone}");
        }
        // The same id on another day is another order now.
        conn.execute_batch(
            "INSERT INTO orders (order_id, member_id, created_at, status, paid_amount,
                 day, file, \"row\")
             VALUES ('A', 'm', 0, 'paid', 1, '2026-11-22', 'o.csv', 4);",
        )
        .unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM orders WHERE order_id = 'A'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
    }
}
