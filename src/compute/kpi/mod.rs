//! The KPIs of SPEC §7 over one period, computed from in-memory facts.
//!
//! Orders count for the day of `paid_at` in the shop's time zone (sales
//! figures) or of `created_at` (`orders_created`, supplied as a count). For
//! a multi-day period every figure is taken over the whole period: distinct
//! buyers over the period, sums over its days. A ratio whose denominator is
//! zero is [`KpiValue::Missing`], never zero or infinity, and so is a figure
//! whose optional dataset supplied no rows for the period (no traffic rows
//! means visitors are unknown, not zero). Money stays an exact `Decimal`
//! throughout; rounding is for display only.

mod catalog;
mod compare;
mod targets;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::Value as Json;

use crate::model::facts::{
    AdFact, ItemFact, OrderFact, ProductFact, ServiceFact, StockWindow, TargetFact, TrafficFact,
};
use crate::model::{ProductStatus, TrafficType};
use crate::period::{Period, PeriodKind};

pub use catalog::{
    KpiDef, KpiKind, is_target_kpi, kpi_catalog, kpi_def, kpi_kind, kpi_label, target_defs,
};
pub use compare::{
    Comparison, Comparisons, Decomposition, FactorContribution, compare, comparisons_to_json,
    decompose, relative_change,
};
pub use targets::{month_to_date_targets, target_kpis};

/// One KPI value. The kind of each id is fixed by the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub enum KpiValue {
    Money(Decimal),
    Count(i64),
    Ratio(Decimal),
    /// Plain numbers and seconds.
    Number(Decimal),
    /// Denominator zero, or the data needed is not there.
    Missing,
}

impl KpiValue {
    /// The value as a decimal, whatever its kind; `None` when missing.
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            KpiValue::Money(d) | KpiValue::Ratio(d) | KpiValue::Number(d) => Some(*d),
            KpiValue::Count(c) => Some(Decimal::from(*c)),
            KpiValue::Missing => None,
        }
    }

    pub fn is_missing(&self) -> bool {
        matches!(self, KpiValue::Missing)
    }

    /// The summary.json form: money as an exact decimal string, counts as
    /// integers, ratios and numbers as JSON numbers, missing as null.
    pub fn to_json(&self) -> Json {
        match self {
            KpiValue::Money(d) => Json::String(d.to_string()),
            KpiValue::Count(c) => Json::from(*c),
            KpiValue::Ratio(d) | KpiValue::Number(d) => decimal_number(*d),
            KpiValue::Missing => Json::Null,
        }
    }

    /// The lossless form for stored daily snapshots: every decimal as a
    /// string, so a ratio read back is the ratio written.
    pub fn to_exact_json(&self) -> Json {
        match self {
            KpiValue::Money(d) | KpiValue::Ratio(d) | KpiValue::Number(d) => {
                Json::String(d.to_string())
            }
            other => other.to_json(),
        }
    }

    /// Reads the summary.json form (or the exact form) back (daily snapshots are stored that
    /// way); `None` for an unknown id or a value of the wrong shape.
    pub fn from_json(id: &str, v: &Json) -> Option<KpiValue> {
        if v.is_null() {
            return Some(KpiValue::Missing);
        }
        let dec = || -> Option<Decimal> {
            match v {
                Json::String(s) => s.parse().ok(),
                Json::Number(n) => n.to_string().parse().ok().or_else(|| {
                    n.as_f64()
                        .and_then(|f| Decimal::from_scientific(&format!("{f:e}")).ok())
                }),
                _ => None,
            }
        };
        Some(match kpi_kind(id)? {
            KpiKind::Money => KpiValue::Money(dec()?),
            KpiKind::Count => KpiValue::Count(v.as_i64()?),
            KpiKind::Ratio => KpiValue::Ratio(dec()?),
            KpiKind::Number | KpiKind::Seconds => KpiValue::Number(dec()?),
        })
    }
}

