//! The weekly review: how orders, sales, aov and margin moved together,
//! why sales moved (decomposition), the traffic mix, product movers and
//! new against returning buyers. All against the previous period.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value as Json;

use super::daily::kpi;
use super::{CheckInputs, CheckResult, Ctx, Level, Sample, num, pct, truncate_samples, yuan};
use crate::compute::kpi::{KpiSet, PeriodFacts, decompose, kpi_label};
use crate::model::Dataset;
use crate::model::TrafficType;
use crate::model::facts::SourceRef;

pub(super) fn run(ctx: &Ctx, inputs: &CheckInputs) -> Option<CheckResult> {
    let needs: &[Dataset] = match ctx.def.id {
        "decomposition" => &[Dataset::Orders, Dataset::Traffic],
        "traffic_mix" => &[Dataset::Traffic],
        "product_movers" => &[Dataset::Products],
        _ => &[Dataset::Orders],
    };
    if let Some(missing) = needs.iter().find(|d| !inputs.has(**d)) {
        return Some(ctx.skipped(None, &ctx.no_export(*missing)));
    }
    let Some(prev) = inputs.previous else {
        return Some(ctx.result(
            None,
            Level::Pass,
            tr!(ctx, "没有上一期可比", "no previous period to compare with"),
        ));
    };
    let cur = inputs.kpis;
    Some(match ctx.def.id {
        "orders_down_sales_up" => orders_down_sales_up(ctx, cur, prev),
        "aov_up_margin_down" => aov_up_margin_down(ctx, cur, prev),
        "all_grew" => all_grew(ctx, cur, prev),
        "decomposition" => decomposition(ctx, cur, prev),
        "traffic_mix" => traffic_mix(ctx, inputs),
        "product_movers" => product_movers(ctx, inputs),
        "new_vs_returning" => new_vs_returning(ctx, cur, prev),
        _ => return None,
    })
}

/// Relative change of a KPI against the previous period.
fn change(cur: &KpiSet, prev: &KpiSet, id: &str) -> Option<Decimal> {
    let (c, p) = (kpi(cur, id)?, kpi(prev, id)?);
    (!p.is_zero()).then(|| (c - p) / p.abs())
}

fn signed(d: Option<Decimal>) -> String {
    match d {
        Some(d) if d >= Decimal::ZERO => format!("+{}", pct(d)),
        Some(d) => pct(d),
        None => "—".into(),
    }
}

fn orders_down_sales_up(ctx: &Ctx, cur: &KpiSet, prev: &KpiSet) -> CheckResult {
    let orders = change(cur, prev, "paid_orders");
    let sales = change(cur, prev, "gross_sales");
    let aov_order = change(cur, prev, "avg_order_value");
    let aov_buyer = change(cur, prev, "aov");
    let pattern =
        orders.is_some_and(|o| o < Decimal::ZERO) && sales.is_some_and(|s| s > Decimal::ZERO);
    let mut r = if pattern {
        ctx.result(
            None,
            Level::Warn,
            tr!(
                ctx,
                "支付订单数 {} 而支付金额 {}：靠更大的订单拉动——笔单价 {}，客单价 {}",
                "paid orders {} while gross sales {}: bigger orders carried it — average order value {}, aov per buyer {}",
                signed(orders),
                signed(sales),
                signed(aov_order),
                signed(aov_buyer)
            ),
        )
    } else {
        ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "支付订单数 {}，支付金额 {}",
                "paid orders {}, gross sales {}",
                signed(orders),
                signed(sales)
            ),
        )
    };
    r.observed = aov_order.map_or(Json::Null, num);
    r.baseline = kpi(prev, "avg_order_value").map_or(Json::Null, |d| Json::String(d.to_string()));
    r
}

