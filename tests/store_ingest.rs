//! Writing to the store: migrations, replace-a-day semantics, rollback,
//! exact money, value validation, keys, and the file registry.

#[path = "common/store_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use storepulse::model::{Dataset, Value};
use storepulse::store::{Store, StoreError};
use support::*;

#[test]
fn migrations_are_idempotent_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let mut store = Store::open(&path).unwrap();
        let day = d("2026-11-22");
        replace_day(
            &mut store,
            Dataset::Orders,
            day,
            "orders.csv",
            &[order(
                2,
                "A1",
                "m1",
                "2026-11-22T02:00:00Z",
                None,
                "unpaid",
                "10",
                None,
            )],
        );
    }
    let tables_before: i64 = {
        let store = Store::open(&path).unwrap();
        store
            .connection()
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap()
    };
    let store = Store::open(&path).unwrap();
    let version: u32 = store
        .connection()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, Store::schema_version());
    assert!(version >= 1);
    let tables_after: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables_before, tables_after);
    assert_eq!(count(&store, "orders"), 1, "data survives reopening");
    let mode: String = store
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let store = Store::open(&path).unwrap();
        store
            .connection()
            .pragma_update(None, "user_version", Store::schema_version() + 1)
            .unwrap();
    }
    match Store::open(&path) {
        Err(StoreError::SchemaTooNew { found, known }) => {
            assert_eq!(found, Store::schema_version() + 1);
            assert_eq!(known, Store::schema_version());
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("opened a store from the future"),
    }
}

#[test]
fn a_missing_parent_directory_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/store.db");
    let err = Store::open(&path).err().expect("must fail");
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    assert!(!err.is_transient());
}

fn day_orders(amount_b: &str) -> Vec<storepulse::model::Record> {
    vec![
        order(
            2,
            "A1",
            "m1",
            "2026-11-22T02:00:00Z",
            Some("2026-11-22T02:05:00Z"),
            "paid",
            "10.50",
            None,
        ),
        order(
            3,
            "A2",
            "m2",
            "2026-11-22T03:00:00Z",
            Some("2026-11-22T03:01:00Z"),
            "paid",
            amount_b,
            None,
        ),
        order(
            4,
            "A3",
            "m3",
            "2026-11-22T04:00:00Z",
            None,
            "unpaid",
            "7",
            None,
        ),
    ]
}

#[test]
fn replacing_a_day_is_repeatable_and_replaces_changed_content() {
    let mut ts = fresh();
    let (day, other) = (d("2026-11-22"), d("2026-11-21"));
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        other,
        "o21.csv",
        &[order(
            2,
            "Z9",
            "m9",
            "2026-11-21T02:00:00Z",
            Some("2026-11-21T02:00:00Z"),
            "paid",
            "1",
            None,
        )],
    );
    let first = replace_day(
        &mut ts.store,
        Dataset::Orders,
        day,
        "o22.csv",
        &day_orders("20"),
    );
    assert_eq!((first.rows_written, first.rows_cleared), (3, 0));
    let counts = ts
        .store
        .row_counts_by_day(Dataset::Orders, other, d("2026-11-23"))
        .unwrap();

    let again = replace_day(
        &mut ts.store,
        Dataset::Orders,
        day,
        "o22.csv",
        &day_orders("20"),
    );
    assert_eq!((again.rows_written, again.rows_cleared), (3, 3));
    assert_eq!(
        ts.store
            .row_counts_by_day(Dataset::Orders, other, d("2026-11-23"))
            .unwrap(),
        counts
    );
    assert_eq!(counts, BTreeMap::from([(other, 1), (day, 3)]));

    // A re-export with one order gone and one amount changed.
    let mut changed = day_orders("25.5");
    changed.remove(2);
    replace_day(&mut ts.store, Dataset::Orders, day, "o22 (2).csv", &changed);
    let counts = ts
        .store
        .row_counts_by_day(Dataset::Orders, other, d("2026-11-23"))
        .unwrap();
    assert_eq!(counts, BTreeMap::from([(other, 1), (day, 2)]));
    let paid = ts
        .store
        .orders_paid_between(t("2026-11-22T00:00:00Z"), t("2026-11-23T00:00:00Z"))
        .unwrap();
    let amounts: Vec<_> = paid
        .iter()
        .map(|o| (o.order_id.as_str(), o.paid_amount))
        .collect();
    assert_eq!(amounts, vec![("A1", dec("10.5")), ("A2", dec("25.5"))]);
    assert_eq!(&*paid[1].source.file, "o22 (2).csv");
    assert_eq!(paid[1].source.row, 3);
}

