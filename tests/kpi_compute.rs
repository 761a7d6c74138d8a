//! KPIs of SPEC §7 on small hand-computed fixtures.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use rust_decimal::Decimal;
use serde_json::json;
use storepulse::compute::kpi::*;
use storepulse::model::facts::*;
use storepulse::model::{OrderStatus, ProductStatus, TrafficType};
use storepulse::period::Period;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}
fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
/// A wall time in Shanghai as an instant.
fn local(s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    Shanghai
        .from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}
fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}
fn src(row: u64) -> SourceRef {
    SourceRef {
        file: "orders.csv".into(),
        row,
    }
}
fn order(
    id: &str,
    member: &str,
    paid_at: DateTime<Utc>,
    status: OrderStatus,
    paid: &str,
    refund: &str,
    qty: Option<i64>,
) -> OrderFact {
    OrderFact {
        order_id: id.into(),
        // The test's orders are created when paid.
        day: paid_at.with_timezone(&Shanghai).date_naive(),
        member_id: member.into(),
        created_at: paid_at,
        paid_at: Some(paid_at),
        status,
        paid_amount: d(paid),
        total_amount: None,
        refund_amount: d(refund),
        item_qty: qty,
        shop: None,
        phone: None,
        source: src(2),
    }
}
/// A line of an order created on 22 November.
fn item(order: &str, sku: &str, qty: i64) -> ItemFact {
    ItemFact {
        order_id: order.into(),
        order_day: day("2026-11-22"),
        sku_id: sku.into(),
        title: None,
        quantity: qty,
        unit_price: None,
        source: src(2),
    }
}
fn traffic(date: &str, source: Option<&str>, visitors: i64, pv: Option<i64>) -> TrafficFact {
    TrafficFact {
        date: day(date),
        source: source.map(String::from),
        visitors,
        page_views: pv,
        bounce_rate: None,
        avg_stay_seconds: None,
        cart_users: None,
        order_buyers: None,
        paying_buyers: None,
        paid_amount: None,
        new_followers: None,
        row: src(3),
    }
}
fn product(date: &str, sku: &str, status: ProductStatus, stock: i64, units: i64) -> ProductFact {
    ProductFact {
        date: day(date),
        sku_id: sku.into(),
        title: None,
        category: None,
        status: Some(status),
        price: None,
        unit_cost: None,
        stock: Some(stock),
        visitors: None,
        page_views: None,
        cart_users: None,
        fav_users: None,
        paid_buyers: None,
        paid_units: Some(units),
        paid_amount: None,
        refund_amount: None,
        bounce_rate: None,
        listed_at: None,
        row: src(4),
    }
}
fn ad(campaign: &str, spend: &str, revenue: Option<&str>, imp: i64, clicks: i64) -> AdFact {
    AdFact {
        date: day("2026-11-22"),
        channel: Some("直通车".into()),
        campaign: campaign.into(),
        spend: d(spend),
        impressions: Some(imp),
        clicks: Some(clicks),
        cart_adds: None,
        orders: None,
        revenue: revenue.map(d),
        row: src(5),
    }
}
fn agent(name: &str, cons: i64, conv: i64, resp: &str) -> ServiceFact {
    ServiceFact {
        date: day("2026-11-22"),
        agent: name.into(),
        consultations: Some(cons),
        converted_buyers: Some(conv),
        sales: None,
        avg_response_seconds: Some(d(resp)),
        satisfaction: None,
        row: src(6),
    }
}
fn money(s: &str) -> KpiValue {
    KpiValue::Money(d(s))
}
fn count(n: i64) -> KpiValue {
    KpiValue::Count(n)
}
fn ratio(n: &str, dd: &str) -> KpiValue {
    KpiValue::Ratio(d(n) / d(dd))
}
fn number(n: &str, dd: &str) -> KpiValue {
    KpiValue::Number(d(n) / d(dd))
}
fn get<'a>(k: &'a KpiSet, id: &str) -> &'a KpiValue {
    k.get(id).unwrap_or_else(|| panic!("no KPI {id}"))
}

