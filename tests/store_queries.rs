//! Reading the store back: each loader over hand-built records, the
//! purchase stream for member tiers, and first purchases.

#[path = "common/store_support.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};

use storepulse::model::facts::SourceRef;
use storepulse::model::{Dataset, OrderStatus, ProductStatus, Value};
use support::*;

/// Orders over three Shanghai days (UTC+8): the 21st, 22nd and 23rd.
fn seed_orders(store: &mut storepulse::store::Store) {
    // created 2026-11-21 23:50 Shanghai, paid 2026-11-22 00:10 Shanghai.
    replace_day(
        store,
        Dataset::Orders,
        d("2026-11-21"),
        "o21.csv",
        &[
            order(
                2,
                "A1",
                "alice",
                "2026-11-21T15:50:00Z",
                Some("2026-11-21T16:10:00Z"),
                "paid",
                "100",
                None,
            ),
            order(
                3,
                "A2",
                "bob",
                "2026-11-21T02:00:00Z",
                Some("2026-11-21T02:01:00Z"),
                "completed",
                "50",
                Some("10"),
            ),
        ],
    );
    replace_day(
        store,
        Dataset::Orders,
        d("2026-11-22"),
        "o22.csv",
        &[
            order(
                2,
                "B1",
                "bob",
                "2026-11-22T01:00:00Z",
                Some("2026-11-22T01:30:00Z"),
                "shipped",
                "30",
                None,
            ),
            order(
                3,
                "B2",
                "carol",
                "2026-11-22T02:00:00Z",
                Some("2026-11-22T02:05:00Z"),
                "closed",
                "80",
                Some("80"),
            ),
            order(
                4,
                "B3",
                "dave",
                "2026-11-22T03:00:00Z",
                None,
                "unpaid",
                "60",
                None,
            ),
            order(
                5,
                "B4",
                "alice",
                "2026-11-22T04:00:00Z",
                Some("2026-11-22T04:10:00Z"),
                "refunding",
                "40",
                Some("40"),
            ),
            order(
                6,
                "B5",
                "erin",
                "2026-11-22T05:00:00Z",
                None,
                "closed",
                "20",
                None,
            ),
        ],
    );
    replace_day(
        store,
        Dataset::Orders,
        d("2026-11-23"),
        "o23.csv",
        &[order(
            2,
            "C1",
            "carol",
            "2026-11-23T01:00:00Z",
            Some("2026-11-23T01:00:00Z"),
            "paid",
            "15.5",
            None,
        )],
    );
}

/// The Shanghai day 2026-11-22 as a UTC range.
fn sh_day_22() -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    (t("2026-11-21T16:00:00Z"), t("2026-11-22T16:00:00Z"))
}

#[test]
fn orders_by_paid_and_created_time() {
    let mut ts = fresh();
    seed_orders(&mut ts.store);
    let (s, e) = sh_day_22();

    let paid = ts.store.orders_paid_between(s, e).unwrap();
    let ids: Vec<_> = paid.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, vec!["A1", "B1", "B2", "B4"]);
    let a1 = &paid[0];
    assert_eq!(a1.member_id, "alice");
    assert_eq!(a1.status, OrderStatus::Paid);
    assert_eq!(a1.paid_amount, dec("100"));
    assert_eq!(a1.refund_amount, dec("0"), "missing refund reads as zero");
    assert_eq!(a1.total_amount, None);
    assert_eq!(a1.item_qty, Some(1));
    assert_eq!(a1.shop.as_deref(), Some("旗舰店"));
    assert_eq!(a1.created_at, t("2026-11-21T15:50:00Z"));
    assert_eq!(a1.paid_at, Some(t("2026-11-21T16:10:00Z")));
    assert_eq!(
        a1.source,
        SourceRef {
            file: "o21.csv".into(),
            row: 2
        }
    );
    let valid: Vec<_> = paid
        .iter()
        .filter(|o| o.is_purchase())
        .map(|o| o.order_id.as_str())
        .collect();
    assert_eq!(valid, vec!["A1", "B1"]);

    // Created on the 22nd by the shop's calendar: A1, created at 23:50 on
    // the 21st in Shanghai (15:50 UTC), belongs to the 21st.
    let (d22, d23) = (d("2026-11-22"), d("2026-11-23"));
    let created = ts.store.orders_created_between(d22, d23).unwrap();
    let ids: Vec<_> = created.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, vec!["B1", "B2", "B3", "B4", "B5"]);
    assert_eq!(ts.store.count_orders_created_between(d22, d23).unwrap(), 5);
    let count = |from: &str, to: &str| {
        ts.store
            .count_orders_created_between(d(from), d(to))
            .unwrap()
    };
    assert_eq!(count("2026-11-21", "2026-11-22"), 2, "A1 and A2");
    assert_eq!(count("2026-11-21", "2026-11-24"), 8);
    assert_eq!(count("2026-11-22", "2026-11-22"), 0, "end is exclusive");

    let unpaid = ts.store.unpaid_orders_created_between(d22, d23).unwrap();
    assert_eq!(unpaid.len(), 1);
    assert_eq!(
        (unpaid[0].order_id.as_str(), unpaid[0].paid_at),
        ("B3", None)
    );
}