#[test]
fn a_dropped_ingest_rolls_back_everything() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        day,
        "o.csv",
        &day_orders("20"),
    );
    {
        let mut ing = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
        assert_eq!(ing.clear_day(day).unwrap(), 3);
        ing.insert(day, &day_orders("99")[1], "new.csv").unwrap();
        ing.register_file(&meta(
            "inbox/2026-11-22/orders.csv",
            Some("2026-11-22"),
            "abc",
        ))
        .unwrap();
        // Dropped here without commit.
    }
    assert_eq!(count(&ts.store, "orders"), 3);
    assert!(
        ts.store
            .registered_files(Dataset::Orders)
            .unwrap()
            .is_empty()
    );
    let paid = ts
        .store
        .orders_paid_between(t("2026-11-22T00:00:00Z"), t("2026-11-23T00:00:00Z"))
        .unwrap();
    assert_eq!(paid[1].paid_amount, dec("20"));
    // The store takes a new ingest after the rollback.
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        day,
        "o.csv",
        &day_orders("21"),
    );
    assert_eq!(count(&ts.store, "orders"), 3);
}

#[test]
fn money_is_exact() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    let orders = vec![
        order(
            2,
            "A1",
            "m1",
            "2026-11-22T02:00:00Z",
            Some("2026-11-22T02:00:00Z"),
            "paid",
            "0.1",
            None,
        ),
        order(
            3,
            "A2",
            "m1",
            "2026-11-22T03:00:00Z",
            Some("2026-11-22T03:00:00Z"),
            "paid",
            "0.2",
            Some("0.00015"),
        ),
        order(
            4,
            "A3",
            "m2",
            "2026-11-22T04:00:00Z",
            Some("2026-11-22T04:00:00Z"),
            "paid",
            "123456789.9999",
            None,
        ),
    ];
    replace_day(&mut ts.store, Dataset::Orders, day, "o.csv", &orders);
    let paid = ts
        .store
        .orders_paid_between(t("2026-11-22T00:00:00Z"), t("2026-11-23T00:00:00Z"))
        .unwrap();
    let first_two: rust_decimal::Decimal = paid[..2].iter().map(|o| o.paid_amount).sum();
    assert_eq!(first_two, dec("0.3"));
    assert_eq!(first_two.to_string(), "0.3");
    // Beyond four places: half-even to 0.0002.
    assert_eq!(paid[1].refund_amount, dec("0.0002"));
    assert_eq!(paid[2].paid_amount, dec("123456789.9999"));
    // Summable in SQL without drift: ten-thousandths of a yuan.
    let sum: i64 = ts
        .store
        .connection()
        .query_row(
            "SELECT sum(paid_amount) FROM orders WHERE order_id IN ('A1','A2')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sum, 3_000);
}

#[test]
fn bad_values_are_errors_naming_file_row_and_field() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    let mut ing = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();

    let mut wrong_kind = day_orders("1")[0].clone();
    wrong_kind.values[8] = txt("three");
    match ing.insert(day, &wrong_kind, "o.csv").unwrap_err() {
        StoreError::Value {
            file, row, field, ..
        } => {
            assert_eq!((file.as_str(), row, field), ("o.csv", 2, "item_qty"));
        }
        other => panic!("{other}"),
    }

    let mut missing = day_orders("1")[1].clone();
    missing.values[1] = Value::Missing;
    let err = ing.insert(day, &missing, "o.csv").unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Value {
                field: "member_id",
                row: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("required"), "{err}");

    let mut huge = day_orders("1")[0].clone();
    huge.values[5] = money("1000000000000000");
    let err = ing.insert(day, &huge, "o.csv").unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Value {
                field: "paid_amount",
                ..
            }
        ),
        "{err}"
    );

    // The transaction is still usable after a refused record.
    ing.insert(day, &day_orders("1")[0], "o.csv").unwrap();
    let summary = ing.commit().unwrap();
    assert_eq!(summary.rows_written, 1);
    assert_eq!(count(&ts.store, "orders"), 1);
}

#[test]
fn a_dated_row_must_belong_to_the_day_it_is_stored_under() {
    let mut ts = fresh();
    let mut ing = ts.store.begin_ingest(Dataset::Service, SHANGHAI).unwrap();
    let row = rec(
        2,
        vec![
            Value::Date(d("2026-11-21")),
            txt("小美"),
            Value::Int(5),
            m(),
            m(),
            m(),
            m(),
        ],
    );
    let err = ing
        .insert(d("2026-11-22"), &row, "service.csv")
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Value { field: "date", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("2026-11-21"), "{err}");
}