/// 2026-11-22: four paid orders (one closed and refunded, one partly
/// refunded and known only by its lines), one paid after midnight.
fn basic_day() -> PeriodFacts {
    let mut f = PeriodFacts::empty(Period::day(day("2026-11-22")), Shanghai);
    use OrderStatus::*;
    f.orders_paid = vec![
        order(
            "o1",
            "m1",
            local("2026-11-22 10:00:00"),
            Completed,
            "100.00",
            "0",
            Some(2),
        ),
        order(
            "o2",
            "m2",
            local("2026-11-22 11:00:00"),
            Paid,
            "50.50",
            "0",
            Some(1),
        ),
        order(
            "o3",
            "m1",
            local("2026-11-22 20:00:00"),
            Closed,
            "30.00",
            "30.00",
            Some(1),
        ),
        order(
            "o4",
            "m3",
            local("2026-11-22 21:00:00"),
            Refunding,
            "80.00",
            "20.00",
            None,
        ),
        order(
            "o5",
            "m4",
            local("2026-11-23 00:00:00"),
            Paid,
            "999",
            "0",
            Some(9),
        ),
    ];
    f.orders_created = 6;
    f.items = vec![
        item("o1", "A", 2),
        item("o2", "B", 1),
        item("o3", "A", 1),
        item("o4", "C", 3),
    ];
    f.unit_costs = HashMap::from([
        ("A".into(), d("20")),
        ("B".into(), d("10.25")),
        ("C".into(), d("5")),
    ]);
    f.first_paid_at = HashMap::from([
        ("m1".into(), local("2026-10-01 09:00:00")),
        ("m3".into(), local("2026-11-22 21:00:00")),
    ]);
    let mut total = traffic("2026-11-22", None, 1000, Some(3500));
    total.bounce_rate = Some(d("0.40"));
    total.avg_stay_seconds = Some(d("50"));
    f.traffic = vec![
        total,
        traffic("2026-11-22", Some("手淘搜索"), 600, Some(2000)),
        traffic("2026-11-22", Some("直通车"), 500, Some(1800)),
    ];
    f.ads = vec![
        ad("X", "100", Some("250"), 10000, 200),
        ad("Y", "50", None, 5000, 100),
    ];
    f.service = vec![agent("a", 100, 30, "20"), agent("b", 50, 10, "50")];
    f.products = vec![
        product("2026-11-22", "A", ProductStatus::Online, 10, 3),
        product("2026-11-22", "B", ProductStatus::Online, 0, 1),
        product("2026-11-22", "C", ProductStatus::Delisted, 5, 0),
        product("2026-11-22", "D", ProductStatus::Online, 7, 0),
    ];
    f
}

#[test]
fn every_kpi_of_a_basic_day() {
    let k = compute_kpis(&basic_day());
    let expected: Vec<(&str, KpiValue)> = vec![
        ("visitors", count(1000)),
        ("page_views", count(3500)),
        ("pv_per_visitor", number("3500", "1000")),
        ("bounce_rate", ratio("400", "1000")),
        ("avg_stay_seconds", number("50000", "1000")),
        ("orders_created", count(6)),
        ("paid_orders", count(4)),
        ("valid_orders", count(3)),
        ("order_validity_rate", ratio("3", "6")),
        ("gross_sales", money("260.50")),
        ("refund_amount", money("50.00")),
        ("net_sales", money("210.50")),
        ("paying_buyers", count(3)),
        ("conversion_rate", ratio("3", "1000")),
        ("aov", KpiValue::Money(d("260.50") / d("3"))),
        ("avg_order_value", KpiValue::Money(d("65.125"))),
        ("uv_value", KpiValue::Money(d("0.2605"))),
        ("units_sold", count(7)),
        ("units_per_order", number("7", "4")),
        ("refund_rate", ratio("50.00", "260.50")),
        ("cost_of_goods", money("65.25")),
        ("gross_profit", money("145.25")),
        ("gross_margin", ratio("145.25", "210.50")),
        ("new_buyers", count(2)),
        ("returning_buyers", count(1)),
        ("new_buyer_sales", money("130.50")),
        ("returning_buyer_sales", money("130.00")),
        ("repurchase_rate", ratio("0", "3")),
        ("ad_spend", money("150")),
        ("ad_revenue", money("250")),
        ("roi", number("250", "150")),
        ("ctr", ratio("300", "15000")),
        ("cpc", KpiValue::Money(d("0.5"))),
        ("consult_conversion_rate", ratio("40", "150")),
        ("avg_response_seconds", number("4500", "150")),
        ("sell_through_rate", ratio("4", "26")),
        ("active_sku_rate", ratio("2", "3")),
    ];
    for (id, want) in &expected {
        let got = get(&k, id);
        match (got.as_decimal(), want.as_decimal()) {
            (Some(a), Some(b)) => assert_eq!(a, b, "{id}"),
            _ => assert_eq!(got, want, "{id}"),
        }
        assert_eq!(
            std::mem::discriminant(got),
            std::mem::discriminant(want),
            "{id} kind"
        );
    }
    // Every catalogue id is computed, and nothing else for a day.
    let ids: Vec<&str> = kpi_catalog().iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), expected.len());
    assert_eq!(
        k.keys().map(String::as_str).collect::<Vec<_>>().len(),
        ids.len()
    );
    for id in ids {
        assert!(k.contains_key(id), "{id}");
    }
}