#[test]
fn an_unknown_stored_status_reads_as_unknown() {
    let mut ts = fresh();
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        d("2026-11-22"),
        "o.csv",
        &[order(
            2,
            "X",
            "m",
            "2026-11-22T01:00:00Z",
            None,
            "unknown",
            "1",
            None,
        )],
    );
    let o = ts
        .store
        .orders_created_between(d("2026-11-22"), d("2026-11-23"))
        .unwrap();
    assert_eq!(o[0].status, OrderStatus::Unknown);
}

#[test]
fn items_of_paid_orders() {
    let mut ts = fresh();
    seed_orders(&mut ts.store);
    replace_day(
        &mut ts.store,
        Dataset::OrderItems,
        d("2026-11-22"),
        "items22.csv",
        &[
            item(2, "B1", "SKU-1", 2, "10"),
            item(3, "B1", "SKU-2", 1, "10"),
            item(4, "B3", "SKU-1", 1, "60"),
            item(5, "C1", "SKU-3", 1, "15.5"),
        ],
    );
    let (s, e) = sh_day_22();
    let items = ts.store.items_for_paid_orders_between(s, e).unwrap();
    let got: Vec<_> = items
        .iter()
        .map(|i| (i.order_id.as_str(), i.sku_id.as_str(), i.quantity))
        .collect();
    assert_eq!(got, vec![("B1", "SKU-1", 2), ("B1", "SKU-2", 1)]);
    assert_eq!(items[0].unit_price, Some(dec("10")));
    assert_eq!(items[0].title.as_deref(), Some("宝贝"));
    assert_eq!(
        items[1].source,
        SourceRef {
            file: "items22.csv".into(),
            row: 3
        }
    );
}

fn product(
    row: u64,
    day: &str,
    sku: &str,
    cost: Option<&str>,
    stock: i64,
    units: i64,
) -> storepulse::model::Record {
    rec(
        row,
        vec![
            Value::Date(d(day)),
            txt(sku),
            txt("羽绒服"),
            txt("女装"),
            txt("online"),
            money("299"),
            opt_money(cost),
            Value::Int(stock),
            Value::Int(100),
            Value::Int(150),
            Value::Int(10),
            Value::Int(5),
            Value::Int(units),
            Value::Int(units),
            money("598"),
            m(),
            Value::Decimal(dec("0.4125")),
            Value::DateTime(t("2026-01-01T00:00:00Z")),
        ],
    )
}