#[test]
fn the_day_of_a_record_follows_its_dataset() {
    let mut ts = fresh();
    let ing = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
    // 17:30 UTC is 01:30 the next morning in Shanghai.
    let o = order(
        2,
        "A1",
        "m1",
        "2026-11-21T17:30:00Z",
        None,
        "unpaid",
        "1",
        None,
    );
    assert_eq!(ing.day_of(&o, Some(d("2026-11-21"))), Some(d("2026-11-22")));
    drop(ing);
    let ing = ts
        .store
        .begin_ingest(Dataset::OrderItems, SHANGHAI)
        .unwrap();
    let i = item(2, "A1", "S1", 1, "5");
    assert_eq!(ing.day_of(&i, Some(d("2026-11-21"))), Some(d("2026-11-21")));
    assert_eq!(ing.day_of(&i, None), None);
}

#[test]
fn a_later_row_for_the_same_order_replaces_it() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        day,
        "a.csv",
        &day_orders("20"),
    );
    // The same order exported again, now refunded, in an import touching
    // no other order.
    let mut ing = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
    let refunded = order(
        7,
        "A2",
        "m2",
        "2026-11-22T03:00:00Z",
        Some("2026-11-22T03:01:00Z"),
        "closed",
        "20",
        Some("20"),
    );
    ing.insert(day, &refunded, "b.csv").unwrap();
    ing.commit().unwrap();
    assert_eq!(count(&ts.store, "orders"), 3);
    let paid = ts
        .store
        .orders_paid_between(t("2026-11-22T00:00:00Z"), t("2026-11-23T00:00:00Z"))
        .unwrap();
    let a2 = paid.iter().find(|o| o.order_id == "A2").unwrap();
    assert_eq!(a2.refund_amount, dec("20"));
    assert_eq!(a2.status, storepulse::model::OrderStatus::Closed);
    assert_eq!((&*a2.source.file, a2.source.row), ("b.csv", 7));
}

fn traffic_row(row: u64, day: &str, source: &str, visitors: i64) -> storepulse::model::Record {
    rec(
        row,
        vec![
            Value::Date(d(day)),
            txt(source),
            Value::Int(visitors),
            m(),
            m(),
            m(),
            m(),
            m(),
            m(),
            m(),
            m(),
        ],
    )
}

#[test]
fn traffic_shop_total_spellings_are_one_row_per_day() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    let mut empty_source = traffic_row(5, "2026-11-22", "", 1200);
    empty_source.values[1] = Value::Missing;
    replace_day(
        &mut ts.store,
        Dataset::Traffic,
        day,
        "t.csv",
        &[
            traffic_row(2, "2026-11-22", "全店", 1000),
            traffic_row(3, "2026-11-22", "手淘搜索", 400),
            traffic_row(4, "2026-11-22", "汇总", 1100),
            empty_source,
        ],
    );
    let rows = ts.store.traffic_between(day, d("2026-11-23")).unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.source.clone(), r.visitors))
        .collect();
    assert_eq!(got, vec![(None, 1200), (Some("手淘搜索".to_owned()), 400)]);
}

fn member_row(row: u64, id: &str, level: &str) -> storepulse::model::Record {
    rec(
        row,
        vec![txt(id), m(), txt(level), m(), m(), m(), m(), m(), m()],
    )
}

#[test]
fn members_are_upserted_and_an_older_file_does_not_win() {
    let mut ts = fresh();
    replace_day(
        &mut ts.store,
        Dataset::Members,
        d("2026-11-20"),
        "m20.csv",
        &[member_row(2, "m1", "银卡"), member_row(3, "m2", "普通")],
    );
    replace_day(
        &mut ts.store,
        Dataset::Members,
        d("2026-11-22"),
        "m22.csv",
        &[member_row(2, "m1", "金卡")],
    );
    // Re-ingesting the 21st's file after the 22nd's: m1 keeps the newer level.
    replace_day(
        &mut ts.store,
        Dataset::Members,
        d("2026-11-21"),
        "m21.csv",
        &[member_row(2, "m1", "铜卡"), member_row(3, "m3", "普通")],
    );
    let members = ts.store.members().unwrap();
    let got: Vec<_> = members
        .iter()
        .map(|m| (m.member_id.as_str(), m.level.as_deref().unwrap()))
        .collect();
    assert_eq!(got, vec![("m1", "金卡"), ("m2", "普通"), ("m3", "普通")]);
    assert_eq!(ts.store.member_count().unwrap(), 3);
}

