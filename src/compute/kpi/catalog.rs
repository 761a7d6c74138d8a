//! The KPI catalogue: every id of SPEC §7 with its kind, its labels in both
//! locales and the formula text that README and the workbooks print.
//!
//! Target KPIs are per metric (`target.gross_sales`,
//! `target_completion.gross_sales`, `target_pace.gross_sales`); their kind is
//! derived from the prefix (or from the metric, for the target itself).

use serde::Serialize;

/// How a KPI's value is stored and displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KpiKind {
    /// Exact decimal yuan; a string in summary.json.
    Money,
    /// A whole number.
    Count,
    /// A fraction (0.0325 = 3.25 %).
    Ratio,
    /// A plain decimal number (units per order, ROI, page views per visitor).
    Number,
    /// A duration in seconds.
    Seconds,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct KpiDef {
    pub id: &'static str,
    pub kind: KpiKind,
    pub zh: &'static str,
    pub en: &'static str,
    pub formula: &'static str,
    /// The value over a range of days is the sum of the daily values, so a
    /// month-to-date figure can be summed from daily snapshots.
    pub additive: bool,
}

const fn k(
    id: &'static str,
    kind: KpiKind,
    zh: &'static str,
    en: &'static str,
    formula: &'static str,
    additive: bool,
) -> KpiDef {
    KpiDef {
        id,
        kind,
        zh,
        en,
        formula,
        additive,
    }
}

use KpiKind::*;

#[rustfmt::skip]
const CATALOG: &[KpiDef] = &[
    k("visitors", Count, "访客数", "Visitors", "Σ shop-total visitors (traffic; a day without a total row uses the sum of its sources)", true),
    k("page_views", Count, "浏览量", "Page views", "Σ page views of the shop-total rows", true),
    k("pv_per_visitor", Number, "人均浏览量", "Page views per visitor", "page_views / visitors", false),
    k("bounce_rate", Ratio, "跳失率", "Bounce rate", "visitor-weighted mean of the daily shop-total bounce rates", false),
    k("avg_stay_seconds", Seconds, "平均停留时长", "Average stay (s)", "visitor-weighted mean of the daily shop-total average stay", false),
    k("orders_created", Count, "下单订单数", "Orders created", "orders with created_at in the period", true),
    k("paid_orders", Count, "支付订单数", "Paid orders", "orders with paid_at in the period", true),
    k("valid_orders", Count, "有效订单数", "Valid orders", "paid orders not closed with paid_amount − refund_amount > 0", true),
    k("order_validity_rate", Ratio, "订单有效率", "Order validity rate", "valid_orders / orders_created", false),
    k("gross_sales", Money, "支付金额", "Gross sales", "Σ paid_amount of paid orders (not net of refunds)", true),
    k("refund_amount", Money, "退款金额", "Refunds", "Σ refund_amount of paid orders", true),
    k("net_sales", Money, "净销售额", "Net sales", "gross_sales − refund_amount", true),
    k("paying_buyers", Count, "支付买家数", "Paying buyers", "distinct member_id among paid orders", false),
    k("conversion_rate", Ratio, "支付转化率", "Conversion rate", "paying_buyers / visitors", false),
    k("aov", Money, "客单价", "Average order value per buyer", "gross_sales / paying_buyers", false),
    k("avg_order_value", Money, "笔单价", "Average order value", "gross_sales / paid_orders", false),
    k("uv_value", Money, "UV价值", "Value per visitor", "gross_sales / visitors", false),
    k("units_sold", Count, "销售件数", "Units sold", "Σ item_qty of paid orders (order lines' quantity where item_qty is missing)", true),
    k("units_per_order", Number, "连带率", "Units per order", "units_sold / paid_orders", false),
    k("refund_rate", Ratio, "退款率", "Refund rate", "refund_amount / gross_sales", false),
    k("cost_of_goods", Money, "商品成本", "Cost of goods", "Σ quantity × latest unit_cost over order lines of valid orders; missing if any cost is unknown", true),
    k("gross_profit", Money, "毛利", "Gross profit", "net_sales − cost_of_goods", true),
    k("gross_margin", Ratio, "毛利率", "Gross margin", "gross_profit / net_sales", false),
    k("new_buyers", Count, "新买家数", "New buyers", "paying buyers whose first paid order in the store's history is in the period", false),
    k("returning_buyers", Count, "老买家数", "Returning buyers", "paying buyers whose first paid order is before the period", false),
    k("new_buyer_sales", Money, "新买家支付金额", "New buyer sales", "gross_sales of new buyers", true),
    k("returning_buyer_sales", Money, "老买家支付金额", "Returning buyer sales", "gross_sales of returning buyers", true),
    k("repurchase_rate", Ratio, "复购率", "Repurchase rate", "paying buyers with paid orders on ≥ 2 distinct days of the period / paying_buyers", false),
    k("ad_spend", Money, "推广花费", "Ad spend", "Σ spend (ads)", true),
    k("ad_revenue", Money, "推广成交金额", "Ad revenue", "Σ revenue (ads)", true),
    k("roi", Number, "投入产出比", "ROI", "ad_revenue / ad_spend", false),
    k("ctr", Ratio, "点击率", "Click-through rate", "Σ clicks / Σ impressions", false),
    k("cpc", Money, "平均点击花费", "Cost per click", "ad_spend / Σ clicks", false),
    k("consult_conversion_rate", Ratio, "询单转化率", "Consultation conversion rate", "Σ converted_buyers / Σ consultations", false),
    k("avg_response_seconds", Seconds, "平均响应时间", "Average response time (s)", "consultation-weighted mean of the agents' average response times", false),
    k("sell_through_rate", Ratio, "售罄率", "Sell-through rate", "Σ product paid_units in period / (that + Σ stock on the period's last product day)", false),
    k("active_sku_rate", Ratio, "动销率", "Active SKU rate", "SKUs with paid_units > 0 in period / SKUs online on the period's last product day", false),
];