#[test]
fn products_and_unit_costs() {
    let mut ts = fresh();
    replace_day(
        &mut ts.store,
        Dataset::Products,
        d("2026-11-20"),
        "p20.csv",
        &[
            product(2, "2026-11-20", "S1", Some("100"), 50, 1),
            product(3, "2026-11-20", "S2", Some("40"), 10, 0),
        ],
    );
    replace_day(
        &mut ts.store,
        Dataset::Products,
        d("2026-11-21"),
        "p21.csv",
        &[
            product(2, "2026-11-21", "S1", Some("110.5"), 48, 2),
            product(3, "2026-11-21", "S2", None, 10, 0),
            product(4, "2026-11-21", "S3", None, 0, 0),
        ],
    );
    replace_day(
        &mut ts.store,
        Dataset::Products,
        d("2026-11-22"),
        "p22.csv",
        &[product(2, "2026-11-22", "S1", Some("120"), 45, 3)],
    );

    let day21 = ts.store.products_on(d("2026-11-21")).unwrap();
    assert_eq!(day21.len(), 3);
    let s1 = &day21[0];
    assert_eq!((s1.sku_id.as_str(), s1.date), ("S1", d("2026-11-21")));
    assert_eq!(s1.status, Some(ProductStatus::Online));
    assert_eq!(s1.unit_cost, Some(dec("110.5")));
    assert_eq!(s1.price, Some(dec("299")));
    assert_eq!(
        (s1.stock, s1.paid_units, s1.visitors),
        (Some(48), Some(2), Some(100))
    );
    assert_eq!(s1.bounce_rate, Some(dec("0.4125")));
    assert_eq!(s1.refund_amount, None);
    assert_eq!(s1.listed_at, Some(t("2026-01-01T00:00:00Z")));
    assert_eq!(
        s1.row,
        SourceRef {
            file: "p21.csv".into(),
            row: 2
        }
    );

    assert_eq!(
        ts.store
            .products_between(d("2026-11-20"), d("2026-11-22"))
            .unwrap()
            .len(),
        5
    );

    let sold = |from: &str, to: &str| {
        let mut v: Vec<String> = ts
            .store
            .skus_sold_between(["S3", "S1", "S2", "S9"], d(from), d(to))
            .unwrap()
            .into_iter()
            .collect();
        v.sort();
        v
    };
    // S1 sold every day; S2 and S3 have rows with no units; S9 has none.
    assert_eq!(sold("2026-11-21", "2026-11-23"), ["S1"]);
    assert_eq!(sold("2026-11-20", "2026-11-21"), ["S1"]);
    // The stock window: the last product day's rows whole, units summed
    // over the 7 days ending with it.
    let w = ts
        .store
        .stock_window(d("2026-11-16"), d("2026-11-23"))
        .unwrap();
    assert_eq!(w.last, Some(d("2026-11-22")));
    let at_end: Vec<(&str, Option<i64>)> = w
        .at_end
        .iter()
        .map(|p| (p.sku_id.as_str(), p.stock))
        .collect();
    assert_eq!(at_end, [("S1", Some(45))]);
    assert_eq!(
        w.units_7d,
        HashMap::from([
            ("S1".to_owned(), Some(6)),
            ("S2".to_owned(), Some(0)),
            ("S3".to_owned(), Some(0))
        ])
    );
    let w = ts
        .store
        .stock_window(d("2026-11-16"), d("2026-11-22"))
        .unwrap();
    assert_eq!(
        (w.last, w.at_end.len(), w.units("S1")),
        (Some(d("2026-11-21")), 3, 3)
    );
    assert_eq!(
        ts.store
            .stock_window(d("2026-11-23"), d("2026-11-30"))
            .unwrap(),
        storepulse::model::facts::StockWindow::default()
    );
    // The window is half-open and days after the last row sell nothing.
    assert!(sold("2026-11-23", "2026-12-31").is_empty());
    assert!(sold("2026-11-19", "2026-11-20").is_empty());

    let costs = ts.store.latest_unit_costs(d("2026-11-21")).unwrap();
    // S2 has no cost on the 21st: the 20th's is the latest known.
    assert_eq!(
        costs,
        HashMap::from([
            ("S1".to_owned(), dec("110.5")),
            ("S2".to_owned(), dec("40"))
        ])
    );
    let later = ts.store.latest_unit_costs(d("2026-12-31")).unwrap();
    assert_eq!(later["S1"], dec("120"));
    assert!(
        ts.store
            .latest_unit_costs(d("2026-11-19"))
            .unwrap()
            .is_empty()
    );

    let skus = vec!["S1".to_owned(), "S3".to_owned(), "S9".to_owned()];
    let some = ts.store.unit_costs_for(d("2026-11-21"), &skus).unwrap();
    assert_eq!(some, HashMap::from([("S1".to_owned(), dec("110.5"))]));
}