#[test]
fn the_file_registry_records_and_finds_files() {
    let mut ts = fresh();
    let mut ing = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
    ing.register_file(&meta(
        "inbox/2026-11-22/orders.csv",
        Some("2026-11-22"),
        "aaa",
    ))
    .unwrap();
    ing.register_file(&meta("year.csv", None, "bbb")).unwrap();
    let summary = ing.commit().unwrap();
    assert_eq!(summary.files.len(), 2);

    let files = ts.store.registered_files(Dataset::Orders).unwrap();
    assert_eq!(files.len(), 2);
    let inbox = files.iter().find(|f| f.sha256 == "aaa").unwrap();
    assert_eq!(inbox.date, Some(d("2026-11-22")));
    assert_eq!(
        inbox.mtime,
        t("2026-11-22T01:02:03.123456789Z"),
        "nanoseconds kept"
    );
    assert_eq!((inbox.size, inbox.rows, inbox.rejected), (1234, 3, 1));
    assert_eq!(inbox.ingested_at, t("2026-11-23T06:00:00Z"));
    assert_eq!(inbox.archive.as_deref(), Some("archive/aaa.csv"));
    assert!(
        ts.store
            .registered_files(Dataset::Traffic)
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        ts.store
            .find_file_by_sha(Dataset::Orders, "bbb")
            .unwrap()
            .unwrap()
            .path,
        "year.csv"
    );
    assert!(
        ts.store
            .find_file_by_sha(Dataset::Orders, "ccc")
            .unwrap()
            .is_none()
    );
    assert!(
        ts.store
            .find_file_by_sha(Dataset::Traffic, "aaa")
            .unwrap()
            .is_none()
    );

    // A changed re-export of the same path replaces its entry.
    let mut ing = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
    ing.register_file(&meta(
        "inbox/2026-11-22/orders.csv",
        Some("2026-11-22"),
        "ddd",
    ))
    .unwrap();
    ing.commit().unwrap();
    let files = ts.store.registered_files(Dataset::Orders).unwrap();
    assert_eq!(files.len(), 2);
    assert!(
        ts.store
            .find_file_by_sha(Dataset::Orders, "aaa")
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_locked_store_is_a_transient_error() {
    let mut ts = fresh();
    let mut other = Store::open(&ts.dir.path().join("store.db")).unwrap();
    other.set_busy_timeout(Duration::from_millis(0)).unwrap();
    let _held = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
    let err = other
        .begin_ingest(Dataset::Orders, SHANGHAI)
        .err()
        .expect("locked");
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("orders"), "{err}");
}

fn index_names(store: &Store) -> Vec<String> {
    let mut stmt = store
        .connection()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_bulk_ingest_rebuilds_its_indexes_or_rolls_back_with_them() {
    let mut ts = fresh();
    let before = index_names(&ts.store);
    assert!(before.contains(&"orders_member_paid".to_owned()));
    {
        let mut ing = ts
            .store
            .begin_bulk_ingest(Dataset::Orders, SHANGHAI)
            .unwrap();
        ing.insert(d("2026-11-22"), &day_orders("1")[0], "year.csv")
            .unwrap();
    }
    assert_eq!(
        index_names(&ts.store),
        before,
        "rollback restores dropped indexes"
    );
    assert_eq!(count(&ts.store, "orders"), 0);

    let mut ing = ts
        .store
        .begin_bulk_ingest(Dataset::Orders, SHANGHAI)
        .unwrap();
    let day = d("2026-11-22");
    ing.clear_day(day).unwrap();
    for r in day_orders("20") {
        ing.insert(day, &r, "year.csv").unwrap();
    }
    ing.commit().unwrap();
    assert_eq!(index_names(&ts.store), before);
    let mut firsts = Vec::new();
    ts.store
        .for_each_purchase(None, t("2026-11-23T00:00:00Z"), SHANGHAI, |m, _, net| {
            firsts.push((m.to_owned(), net))
        })
        .unwrap();
    assert_eq!(
        firsts,
        vec![("m1".to_owned(), dec("10.5")), ("m2".to_owned(), dec("20"))]
    );
}

#[test]
fn a_file_that_is_not_a_store_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    std::fs::write(&path, "order_id,member_id\n1,2\n".repeat(200)).unwrap();
    let err = Store::open(&path).err().expect("must fail");
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("store.db"), "{err}");
}