/// A JSON number for an exact decimal. JSON numbers are binary floats in
/// every reader, so this is the one place a KPI becomes an f64.
fn decimal_number(d: Decimal) -> Json {
    use rust_decimal::prelude::ToPrimitive;
    match d.to_f64().and_then(serde_json::Number::from_f64) {
        Some(n) => Json::Number(n),
        None => Json::Null,
    }
}

/// KPI id → value. Ids are the catalogue's plus `target*.<metric>`.
pub type KpiSet = BTreeMap<String, KpiValue>;

/// `{id: value}` for summary.json.
pub fn kpis_to_json(set: &KpiSet) -> Json {
    Json::Object(
        set.iter()
            .map(|(id, v)| (id.clone(), v.to_json()))
            .collect(),
    )
}

/// `{id: value}` with every decimal as a string, for daily snapshots in
/// the store; [`kpis_from_json`] reads both forms.
pub fn kpis_to_exact_json(set: &KpiSet) -> Json {
    Json::Object(
        set.iter()
            .map(|(id, v)| (id.clone(), v.to_exact_json()))
            .collect(),
    )
}

/// Reads `{id: value}` back; ids the catalogue does not know are skipped.
pub fn kpis_from_json(v: &Json) -> KpiSet {
    let mut set = KpiSet::new();
    if let Json::Object(map) = v {
        for (id, value) in map {
            if let Some(k) = KpiValue::from_json(id, value) {
                set.insert(id.clone(), k);
            }
        }
    }
    set
}

/// Everything the KPIs of one period are computed from, as loaded from the
/// store for that period.
#[derive(Debug, Clone)]
pub struct PeriodFacts {
    pub period: Period,
    pub tz: Tz,
    /// Orders with paid_at within the period (shop zone). Orders outside it
    /// are ignored, so a loose query is harmless.
    pub orders_paid: Vec<OrderFact>,
    /// Orders with created_at within the period.
    pub orders_created: u64,
    /// Orders still unpaid that were created in the period (催付).
    pub unpaid_created: Vec<OrderFact>,
    /// Order lines of `orders_paid`.
    pub items: Vec<ItemFact>,
    /// Latest unit_cost per SKU known at the period end.
    pub unit_costs: HashMap<String, Decimal>,
    /// Per paying buyer: their first paid order in the store's history.
    /// A buyer absent here counts from their first paid order in the period.
    pub first_paid_at: HashMap<String, DateTime<Utc>>,
    pub traffic: Vec<TrafficFact>,
    /// Source name → traffic type (config table); unmapped sources are `other`.
    pub traffic_types: HashMap<String, TrafficType>,
    /// Product rows for the days of the period; the last day present gives
    /// the stock and online status at the period end.
    pub products: Vec<ProductFact>,
    pub service: Vec<ServiceFact>,
    pub ads: Vec<AdFact>,
    pub targets: Vec<TargetFact>,
}

impl PeriodFacts {
    /// Facts with nothing in them, for a period (tests and partial loads).
    pub fn empty(period: Period, tz: Tz) -> PeriodFacts {
        PeriodFacts {
            period,
            tz,
            orders_paid: Vec::new(),
            orders_created: 0,
            unpaid_created: Vec::new(),
            items: Vec::new(),
            unit_costs: HashMap::new(),
            first_paid_at: HashMap::new(),
            traffic: Vec::new(),
            traffic_types: HashMap::new(),
            products: Vec::new(),
            service: Vec::new(),
            ads: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// The paid orders whose paid_at falls in the period in the shop's zone.
    pub fn paid_in_period(&self) -> impl Iterator<Item = &OrderFact> {
        self.orders_paid.iter().filter(|o| {
            o.paid_at
                .is_some_and(|t| self.period.contains(local_date(t, self.tz)))
        })
    }

    /// The traffic type of a source name.
    pub fn traffic_type(&self, source: &str) -> TrafficType {
        self.traffic_types
            .get(source)
            .copied()
            .unwrap_or(TrafficType::Other)
    }
}

/// Zero sellers (SPEC §8 monthly): on the stock window's last day, SKUs
/// online with stock that sold nothing in the `days` days ending then
/// (`sold` holds the SKUs that did) and were listed before that window
/// began. Most stock first. The monthly check and the warehouse sheet
/// both list these.
pub fn zero_sellers<'a>(
    stock: &'a StockWindow,
    sold: &HashSet<String>,
    days: u32,
    tz: Tz,
) -> Vec<&'a ProductFact> {
    let Some(last) = stock.last else {
        return Vec::new();
    };
    let window_start = last - Days::new(u64::from(days.max(1)) - 1);
    let listed_before = day_start(window_start, tz);
    let mut hits: Vec<&ProductFact> = stock
        .online_with_stock()
        .filter(|p| !sold.contains(&p.sku_id))
        .filter(|p| p.listed_at.is_none_or(|l| l < listed_before))
        .collect();
    hits.sort_by(|a, b| b.stock.cmp(&a.stock).then(a.sku_id.cmp(&b.sku_id)));
    hits
}