#[test]
fn zero_visitor_day_has_missing_ratios_not_zero_or_infinity() {
    let mut f = PeriodFacts::empty(Period::day(day("2026-11-22")), Shanghai);
    f.traffic = vec![traffic("2026-11-22", None, 0, Some(0))];
    let k = compute_kpis(&f);
    assert_eq!(get(&k, "visitors"), &count(0));
    assert_eq!(get(&k, "page_views"), &count(0));
    for id in [
        "pv_per_visitor",
        "bounce_rate",
        "avg_stay_seconds",
        "conversion_rate",
        "uv_value",
        "aov",
        "avg_order_value",
        "units_per_order",
        "refund_rate",
        "gross_margin",
        "repurchase_rate",
        "order_validity_rate",
        "roi",
        "ctr",
        "cpc",
        "ad_spend",
        "consult_conversion_rate",
        "avg_response_seconds",
        "sell_through_rate",
        "active_sku_rate",
    ] {
        assert_eq!(get(&k, id), &KpiValue::Missing, "{id}");
    }
    assert_eq!(get(&k, "gross_sales"), &money("0"));
    assert_eq!(get(&k, "cost_of_goods"), &money("0"));
    assert_eq!(get(&k, "gross_profit"), &money("0"));
    assert_eq!(get(&k, "units_sold"), &count(0));
    assert_eq!(kpis_to_json(&k)["conversion_rate"], json!(null));
}

#[test]
fn all_refunded_day() {
    let mut f = PeriodFacts::empty(Period::day(day("2026-11-22")), Shanghai);
    f.orders_paid = vec![
        order(
            "o1",
            "m1",
            local("2026-11-22 09:00:00"),
            OrderStatus::Closed,
            "100",
            "100",
            Some(1),
        ),
        order(
            "o2",
            "m2",
            local("2026-11-22 10:00:00"),
            OrderStatus::Refunding,
            "40",
            "40",
            Some(2),
        ),
    ];
    f.orders_created = 2;
    let k = compute_kpis(&f);
    assert_eq!(get(&k, "paid_orders"), &count(2));
    assert_eq!(get(&k, "valid_orders"), &count(0));
    assert_eq!(get(&k, "order_validity_rate"), &ratio("0", "2"));
    assert_eq!(get(&k, "gross_sales"), &money("140"));
    assert_eq!(get(&k, "refund_amount"), &money("140"));
    assert_eq!(get(&k, "net_sales"), &money("0"));
    assert_eq!(get(&k, "refund_rate"), &ratio("1", "1"));
    // No valid order, so no cost: profit 0 and margin over zero net sales missing.
    assert_eq!(get(&k, "cost_of_goods"), &money("0"));
    assert_eq!(get(&k, "gross_profit"), &money("0"));
    assert_eq!(get(&k, "gross_margin"), &KpiValue::Missing);
    assert_eq!(get(&k, "units_sold"), &count(3));
    assert_eq!(get(&k, "paying_buyers"), &count(2));
    // No traffic rows at all: visitors unknown, not zero.
    assert_eq!(get(&k, "visitors"), &KpiValue::Missing);
}