#[test]
fn an_ingest_drops_the_snapshots_its_rows_feed() {
    let mut ts = fresh();
    let snapshot = BTreeMap::from([("gmv".to_string(), Some("1".to_string()))]);
    let days = [
        "2026-11-15",
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
        "2026-11-23",
        "2026-11-24",
    ];
    let weeks = [
        ("2026-W46", "2026-11-09", "2026-11-15"),
        ("2026-W47", "2026-11-16", "2026-11-22"),
        ("2026-W48", "2026-11-23", "2026-11-29"),
    ];
    let put_all = |store: &mut Store| {
        for day in days {
            let v = store.rows_version().unwrap();
            store.put_daily_kpis(d(day), &snapshot, v).unwrap();
        }
        for (w, first, last) in weeks {
            store
                .put_period_kpis(
                    w,
                    d(first),
                    d(last),
                    &snapshot,
                    store.rows_version().unwrap(),
                )
                .unwrap();
        }
    };
    let kept = |store: &Store| -> (Vec<String>, Vec<&str>) {
        let days = store
            .daily_kpis(d("2026-11-01"), d("2026-12-01"))
            .unwrap()
            .keys()
            .map(|k| k.to_string())
            .collect();
        let weeks = weeks
            .iter()
            .filter(|(w, first, last)| store.period_kpis(w, d(first), d(last)).unwrap().is_some())
            .map(|(w, _, _)| *w)
            .collect();
        (days, weeks)
    };
    put_all(&mut ts.store);
    // Rolled back: nothing changed, every snapshot stays.
    {
        let mut ing = ts.store.begin_ingest(Dataset::Orders, SHANGHAI).unwrap();
        ing.clear_day(d("2026-11-22")).unwrap();
        ing.insert(d("2026-11-22"), &day_orders("20")[0], "o.csv")
            .unwrap();
    }
    assert_eq!(kept(&ts.store).0.len(), 6);
    assert_eq!(kept(&ts.store).1.len(), 3);

    // Orders of the 22nd: that day and every later one (an order may be
    // paid days later; later buyers' new-or-returning depends on it), and
    // the weeks ending on or after it.
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        d("2026-11-22"),
        "o.csv",
        &day_orders("20"),
    );
    assert_eq!(
        kept(&ts.store),
        (
            vec![
                "2026-11-15".to_string(),
                "2026-11-20".to_string(),
                "2026-11-21".to_string()
            ],
            vec!["2026-W46"]
        )
    );

    // Traffic of the 20th counts on that day only.
    put_all(&mut ts.store);
    replace_day(
        &mut ts.store,
        Dataset::Traffic,
        d("2026-11-20"),
        "t.csv",
        &[traffic_row(2, "2026-11-20", "搜索", 10)],
    );
    let (days_left, weeks_left) = kept(&ts.store);
    assert_eq!(days_left.len(), 5);
    assert!(!days_left.contains(&"2026-11-20".to_string()));
    assert_eq!(weeks_left, ["2026-W46", "2026-W48"]);
}

/// A snapshot computed from rows read before an ingest committed is not
/// stored: the ingest has dropped the snapshots its rows feed, and a late
/// write must not bring a stale one back.
#[test]
fn a_snapshot_of_rows_changed_since_they_were_read_is_not_stored() {
    let mut ts = fresh();
    let snapshot = BTreeMap::from([("gmv".to_string(), Some("1".to_string()))]);
    let before = ts.store.rows_version().unwrap();
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        d("2026-11-22"),
        "o.csv",
        &day_orders("20"),
    );
    assert_ne!(ts.store.rows_version().unwrap(), before);
    let day = d("2026-11-22");
    assert!(!ts.store.put_daily_kpis(day, &snapshot, before).unwrap());
    assert!(
        !ts.store
            .put_period_kpis("2026-W47", d("2026-11-16"), day, &snapshot, before)
            .unwrap()
    );
    let stored = |store: &Store| {
        (
            store.daily_kpis(day, d("2026-11-23")).unwrap().len(),
            store
                .period_kpis("2026-W47", d("2026-11-16"), day)
                .unwrap()
                .is_some(),
        )
    };
    assert_eq!(stored(&ts.store), (0, false));
    // Read after the ingest: stored.
    let now = ts.store.rows_version().unwrap();
    assert!(ts.store.put_daily_kpis(day, &snapshot, now).unwrap());
    assert!(
        ts.store
            .put_period_kpis("2026-W47", d("2026-11-16"), day, &snapshot, now)
            .unwrap()
    );
    assert_eq!(stored(&ts.store), (1, true));
}