/// The calendar day of an instant in the shop's zone.
pub fn local_date(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// The instant a local day begins. Where midnight falls into a DST gap the
/// day begins at the first wall time that exists.
pub fn day_start(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    for minutes in (0..=24 * 60).step_by(15) {
        let wall = midnight + chrono::Duration::minutes(minutes);
        match tz.from_local_datetime(&wall) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                return t.with_timezone(&Utc);
            }
            LocalResult::None => continue,
        }
    }
    // No zone skips a whole day's wall times; treat the wall time as UTC.
    midnight.and_utc()
}

/// The half-open instant range `[start, end)` of a period in a zone, for
/// store queries.
pub fn period_instants(period: &Period, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (day_start(period.start, tz), day_start(period.end, tz))
}

/// The traffic rows that stand for the shop as a whole, and the days on
/// which no total row existed so the sum of sources was used instead
/// (source visitors overlap, so that sum overstates; callers warn).
pub fn shop_traffic_rows(f: &PeriodFacts) -> (Vec<&TrafficFact>, Vec<NaiveDate>) {
    let mut by_day: BTreeMap<NaiveDate, (Vec<&TrafficFact>, Vec<&TrafficFact>)> = BTreeMap::new();
    for t in f.traffic.iter().filter(|t| f.period.contains(t.date)) {
        let entry = by_day.entry(t.date).or_default();
        if t.source.is_none() {
            entry.0.push(t);
        } else {
            entry.1.push(t);
        }
    }
    let mut rows = Vec::new();
    let mut fallback = Vec::new();
    for (day, (totals, sources)) in by_day {
        if totals.is_empty() {
            fallback.push(day);
            rows.extend(sources);
        } else {
            rows.extend(totals);
        }
    }
    (rows, fallback)
}

/// The shop-total paid_amount of the traffic export over the period, the
/// other side of the orders reconciliation; `None` without such figures.
pub fn traffic_paid_amount(f: &PeriodFacts) -> Option<Decimal> {
    let (rows, _) = shop_traffic_rows(f);
    let amounts: Vec<Decimal> = rows.iter().filter_map(|r| r.paid_amount).collect();
    if amounts.is_empty() {
        None
    } else {
        Some(amounts.iter().sum())
    }
}

/// `n / d` as a ratio; missing when `d` is zero.
pub(crate) fn div(n: Decimal, d: Decimal) -> Option<Decimal> {
    if d.is_zero() { None } else { n.checked_div(d) }
}

fn ratio(n: Decimal, d: Decimal) -> KpiValue {
    div(n, d).map_or(KpiValue::Missing, KpiValue::Ratio)
}

fn money_per(n: Decimal, d: Decimal) -> KpiValue {
    div(n, d).map_or(KpiValue::Missing, KpiValue::Money)
}

fn number(n: Decimal, d: Decimal) -> KpiValue {
    div(n, d).map_or(KpiValue::Missing, KpiValue::Number)
}

fn opt_ratio(n: Option<Decimal>, d: Option<Decimal>) -> KpiValue {
    match (n, d) {
        (Some(n), Some(d)) => ratio(n, d),
        _ => KpiValue::Missing,
    }
}

