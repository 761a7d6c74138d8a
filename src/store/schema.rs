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
/// Unique indexes are in [`deferrable_unique_indexes`]; `day` indexes stay
/// (clearing a day must not scan the table).
pub(crate) fn deferrable_indexes(dataset: Dataset) -> &'static [&'static str] {
    match dataset {
        Dataset::Orders => &["orders_paid_at", "orders_member_paid"],
        Dataset::Members => &["members_joined_at"],
        _ => &[],
    }
}

/// Unique indexes a bulk load may drop too, with the columns they key on:
/// datasets whose writes are `INSERT OR REPLACE`, where the later row
/// wins. The rebuild at commit first removes the rows a later one with the
/// same key would have replaced (see `Ingest::commit`). Members upsert on
/// their index with a condition, so it stays.
pub(crate) fn deferrable_unique_indexes(
    dataset: Dataset,
) -> &'static [(&'static str, &'static str)] {
    match dataset {
        Dataset::Orders => &[("orders_order_id", "order_id")],
        Dataset::OrderItems => &[("order_items_key", "order_id, sku_id, \"row\"")],
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
/// fields in order, then day, file, row.
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
}