#[test]
fn week_crossing_a_month_counts_distinct_buyers_and_days() {
    let week: Period = "2026-W44".parse().unwrap();
    assert_eq!(
        (week.start, week.end),
        (day("2026-10-26"), day("2026-11-02"))
    );
    let mut f = PeriodFacts::empty(week, Shanghai);
    use OrderStatus::Completed as C;
    f.orders_paid = vec![
        order(
            "a",
            "m1",
            local("2026-10-30 12:00:00"),
            C,
            "10",
            "0",
            Some(1),
        ),
        order(
            "b",
            "m1",
            local("2026-11-01 12:00:00"),
            C,
            "20",
            "0",
            Some(1),
        ),
        order(
            "c",
            "m2",
            local("2026-11-01 08:00:00"),
            C,
            "30",
            "0",
            Some(1),
        ),
        order(
            "d",
            "m2",
            local("2026-11-01 22:00:00"),
            C,
            "40",
            "0",
            Some(1),
        ),
        order(
            "e",
            "m3",
            local("2026-10-26 00:00:00"),
            C,
            "50",
            "0",
            Some(1),
        ),
        order(
            "f",
            "m4",
            local("2026-11-02 00:00:00"),
            C,
            "60",
            "0",
            Some(1),
        ),
        order(
            "g",
            "m5",
            local("2026-10-25 23:59:59"),
            C,
            "70",
            "0",
            Some(1),
        ),
    ];
    f.orders_created = 5;
    f.first_paid_at = HashMap::from([
        ("m1".into(), local("2026-05-01 10:00:00")),
        ("m2".into(), local("2026-11-01 08:00:00")),
    ]);
    let mut t1 = traffic("2026-10-31", None, 100, Some(200));
    t1.bounce_rate = Some(d("0.5"));
    t1.avg_stay_seconds = Some(d("30"));
    let mut t2 = traffic("2026-11-01", None, 300, Some(900));
    t2.bounce_rate = Some(d("0.3"));
    t2.avg_stay_seconds = Some(d("70"));
    f.traffic = vec![t1, t2, traffic("2026-11-02", None, 5000, Some(1))];
    f.products = vec![
        product("2026-10-31", "A", ProductStatus::Online, 50, 5),
        product("2026-11-01", "A", ProductStatus::Online, 40, 10),
        product("2026-11-01", "B", ProductStatus::Online, 5, 0),
    ];
    let k = compute_kpis(&f);
    assert_eq!(get(&k, "paid_orders"), &count(5));
    assert_eq!(get(&k, "gross_sales"), &money("150"));
    assert_eq!(get(&k, "paying_buyers"), &count(3));
    assert_eq!(get(&k, "repurchase_rate"), &ratio("1", "3"));
    assert_eq!(get(&k, "new_buyers"), &count(2));
    assert_eq!(get(&k, "returning_buyers"), &count(1));
    assert_eq!(get(&k, "new_buyer_sales"), &money("120"));
    assert_eq!(get(&k, "returning_buyer_sales"), &money("30"));
    assert_eq!(get(&k, "aov"), &money("50"));
    assert_eq!(get(&k, "visitors"), &count(400));
    assert_eq!(get(&k, "page_views"), &count(1100));
    assert_eq!(get(&k, "bounce_rate"), &ratio("140", "400"));
    assert_eq!(get(&k, "avg_stay_seconds"), &number("24000", "400"));
    assert_eq!(get(&k, "conversion_rate"), &ratio("3", "400"));
    // Units over the week (15), stock on the last day present (45).
    assert_eq!(get(&k, "sell_through_rate"), &ratio("15", "60"));
    assert_eq!(get(&k, "active_sku_rate"), &ratio("1", "2"));
    // No target KPIs for a week on its own.
    assert!(!k.keys().any(|id| id.starts_with("target")));
}