/// Computes every KPI of SPEC §7 for the facts' period. Target KPIs are
/// added for month periods; day and week jobs add month-to-date ones with
/// [`month_to_date_targets`].
pub fn compute_kpis(f: &PeriodFacts) -> KpiSet {
    let mut out = KpiSet::new();
    let mut put = |id: &str, v: KpiValue| {
        out.insert(id.to_string(), v);
    };

    // Orders.
    let paid: Vec<&OrderFact> = f.paid_in_period().collect();
    let ignored = f.orders_paid.len() - paid.len();
    if ignored > 0 {
        tracing::debug!(ignored, period = %f.period, "paid orders outside the period ignored");
    }
    // An order is its day and its id: an id stored on two days is two
    // orders, each with its own lines.
    let mut lines: HashMap<(&str, NaiveDate), Vec<&ItemFact>> = HashMap::new();
    for item in &f.items {
        lines
            .entry((item.order_id.as_str(), item.order_day))
            .or_default()
            .push(item);
    }
    let paid_orders = Decimal::from(paid.len());
    let valid: Vec<&OrderFact> = paid.iter().copied().filter(|o| o.is_purchase()).collect();
    let gross: Decimal = paid.iter().map(|o| o.paid_amount).sum();
    let refunds: Decimal = paid.iter().map(|o| o.refund_amount).sum();
    let net = gross - refunds;
    put("orders_created", KpiValue::Count(f.orders_created as i64));
    put("paid_orders", KpiValue::Count(paid.len() as i64));
    put("valid_orders", KpiValue::Count(valid.len() as i64));
    put(
        "order_validity_rate",
        ratio(Decimal::from(valid.len()), Decimal::from(f.orders_created)),
    );
    put("gross_sales", KpiValue::Money(gross));
    put("refund_amount", KpiValue::Money(refunds));
    put("net_sales", KpiValue::Money(net));
    put("avg_order_value", money_per(gross, paid_orders));
    put("refund_rate", ratio(refunds, gross));

    // Buyers. A month of a large shop has hundreds of thousands: a hash
    // map and two days per buyer (repeat buying needs only "a second
    // distinct day") keep this free of per-buyer allocations.
    struct Buyer {
        sales: Decimal,
        first_day: NaiveDate,
        repeat: bool,
        first_in_period: DateTime<Utc>,
    }
    let mut buyers: HashMap<&str, Buyer> = HashMap::with_capacity(paid.len());
    for o in &paid {
        // paid_in_period guarantees paid_at is set.
        let Some(at) = o.paid_at else { continue };
        let day = local_date(at, f.tz);
        let b = buyers.entry(o.member_id.as_str()).or_insert(Buyer {
            sales: Decimal::ZERO,
            first_day: day,
            repeat: false,
            first_in_period: at,
        });
        b.sales += o.paid_amount;
        b.repeat |= day != b.first_day;
        b.first_in_period = b.first_in_period.min(at);
    }
    let n_buyers = Decimal::from(buyers.len());
    let (mut new_n, mut ret_n, mut new_sales, mut ret_sales, mut repeaters) =
        (0i64, 0i64, Decimal::ZERO, Decimal::ZERO, 0i64);
    for (id, b) in &buyers {
        let first = f
            .first_paid_at
            .get(*id)
            .map_or(b.first_in_period, |t| (*t).min(b.first_in_period));
        if local_date(first, f.tz) >= f.period.start {
            new_n += 1;
            new_sales += b.sales;
        } else {
            ret_n += 1;
            ret_sales += b.sales;
        }
        if b.repeat {
            repeaters += 1;
        }
    }
    put("paying_buyers", KpiValue::Count(buyers.len() as i64));
    put("aov", money_per(gross, n_buyers));
    put("new_buyers", KpiValue::Count(new_n));
    put("returning_buyers", KpiValue::Count(ret_n));
    put("new_buyer_sales", KpiValue::Money(new_sales));
    put("returning_buyer_sales", KpiValue::Money(ret_sales));
    put("repurchase_rate", ratio(Decimal::from(repeaters), n_buyers));

    // Units: the order's item_qty, else its lines; unknown if neither.
    let mut units: Option<i64> = Some(0);
    for o in &paid {
        let q = o.item_qty.or_else(|| {
            lines
                .get(&(o.order_id.as_str(), o.day))
                .filter(|l| !l.is_empty())
                .map(|l| l.iter().map(|i| i.quantity).sum())
        });
        units = match (units, q) {
            (Some(u), Some(q)) => u.checked_add(q),
            _ => None,
        };
    }
    match units {
        Some(u) => {
            put("units_sold", KpiValue::Count(u));
            put("units_per_order", number(Decimal::from(u), paid_orders));
        }
        None => {
            put("units_sold", KpiValue::Missing);
            put("units_per_order", KpiValue::Missing);
        }
    }

    // Cost of goods: never estimated; one unknown cost makes it unknown.
    let mut cogs = Some(Decimal::ZERO);
    for o in &valid {
        let order_lines = lines
            .get(&(o.order_id.as_str(), o.day))
            .map_or(&[][..], |l| &l[..]);
        if order_lines.is_empty() {
            cogs = None;
            break;
        }
        for line in order_lines {
            match (cogs, f.unit_costs.get(&line.sku_id)) {
                (Some(c), Some(cost)) => cogs = Some(c + Decimal::from(line.quantity) * cost),
                _ => cogs = None,
            }
        }
        if cogs.is_none() {
            break;
        }
    }
    match cogs {
        Some(c) => {
            put("cost_of_goods", KpiValue::Money(c));
            put("gross_profit", KpiValue::Money(net - c));
            put("gross_margin", ratio(net - c, net));
        }
        None => {
            for id in ["cost_of_goods", "gross_profit", "gross_margin"] {
                put(id, KpiValue::Missing);
            }
        }
    }

    // Traffic.
    let (rows, fallback) = shop_traffic_rows(f);
    if !fallback.is_empty() {
        tracing::warn!(
            days = ?fallback,
            "traffic without a shop-total row: visitors summed over sources"
        );
    }
    if rows.is_empty() {
        for id in [
            "visitors",
            "page_views",
            "pv_per_visitor",
            "bounce_rate",
            "avg_stay_seconds",
            "conversion_rate",
            "uv_value",
        ] {
            put(id, KpiValue::Missing);
        }
    } else {
        let visitors: i64 = rows.iter().map(|r| r.visitors).sum();
        let v = Decimal::from(visitors);
        put("visitors", KpiValue::Count(visitors));
        let pv: Option<i64> = rows.iter().map(|r| r.page_views).sum();
        match pv {
            Some(pv) => {
                put("page_views", KpiValue::Count(pv));
                put("pv_per_visitor", number(Decimal::from(pv), v));
            }
            None => {
                put("page_views", KpiValue::Missing);
                put("pv_per_visitor", KpiValue::Missing);
            }
        }
        let weighted = |get: fn(&TrafficFact) -> Option<Decimal>| {
            let (mut num, mut den) = (Decimal::ZERO, Decimal::ZERO);
            for r in &rows {
                if let Some(x) = get(r) {
                    num += Decimal::from(r.visitors) * x;
                    den += Decimal::from(r.visitors);
                }
            }
            div(num, den)
        };
        put(
            "bounce_rate",
            weighted(|r| r.bounce_rate).map_or(KpiValue::Missing, KpiValue::Ratio),
        );
        put(
            "avg_stay_seconds",
            weighted(|r| r.avg_stay_seconds).map_or(KpiValue::Missing, KpiValue::Number),
        );
        put("conversion_rate", ratio(n_buyers, v));
        put("uv_value", money_per(gross, v));
    }

    // Ads.
    if f.ads.iter().any(|a| f.period.contains(a.date)) {
        let ads: Vec<&AdFact> = f.ads.iter().filter(|a| f.period.contains(a.date)).collect();
        let spend: Decimal = ads.iter().map(|a| a.spend).sum();
        let revenue: Option<Decimal> = if ads.iter().any(|a| a.revenue.is_some()) {
            Some(ads.iter().filter_map(|a| a.revenue).sum())
        } else {
            None
        };
        let impressions: Option<Decimal> = sum_some(ads.iter().map(|a| a.impressions));
        let clicks: Option<Decimal> = sum_some(ads.iter().map(|a| a.clicks));
        put("ad_spend", KpiValue::Money(spend));
        put(
            "ad_revenue",
            revenue.map_or(KpiValue::Missing, KpiValue::Money),
        );
        put(
            "roi",
            revenue.map_or(KpiValue::Missing, |r| number(r, spend)),
        );
        put("ctr", opt_ratio(clicks, impressions));
        put(
            "cpc",
            clicks.map_or(KpiValue::Missing, |c| money_per(spend, c)),
        );
    } else {
        for id in ["ad_spend", "ad_revenue", "roi", "ctr", "cpc"] {
            put(id, KpiValue::Missing);
        }
    }

    // Customer service.
    let service: Vec<&ServiceFact> = f
        .service
        .iter()
        .filter(|s| f.period.contains(s.date))
        .collect();
    let consultations = sum_some(service.iter().map(|s| s.consultations));
    let converted = sum_some(service.iter().map(|s| s.converted_buyers));
    put(
        "consult_conversion_rate",
        opt_ratio(converted, consultations),
    );
    let (mut num, mut den) = (Decimal::ZERO, Decimal::ZERO);
    for s in &service {
        if let (Some(c), Some(r)) = (s.consultations, s.avg_response_seconds) {
            num += Decimal::from(c) * r;
            den += Decimal::from(c);
        }
    }
    put("avg_response_seconds", number(num, den));

    // Products.
    let products: Vec<&ProductFact> = f
        .products
        .iter()
        .filter(|p| f.period.contains(p.date))
        .collect();
    match products.iter().map(|p| p.date).max() {
        None => {
            put("sell_through_rate", KpiValue::Missing);
            put("active_sku_rate", KpiValue::Missing);
        }
        Some(last) => {
            let units_sold: i64 = products.iter().filter_map(|p| p.paid_units).sum();
            let stock: i64 = products
                .iter()
                .filter(|p| p.date == last)
                .filter_map(|p| p.stock)
                .sum();
            put(
                "sell_through_rate",
                ratio(Decimal::from(units_sold), Decimal::from(units_sold + stock)),
            );
            let mut sold_by_sku: HashMap<&str, i64> = HashMap::new();
            for p in &products {
                *sold_by_sku.entry(p.sku_id.as_str()).or_default() += p.paid_units.unwrap_or(0);
            }
            let active = sold_by_sku.values().filter(|u| **u > 0).count();
            // A product export without a status column lists what is on sale.
            let online: BTreeSet<&str> = products
                .iter()
                .filter(|p| p.date == last && p.status != Some(ProductStatus::Delisted))
                .map(|p| p.sku_id.as_str())
                .collect();
            put(
                "active_sku_rate",
                ratio(Decimal::from(active), Decimal::from(online.len())),
            );
        }
    }

    if f.period.kind() == PeriodKind::Month {
        let month = f.period.start;
        let days = Decimal::from(f.period.days());
        let actual = out.clone();
        out.extend(target_kpis(&actual, &f.targets, month, days, days));
    }
    out
}

fn sum_some(values: impl Iterator<Item = Option<i64>>) -> Option<Decimal> {
    let mut any = false;
    let mut total = Decimal::ZERO;
    for v in values.flatten() {
        any = true;
        total += Decimal::from(v);
    }
    any.then_some(total)
}

/// `2026-11` for any date of November 2026: the month key of targets.
pub fn month_key(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The last `n` days ending with `last` (inclusive), oldest first.
pub fn trailing_days(last: NaiveDate, n: u64) -> Vec<NaiveDate> {
    (0..n).rev().map(|i| last - Days::new(i)).collect()
}