#[test]
fn traffic_rows_read_back() {
    let mut ts = fresh();
    let row = |r: u64, day: &str, source: Value, visitors: i64| {
        rec(
            r,
            vec![
                Value::Date(d(day)),
                source,
                Value::Int(visitors),
                Value::Int(visitors * 3),
                Value::Decimal(dec("0.0325")),
                Value::Decimal(dec("45.5")),
                Value::Int(10),
                Value::Int(8),
                Value::Int(6),
                money("1234.56"),
                m(),
            ],
        )
    };
    replace_day(
        &mut ts.store,
        Dataset::Traffic,
        d("2026-11-21"),
        "t21.csv",
        &[row(2, "2026-11-21", txt("total"), 900)],
    );
    replace_day(
        &mut ts.store,
        Dataset::Traffic,
        d("2026-11-22"),
        "t22.csv",
        &[
            row(2, "2026-11-22", txt("直通车"), 300),
            row(3, "2026-11-22", m(), 1000),
        ],
    );
    let rows = ts
        .store
        .traffic_between(d("2026-11-22"), d("2026-11-23"))
        .unwrap();
    assert_eq!(rows.len(), 2);
    let total = &rows[0];
    assert_eq!(
        (total.date, total.source.clone(), total.visitors),
        (d("2026-11-22"), None, 1000)
    );
    assert_eq!(total.page_views, Some(3000));
    assert_eq!(total.bounce_rate, Some(dec("0.0325")));
    assert_eq!(total.avg_stay_seconds, Some(dec("45.5")));
    assert_eq!(
        (total.cart_users, total.order_buyers, total.paying_buyers),
        (Some(10), Some(8), Some(6))
    );
    assert_eq!(total.paid_amount, Some(dec("1234.56")));
    assert_eq!(total.new_followers, None);
    assert_eq!(
        total.row,
        SourceRef {
            file: "t22.csv".into(),
            row: 3
        }
    );
    assert_eq!(rows[1].source.as_deref(), Some("直通车"));
    assert_eq!(
        ts.store
            .traffic_between(d("2026-11-21"), d("2026-11-23"))
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        ts.store
            .row_counts_by_day(Dataset::Traffic, d("2026-11-01"), d("2026-12-01"))
            .unwrap(),
        BTreeMap::from([(d("2026-11-21"), 1), (d("2026-11-22"), 2)])
    );
}

#[test]
fn members_read_back() {
    let mut ts = fresh();
    let member = |r: u64, id: &str, joined: Option<&str>| {
        rec(
            r,
            vec![
                txt(id),
                joined.map_or(m(), |j| Value::DateTime(t(j))),
                txt("金卡"),
                txt("13800138000"),
                Value::Date(d("1990-05-17")),
                txt("女"),
                txt("杭州"),
                Value::Int(320),
                txt("直播间"),
            ],
        )
    };
    replace_day(
        &mut ts.store,
        Dataset::Members,
        d("2026-11-22"),
        "members.csv",
        &[
            member(2, "m2", Some("2026-11-22T03:00:00Z")),
            member(3, "m1", Some("2025-01-01T00:00:00Z")),
            member(4, "m3", None),
        ],
    );
    let all = ts.store.members().unwrap();
    let ids: Vec<_> = all.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(ids, vec!["m1", "m2", "m3"]);
    let m2 = &all[1];
    assert_eq!(m2.joined_at, Some(t("2026-11-22T03:00:00Z")));
    assert_eq!(m2.level.as_deref(), Some("金卡"));
    assert_eq!(m2.phone.as_deref(), Some("13800138000"));
    assert_eq!(m2.birthday, Some(d("1990-05-17")));
    assert_eq!(
        (m2.gender.as_deref(), m2.city.as_deref()),
        (Some("女"), Some("杭州"))
    );
    assert_eq!(
        (m2.points, m2.source.as_deref()),
        (Some(320), Some("直播间"))
    );
    // What the tier evaluation reads: ids in order and birthdays, nothing else.
    let light = ts.store.member_birthdays().unwrap();
    let expected: Vec<_> = all
        .iter()
        .map(|m| (m.member_id.clone(), m.birthday))
        .collect();
    assert_eq!(light, expected);
    assert_eq!(light[1].1, Some(d("1990-05-17")));
    assert_eq!(ts.store.member_count().unwrap(), 3);
    let (s, e) = sh_day_22();
    let joined = ts.store.members_joined_between(s, e).unwrap();
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].member_id, "m2");
}