#[test]
fn leap_day_attribution_at_the_shanghai_midnights() {
    let leap = Period::day(day("2028-02-29"));
    let (start, end) = period_instants(&leap, Shanghai);
    assert_eq!(start, utc("2028-02-28T16:00:00Z"));
    assert_eq!(end, utc("2028-02-29T16:00:00Z"));
    assert_eq!(
        local_date(utc("2028-02-28T15:59:59Z"), Shanghai),
        day("2028-02-28")
    );
    assert_eq!(
        local_date(utc("2028-02-28T16:00:00Z"), Shanghai),
        day("2028-02-29")
    );
    assert_eq!(
        local_date(utc("2028-02-29T16:00:00Z"), Shanghai),
        day("2028-03-01")
    );

    let mut f = PeriodFacts::empty(leap, Shanghai);
    use OrderStatus::Paid as P;
    f.orders_paid = vec![
        order("a", "m1", utc("2028-02-28T15:59:59Z"), P, "1", "0", Some(1)),
        order(
            "b",
            "m2",
            utc("2028-02-28T16:00:00Z"),
            P,
            "10",
            "0",
            Some(1),
        ),
        order(
            "c",
            "m3",
            utc("2028-02-29T15:59:00Z"),
            P,
            "20",
            "0",
            Some(1),
        ),
        order(
            "d",
            "m4",
            utc("2028-02-29T16:00:00Z"),
            P,
            "300",
            "0",
            Some(1),
        ),
    ];
    let k = compute_kpis(&f);
    assert_eq!(get(&k, "paid_orders"), &count(2));
    assert_eq!(get(&k, "gross_sales"), &money("30"));
    assert_eq!(get(&k, "new_buyers"), &count(2));

    // February 2028 has 29 days; a month period carries its targets. Over
    // the month, 23:59:59 on the 28th counts and 00:00 on 1 March does not.
    let feb: Period = "2028-02".parse().unwrap();
    assert_eq!(feb.days(), 29);
    let mut mf = f.clone();
    mf.period = feb;
    mf.targets = vec![
        TargetFact {
            month: "2028-02".into(),
            metric: "gross_sales".into(),
            target: d("2900"),
        },
        TargetFact {
            month: "2028-03".into(),
            metric: "gross_sales".into(),
            target: d("1"),
        },
    ];
    let mk = compute_kpis(&mf);
    assert_eq!(get(&mk, "gross_sales"), &money("31"));
    assert_eq!(get(&mk, "target.gross_sales"), &money("2900"));
    assert_eq!(
        get(&mk, "target_completion.gross_sales"),
        &ratio("31", "2900")
    );
    assert_eq!(get(&mk, "target_pace.gross_sales"), &ratio("31", "2900"));
}

#[test]
fn month_to_date_targets_sum_daily_snapshots() {
    let targets = vec![
        TargetFact {
            month: "2028-02".into(),
            metric: "gross_sales".into(),
            target: d("2900"),
        },
        TargetFact {
            month: "2028-02".into(),
            metric: "conversion_rate".into(),
            target: d("0.05"),
        },
        TargetFact {
            month: "2028-02".into(),
            metric: "visitors".into(),
            target: d("29000"),
        },
    ];
    let mut daily = BTreeMap::new();
    for i in 1..=14 {
        let mut s = KpiSet::new();
        s.insert("gross_sales".into(), money("100"));
        if i != 7 {
            s.insert("visitors".into(), count(1000));
        }
        daily.insert(NaiveDate::from_ymd_opt(2028, 2, i).unwrap(), s);
    }
    let t = month_to_date_targets(&daily, day("2028-02-14"), &targets);
    assert_eq!(
        get(&t, "target_completion.gross_sales"),
        &ratio("1400", "2900")
    );
    // (1400 / 2900) / (14 / 29) = 1 exactly.
    assert_eq!(
        get(&t, "target_pace.gross_sales")
            .as_decimal()
            .unwrap()
            .round_dp(20),
        Decimal::ONE
    );
    // A ratio cannot be summed over days; a day without a snapshot leaves the total unknown.
    assert_eq!(
        get(&t, "target_completion.conversion_rate"),
        &KpiValue::Missing
    );
    assert_eq!(get(&t, "target_pace.visitors"), &KpiValue::Missing);
    assert_eq!(get(&t, "target.visitors"), &count(29000));
}

