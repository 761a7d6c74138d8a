//! The rows of every sheet kind, built from the run's data. Each builder
//! returns `None` when the run has no data for the sheet at all (a daily
//! job has no tiers, a shop without ads exports has no campaigns), and the
//! sheet is then left out; an empty list the run does have (no unpaid
//! orders today) still gets its sheet, with only the header.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value as Json;

use super::ReportData;
use super::labels::Labels;
use super::layout::{SheetKind, SheetSpec};
use super::table::Cell;
use super::text::{mask_name, mask_phone};
use crate::check::{Family, Level, check_def};
use crate::compute::kpi::{KpiKind, KpiValue, kpi_catalog, kpi_kind, local_date};
use crate::config::Pii;
use crate::model::ProductStatus;
use crate::model::facts::{ProductFact, StockWindow};
use crate::period::PeriodKind;

/// A row source: materialised rows, or a stream (the member list).
pub enum Rows<'a> {
    List(Vec<Vec<Cell>>),
    Stream(Box<dyn Iterator<Item = Vec<Cell>> + 'a>),
}

/// What one sheet needs to be written.
pub struct SheetRows<'a> {
    pub columns: Vec<String>,
    pub rows: Rows<'a>,
}

pub struct Ctx<'a, 'd> {
    pub data: &'a ReportData<'d>,
    pub labels: &'a Labels,
    pub spec: &'a SheetSpec,
}

impl Ctx<'_, '_> {
    fn masked(&self) -> bool {
        self.data.team.pii != Pii::Full
    }

    fn member(&self, id: &str) -> Cell {
        if self.masked() {
            Cell::Text(mask_name(id))
        } else {
            Cell::text(id)
        }
    }

    fn phone(&self, p: Option<&str>) -> Cell {
        match p {
            Some(p) if self.masked() => Cell::Text(mask_phone(p)),
            Some(p) => Cell::text(p),
            None => Cell::Empty,
        }
    }
}