fn aov_up_margin_down(ctx: &Ctx, cur: &KpiSet, prev: &KpiSet) -> CheckResult {
    let (Some(m1), Some(m0)) = (kpi(cur, "gross_margin"), kpi(prev, "gross_margin")) else {
        return ctx.skipped(
            None,
            &tr!(
                ctx,
                "毛利率未知（缺少成本价或订单明细）",
                "gross margin unknown (unit costs or order lines missing)"
            ),
        );
    };
    let aov = change(cur, prev, "aov");
    let points = m1 - m0;
    let pattern = aov.is_some_and(|a| a > Decimal::ZERO) && points < Decimal::ZERO;
    let message = tr!(
        ctx,
        "客单价 {}，毛利率 {} → {}（{} 个百分点）",
        "aov {}, gross margin {} → {} ({} points)",
        signed(aov),
        pct(m0),
        pct(m1),
        (points * Decimal::ONE_HUNDRED).round_dp(1).normalize()
    );
    let mut r = if pattern {
        ctx.result(
            None,
            Level::Warn,
            tr!(
                ctx,
                "{message}：买家多花的钱买了低毛利商品或用了折扣",
                "{message}: buyers spend more on lower-margin goods or discounts"
            ),
        )
    } else {
        ctx.result(None, Level::Pass, message)
    };
    r.observed = num(m1);
    r.baseline = num(m0);
    r
}

fn all_grew(ctx: &Ctx, cur: &KpiSet, prev: &KpiSet) -> CheckResult {
    let mut grew = Vec::new();
    let mut not = Vec::new();
    let mut unknown = Vec::new();
    for (id, label) in [
        ("gross_sales", tr!(ctx, "销售额", "sales")),
        ("gross_margin", tr!(ctx, "毛利率", "margin")),
        ("paid_orders", tr!(ctx, "订单数", "orders")),
    ] {
        match change(cur, prev, id) {
            Some(c) if c > Decimal::ZERO => grew.push(format!("{label} {}", signed(Some(c)))),
            Some(c) => not.push(format!("{label} {}", signed(Some(c)))),
            None => unknown.push(label),
        }
    }
    let mut message = if not.is_empty() && unknown.is_empty() {
        tr!(
            ctx,
            "销售额、毛利率和订单数全部增长：{}",
            "sales, margin and orders all grew: {}",
            grew.join(", ")
        )
    } else if not.is_empty() {
        tr!(ctx, "增长：{}", "grew: {}", grew.join(", "))
    } else {
        tr!(ctx, "未增长：{}", "did not grow: {}", not.join(", "))
    };
    if !unknown.is_empty() {
        message.push_str(&tr!(ctx, "；未知：{}", "; unknown: {}", unknown.join(", ")));
    }
    let level = if not.is_empty() {
        Level::Pass
    } else {
        Level::Warn
    };
    let mut r = ctx.result(None, level, message);
    r.observed = Json::from(grew.len());
    r
}

fn decomposition(ctx: &Ctx, cur: &KpiSet, prev: &KpiSet) -> CheckResult {
    let Some(d) = decompose(cur, prev) else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "无法拆解：某一期的访客数、转化率或客单价为 0 或未知",
                "cannot decompose: visitors, conversion or aov is zero or unknown in one of the periods"
            ),
        );
    };
    let rel = if d.previous_gross_sales.is_zero() {
        Decimal::ZERO
    } else {
        d.change / d.previous_gross_sales
    };
    let parts: Vec<String> = d
        .factors
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                factor_name(ctx, f.factor),
                signed_money(f.contribution)
            )
        })
        .collect();
    let main = d
        .main_factor()
        .map_or("—".into(), |f| factor_name(ctx, f.factor));
    let mut r = ctx.graded(
        None,
        rel,
        tr!(
            ctx,
            "支付金额 {} → {}（{}）：{}；主要因为{main}",
            "gross sales {} → {} ({}): {}; mostly {main}",
            yuan(d.previous_gross_sales),
            yuan(d.current_gross_sales),
            signed(Some(rel)),
            parts.join(", ")
        ),
    );
    r.baseline = Json::String(d.previous_gross_sales.to_string());
    r.samples = d
        .factors
        .iter()
        .map(|f| {
            Sample::note(tr!(
                ctx,
                "{}：{} → {}，贡献 {}（{}）",
                "{}: {} → {}, contribution {} ({})",
                factor_name(ctx, f.factor),
                f.previous.round_dp(4).normalize(),
                f.current.round_dp(4).normalize(),
                signed_money(f.contribution),
                signed(f.share)
            ))
        })
        .collect();
    r
}