#[test]
fn service_ads_and_targets_read_back() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    replace_day(
        &mut ts.store,
        Dataset::Service,
        day,
        "service.csv",
        &[
            rec(
                2,
                vec![
                    Value::Date(day),
                    txt("小美"),
                    Value::Int(120),
                    Value::Int(30),
                    money("4500.5"),
                    Value::Decimal(dec("18.5")),
                    Value::Decimal(dec("0.985")),
                ],
            ),
            rec(
                3,
                vec![Value::Date(day), txt("阿强"), m(), m(), m(), m(), m()],
            ),
        ],
    );
    let svc = ts.store.service_between(day, d("2026-11-23")).unwrap();
    assert_eq!(svc.len(), 2);
    let mei = svc.iter().find(|s| s.agent == "小美").unwrap();
    assert_eq!(
        (mei.consultations, mei.converted_buyers),
        (Some(120), Some(30))
    );
    assert_eq!(mei.sales, Some(dec("4500.5")));
    assert_eq!(mei.avg_response_seconds, Some(dec("18.5")));
    assert_eq!(mei.satisfaction, Some(dec("0.985")));
    assert_eq!(mei.row.row, 2);
    let qiang = svc.iter().find(|s| s.agent == "阿强").unwrap();
    assert_eq!((qiang.consultations, qiang.sales), (None, None));

    replace_day(
        &mut ts.store,
        Dataset::Ads,
        day,
        "ads.csv",
        &[
            rec(
                2,
                vec![
                    Value::Date(day),
                    txt("直通车"),
                    txt("日常推广"),
                    money("200"),
                    Value::Int(10000),
                    Value::Int(300),
                    Value::Int(40),
                    Value::Int(12),
                    money("1500"),
                ],
            ),
            // The same campaign name on another channel is another row.
            rec(
                3,
                vec![
                    Value::Date(day),
                    txt("万相台"),
                    txt("日常推广"),
                    money("100.25"),
                    m(),
                    m(),
                    m(),
                    m(),
                    m(),
                ],
            ),
        ],
    );
    let ads = ts.store.ads_between(day, d("2026-11-23")).unwrap();
    assert_eq!(ads.len(), 2);
    let ztc = ads
        .iter()
        .find(|a| a.channel.as_deref() == Some("直通车"))
        .unwrap();
    assert_eq!(
        (ztc.campaign.as_str(), ztc.spend, ztc.revenue),
        ("日常推广", dec("200"), Some(dec("1500")))
    );
    assert_eq!(
        (ztc.impressions, ztc.clicks, ztc.cart_adds, ztc.orders),
        (Some(10000), Some(300), Some(40), Some(12))
    );
    let wxt = ads
        .iter()
        .find(|a| a.channel.as_deref() == Some("万相台"))
        .unwrap();
    assert_eq!((wxt.spend, wxt.revenue), (dec("100.25"), None));

    replace_day(
        &mut ts.store,
        Dataset::Targets,
        d("2026-11-01"),
        "targets.csv",
        &[
            rec(
                2,
                vec![
                    txt("2026-11"),
                    txt("gross_sales"),
                    Value::Decimal(dec("1500000")),
                ],
            ),
            rec(3, vec![txt("2026-11"), txt("visitors"), Value::Int(300000)]),
            rec(
                4,
                vec![
                    txt("2026-12"),
                    txt("gross_sales"),
                    Value::Decimal(dec("2000000")),
                ],
            ),
        ],
    );
    let targets = ts.store.targets_for_month("2026-11").unwrap();
    let got: Vec<_> = targets
        .iter()
        .map(|t| (t.metric.as_str(), t.target))
        .collect();
    assert_eq!(
        got,
        vec![("gross_sales", dec("1500000")), ("visitors", dec("300000"))]
    );
    assert!(ts.store.targets_for_month("2026-10").unwrap().is_empty());
}

#[test]
fn purchases_stream_in_member_order_and_skip_non_purchases() {
    let mut ts = fresh();
    seed_orders(&mut ts.store);
    let mut seen = Vec::new();
    ts.store
        .for_each_purchase(None, t("2026-11-24T00:00:00Z"), SHANGHAI, |m, day, net| {
            seen.push((m.to_owned(), day, net));
        })
        .unwrap();
    // Left out: B2 (closed), B3 (unpaid), B4 (fully refunded), B5 (closed, unpaid).
    assert_eq!(
        seen,
        vec![
            // Paid 2026-11-21 16:10 UTC = the 22nd in Shanghai.
            ("alice".to_owned(), d("2026-11-22"), dec("100")),
            ("bob".to_owned(), d("2026-11-21"), dec("40")),
            ("bob".to_owned(), d("2026-11-22"), dec("30")),
            ("carol".to_owned(), d("2026-11-23"), dec("15.5")),
        ]
    );

    let mut windowed = Vec::new();
    let (s, e) = sh_day_22();
    ts.store
        .for_each_purchase(Some(s), e, SHANGHAI, |m, _, net| {
            windowed.push((m.to_owned(), net))
        })
        .unwrap();
    assert_eq!(
        windowed,
        vec![
            ("alice".to_owned(), dec("100")),
            ("bob".to_owned(), dec("30"))
        ]
    );
}