/// Every fixed KPI id of SPEC §7 in display order. Target KPIs are listed
/// by [`target_defs`].
pub fn kpi_catalog() -> &'static [KpiDef] {
    CATALOG
}

/// The three per-metric target KPIs, with `{metric}` standing for the
/// metric id (the `target.` value takes the metric's own kind).
#[rustfmt::skip]
pub fn target_defs() -> [KpiDef; 3] {
    [
        k("target.{metric}", Money, "目标", "Target", "monthly target of the metric (config or targets CSV)", false),
        k("target_completion.{metric}", Ratio, "目标完成率", "Target completion", "actual / monthly target (month-to-date actual for day and week periods)", false),
        k("target_pace.{metric}", Ratio, "时间进度达成", "Target pace", "target_completion / (elapsed days / days in month)", false),
    ]
}

/// Whether `id` is one of the per-metric target KPIs of [`target_defs`]
/// (`target.*`, `target_completion.*`, `target_pace.*`).
pub fn is_target_kpi(id: &str) -> bool {
    id.split_once('.')
        .is_some_and(|(prefix, _)| matches!(prefix, "target" | "target_completion" | "target_pace"))
}

/// The catalogue entry of a fixed id.
pub fn kpi_def(id: &str) -> Option<&'static KpiDef> {
    CATALOG.iter().find(|d| d.id == id)
}

/// The kind of any KPI id, target ids included; `None` for an unknown id.
pub fn kpi_kind(id: &str) -> Option<KpiKind> {
    if let Some(def) = kpi_def(id) {
        return Some(def.kind);
    }
    let (prefix, metric) = id.split_once('.')?;
    match prefix {
        "target_completion" | "target_pace" => Some(KpiKind::Ratio),
        "target" => kpi_def(metric).map(|d| d.kind),
        _ => None,
    }
}

/// The label of an id in a locale (`zh-CN` or anything else for English);
/// target ids read `目标完成率 · 支付金额` / `Target completion · Gross sales`.
pub fn kpi_label(id: &str, zh: bool) -> String {
    let pick = |d: &KpiDef| if zh { d.zh } else { d.en };
    if let Some(def) = kpi_def(id) {
        return pick(def).to_string();
    }
    if let Some((prefix, metric)) = id.split_once('.') {
        let metric_label = kpi_def(metric).map(pick).unwrap_or(metric);
        let t = target_defs();
        let def = match prefix {
            "target" => Some(&t[0]),
            "target_completion" => Some(&t[1]),
            "target_pace" => Some(&t[2]),
            _ => None,
        };
        if let Some(def) = def {
            return format!("{} · {}", pick(def), metric_label);
        }
    }
    id.to_string()
}