/// A decomposition factor's name: its KPI id, or its label in Chinese.
fn factor_name(ctx: &Ctx, factor: &str) -> String {
    if ctx.zh {
        kpi_label(factor, true)
    } else {
        factor.to_string()
    }
}

fn type_name(ctx: &Ctx, t: TrafficType) -> &'static str {
    match (ctx.zh, t) {
        (false, t) => t.as_str(),
        (true, TrafficType::Free) => "免费",
        (true, TrafficType::Paid) => "付费",
        (true, TrafficType::Campaign) => "活动",
        (true, TrafficType::Content) => "内容",
        (true, TrafficType::Other) => "其他",
    }
}

fn signed_money(d: Decimal) -> String {
    if d >= Decimal::ZERO {
        format!("+{}", yuan(d))
    } else {
        format!("−{}", yuan(-d))
    }
}

/// Visitors per traffic type over the sources (the total row is not a type).
fn mix(f: &PeriodFacts) -> BTreeMap<TrafficType, Decimal> {
    let mut by: BTreeMap<TrafficType, Decimal> = BTreeMap::new();
    for t in f.traffic.iter().filter(|t| f.period.contains(t.date)) {
        if let Some(src) = &t.source {
            *by.entry(f.traffic_type(src)).or_default() += Decimal::from(t.visitors);
        }
    }
    let total: Decimal = by.values().sum();
    if total.is_zero() {
        return BTreeMap::new();
    }
    by.into_iter().map(|(k, v)| (k, v / total)).collect()
}

fn traffic_mix(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let Some(prev_facts) = inputs.previous_facts else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "没有上一期的流量数据可比",
                "no previous period's traffic to compare with"
            ),
        );
    };
    let (now, before) = (mix(inputs.facts), mix(prev_facts));
    if now.is_empty() || before.is_empty() {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "某一期没有分来源的流量",
                "no per-source traffic in one of the periods"
            ),
        );
    }
    let mut shifts: Vec<(Decimal, TrafficType, Decimal, Decimal)> = TrafficType::ALL
        .iter()
        .map(|t| {
            let (a, b) = (
                now.get(t).copied().unwrap_or_default(),
                before.get(t).copied().unwrap_or_default(),
            );
            ((a - b).abs(), *t, b, a)
        })
        .filter(|(_, _, b, a)| !(a.is_zero() && b.is_zero()))
        .collect();
    shifts.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    // Both mixes have a type with a positive share, so one shift remains.
    let Some(&(largest, ty, b, a)) = shifts.first() else {
        return ctx.result(None, Level::Pass, String::new());
    };
    let mut r = ctx.graded(
        None,
        largest,
        tr!(
            ctx,
            "流量结构变化最大：{} 占来源访客 {} → {}",
            "largest mix shift: {} {} → {} of source visitors",
            type_name(ctx, ty),
            pct(b),
            pct(a)
        ),
    );
    r.samples = shifts
        .iter()
        .map(|(_, t, b, a)| {
            Sample::note(tr!(
                ctx,
                "{}：{} → {}（{} 个百分点）",
                "{}: {} → {} ({} points)",
                type_name(ctx, *t),
                pct(*b),
                pct(*a),
                ((*a - *b) * Decimal::ONE_HUNDRED).round_dp(1).normalize()
            ))
        })
        .collect();
    r
}

struct Sku<'a> {
    title: Option<&'a str>,
    now: Decimal,
    before: Decimal,
    row: Option<&'a SourceRef>,
}