#[test]
fn first_paid_order_over_the_whole_history() {
    let mut ts = fresh();
    seed_orders(&mut ts.store);
    let members: Vec<String> = ["alice", "bob", "carol", "dave", "nobody"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let first = ts.store.first_paid_at(&members).unwrap();
    assert_eq!(
        first,
        HashMap::from([
            ("alice".to_owned(), t("2026-11-21T16:10:00Z")),
            ("bob".to_owned(), t("2026-11-21T02:01:00Z")),
            // A closed order was still paid: it is carol's first.
            ("carol".to_owned(), t("2026-11-22T02:05:00Z")),
        ])
    );
    // Buyers of the Shanghai 22nd: alice (A1, B4), bob (B1), carol (B2).
    let (s, e) = sh_day_22();
    assert_eq!(
        ts.store.first_paid_at_of_buyers_between(s, e).unwrap(),
        HashMap::from([
            ("alice".to_owned(), t("2026-11-21T16:10:00Z")),
            ("bob".to_owned(), t("2026-11-21T02:01:00Z")),
            ("carol".to_owned(), t("2026-11-22T02:05:00Z")),
        ])
    );
}

#[test]
fn row_counts_cover_every_dataset() {
    let mut ts = fresh();
    seed_orders(&mut ts.store);
    assert_eq!(
        ts.store
            .row_counts_by_day(Dataset::Orders, d("2026-11-22"), d("2026-11-24"))
            .unwrap(),
        BTreeMap::from([(d("2026-11-22"), 5), (d("2026-11-23"), 1)])
    );
    for ds in Dataset::ALL {
        if ds != Dataset::Orders {
            assert!(
                ts.store
                    .row_counts_by_day(ds, d("2026-01-01"), d("2027-01-01"))
                    .unwrap()
                    .is_empty()
            );
        }
    }
}

#[test]
fn a_corrupt_stored_value_is_an_error_naming_table_and_column() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    replace_day(
        &mut ts.store,
        Dataset::Service,
        day,
        "service.csv",
        &[rec(
            2,
            vec![
                Value::Date(day),
                txt("小美"),
                m(),
                m(),
                m(),
                txt_num("18.5"),
                m(),
            ],
        )],
    );
    ts.store
        .connection()
        .execute("UPDATE service SET avg_response_seconds = 'fast'", [])
        .unwrap();
    let err = ts.store.service_between(day, d("2026-11-23")).unwrap_err();
    assert!(
        matches!(
            &err,
            storepulse::store::StoreError::Corrupt {
                table: "service",
                column: "avg_response_seconds",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("fast"), "{err}");
}

fn txt_num(s: &str) -> Value {
    Value::Decimal(dec(s))
}

#[test]
fn purchases_are_ordered_by_member_id_bytes() {
    let mut ts = fresh();
    let day = d("2026-11-22");
    replace_day(
        &mut ts.store,
        Dataset::Orders,
        day,
        "o.csv",
        &[
            order(
                2,
                "1",
                "阿明",
                "2026-11-22T01:00:00Z",
                Some("2026-11-22T01:00:00Z"),
                "paid",
                "1",
                None,
            ),
            order(
                3,
                "2",
                "alice",
                "2026-11-22T02:00:00Z",
                Some("2026-11-22T02:00:00Z"),
                "paid",
                "1",
                None,
            ),
            order(
                4,
                "3",
                "Bob",
                "2026-11-22T03:00:00Z",
                Some("2026-11-22T03:00:00Z"),
                "paid",
                "1",
                None,
            ),
            order(
                5,
                "4",
                "alice",
                "2026-11-22T00:30:00Z",
                Some("2026-11-22T00:30:00Z"),
                "paid",
                "2",
                None,
            ),
        ],
    );
    let mut seen = Vec::new();
    ts.store
        .for_each_purchase(None, t("2026-11-23T00:00:00Z"), SHANGHAI, |m, _, net| {
            seen.push((m.to_owned(), net))
        })
        .unwrap();
    assert_eq!(
        seen,
        vec![
            ("Bob".to_owned(), dec("1")),
            ("alice".to_owned(), dec("2")),
            ("alice".to_owned(), dec("1")),
            ("阿明".to_owned(), dec("1")),
        ]
    );
}