#[test]
fn traffic_without_a_total_row_sums_its_sources() {
    let mut f = PeriodFacts::empty(Period::day(day("2026-11-22")), Shanghai);
    let mut a = traffic("2026-11-22", Some("手淘搜索"), 600, Some(1200));
    a.bounce_rate = Some(d("0.5"));
    let mut b = traffic("2026-11-22", Some("直通车"), 400, Some(800));
    b.bounce_rate = Some(d("0.25"));
    f.traffic = vec![a, b];
    let (rows, fallback) = shop_traffic_rows(&f);
    assert_eq!(rows.len(), 2);
    assert_eq!(fallback, vec![day("2026-11-22")]);
    let k = compute_kpis(&f);
    assert_eq!(get(&k, "visitors"), &count(1000));
    assert_eq!(get(&k, "page_views"), &count(2000));
    // (600 × 0.5 + 400 × 0.25) / 1000
    assert_eq!(get(&k, "bounce_rate"), &ratio("400", "1000"));
    assert_eq!(traffic_paid_amount(&f), None);
    f.traffic[0].paid_amount = Some(d("12.5"));
    assert_eq!(traffic_paid_amount(&f), Some(d("12.5")));
}

#[test]
fn cost_of_goods_is_never_estimated() {
    let mut f = basic_day();
    f.unit_costs.remove("C");
    let k = compute_kpis(&f);
    for id in ["cost_of_goods", "gross_profit", "gross_margin"] {
        assert_eq!(get(&k, id), &KpiValue::Missing, "{id}");
    }
    // A valid order without lines has an unknown cost too.
    let mut f = basic_day();
    f.items.retain(|i| i.order_id != "o2");
    assert_eq!(get(&compute_kpis(&f), "cost_of_goods"), &KpiValue::Missing);
    // A closed order's unknown cost does not matter: it is not a valid order.
    let mut f = basic_day();
    f.items.push(item("o3", "Z", 1));
    assert_eq!(get(&compute_kpis(&f), "cost_of_goods"), &money("65.25"));
    // Units unknown when an order has neither item_qty nor lines.
    let mut f = basic_day();
    f.items.retain(|i| i.order_id != "o4");
    let k = compute_kpis(&f);
    assert_eq!(get(&k, "units_sold"), &KpiValue::Missing);
    assert_eq!(get(&k, "units_per_order"), &KpiValue::Missing);
}

/// An id two exports placed on two days is two orders (README, "How exports
/// are read"): each counts its own day's lines, not the other's as well.
#[test]
fn an_order_id_on_two_days_counts_each_days_lines_once() {
    let mut f = PeriodFacts::empty(Period::week_of(day("2026-11-22")), Shanghai);
    use OrderStatus::*;
    f.orders_paid = vec![
        order(
            "o1",
            "m1",
            local("2026-11-20 10:00:00"),
            Paid,
            "40",
            "0",
            None,
        ),
        order(
            "o1",
            "m2",
            local("2026-11-22 10:00:00"),
            Paid,
            "10.25",
            "0",
            None,
        ),
    ];
    f.orders_created = 2;
    f.items = vec![
        ItemFact {
            order_day: day("2026-11-20"),
            ..item("o1", "A", 2)
        },
        item("o1", "B", 1),
    ];
    f.unit_costs = HashMap::from([("A".into(), d("20")), ("B".into(), d("10.25"))]);
    let k = compute_kpis(&f);
    assert_eq!(get(&k, "paid_orders"), &count(2));
    assert_eq!(get(&k, "units_sold"), &count(3));
    assert_eq!(get(&k, "cost_of_goods"), &money("50.25"));
    assert_eq!(get(&k, "gross_profit"), &money("0"));
}