fn product_movers(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let Some(prev_facts) = inputs.previous_facts else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "没有上一期的商品数据可比",
                "no previous period's products to compare with"
            ),
        );
    };
    let mut skus: BTreeMap<&str, Sku> = BTreeMap::new();
    for (f, current) in [(inputs.facts, true), (prev_facts, false)] {
        for p in f.products.iter().filter(|p| f.period.contains(p.date)) {
            let e = skus.entry(p.sku_id.as_str()).or_insert(Sku {
                title: None,
                now: Decimal::ZERO,
                before: Decimal::ZERO,
                row: None,
            });
            let amount = p.paid_amount.unwrap_or_default();
            if current {
                e.now += amount;
                e.row = e.row.or(Some(&p.row));
            } else {
                e.before += amount;
            }
            e.title = e.title.or(p.title.as_deref());
        }
    }
    let top = ctx.s.param("top").trunc().try_into().unwrap_or(5usize);
    let mut by_before: Vec<(&str, &Sku)> = skus
        .iter()
        .filter(|(_, s)| s.before > Decimal::ZERO)
        .map(|(k, s)| (*k, s))
        .collect();
    by_before.sort_by(|a, b| b.1.before.cmp(&a.1.before).then(a.0.cmp(b.0)));
    let worst_fall = by_before
        .iter()
        .take(top)
        .map(|(k, s)| ((s.before - s.now) / s.before, *k))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(a.1)));
    let mut deltas: Vec<(Decimal, &str, &Sku)> = skus
        .iter()
        .map(|(k, s)| (s.now - s.before, *k, s))
        .collect();
    deltas.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let line = |arrow: &str, (d, k, s): &(Decimal, &str, &Sku)| {
        let text = format!(
            "{arrow} {k}{}: {} → {} ({})",
            s.title.map(|t| format!(" {t}")).unwrap_or_default(),
            yuan(s.before),
            yuan(s.now),
            signed_money(*d)
        );
        match s.row {
            Some(row) => Sample::at(row, text),
            None => Sample::note(text),
        }
    };
    let mut samples: Vec<Sample> = deltas
        .iter()
        .filter(|d| d.0 > Decimal::ZERO)
        .take(top)
        .map(|d| line("▲", d))
        .collect();
    samples.extend(
        deltas
            .iter()
            .rev()
            .filter(|d| d.0 < Decimal::ZERO)
            .take(top)
            .map(|d| line("▼", d)),
    );
    let mut r = match worst_fall {
        Some((fall, sku)) => {
            let fall = fall.max(Decimal::ZERO);
            ctx.graded(
                None,
                fall,
                tr!(
                    ctx,
                    "上期前 {top} 名热销商品中跌幅最大：{sku} {}",
                    "largest fall among the previous top {top} sellers: {sku} {}",
                    signed(Some(-fall))
                ),
            )
        }
        None => ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "上一期没有商品销售",
                "no product sales in the previous period"
            ),
        ),
    };
    r.samples = truncate_samples(samples);
    r
}

fn new_vs_returning(ctx: &Ctx, cur: &KpiSet, prev: &KpiSet) -> CheckResult {
    let new = change(cur, prev, "new_buyers");
    let ret = change(cur, prev, "returning_buyers");
    let fall = [new, ret]
        .iter()
        .flatten()
        .map(|c| -*c)
        .fold(Decimal::ZERO, Decimal::max);
    let count = |id| kpi(cur, id).unwrap_or_default().normalize();
    let share = match (kpi(cur, "new_buyer_sales"), kpi(cur, "gross_sales")) {
        (Some(n), Some(g)) if !g.is_zero() => pct(n / g),
        _ => "—".into(),
    };
    ctx.graded(
        None,
        fall,
        tr!(
            ctx,
            "新买家 {}（{}），老买家 {}（{}）；新买家贡献 {share} 的销售额",
            "new buyers {} ({}), returning buyers {} ({}); new buyers bring {share} of sales",
            count("new_buyers"),
            signed(new),
            count("returning_buyers"),
            signed(ret)
        ),
    )
}