/// One row's cells keyed by column id.
///
/// A row has a dozen columns at most, so a short list searched in order
/// costs less than hashing every key, and member lists run to hundreds of
/// thousands of rows.
#[derive(Debug, Default)]
struct RowCells(Vec<(&'static str, Cell)>);

impl RowCells {
    fn new() -> RowCells {
        RowCells(Vec::with_capacity(16))
    }

    /// Sets the cell of `column`, replacing an earlier one.
    fn insert(&mut self, column: &'static str, cell: Cell) {
        match self.0.iter_mut().find(|(c, _)| *c == column) {
            Some(slot) => slot.1 = cell,
            None => self.0.push((column, cell)),
        }
    }

    fn remove(&mut self, column: &str) -> Option<Cell> {
        let i = self.0.iter().position(|(c, _)| *c == column)?;
        Some(self.0.swap_remove(i).1)
    }
}

/// Picks `cols` out of a row keyed by column id.
fn pick(cols: &[String], row: &mut RowCells) -> Vec<Cell> {
    cols.iter()
        .map(|c| row.remove(c.as_str()).unwrap_or(Cell::Empty))
        .collect()
}

fn limit<T>(mut v: Vec<T>, spec: &SheetSpec) -> Vec<T> {
    if let Some(n) = spec.limit {
        v.truncate(n);
    }
    v
}

fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
    (!b.is_zero()).then(|| a / b)
}

fn idiv(a: i64, b: i64) -> Option<Decimal> {
    div(Decimal::from(a), Decimal::from(b))
}

/// A KPI value as a cell of its kind.
pub fn kpi_cell(id: &str, v: Option<&KpiValue>) -> Cell {
    let Some(v) = v else { return Cell::Missing };
    match (v, kpi_kind(id)) {
        (KpiValue::Missing, _) => Cell::Missing,
        (KpiValue::Money(d), _) => Cell::Money(*d),
        (KpiValue::Count(c), _) => Cell::Count(*c),
        (KpiValue::Ratio(d), _) => Cell::Ratio(*d),
        (KpiValue::Number(d), Some(KpiKind::Seconds)) => Cell::Seconds(*d),
        (KpiValue::Number(d), Some(KpiKind::Money)) => Cell::Money(*d),
        (KpiValue::Number(d), _) => Cell::Number(*d),
    }
}

pub fn build<'a>(ctx: &Ctx<'a, '_>) -> Option<SheetRows<'a>> {
    let cols = ctx.spec.columns.clone();
    let list = |rows: Vec<RowCells>| {
        let rows = limit(rows, ctx.spec)
            .into_iter()
            .map(|mut r| pick(&cols, &mut r))
            .collect();
        Some(SheetRows {
            columns: cols.clone(),
            rows: Rows::List(rows),
        })
    };
    match ctx.spec.kind {
        SheetKind::Cover => cover(ctx),
        SheetKind::Checks => list(checks(ctx, false)),
        SheetKind::WeeklyQuestions => {
            let rows = checks(ctx, true);
            if rows.is_empty() { None } else { list(rows) }
        }
        SheetKind::TrafficSources => traffic_sources(ctx).and_then(list),
        SheetKind::TrafficTypes => traffic_types(ctx).and_then(list),
        SheetKind::AdsCampaigns => ads(ctx).and_then(list),
        SheetKind::Products => products(ctx).and_then(list),
        SheetKind::LowStock => stock(ctx, false).and_then(list),
        SheetKind::StockOuts => stock(ctx, true).and_then(list),
        SheetKind::ZeroSellers => zero_sellers(ctx).and_then(list),
        SheetKind::SellThrough => sell_through(ctx).and_then(list),
        SheetKind::UnpaidOrders => list(unpaid(ctx)),
        SheetKind::Refunds => list(refunds(ctx)),
        SheetKind::ServiceLeaderboard => leaderboard(ctx).and_then(list),
        SheetKind::Segments => segments(ctx).and_then(list),
        SheetKind::MemberLevels => member_levels(ctx).and_then(list),
        SheetKind::TierChanges => tier_changes(ctx).and_then(list),
        SheetKind::ActionLists => action_lists(ctx),
        SheetKind::Birthdays => birthdays(ctx).and_then(list),
        SheetKind::MemberList => member_list(ctx),
        SheetKind::Decomposition => decomposition(ctx).and_then(list),
        SheetKind::Trend => trend(ctx),
    }
}

fn cover<'a>(ctx: &Ctx<'a, '_>) -> Option<SheetRows<'a>> {
    let d = ctx.data;
    let mut cols = ctx.spec.columns.clone();
    // A week-ago figure exists only for daily reports.
    if d.period.kind() != PeriodKind::Day {
        cols.retain(|c| c != "week_ago");
    }
    let ids: Vec<String> = if ctx.spec.kpis.is_empty() {
        kpi_catalog()
            .iter()
            .map(|k| k.id.to_string())
            .filter(|id| {
                let has_value = d.kpis.get(id).is_some_and(|v| !v.is_missing());
                let has_previous = d
                    .comparisons
                    .get(id)
                    .and_then(|c| c.previous.as_ref())
                    .is_some_and(|v| !v.is_missing());
                has_value || has_previous
            })
            .collect()
    } else {
        ctx.spec.kpis.clone()
    };
    let rows = ids
        .iter()
        .map(|id| {
            let cmp = d.comparisons.get(id);
            let mut r = RowCells::new();
            r.insert("kpi", Cell::Text(ctx.labels.kpi(id)));
            r.insert("kpi_id", Cell::text(id));
            r.insert("value", kpi_cell(id, d.kpis.get(id)));
            r.insert(
                "previous",
                kpi_cell(id, cmp.and_then(|c| c.previous.as_ref())),
            );
            r.insert(
                "change",
                cmp.and_then(|c| c.change)
                    .map_or(Cell::Missing, Cell::Change),
            );
            r.insert(
                "week_ago",
                kpi_cell(id, cmp.and_then(|c| c.week_ago.as_ref())),
            );
            r.insert(
                "year_ago",
                kpi_cell(id, cmp.and_then(|c| c.year_ago.as_ref())),
            );
            let t = |p: &str| {
                let key = format!("{p}.{id}");
                match d.kpis.get(&key) {
                    Some(v) => kpi_cell(&key, Some(v)),
                    None => Cell::Empty,
                }
            };
            r.insert("target", t("target"));
            r.insert("target_completion", t("target_completion"));
            r.insert("target_pace", t("target_pace"));
            pick(&cols, &mut r)
        })
        .collect();
    Some(SheetRows {
        columns: cols,
        rows: Rows::List(rows),
    })
}

fn json_cell(v: &Json) -> Cell {
    match v {
        Json::Null => Cell::Empty,
        Json::Number(n) => n
            .to_string()
            .parse::<Decimal>()
            .ok()
            .or_else(|| n.as_f64().and_then(|f| Decimal::try_from(f).ok()))
            .map_or(Cell::Text(n.to_string()), Cell::Number),
        Json::String(s) => Cell::text(s),
        Json::Bool(b) => Cell::Text(b.to_string()),
        Json::Array(items) if items.is_empty() => Cell::Empty,
        Json::Array(items) => Cell::Text(
            items
                .iter()
                .map(|i| match i {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => Cell::Text(other.to_string()),
    }
}

/// The checks sheet (every result, worst first) or the review questions
/// (weekly and monthly business checks, in catalogue order).
fn checks(ctx: &Ctx<'_, '_>, questions: bool) -> Vec<RowCells> {
    let mut results: Vec<_> = ctx
        .data
        .checks
        .iter()
        .filter(|r| {
            let base = r.id.split_once('.').map_or(r.id.as_str(), |(b, _)| b);
            let family = check_def(base).map(|d| d.family);
            !questions || matches!(family, Some(Family::Weekly | Family::Monthly))
        })
        .collect();
    if !questions {
        results.sort_by_key(|r| std::cmp::Reverse(r.level));
    }
    results
        .into_iter()
        .map(|r| {
            let mut row = RowCells::new();
            let title = ctx.labels.check(&r.id, &r.title);
            row.insert("result", Cell::Level(r.level, ctx.labels.level(r.level)));
            row.insert("check", Cell::Text(title.clone()));
            row.insert("question", Cell::Text(title));
            row.insert("check_id", Cell::text(&r.id));
            row.insert("observed", json_cell(&r.observed));
            row.insert("threshold", json_cell(&r.threshold));
            row.insert("baseline", json_cell(&r.baseline));
            row.insert("message", Cell::Wrap(r.message.clone()));
            row.insert("answer", Cell::Wrap(r.message.clone()));
            let samples: Vec<String> = r
                .samples
                .iter()
                .map(|s| {
                    if s.file.is_empty() {
                        s.detail.clone()
                    } else {
                        format!("{}:{} {}", s.file, s.row, s.detail)
                    }
                })
                .collect();
            row.insert(
                "samples",
                if samples.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Wrap(samples.join("\n"))
                },
            );
            row
        })
        .collect()
}

#[derive(Default)]
struct TrafficAgg {
    visitors: i64,
    page_views: Option<i64>,
    bounce_num: Decimal,
    bounce_den: i64,
    stay_num: Decimal,
    stay_den: i64,
    cart_users: Option<i64>,
    order_buyers: Option<i64>,
    paying_buyers: Option<i64>,
    paid_amount: Option<Decimal>,
    new_followers: Option<i64>,
}

fn add_opt<T: std::ops::Add<Output = T> + Copy>(acc: &mut Option<T>, v: Option<T>) {
    if let Some(v) = v {
        *acc = Some(match *acc {
            Some(a) => a + v,
            None => v,
        });
    }
}

impl TrafficAgg {
    fn add(&mut self, t: &crate::model::facts::TrafficFact) {
        self.visitors += t.visitors;
        add_opt(&mut self.page_views, t.page_views);
        if let Some(b) = t.bounce_rate {
            self.bounce_num += b * Decimal::from(t.visitors);
            self.bounce_den += t.visitors;
        }
        if let Some(s) = t.avg_stay_seconds {
            self.stay_num += s * Decimal::from(t.visitors);
            self.stay_den += t.visitors;
        }
        add_opt(&mut self.cart_users, t.cart_users);
        add_opt(&mut self.order_buyers, t.order_buyers);
        add_opt(&mut self.paying_buyers, t.paying_buyers);
        add_opt(&mut self.paid_amount, t.paid_amount);
        add_opt(&mut self.new_followers, t.new_followers);
    }

    fn row(&self, shop_visitors: Option<i64>) -> RowCells {
        let mut r = RowCells::new();
        r.insert("visitors", Cell::Count(self.visitors));
        r.insert(
            "visitor_share",
            Cell::opt_ratio(shop_visitors.and_then(|s| idiv(self.visitors, s))),
        );
        r.insert("page_views", Cell::opt_count(self.page_views));
        r.insert(
            "bounce_rate",
            Cell::opt_ratio(div(self.bounce_num, Decimal::from(self.bounce_den))),
        );
        r.insert(
            "avg_stay_seconds",
            div(self.stay_num, Decimal::from(self.stay_den)).map_or(Cell::Missing, Cell::Seconds),
        );
        r.insert("cart_users", Cell::opt_count(self.cart_users));
        r.insert("order_buyers", Cell::opt_count(self.order_buyers));
        r.insert("paying_buyers", Cell::opt_count(self.paying_buyers));
        r.insert(
            "conversion_rate",
            Cell::opt_ratio(self.paying_buyers.and_then(|p| idiv(p, self.visitors))),
        );
        r.insert("paid_amount", Cell::opt_money(self.paid_amount));
        r.insert(
            "uv_value",
            Cell::opt_money(
                self.paid_amount
                    .and_then(|a| div(a, Decimal::from(self.visitors))),
            ),
        );
        r.insert("new_followers", Cell::opt_count(self.new_followers));
        r
    }
}

fn shop_visitors(ctx: &Ctx<'_, '_>) -> Option<i64> {
    match ctx.data.kpis.get("visitors") {
        Some(KpiValue::Count(c)) => Some(*c),
        _ => None,
    }
}

fn source_aggs(ctx: &Ctx<'_, '_>) -> Option<BTreeMap<String, TrafficAgg>> {
    let f = ctx.data.facts;
    let mut by: BTreeMap<String, TrafficAgg> = BTreeMap::new();
    for t in f.traffic.iter().filter(|t| f.period.contains(t.date)) {
        if let Some(s) = &t.source {
            by.entry(s.clone()).or_default().add(t);
        }
    }
    (!by.is_empty()).then_some(by)
}

fn traffic_sources(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let by = source_aggs(ctx)?;
    let shop = shop_visitors(ctx);
    let mut rows: Vec<(i64, String, RowCells)> = by
        .into_iter()
        .map(|(source, a)| {
            let mut r = a.row(shop);
            let ty = ctx.data.facts.traffic_type(&source);
            r.insert(
                "traffic_type",
                Cell::Text(ctx.labels.traffic_type(ty.as_str())),
            );
            r.insert("source", Cell::text(&source));
            (a.visitors, source, r)
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    Some(rows.into_iter().map(|r| r.2).collect())
}

fn traffic_types(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let f = ctx.data.facts;
    let mut by: BTreeMap<crate::model::TrafficType, TrafficAgg> = BTreeMap::new();
    for t in f.traffic.iter().filter(|t| f.period.contains(t.date)) {
        if let Some(s) = &t.source {
            by.entry(f.traffic_type(s)).or_default().add(t);
        }
    }
    if by.is_empty() {
        return None;
    }
    let shop = shop_visitors(ctx);
    Some(
        by.into_iter()
            .map(|(ty, a)| {
                let mut r = a.row(shop);
                r.insert(
                    "traffic_type",
                    Cell::Text(ctx.labels.traffic_type(ty.as_str())),
                );
                r
            })
            .collect(),
    )
}

fn ads(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let f = ctx.data.facts;
    type Key = (Option<String>, String);
    #[derive(Default)]
    struct A {
        spend: Decimal,
        impressions: Option<i64>,
        clicks: Option<i64>,
        cart_adds: Option<i64>,
        orders: Option<i64>,
        revenue: Option<Decimal>,
    }
    let mut by: BTreeMap<Key, A> = BTreeMap::new();
    for a in f.ads.iter().filter(|a| f.period.contains(a.date)) {
        let e = by
            .entry((a.channel.clone(), a.campaign.clone()))
            .or_default();
        e.spend += a.spend;
        add_opt(&mut e.impressions, a.impressions);
        add_opt(&mut e.clicks, a.clicks);
        add_opt(&mut e.cart_adds, a.cart_adds);
        add_opt(&mut e.orders, a.orders);
        add_opt(&mut e.revenue, a.revenue);
    }
    if by.is_empty() {
        return None;
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by(|a, b| b.1.spend.cmp(&a.1.spend).then(a.0.cmp(&b.0)));
    Some(
        rows.into_iter()
            .map(|((channel, campaign), a)| {
                let mut r = RowCells::new();
                r.insert("channel", Cell::opt_text(channel.as_deref()));
                r.insert("campaign", Cell::Text(campaign));
                r.insert("spend", Cell::Money(a.spend));
                r.insert("impressions", Cell::opt_count(a.impressions));
                r.insert("clicks", Cell::opt_count(a.clicks));
                r.insert(
                    "ctr",
                    Cell::opt_ratio(a.clicks.zip(a.impressions).and_then(|(c, i)| idiv(c, i))),
                );
                r.insert(
                    "cpc",
                    Cell::opt_money(a.clicks.and_then(|c| div(a.spend, Decimal::from(c)))),
                );
                r.insert("cart_adds", Cell::opt_count(a.cart_adds));
                r.insert("ad_orders", Cell::opt_count(a.orders));
                r.insert("revenue", Cell::opt_money(a.revenue));
                r.insert(
                    "roi",
                    Cell::opt_number(a.revenue.and_then(|v| div(v, a.spend))),
                );
                r
            })
            .collect(),
    )
}

#[derive(Default)]
struct ProductAgg<'a> {
    last: Option<&'a ProductFact>,
    visitors: Option<i64>,
    page_views: Option<i64>,
    bounce_num: Decimal,
    bounce_den: i64,
    cart_users: Option<i64>,
    fav_users: Option<i64>,
    paid_buyers: Option<i64>,
    paid_units: Option<i64>,
    paid_amount: Option<Decimal>,
    refund_amount: Option<Decimal>,
}

fn product_aggs<'a>(
    rows: impl Iterator<Item = &'a ProductFact>,
) -> BTreeMap<&'a str, ProductAgg<'a>> {
    let mut by: BTreeMap<&str, ProductAgg> = BTreeMap::new();
    for p in rows {
        let e = by.entry(p.sku_id.as_str()).or_default();
        if e.last.is_none_or(|l| l.date <= p.date) {
            e.last = Some(p);
        }
        add_opt(&mut e.visitors, p.visitors);
        add_opt(&mut e.page_views, p.page_views);
        if let (Some(b), Some(v)) = (p.bounce_rate, p.visitors) {
            e.bounce_num += b * Decimal::from(v);
            e.bounce_den += v;
        }
        add_opt(&mut e.cart_users, p.cart_users);
        add_opt(&mut e.fav_users, p.fav_users);
        add_opt(&mut e.paid_buyers, p.paid_buyers);
        add_opt(&mut e.paid_units, p.paid_units);
        add_opt(&mut e.paid_amount, p.paid_amount);
        add_opt(&mut e.refund_amount, p.refund_amount);
    }
    by
}

fn product_base(ctx: &Ctx<'_, '_>, p: &ProductFact) -> RowCells {
    let mut r = RowCells::new();
    r.insert("sku_id", Cell::text(&p.sku_id));
    r.insert("title", Cell::opt_text(p.title.as_deref()));
    r.insert("category", Cell::opt_text(p.category.as_deref()));
    r.insert(
        "status",
        match p.status {
            Some(ProductStatus::Online) => Cell::Text(ctx.labels.product_status("online")),
            Some(ProductStatus::Delisted) => Cell::Text(ctx.labels.product_status("delisted")),
            None => Cell::Empty,
        },
    );
    r.insert("price", Cell::opt_money(p.price));
    r.insert("unit_cost", Cell::opt_money(p.unit_cost));
    r.insert("stock", Cell::opt_count(p.stock));
    r
}

fn products(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let f = ctx.data.facts;
    let by = product_aggs(f.products.iter().filter(|p| f.period.contains(p.date)));
    if by.is_empty() {
        return None;
    }
    let prev: Option<HashMap<&str, Decimal>> = ctx.data.previous_facts.map(|pf| {
        product_aggs(pf.products.iter().filter(|p| pf.period.contains(p.date)))
            .into_iter()
            .map(|(k, a)| (k, a.paid_amount.unwrap_or_default()))
            .collect()
    });
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by(|a, b| {
        b.1.paid_amount
            .cmp(&a.1.paid_amount)
            .then(b.1.visitors.cmp(&a.1.visitors))
            .then(a.0.cmp(b.0))
    });
    Some(
        rows.into_iter()
            .filter_map(|(sku, a)| {
                let p = a.last?;
                let mut r = product_base(ctx, p);
                r.insert("visitors", Cell::opt_count(a.visitors));
                r.insert("page_views", Cell::opt_count(a.page_views));
                r.insert(
                    "bounce_rate",
                    Cell::opt_ratio(div(a.bounce_num, Decimal::from(a.bounce_den))),
                );
                r.insert("cart_users", Cell::opt_count(a.cart_users));
                let per_visitor = |n: Option<i64>| n.zip(a.visitors).and_then(|(n, v)| idiv(n, v));
                r.insert("cart_rate", Cell::opt_ratio(per_visitor(a.cart_users)));
                r.insert("fav_users", Cell::opt_count(a.fav_users));
                r.insert("paid_buyers", Cell::opt_count(a.paid_buyers));
                r.insert(
                    "conversion_rate",
                    Cell::opt_ratio(per_visitor(a.paid_buyers)),
                );
                r.insert("paid_units", Cell::opt_count(a.paid_units));
                r.insert("paid_amount", Cell::opt_money(a.paid_amount));
                r.insert(
                    "uv_value",
                    Cell::opt_money(
                        a.paid_amount
                            .zip(a.visitors)
                            .and_then(|(m, v)| div(m, Decimal::from(v))),
                    ),
                );
                r.insert("refund_amount", Cell::opt_money(a.refund_amount));
                r.insert("stock", Cell::opt_count(p.stock));
                if let Some(prev) = &prev {
                    let before = prev.get(sku).copied().unwrap_or_default();
                    r.insert("paid_amount_prev", Cell::Money(before));
                    let now = a.paid_amount.unwrap_or_default();
                    r.insert(
                        "paid_amount_change",
                        div(now - before, before.abs()).map_or(Cell::Missing, Cell::Change),
                    );
                } else {
                    r.insert("paid_amount_prev", Cell::Missing);
                    r.insert("paid_amount_change", Cell::Missing);
                }
                Some(r)
            })
            // Only the rows the sheet shows are built: a large catalogue
            // is tens of thousands of SKUs for a top-1,000 list.
            .take(ctx.spec.limit.unwrap_or(usize::MAX))
            .collect(),
    )
}

/// The safety days the low-stock check used (its baseline), else 7.
fn safety_days(ctx: &Ctx<'_, '_>) -> Decimal {
    ctx.data
        .checks
        .iter()
        .find(|c| c.id == "low_stock")
        .and_then(|c| match &c.baseline {
            Json::Number(n) => n.to_string().parse().ok(),
            _ => None,
        })
        .unwrap_or(Decimal::from(7))
}

/// Low stock (cover below the safety days) or stock-outs of SKUs that sold
/// in the 7 days ending with the last product day, as the daily checks
/// count them.
fn stock(ctx: &Ctx<'_, '_>, outs: bool) -> Option<Vec<RowCells>> {
    let d = ctx.data;
    let view = match d.stock {
        Some(w) => std::borrow::Cow::Borrowed(w),
        None => std::borrow::Cow::Owned(StockWindow::from_rows(
            &d.facts.products,
            d.period.last_day(),
        )),
    };
    view.last?;
    let seven = Decimal::from(7);
    let safety = safety_days(ctx);
    let mut hits: Vec<(Decimal, &str, RowCells)> = Vec::new();
    for p in &view.at_end {
        let sku = p.sku_id.as_str();
        if p.status == Some(ProductStatus::Delisted) {
            continue;
        }
        let Some(stock) = p.stock else { continue };
        // Product rows without unit counts fall back to the order lines.
        let sold = view
            .units_7d
            .get(sku)
            .copied()
            .flatten()
            .or_else(|| d.units_by_sku_7d.get(sku).copied())
            .unwrap_or(0);
        if sold <= 0 {
            continue;
        }
        let daily = Decimal::from(sold) / seven;
        // Cells only for the few SKUs listed, not for every one that sold.
        let row = |extra: Option<Decimal>| {
            let mut r = product_base(ctx, p);
            r.insert("units_7d", Cell::Count(sold));
            r.insert("daily_units", Cell::Number(daily.round_dp(2)));
            if let Some(cover) = extra {
                r.insert("cover_days", Cell::Number(cover.round_dp(2)));
            }
            r
        };
        if outs && stock <= 0 {
            hits.push((Decimal::from(-sold), sku, row(None)));
        } else if !outs && stock > 0 {
            let cover = Decimal::from(stock) / daily;
            if cover < safety {
                hits.push((cover, sku, row(Some(cover))));
            }
        }
    }
    hits.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    Some(hits.into_iter().map(|h| h.2).collect())
}

fn zero_sellers(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    if ctx.data.facts.products.is_empty() && ctx.data.zero_sellers.is_empty() {
        return None;
    }
    let tz = ctx.data.facts.tz;
    Some(
        ctx.data
            .zero_sellers
            .iter()
            .map(|p| {
                let mut r = product_base(ctx, p);
                r.insert(
                    "stock_cost",
                    Cell::opt_money(p.unit_cost.zip(p.stock).map(|(c, s)| c * Decimal::from(s))),
                );
                r.insert(
                    "listed_at",
                    Cell::opt_date(p.listed_at.map(|t| local_date(t, tz))),
                );
                r
            })
            .collect(),
    )
}

fn sell_through(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let f = ctx.data.facts;
    let in_period: Vec<&ProductFact> = f
        .products
        .iter()
        .filter(|p| f.period.contains(p.date))
        .collect();
    let last = in_period.iter().map(|p| p.date).max()?;
    let mut per: BTreeMap<&str, (i64, i64, Option<&ProductFact>)> = BTreeMap::new();
    for p in &in_period {
        let e = per.entry(p.sku_id.as_str()).or_default();
        e.0 += p.paid_units.unwrap_or(0);
        if p.date == last {
            e.1 += p.stock.unwrap_or(0);
            e.2 = Some(p);
        }
    }
    type Ranked<'s> = (Option<Decimal>, i64, &'s str, i64, &'s ProductFact);
    let mut rows: Vec<Ranked> = per
        .into_iter()
        .filter_map(|(sku, (u, s, p))| Some((idiv(u, u + s), s, sku, u, p?)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    // Cells only for the rows the sheet shows.
    rows.truncate(ctx.spec.limit.unwrap_or(usize::MAX));
    Some(
        rows.into_iter()
            .map(|(rate, s, _, u, p)| {
                let mut r = product_base(ctx, p);
                r.insert("paid_units", Cell::Count(u));
                r.insert("stock", Cell::Count(s));
                r.insert("sell_through_rate", Cell::opt_ratio(rate));
                r
            })
            .collect(),
    )
}

fn order_row(ctx: &Ctx<'_, '_>, o: &crate::model::facts::OrderFact) -> RowCells {
    let tz = ctx.data.facts.tz;
    let mut r = RowCells::new();
    r.insert("order_id", Cell::text(&o.order_id));
    r.insert("member", ctx.member(&o.member_id));
    r.insert("phone", ctx.phone(o.phone.as_deref()));
    r.insert(
        "created_at",
        Cell::DateTime(o.created_at.with_timezone(&tz).naive_local()),
    );
    r.insert(
        "paid_at",
        o.paid_at.map_or(Cell::Empty, |t| {
            Cell::DateTime(t.with_timezone(&tz).naive_local())
        }),
    );
    r.insert("amount", Cell::Money(o.paid_amount));
    r.insert("paid_amount", Cell::Money(o.paid_amount));
    r.insert("refund_amount", Cell::Money(o.refund_amount));
    r.insert(
        "refund_share",
        Cell::opt_ratio(div(o.refund_amount, o.paid_amount)),
    );
    r.insert(
        "status",
        Cell::Text(ctx.labels.order_status(o.status.as_str())),
    );
    r
}

fn unpaid(ctx: &Ctx<'_, '_>) -> Vec<RowCells> {
    let mut v: Vec<_> = ctx.data.facts.unpaid_created.iter().collect();
    v.sort_by(|a, b| {
        b.paid_amount
            .cmp(&a.paid_amount)
            .then(a.order_id.cmp(&b.order_id))
    });
    v.into_iter().map(|o| order_row(ctx, o)).collect()
}

fn refunds(ctx: &Ctx<'_, '_>) -> Vec<RowCells> {
    let mut v: Vec<_> = ctx
        .data
        .facts
        .paid_in_period()
        .filter(|o| o.refund_amount > Decimal::ZERO)
        .collect();
    v.sort_by(|a, b| {
        b.refund_amount
            .cmp(&a.refund_amount)
            .then(a.order_id.cmp(&b.order_id))
    });
    v.into_iter().map(|o| order_row(ctx, o)).collect()
}

fn leaderboard(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let f = ctx.data.facts;
    #[derive(Default)]
    struct A {
        consultations: i64,
        converted: i64,
        sales: Decimal,
        resp_num: Decimal,
        resp_den: Decimal,
        sat_num: Decimal,
        sat_den: Decimal,
    }
    let mut by: BTreeMap<&str, A> = BTreeMap::new();
    for s in f.service.iter().filter(|s| f.period.contains(s.date)) {
        let e = by.entry(s.agent.as_str()).or_default();
        e.consultations += s.consultations.unwrap_or(0);
        e.converted += s.converted_buyers.unwrap_or(0);
        e.sales += s.sales.unwrap_or_default();
        let weight = Decimal::from(s.consultations.unwrap_or(0));
        if let Some(r) = s.avg_response_seconds {
            e.resp_num += weight * r;
            e.resp_den += weight;
        }
        if let Some(x) = s.satisfaction {
            e.sat_num += weight * x;
            e.sat_den += weight;
        }
    }
    if by.is_empty() {
        return None;
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    let conv = |a: &A| idiv(a.converted, a.consultations);
    rows.sort_by(|a, b| {
        b.1.sales
            .cmp(&a.1.sales)
            .then(conv(&b.1).cmp(&conv(&a.1)))
            .then(a.0.cmp(b.0))
    });
    Some(
        rows.into_iter()
            .enumerate()
            .map(|(i, (agent, a))| {
                let mut r = RowCells::new();
                r.insert("rank", Cell::Count(i as i64 + 1));
                r.insert("agent", Cell::text(agent));
                r.insert("consultations", Cell::Count(a.consultations));
                r.insert("converted_buyers", Cell::Count(a.converted));
                r.insert("consult_conversion_rate", Cell::opt_ratio(conv(&a)));
                r.insert("sales", Cell::Money(a.sales));
                r.insert(
                    "avg_response_seconds",
                    div(a.resp_num, a.resp_den).map_or(Cell::Missing, Cell::Seconds),
                );
                r.insert("satisfaction", Cell::opt_ratio(div(a.sat_num, a.sat_den)));
                r
            })
            .collect(),
    )
}

fn segment_label(ctx: &Ctx<'_, '_>, id: &str) -> String {
    let rule_label = ctx.data.tiers.and_then(|t| {
        t.settings()
            .rules
            .iter()
            .find(|r| &*r.id == id)
            .and_then(|r| r.label.as_deref())
    });
    ctx.labels.segment(id, rule_label)
}

fn segments(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let t = ctx.data.tiers?;
    let total: usize = t.summary.segments.iter().map(|(_, n)| n).sum();
    Some(
        t.summary
            .segments
            .iter()
            .map(|(id, n)| {
                let mut r = RowCells::new();
                r.insert("segment", Cell::Text(segment_label(ctx, id)));
                r.insert("segment_id", Cell::text(id));
                r.insert("members", Cell::Count(*n as i64));
                r.insert(
                    "member_share",
                    Cell::opt_ratio(idiv(*n as i64, total as i64)),
                );
                r
            })
            .collect(),
    )
}

fn member_levels(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let t = ctx.data.tiers?;
    let s = &t.summary;
    let total = s.members as i64;
    let l = ctx.labels;
    let mut out = Vec::new();
    type Group<'g> = (
        &'g str,
        &'g Vec<(String, usize)>,
        &'g dyn Fn(&str) -> String,
    );
    let groups: [Group; 3] = [
        ("level", &s.levels, &|n| l.member_level(n)),
        ("class", &s.classes, &|n| l.class(n)),
        ("lifecycle", &s.lifecycle, &|n| l.lifecycle(n)),
    ];
    for (group, counts, label) in groups {
        for (name, n) in counts {
            let mut r = RowCells::new();
            r.insert("group", Cell::Text(l.group(group)));
            r.insert("name", Cell::Text(label(name)));
            r.insert("members", Cell::Count(*n as i64));
            r.insert("member_share", Cell::opt_ratio(idiv(*n as i64, total)));
            out.push(r);
        }
    }
    Some(out)
}

fn tier_changes(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let t = ctx.data.tiers?;
    let order: HashMap<&str, usize> = t
        .settings()
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| (&*l.name, i))
        .collect();
    let mut by: HashMap<(Option<&str>, &str, &'static str), i64> = HashMap::new();
    for m in t.rows() {
        *by.entry((m.level_prev, m.level, m.level_change.as_str()))
            .or_default() += 1;
    }
    let change_rank = |c: &str| ["up", "down", "new", "same"].iter().position(|x| *x == c);
    let lvl = |n: Option<&str>| n.map(|n| order.get(n).copied().unwrap_or(usize::MAX));
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by(|a, b| {
        change_rank(a.0.2)
            .cmp(&change_rank(b.0.2))
            .then(lvl(a.0.0).cmp(&lvl(b.0.0)))
            .then(lvl(Some(a.0.1)).cmp(&lvl(Some(b.0.1))))
            .then(a.0.cmp(&b.0))
    });
    let l = ctx.labels;
    Some(
        rows.into_iter()
            .map(|((prev, level, change), n)| {
                let mut r = RowCells::new();
                r.insert(
                    "level_prev",
                    prev.map_or(Cell::Empty, |p| Cell::Text(l.member_level(p))),
                );
                r.insert("level", Cell::Text(l.member_level(level)));
                r.insert("level_change", Cell::Text(l.change(change)));
                r.insert("members", Cell::Count(n));
                r
            })
            .collect(),
    )
}

fn member_cells(ctx: &Ctx<'_, '_>, m: &crate::compute::tiers::MemberTier<'_>) -> RowCells {
    let l = ctx.labels;
    let score = |s: Option<u8>| s.map_or(Cell::Empty, |s| Cell::Count(i64::from(s)));
    let mut r = RowCells::new();
    r.insert("member", ctx.member(m.member_id));
    r.insert("first_purchase", Cell::opt_date(m.first_purchase));
    r.insert("last_purchase", Cell::opt_date(m.last_purchase));
    r.insert(
        "recency_days",
        m.recency_days
            .map_or(Cell::Empty, |d| Cell::Count(i64::from(d))),
    );
    r.insert("frequency", Cell::Count(i64::from(m.frequency)));
    r.insert("monetary", Cell::Money(m.monetary));
    r.insert("r_score", score(m.r_score));
    r.insert("f_score", score(m.f_score));
    r.insert("m_score", score(m.m_score));
    r.insert(
        "segment",
        m.segment
            .map_or(Cell::Empty, |s| Cell::Text(segment_label(ctx, s))),
    );
    r.insert("level", Cell::Text(l.member_level(m.level)));
    r.insert(
        "level_prev",
        m.level_prev
            .map_or(Cell::Empty, |p| Cell::Text(l.member_level(p))),
    );
    r.insert(
        "level_change",
        Cell::Text(l.change(m.level_change.as_str())),
    );
    r.insert("class", Cell::Text(l.class(m.class.as_str())));
    r.insert("lifecycle", Cell::Text(l.lifecycle(m.lifecycle.as_str())));
    r.insert("cycle_days", Cell::opt_number(m.cycle_days));
    r
}

fn action_lists<'a>(ctx: &Ctx<'a, '_>) -> Option<SheetRows<'a>> {
    let t = ctx.data.tiers?;
    let a = &t.actions;
    let lists: [(&str, &Vec<usize>); 3] = [
        ("at_risk_high_value", &a.at_risk_high_value),
        ("silent_to_reactivate", &a.silent_to_reactivate),
        ("b_class_to_nudge", &a.b_class_to_nudge),
    ];
    let cols = ctx.spec.columns.clone();
    let mut rows = Vec::new();
    for (list, members) in lists {
        let label = ctx.labels.action(list);
        let members = match ctx.spec.limit {
            Some(n) => &members[..members.len().min(n)],
            None => &members[..],
        };
        for i in members {
            let mut r = member_cells(ctx, &t.row(*i));
            r.insert("list", Cell::Text(label.clone()));
            rows.push(pick(&cols, &mut r));
        }
    }
    Some(SheetRows {
        columns: cols,
        rows: Rows::List(rows),
    })
}

fn birthdays(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let t = ctx.data.tiers?;
    Some(
        t.actions
            .birthdays
            .iter()
            .map(|b| {
                let m = t.row(b.member);
                let mut r = member_cells(ctx, &m);
                r.insert("birthday", Cell::Date(b.birthday));
                r.insert("on", Cell::Date(b.on));
                r
            })
            .collect(),
    )
}

fn member_list<'a>(ctx: &Ctx<'a, '_>) -> Option<SheetRows<'a>> {
    use std::sync::Arc;
    let t = ctx.data.tiers?;
    let cols = ctx.spec.columns.clone();
    let pick_cols = cols.clone();
    let masked = ctx.masked();
    let l = ctx.labels;
    // Labels are looked up once: the list can run to millions of rows.
    let shared = |s: String| -> Arc<str> { Arc::from(s) };
    let segments: HashMap<String, Arc<str>> = t
        .settings()
        .rules
        .iter()
        .map(|r| (r.id.to_string(), shared(segment_label(ctx, &r.id))))
        .collect();
    let levels: HashMap<String, Arc<str>> = t
        .settings()
        .levels
        .iter()
        .map(|v| (v.name.to_string(), shared(l.member_level(&v.name))))
        .collect();
    let changes: HashMap<&'static str, Arc<str>> = crate::compute::tiers::LevelChange::ALL
        .iter()
        .map(|c| (c.as_str(), shared(l.change(c.as_str()))))
        .collect();
    let classes: HashMap<&'static str, Arc<str>> = crate::compute::tiers::PurchaseClass::ALL
        .iter()
        .map(|c| (c.as_str(), shared(l.class(c.as_str()))))
        .collect();
    let stages: HashMap<&'static str, Arc<str>> = crate::compute::tiers::Lifecycle::ALL
        .iter()
        .map(|c| (c.as_str(), shared(l.lifecycle(c.as_str()))))
        .collect();
    let label = |map: &HashMap<String, Arc<str>>, key: &str| {
        map.get(key)
            .map_or_else(|| Cell::Text(key.to_string()), |v| Cell::Shared(v.clone()))
    };
    let fixed = |map: &HashMap<&'static str, Arc<str>>, key: &str| {
        map.get(key)
            .map_or_else(|| Cell::Text(key.to_string()), |v| Cell::Shared(v.clone()))
    };
    let n = ctx.spec.limit.unwrap_or(usize::MAX);
    let iter = t.rows().take(n).map(move |m| {
        let score = |s: Option<u8>| s.map_or(Cell::Empty, |s| Cell::Count(i64::from(s)));
        pick_cols
            .iter()
            .map(|c| match c.as_str() {
                "member" => Cell::Text(if masked {
                    mask_name(m.member_id)
                } else {
                    m.member_id.to_string()
                }),
                "first_purchase" => Cell::opt_date(m.first_purchase),
                "last_purchase" => Cell::opt_date(m.last_purchase),
                "recency_days" => m
                    .recency_days
                    .map_or(Cell::Empty, |d| Cell::Count(i64::from(d))),
                "frequency" => Cell::Count(i64::from(m.frequency)),
                "monetary" => Cell::Money(m.monetary),
                "r_score" => score(m.r_score),
                "f_score" => score(m.f_score),
                "m_score" => score(m.m_score),
                "segment" => m.segment.map_or(Cell::Empty, |s| label(&segments, s)),
                "level" => label(&levels, m.level),
                "level_prev" => m.level_prev.map_or(Cell::Empty, |p| label(&levels, p)),
                "level_change" => fixed(&changes, m.level_change.as_str()),
                "class" => fixed(&classes, m.class.as_str()),
                "lifecycle" => fixed(&stages, m.lifecycle.as_str()),
                "cycle_days" => Cell::opt_number(m.cycle_days),
                _ => Cell::Empty,
            })
            .collect()
    });
    Some(SheetRows {
        columns: cols,
        rows: Rows::Stream(Box::new(iter)),
    })
}

fn decomposition(ctx: &Ctx<'_, '_>) -> Option<Vec<RowCells>> {
    let d = ctx.data.decomposition?;
    let mut out = Vec::new();
    let mut total = RowCells::new();
    total.insert("factor", Cell::Text(ctx.labels.factor("gross_sales")));
    total.insert("previous", Cell::Money(d.previous_gross_sales));
    total.insert("current", Cell::Money(d.current_gross_sales));
    total.insert(
        "change",
        div(d.change, d.previous_gross_sales.abs()).map_or(Cell::Missing, Cell::Change),
    );
    total.insert("contribution", Cell::Money(d.change));
    total.insert(
        "share",
        if d.change.is_zero() {
            Cell::Missing
        } else {
            Cell::Ratio(Decimal::ONE)
        },
    );
    out.push(total);
    for f in &d.factors {
        let cell = |v: Decimal| match kpi_kind(f.factor) {
            Some(KpiKind::Count) => Cell::Count(v.trunc().try_into().unwrap_or(0)),
            Some(KpiKind::Ratio) => Cell::Ratio(v),
            Some(KpiKind::Money) => Cell::Money(v),
            _ => Cell::Number(v),
        };
        let mut r = RowCells::new();
        r.insert("factor", Cell::Text(ctx.labels.factor(f.factor)));
        r.insert("previous", cell(f.previous));
        r.insert("current", cell(f.current));
        r.insert(
            "change",
            div(f.current - f.previous, f.previous.abs()).map_or(Cell::Missing, Cell::Change),
        );
        r.insert("contribution", Cell::Money(f.contribution));
        r.insert("share", Cell::opt_ratio(f.share));
        out.push(r);
    }
    Some(out)
}

fn trend<'a>(ctx: &Ctx<'a, '_>) -> Option<SheetRows<'a>> {
    let d = ctx.data;
    let end = d.period.last_day();
    let start = end - Days::new(29);
    let days: Vec<(&NaiveDate, _)> = d.history.range(start..=end).collect();
    if days.is_empty() {
        return None;
    }
    let cols = ctx.spec.columns.clone();
    let rows = days
        .into_iter()
        .map(|(day, set)| {
            cols.iter()
                .map(|c| {
                    if c == "date" {
                        Cell::Date(*day)
                    } else {
                        kpi_cell(c, set.get(c))
                    }
                })
                .collect()
        })
        .collect();
    Some(SheetRows {
        columns: cols,
        rows: Rows::List(rows),
    })
}

/// The level labels of a locale, for colouring check rows.
pub fn level_labels(labels: &Labels) -> Vec<(Level, String)> {
    [Level::Pass, Level::Warn, Level::Fail, Level::Error]
        .into_iter()
        .map(|l| (l, labels.level(l)))
        .collect()
}
