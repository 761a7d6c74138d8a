//! Normalised rows as the store hands them to the compute and check stages.
//!
//! These are the typed forms of [`crate::model::Record`]s after ingest:
//! optional fields are `Option`s, money is an exact `Decimal`, instants are
//! UTC (the shop's zone is applied when a day or period is asked for).
//! `row` and `file` point back at the source so check samples can cite them.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{OrderStatus, ProductStatus};

/// Where a stored row came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceRef {
    /// The file name as ingested (not the archive path). Shared: the rows
    /// of one file, up to millions in a month's facts, hold one copy.
    pub file: std::sync::Arc<str>,
    /// 1-based row in that file.
    pub row: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderFact {
    pub order_id: String,
    /// The shop-calendar day the order is filed under: the day of its
    /// `created_at` in the shop's zone when it was ingested. An order is
    /// its day and its id (an id two exports place on two days is two
    /// orders), so its lines are matched on both.
    pub day: NaiveDate,
    pub member_id: String,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub status: OrderStatus,
    pub paid_amount: Decimal,
    pub total_amount: Option<Decimal>,
    /// Missing in the export means no refund: stored as zero.
    pub refund_amount: Decimal,
    pub item_qty: Option<i64>,
    pub shop: Option<String>,
    pub phone: Option<String>,
    pub source: SourceRef,
}

impl OrderFact {
    /// A purchase in the sense of SPEC §7 (valid order) and §9: paid, not
    /// closed, and something left after refunds.
    pub fn is_purchase(&self) -> bool {
        self.paid_at.is_some()
            && self.status != OrderStatus::Closed
            && self.paid_amount - self.refund_amount > Decimal::ZERO
    }

    pub fn net_amount(&self) -> Decimal {
        self.paid_amount - self.refund_amount
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemFact {
    pub order_id: String,
    /// The day of the order this line belongs to ([`OrderFact::day`]); a
    /// stray line, filed under another day, carries its order's day here.
    pub order_day: NaiveDate,
    pub sku_id: String,
    pub title: Option<String>,
    pub quantity: i64,
    pub unit_price: Option<Decimal>,
    pub source: SourceRef,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrafficFact {
    pub date: NaiveDate,
    /// `None` for the shop-total row (empty, 全店, 汇总 or `total` in the export).
    pub source: Option<String>,
    pub visitors: i64,
    pub page_views: Option<i64>,
    pub bounce_rate: Option<Decimal>,
    pub avg_stay_seconds: Option<Decimal>,
    pub cart_users: Option<i64>,
    pub order_buyers: Option<i64>,
    pub paying_buyers: Option<i64>,
    pub paid_amount: Option<Decimal>,
    pub new_followers: Option<i64>,
    pub row: SourceRef,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductFact {
    pub date: NaiveDate,
    pub sku_id: String,
    pub title: Option<String>,
    pub category: Option<String>,
    pub status: Option<ProductStatus>,
    pub price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    pub stock: Option<i64>,
    pub visitors: Option<i64>,
    pub page_views: Option<i64>,
    pub cart_users: Option<i64>,
    pub fav_users: Option<i64>,
    pub paid_buyers: Option<i64>,
    pub paid_units: Option<i64>,
    pub paid_amount: Option<Decimal>,
    pub refund_amount: Option<Decimal>,
    pub bounce_rate: Option<Decimal>,
    pub listed_at: Option<DateTime<Utc>>,
    pub row: SourceRef,
}

/// Where stock stands, as the stock checks and sheets see it: the last
/// product day up to a period's end, that day's rows, and what each SKU
/// sold in the 7 days ending that day.
///
/// Only the last day's rows are kept whole; the days before it contribute
/// their unit counts, which is all cover and stock-outs read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StockWindow {
    /// The last day with product rows.
    pub last: Option<NaiveDate>,
    /// The rows of `last`, by SKU.
    pub at_end: Vec<ProductFact>,
    /// Σ `paid_units` per SKU over `[last − 6, last]`; `None` when none of
    /// the SKU's rows had a count.
    pub units_7d: HashMap<String, Option<i64>>,
}

impl StockWindow {
    /// Days counted in `units_7d`, the last included.
    pub const DAYS: u64 = 7;

    /// The window of `rows` (any days) as of `end`, the last day it may
    /// reach.
    pub fn from_rows(rows: &[ProductFact], end: NaiveDate) -> StockWindow {
        let Some(last) = rows.iter().map(|p| p.date).filter(|d| *d <= end).max() else {
            return StockWindow::default();
        };
        let first = last - Days::new(Self::DAYS - 1);
        let mut units: HashMap<String, Option<i64>> = HashMap::new();
        let mut at_end: Vec<ProductFact> = Vec::new();
        for p in rows.iter().filter(|p| p.date >= first && p.date <= last) {
            let sum = units.entry(p.sku_id.clone()).or_default();
            if let Some(n) = p.paid_units {
                *sum = Some(sum.unwrap_or(0) + n);
            }
            if p.date == last {
                at_end.push(p.clone());
            }
        }
        at_end.sort_by(|a, b| a.sku_id.cmp(&b.sku_id));
        StockWindow {
            last: Some(last),
            at_end,
            units_7d: units,
        }
    }

    /// The last day's SKUs online (not delisted) with stock on hand.
    pub fn online_with_stock(&self) -> impl Iterator<Item = &ProductFact> {
        self.at_end
            .iter()
            .filter(|p| p.status != Some(ProductStatus::Delisted))
            .filter(|p| p.stock.is_some_and(|s| s > 0))
    }

    /// Units the SKU sold over the window (0 without a count).
    pub fn units(&self, sku: &str) -> i64 {
        self.units_7d.get(sku).copied().flatten().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberFact {
    pub member_id: String,
    pub joined_at: Option<DateTime<Utc>>,
    pub level: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub gender: Option<String>,
    pub city: Option<String>,
    pub points: Option<i64>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFact {
    pub date: NaiveDate,
    pub agent: String,
    pub consultations: Option<i64>,
    pub converted_buyers: Option<i64>,
    pub sales: Option<Decimal>,
    pub avg_response_seconds: Option<Decimal>,
    pub satisfaction: Option<Decimal>,
    pub row: SourceRef,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdFact {
    pub date: NaiveDate,
    pub channel: Option<String>,
    pub campaign: String,
    pub spend: Decimal,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
    pub cart_adds: Option<i64>,
    pub orders: Option<i64>,
    pub revenue: Option<Decimal>,
    pub row: SourceRef,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetFact {
    /// `2026-11`.
    pub month: String,
    /// A KPI id such as `gross_sales` or `visitors`.
    pub metric: String,
    pub target: Decimal,
}

/// One purchase as the member-tier computation sees it (SPEC §9): compact,
/// because a large shop streams ten million of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub member_id: String,
    /// The paid_at day in the shop's time zone.
    pub day: NaiveDate,
    /// paid_amount − refund_amount (> 0 by definition of a purchase).
    pub net_amount: Decimal,
}