#[test]
fn comparisons_use_relative_change() {
    let set = |pairs: &[(&str, KpiValue)]| -> KpiSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let cur = set(&[
        ("gross_sales", money("120")),
        ("gross_profit", money("-25")),
        ("visitors", count(10)),
        ("conversion_rate", ratio("3", "100")),
    ]);
    let prev = set(&[
        ("gross_sales", money("100")),
        ("gross_profit", money("-50")),
        ("visitors", count(0)),
        ("conversion_rate", ratio("2", "100")),
    ]);
    let year = set(&[("gross_sales", money("80"))]);
    let c = compare(&cur, Some(&prev), None, Some(&year));
    assert_eq!(c["gross_sales"].change, Some(d("0.2")));
    assert_eq!(c["gross_profit"].change, Some(d("0.5")));
    assert_eq!(c["visitors"].change, None);
    assert_eq!(c["conversion_rate"].change, Some(d("0.5")));
    assert_eq!(c["gross_sales"].week_ago, None);
    assert_eq!(c["gross_sales"].year_ago, Some(money("80")));
    assert_eq!(c["visitors"].year_ago, Some(KpiValue::Missing));
    let j = comparisons_to_json(&c);
    assert_eq!(
        j["gross_sales"],
        json!({"previous": "100", "change": 0.2, "week_ago": null, "year_ago": "80"})
    );
    assert_eq!(j["visitors"]["previous"], json!(0));
    assert_eq!(j["visitors"]["change"], json!(null));
    let none = compare(&cur, None, None, None);
    assert_eq!(none["gross_sales"].previous, None);
    assert_eq!(none["gross_sales"].change, None);
}

fn factors(visitors: i64, buyers: i64, gross: &str) -> KpiSet {
    let mut s = KpiSet::new();
    s.insert("visitors".into(), count(visitors));
    s.insert("gross_sales".into(), money(gross));
    s.insert(
        "conversion_rate".into(),
        KpiValue::Ratio(Decimal::from(buyers) / Decimal::from(visitors)),
    );
    s.insert(
        "aov".into(),
        KpiValue::Money(d(gross) / Decimal::from(buyers)),
    );
    s
}

#[test]
fn decomposition_splits_the_change_by_log_shares() {
    // Visitors doubled, conversion unchanged: all of the change is traffic.
    let prev = factors(1000, 20, "2000");
    let dec = decompose(&factors(2000, 40, "4000"), &prev).unwrap();
    let by: HashMap<_, _> = dec
        .factors
        .iter()
        .map(|f| (f.factor, f.contribution))
        .collect();
    assert_eq!(dec.change, d("2000"));
    assert_eq!(by["visitors"], d("2000.00"));
    assert_eq!(by["conversion_rate"], d("0.00"));
    assert_eq!(by["aov"], d("0.00"));
    assert_eq!(dec.main_factor().unwrap().factor, "visitors");

    // Visitors ×2 and aov ×2: ln 2 / ln 4 = one half each of 6000.
    let dec = decompose(&factors(2000, 40, "8000"), &prev).unwrap();
    let by: HashMap<_, _> = dec
        .factors
        .iter()
        .map(|f| (f.factor, (f.contribution, f.share)))
        .collect();
    assert_eq!(by["visitors"].0, d("3000.00"));
    assert_eq!(by["aov"].0, d("3000.00"));
    assert_eq!(by["conversion_rate"].0, d("0.00"));
    assert_eq!(by["visitors"].1, Some(d("0.5")));

    // An irregular move still adds up exactly.
    let dec = decompose(&factors(1234, 37, "5432.10"), &prev).unwrap();
    let sum: Decimal = dec.factors.iter().map(|f| f.contribution).sum();
    assert_eq!(sum, d("3432.10"));
    assert!(dec.factors.iter().all(|f| f.contribution > Decimal::ZERO));

    // Sales unchanged: contributions cancel, no shares.
    let dec = decompose(&factors(2000, 20, "2000"), &prev).unwrap();
    assert_eq!(dec.change, Decimal::ZERO);
    let sum: Decimal = dec.factors.iter().map(|f| f.contribution).sum();
    assert_eq!(sum, Decimal::ZERO);
    assert!(dec.factors.iter().all(|f| f.share.is_none()));

    // A zero factor has no logarithm.
    let mut zero = factors(1000, 20, "2000");
    zero.insert("visitors".into(), count(0));
    assert!(decompose(&zero, &prev).is_none());
    zero.insert("visitors".into(), KpiValue::Missing);
    assert!(decompose(&prev, &zero).is_none());

    let j = decompose(&factors(2000, 40, "4000"), &prev)
        .unwrap()
        .to_json();
    assert_eq!(j["change"], json!("2000"));
    assert_eq!(j["factors"][0]["factor"], json!("visitors"));
    assert_eq!(j["factors"][0]["previous"], json!(1000));
    assert_eq!(j["factors"][0]["contribution"], json!("2000.00"));
    assert_eq!(j["factors"][0]["share"], json!(1.0));
}

