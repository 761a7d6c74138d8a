//! A small hand-built shop for the render tests: one day (2026-11-22) of
//! orders, traffic, products, service and ads, the day before for
//! comparisons, 30 days of history, checks and member tiers.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use rust_decimal::Decimal;
use serde_json::json;
use storepulse::check::{CheckResult, Level, Sample};
use storepulse::compute::kpi::{
    Comparisons, Decomposition, KpiSet, PeriodFacts, compare, compute_kpis, decompose,
    month_to_date_targets,
};
use storepulse::compute::tiers::{TierResult, TierSettings, compute_tiers, sort_purchases};
use storepulse::config::{Locale, Pii, Team};
use storepulse::model::facts::*;
use storepulse::model::{OrderStatus, ProductStatus, TrafficType};
use storepulse::period::Period;
use storepulse::render::{EXCEL_MAX_ROWS, ReportData};

pub const HYPERLINK: &str = "=HYPERLINK(\"http://x\",\"y\")";

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(date: NaiveDate, hms: &str) -> DateTime<Utc> {
    let naive =
        chrono::NaiveDateTime::parse_from_str(&format!("{date} {hms}"), "%Y-%m-%d %H:%M:%S")
            .unwrap();
    Shanghai
        .from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn src(file: &str, row: u64) -> SourceRef {
    SourceRef {
        file: file.into(),
        row,
    }
}

#[allow(clippy::too_many_arguments)]
fn order(
    id: &str,
    member: &str,
    phone: Option<&str>,
    date: NaiveDate,
    paid: bool,
    status: OrderStatus,
    amount: &str,
    refund: &str,
    qty: i64,
) -> OrderFact {
    OrderFact {
        order_id: id.into(),
        day: date,
        member_id: member.into(),
        created_at: at(date, "09:15:00"),
        paid_at: paid.then(|| at(date, "09:20:00")),
        status,
        paid_amount: d(amount),
        total_amount: None,
        refund_amount: d(refund),
        item_qty: Some(qty),
        shop: None,
        phone: phone.map(String::from),
        source: src("orders.csv", 2),
    }
}

fn traffic(
    date: NaiveDate,
    source: Option<&str>,
    visitors: i64,
    paying: i64,
    paid: &str,
) -> TrafficFact {
    TrafficFact {
        date,
        source: source.map(String::from),
        visitors,
        page_views: Some(visitors * 3),
        bounce_rate: Some(d("0.4")),
        avg_stay_seconds: Some(d("50")),
        cart_users: Some(visitors / 10),
        order_buyers: Some(paying + 1),
        paying_buyers: Some(paying),
        paid_amount: Some(d(paid)),
        new_followers: Some(visitors / 100),
        row: src("traffic.xls", 5),
    }
}

#[allow(clippy::too_many_arguments)]
fn product(
    date: NaiveDate,
    sku: &str,
    title: &str,
    status: ProductStatus,
    stock: i64,
    units: i64,
    visitors: i64,
    amount: &str,
) -> ProductFact {
    ProductFact {
        date,
        sku_id: sku.into(),
        title: Some(title.into()),
        category: Some("女装".into()),
        status: Some(status),
        price: Some(d("199")),
        unit_cost: Some(d("80")),
        stock: Some(stock),
        visitors: Some(visitors),
        page_views: Some(visitors * 2),
        cart_users: Some(visitors / 5),
        fav_users: Some(visitors / 10),
        paid_buyers: Some(units),
        paid_units: Some(units),
        paid_amount: Some(d(amount)),
        refund_amount: Some(Decimal::ZERO),
        bounce_rate: Some(d("0.35")),
        listed_at: Some(at(day("2025-03-01"), "10:00:00")),
        row: src("products.xls", 6),
    }
}

/// The products of one day: A sells 2 a day with 5 left (low stock), B sold
/// out, C never sells (a zero seller), D is delisted.
fn products_of(date: NaiveDate) -> Vec<ProductFact> {
    vec![
        product(
            date,
            "SKU-A",
            "连衣裙 秋冬新款",
            ProductStatus::Online,
            5,
            2,
            120,
            "398",
        ),
        product(
            date,
            "SKU-B",
            HYPERLINK,
            ProductStatus::Online,
            0,
            1,
            60,
            "199",
        ),
        product(
            date,
            "SKU-C",
            "羊毛大衣 加厚款 冬季新品",
            ProductStatus::Online,
            100,
            0,
            30,
            "0",
        ),
        product(
            date,
            "SKU-D",
            "旧款T恤",
            ProductStatus::Delisted,
            3,
            0,
            0,
            "0",
        ),
    ]
}

/// One day of the shop; `k` scales the day so days differ.
pub fn day_facts(date: NaiveDate, k: i64) -> PeriodFacts {
    let mut f = PeriodFacts::empty(Period::day(date), Shanghai);
    let n = |base: i64| base + k;
    f.orders_paid = vec![
        order(
            &format!("{date}-1"),
            "张三",
            Some("13812341234"),
            date,
            true,
            OrderStatus::Completed,
            "199.00",
            "0",
            2,
        ),
        order(
            &format!("{date}-2"),
            "李四",
            Some("13900001111"),
            date,
            true,
            OrderStatus::Refunding,
            "88.50",
            "20.00",
            1,
        ),
        order(
            &format!("{date}-3"),
            "王五",
            None,
            date,
            true,
            OrderStatus::Paid,
            &format!("{}.00", 300 + k * 2),
            "0",
            1,
        ),
    ];
    f.unpaid_created = vec![order(
        &format!("{date}-4"),
        "赵六",
        Some("13700002222"),
        date,
        false,
        OrderStatus::Unpaid,
        "59.90",
        "0",
        1,
    )];
    f.orders_created = 4;
    f.items = vec![ItemFact {
        order_id: format!("{date}-1"),
        order_day: date,
        sku_id: "SKU-A".into(),
        title: None,
        quantity: 2,
        unit_price: Some(d("99.50")),
        source: src("items.csv", 2),
    }];
    f.traffic = vec![
        traffic(date, None, n(1000), 3, "587.50"),
        traffic(date, Some("手淘搜索"), n(600), 2, "398.00"),
        traffic(date, Some("直通车"), 300, 1, "189.50"),
        traffic(date, Some("逛逛"), 100, 0, "0"),
    ];
    f.traffic_types = [
        ("手淘搜索".to_string(), TrafficType::Free),
        ("直通车".to_string(), TrafficType::Paid),
        ("逛逛".to_string(), TrafficType::Content),
    ]
    .into_iter()
    .collect();
    f.products = products_of(date);
    f.service = vec![
        ServiceFact {
            date,
            agent: "小美".into(),
            consultations: Some(50),
            converted_buyers: Some(20),
            sales: Some(d("1000")),
            avg_response_seconds: Some(d("12")),
            satisfaction: Some(d("0.98")),
            row: src("service.txt", 2),
        },
        ServiceFact {
            date,
            agent: "小帅".into(),
            consultations: Some(40),
            converted_buyers: Some(10),
            sales: Some(d("800")),
            avg_response_seconds: Some(d("25")),
            satisfaction: Some(d("0.95")),
            row: src("service.txt", 3),
        },
    ];
    f.ads = vec![
        AdFact {
            date,
            channel: Some("直通车".into()),
            campaign: "秋冬连衣裙-关键词".into(),
            spend: d("120.50"),
            impressions: Some(10000),
            clicks: Some(300),
            cart_adds: Some(20),
            orders: Some(4),
            revenue: Some(d("480")),
            row: src("ads.csv", 2),
        },
        AdFact {
            date,
            channel: Some("引力魔方".into()),
            campaign: "人群拉新".into(),
            spend: d("80"),
            impressions: Some(20000),
            clicks: Some(150),
            cart_adds: Some(5),
            orders: Some(1),
            revenue: Some(d("60")),
            row: src("ads.csv", 3),
        },
    ];
    f.targets = vec![
        TargetFact {
            month: "2026-11".into(),
            metric: "gross_sales".into(),
            target: d("30000"),
        },
        TargetFact {
            month: "2026-11".into(),
            metric: "visitors".into(),
            target: d("40000"),
        },
    ];
    f
}

fn check(
    id: &str,
    title: &str,
    level: Level,
    observed: serde_json::Value,
    message: &str,
) -> CheckResult {
    CheckResult {
        id: id.into(),
        title: title.into(),
        level,
        observed,
        threshold: json!(null),
        baseline: json!(null),
        message: message.into(),
        samples: Vec::new(),
    }
}

pub fn checks() -> Vec<CheckResult> {
    let mut low = check(
        "low_stock",
        "低库存",
        Level::Warn,
        json!(1),
        "1 SKU(s) with less than 7 days of stock cover on 2026-11-22",
    );
    low.threshold = json!(0);
    low.baseline = json!(7);
    low.samples = vec![Sample {
        file: "products.xls".into(),
        row: 6,
        detail: "SKU-A 连衣裙 秋冬新款: stock 5, 14 sold in 7 days, cover 2.5 days".into(),
    }];
    let mut unpaid = check(
        "unpaid_orders",
        "待催付订单",
        Level::Warn,
        json!(0.25),
        "1 unpaid order(s) worth ¥59.90 to chase (25.00% of 4 created)",
    );
    unpaid.samples = vec![Sample {
        file: "orders.csv".into(),
        row: 2,
        detail: "order 2026-11-22-4: ¥59.90 created 2026-11-22 09:15".into(),
    }];
    vec![
        check(
            "row_count.orders",
            "行数",
            Level::Pass,
            json!(4),
            "4 rows, trailing median 4",
        ),
        check(
            "stock_out",
            "断货",
            Level::Fail,
            json!(1),
            "1 SKU(s) sold in the 7 days to 2026-11-22 and are out of stock",
        ),
        low,
        unpaid,
        check(
            "refund_rate",
            "退款率",
            Level::Pass,
            json!(0.0339),
            "refund rate 3.39%",
        ),
        check(
            "orders_down_sales_up",
            "单量降而销售升",
            Level::Pass,
            json!(null),
            "orders and sales moved together",
        ),
    ]
}

fn purchases_and_members() -> (Vec<Purchase>, Vec<MemberFact>) {
    let p = |m: &str, dd: &str, a: &str| Purchase {
        member_id: m.into(),
        day: day(dd),
        net_amount: d(a),
    };
    let mut v = vec![
        p("张三", "2026-11-22", "199"),
        p("张三", "2026-10-01", "2500"),
        p("张三", "2026-06-01", "300"),
        p("李四", "2026-11-22", "68.5"),
        p("王五", "2026-11-22", "300"),
        p("王五", "2026-09-10", "150"),
        p("钱七", "2025-12-20", "1200"),
        p("tb_8812", "2026-03-05", "5200"),
        p("tb_8812", "2026-02-01", "800"),
    ];
    sort_purchases(&mut v);
    let member = |id: &str, birthday: Option<&str>, phone: Option<&str>| MemberFact {
        member_id: id.into(),
        joined_at: None,
        level: None,
        phone: phone.map(String::from),
        birthday: birthday.map(day),
        gender: None,
        city: None,
        points: None,
        source: None,
    };
    let members = vec![
        member("赵六", Some("1992-11-25"), Some("13700002222")),
        member("张三", Some("1990-11-30"), Some("13812341234")),
        member("孙八", None, None),
    ];
    (v, members)
}

pub fn tiers() -> TierResult {
    let (purchases, members) = purchases_and_members();
    let previous: HashMap<String, String> =
        [("张三", "素人"), ("钱七", "达人"), ("tb_8812", "红人")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    compute_tiers(
        &TierSettings::default(),
        day("2026-11-22"),
        Period::month_of(day("2026-11-01")),
        purchases,
        members,
        previous,
    )
    .unwrap()
}

/// Everything a workbook borrows, owned.
pub struct Fixture {
    pub facts: PeriodFacts,
    pub previous_facts: PeriodFacts,
    pub kpis: KpiSet,
    pub previous: KpiSet,
    pub comparisons: Comparisons,
    pub decomposition: Option<Decomposition>,
    pub checks: Vec<CheckResult>,
    pub history: BTreeMap<NaiveDate, KpiSet>,
    pub recent_products: Vec<ProductFact>,
    pub stock: StockWindow,
    pub units_by_sku_7d: HashMap<String, i64>,
    pub zero_sellers: Vec<ProductFact>,
    pub tiers: TierResult,
}

pub const DAY: &str = "2026-11-22";

pub fn fixture() -> Fixture {
    let today = day(DAY);
    let facts = day_facts(today, 0);
    let previous_facts = day_facts(today - Days::new(1), -5);
    let mut history = BTreeMap::new();
    for i in 0..30u64 {
        let date = today - Days::new(29 - i);
        let k = (i as i64 % 7) * 20 - 60;
        history.insert(
            date,
            compute_kpis(&day_facts(date, if i == 29 { 0 } else { k })),
        );
    }
    history.insert(today - Days::new(1), compute_kpis(&previous_facts));
    let mut kpis = compute_kpis(&facts);
    kpis.extend(month_to_date_targets(&history, today, &facts.targets));
    let previous = compute_kpis(&previous_facts);
    let week_ago = history.get(&(today - Days::new(7))).cloned();
    let comparisons = compare(&kpis, Some(&previous), week_ago.as_ref(), None);
    let decomposition = decompose(&kpis, &previous);
    let recent_products: Vec<ProductFact> = (0..7u64)
        .flat_map(|i| products_of(today - Days::new(i)))
        .collect();
    let units_by_sku_7d: HashMap<String, i64> =
        [("SKU-A".to_string(), 14), ("SKU-B".to_string(), 7)]
            .into_iter()
            .collect();
    let sold: std::collections::HashSet<String> = units_by_sku_7d.keys().cloned().collect();
    let stock = StockWindow::from_rows(&recent_products, today);
    let zero_sellers = storepulse::compute::kpi::zero_sellers(&stock, &sold, 90, Shanghai)
        .into_iter()
        .cloned()
        .collect();
    Fixture {
        facts,
        previous_facts,
        kpis,
        previous,
        comparisons,
        decomposition,
        checks: checks(),
        history,
        recent_products,
        stock,
        units_by_sku_7d,
        zero_sellers,
        tiers: tiers(),
    }
}

pub fn team(id: &str, name: &str, pii: Pii, locale: Locale) -> Team {
    Team {
        id: id.into(),
        name: name.into(),
        recipients: vec![format!("{id}@example.com")],
        cc: Vec::new(),
        locale,
        pii,
        layout: id.into(),
    }
}

impl Fixture {
    pub fn data<'a>(&'a self, team: &'a Team, with_tiers: bool) -> ReportData<'a> {
        ReportData {
            shop: "拾光服饰旗舰店",
            job: "daily-ops",
            job_display: "日报",
            period: Period::day(day(DAY)),
            generated_at: "2026-11-23T00:30:00Z".parse().unwrap(),
            team,
            flagged: true,
            held: false,
            kpis: &self.kpis,
            comparisons: &self.comparisons,
            decomposition: self.decomposition.as_ref(),
            checks: &self.checks,
            facts: &self.facts,
            previous_facts: Some(&self.previous_facts),
            history: &self.history,
            stock: Some(&self.stock),
            units_by_sku_7d: &self.units_by_sku_7d,
            zero_sellers: &self.zero_sellers,
            tiers: with_tiers.then_some(&self.tiers),
            max_rows: EXCEL_MAX_ROWS,
        }
    }
}

pub fn templates() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

/// Every sheet as text: `== name` then one line per row, cells joined by
/// ` | `; numbers printed to 6 decimals at most, dates as dates.
pub fn dump(path: &std::path::Path) -> String {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let mut out = String::new();
    for name in wb.sheet_names() {
        out.push_str(&format!("== {name}\n"));
        let range = wb.worksheet_range(&name).unwrap();
        for row in range.rows() {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.replace('\n', "⏎"),
                    Data::Float(f) => {
                        let s = format!("{f:.6}");
                        s.trim_end_matches('0').trim_end_matches('.').to_string()
                    }
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(dt) => match dt.as_datetime() {
                        Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
                        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
                        None => dt.as_f64().to_string(),
                    },
                    other => format!("{other:?}"),
                })
                .collect();
            out.push_str(cells.join(" | ").trim_end_matches([' ', '|']));
            out.push('\n');
        }
    }
    out
}

/// Masks the generated-at line of the cover, the one value that changes
/// between runs, and keeps at most `rows_per_sheet` rows of each sheet.
pub fn mask(dump: &str, rows_per_sheet: usize) -> String {
    let mut in_sheet = 0;
    dump.lines()
        .filter(|l| {
            if l.starts_with("== ") {
                in_sheet = 0;
                return true;
            }
            in_sheet += 1;
            in_sheet <= rows_per_sheet
        })
        .map(|l| {
            if l.starts_with("生成时间 | ") || l.starts_with("Generated at | ") {
                let key = l.split(" | ").next().unwrap_or("");
                format!("{key} | <generated_at>")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Compares `actual` with `tests/golden/<rel>`; `UPDATE_GOLDEN=1` rewrites
/// the file instead.
pub fn check_golden(rel: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(rel);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  golden: {a}\n  actual: {b}", i + 1))
            .collect();
        panic!(
            "{rel}: workbook differs from {} ({} vs {} lines)\n{}",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}