#[test]
fn json_form_and_catalogue() {
    let k = compute_kpis(&basic_day());
    let j = kpis_to_json(&k);
    assert_eq!(j["gross_sales"], json!("260.50"));
    assert_eq!(j["paid_orders"], json!(4));
    assert_eq!(j["order_validity_rate"], json!(0.5));
    assert_eq!(j["avg_response_seconds"], json!(30.0));
    let back = kpis_from_json(&j);
    assert_eq!(back["gross_sales"], money("260.50"));
    assert_eq!(back["paid_orders"], count(4));
    assert_eq!(back["order_validity_rate"], KpiValue::Ratio(d("0.5")));
    assert_eq!(back.len(), k.len());
    // The snapshot form keeps every digit of a ratio.
    let exact = kpis_to_exact_json(&k);
    assert_eq!(
        exact["refund_rate"],
        json!((d("50.00") / d("260.50")).to_string())
    );
    assert_eq!(kpis_from_json(&exact), k);

    let spec_ids = [
        "visitors",
        "page_views",
        "pv_per_visitor",
        "bounce_rate",
        "avg_stay_seconds",
        "orders_created",
        "paid_orders",
        "valid_orders",
        "order_validity_rate",
        "gross_sales",
        "refund_amount",
        "net_sales",
        "paying_buyers",
        "conversion_rate",
        "aov",
        "avg_order_value",
        "uv_value",
        "units_sold",
        "units_per_order",
        "refund_rate",
        "cost_of_goods",
        "gross_profit",
        "gross_margin",
        "new_buyers",
        "returning_buyers",
        "new_buyer_sales",
        "returning_buyer_sales",
        "repurchase_rate",
        "ad_spend",
        "ad_revenue",
        "roi",
        "ctr",
        "cpc",
        "consult_conversion_rate",
        "avg_response_seconds",
        "sell_through_rate",
        "active_sku_rate",
    ];
    let ids: Vec<&str> = kpi_catalog().iter().map(|d| d.id).collect();
    assert_eq!(ids, spec_ids);
    assert_eq!(kpi_kind("target_pace.gross_sales"), Some(KpiKind::Ratio));
    assert_eq!(kpi_kind("target.visitors"), Some(KpiKind::Count));
    assert_eq!(kpi_kind("nonsense"), None);
    assert_eq!(kpi_label("aov", true), "客单价");
    assert_eq!(
        kpi_label("target_completion.gross_sales", false),
        "Target completion · Gross sales"
    );
    assert_eq!(target_defs().len(), 3);
    let _ = TrafficType::Free;
}

#[test]
fn a_day_starting_in_a_dst_gap_starts_at_the_first_wall_time() {
    // Chile springs forward at midnight: 2026-09-06 begins at 01:00 (−03:00).
    let tz = chrono_tz::America::Santiago;
    assert_eq!(
        day_start(day("2026-09-06"), tz),
        utc("2026-09-06T04:00:00Z")
    );
    assert_eq!(
        day_start(day("2026-09-05"), tz),
        utc("2026-09-05T04:00:00Z")
    );
}
