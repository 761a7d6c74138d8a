//! The daily self-check: traffic, conversion, aov and sales against recent days,
//! refunds, unpaid orders to chase, stock cover, ads ROI, service response
//! and the month-to-date target pace.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value as Json;

use super::{CheckInputs, CheckResult, Ctx, Level, Sample, num, pct, truncate_samples, yuan};
use crate::compute::kpi::{KpiSet, KpiValue, kpi_label, month_to_date_targets};
use crate::model::facts::{ProductFact, SourceRef, StockWindow};
use crate::model::{Dataset, ProductStatus};

pub(super) fn run(ctx: &Ctx, inputs: &CheckInputs) -> Option<CheckResult> {
    Some(match ctx.def.id {
        "traffic_move" => moves(ctx, inputs, "visitors", Dataset::Traffic),
        "conversion_move" => moves(ctx, inputs, "conversion_rate", Dataset::Traffic),
        "aov_move" => moves(ctx, inputs, "aov", Dataset::Orders),
        "sales_move" => moves(ctx, inputs, "gross_sales", Dataset::Orders),
        "refund_rate" => refund_rate(ctx, inputs),
        "unpaid_orders" => unpaid_orders(ctx, inputs),
        "low_stock" => stock(ctx, inputs, false),
        "stock_out" => stock(ctx, inputs, true),
        "ads_roi" => ads_roi(ctx, inputs),
        "service_response" => service_response(ctx, inputs),
        "target_pace" => target_pace(ctx, inputs),
        _ => return None,
    })
}

pub(crate) fn kpi(set: &KpiSet, id: &str) -> Option<Decimal> {
    set.get(id).and_then(KpiValue::as_decimal)
}

fn signed(d: Decimal) -> String {
    if d >= Decimal::ZERO {
        format!("+{}", pct(d))
    } else {
        pct(d)
    }
}

fn moves(ctx: &Ctx, inputs: &CheckInputs, id: &str, needs: Dataset) -> CheckResult {
    if !inputs.has(needs) {
        return ctx.skipped(None, &ctx.no_export(needs));
    }
    let name = if ctx.zh {
        kpi_label(id, true)
    } else {
        id.to_string()
    };
    let Some(current) = kpi(inputs.kpis, id) else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "本期没有{name}",
                "{name} is not available for the period"
            ),
        );
    };
    let day = inputs.period().start;
    let trailing: Vec<Decimal> = (1..=7)
        .filter_map(|i| inputs.history.get(&(day - Days::new(i))))
        .filter_map(|s| kpi(s, id))
        .collect();
    let mean = (!trailing.is_empty())
        .then(|| trailing.iter().sum::<Decimal>() / Decimal::from(trailing.len()));
    let week_ago = inputs
        .history
        .get(&(day - Days::new(7)))
        .and_then(|s| kpi(s, id));
    let rel = |base: Option<Decimal>| base.filter(|b| !b.is_zero()).map(|b| (current - b) / b);
    let (vs_mean, vs_week) = (rel(mean), rel(week_ago));
    let observed = match (vs_mean, vs_week) {
        (Some(a), Some(b)) => a.abs().min(b.abs()),
        (Some(a), None) | (None, Some(a)) => a.abs(),
        (None, None) => {
            let mut r = ctx.result(
                None,
                Level::Pass,
                tr!(
                    ctx,
                    "{name} {}：没有之前的日子可比",
                    "{name} {}: no earlier days to compare with",
                    current.round_dp(4).normalize()
                ),
            );
            r.observed = num(current);
            return r;
        }
    };
    let mut parts = Vec::new();
    if let (Some(m), Some(c)) = (mean, vs_mean) {
        parts.push(tr!(
            ctx,
            "前 7 天均值 {}（{}）",
            "7-day mean {} ({})",
            m.round_dp(4).normalize(),
            signed(c)
        ));
    }
    if let (Some(w), Some(c)) = (week_ago, vs_week) {
        parts.push(tr!(
            ctx,
            "上周同日 {}（{}）",
            "same weekday last week {} ({})",
            w.round_dp(4).normalize(),
            signed(c)
        ));
    }
    let direction = match vs_mean.or(vs_week) {
        Some(c) if c > Decimal::ZERO => tr!(ctx, "上升", "up"),
        Some(c) if c < Decimal::ZERO => tr!(ctx, "下降", "down"),
        _ => tr!(ctx, "持平", "flat"),
    };
    let mut r = ctx.graded(
        None,
        observed,
        tr!(
            ctx,
            "{name} {}，{direction}：对比{}",
            "{name} {} is {direction}: vs {}",
            current.round_dp(4).normalize(),
            parts.join(if ctx.zh { "，对比" } else { ", vs " })
        ),
    );
    r.baseline = mean.or(week_ago).map_or(Json::Null, num);
    r
}

fn refund_rate(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    if !inputs.has(Dataset::Orders) {
        return ctx.skipped(None, &ctx.no_export(Dataset::Orders));
    }
    let Some(rate) = kpi(inputs.kpis, "refund_rate") else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "本期无销售，无退款率",
                "no sales in the period: no refund rate"
            ),
        );
    };
    let refunds = kpi(inputs.kpis, "refund_amount").unwrap_or_default();
    let mut r = ctx.graded(
        None,
        rate,
        tr!(
            ctx,
            "退款率 {}（退款 {}）",
            "refund rate {} ({} refunded)",
            pct(rate),
            yuan(refunds)
        ),
    );
    let mut refunded: Vec<_> = inputs
        .facts
        .paid_in_period()
        .filter(|o| o.refund_amount > Decimal::ZERO)
        .collect();
    refunded.sort_by_key(|o| std::cmp::Reverse(o.refund_amount));
    r.samples = truncate_samples(
        refunded
            .iter()
            .map(|o| {
                Sample::at(
                    &o.source,
                    tr!(
                        ctx,
                        "订单 {}：{2} 中退款 {1}",
                        "order {}: refunded {} of {}",
                        o.order_id,
                        yuan(o.refund_amount),
                        yuan(o.paid_amount)
                    ),
                )
            })
            .collect(),
    );
    r
}

fn unpaid_orders(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    if !inputs.has(Dataset::Orders) {
        return ctx.skipped(None, &ctx.no_export(Dataset::Orders));
    }
    let f = inputs.facts;
    let count = f.unpaid_created.len();
    let amount: Decimal = f.unpaid_created.iter().map(|o| o.paid_amount).sum();
    let share = if f.orders_created == 0 {
        if count == 0 {
            Decimal::ZERO
        } else {
            Decimal::ONE
        }
    } else {
        Decimal::from(count) / Decimal::from(f.orders_created)
    };
    let mut r = ctx.graded(
        None,
        share,
        tr!(
            ctx,
            "{count} 笔未付款订单待催付，金额 {}（占下单 {2} 笔的 {1}）",
            "{count} unpaid order(s) worth {} to chase ({} of {} created)",
            yuan(amount),
            pct(share),
            f.orders_created
        ),
    );
    let mut unpaid: Vec<_> = f.unpaid_created.iter().collect();
    unpaid.sort_by(|a, b| {
        b.paid_amount
            .cmp(&a.paid_amount)
            .then(a.order_id.cmp(&b.order_id))
    });
    r.samples = truncate_samples(
        unpaid
            .iter()
            .map(|o| {
                Sample::at(
                    &o.source,
                    tr!(
                        ctx,
                        "订单 {}：{}，下单于 {}",
                        "order {}: {} created {}",
                        o.order_id,
                        yuan(o.paid_amount),
                        o.created_at.with_timezone(&f.tz).format("%Y-%m-%d %H:%M")
                    ),
                )
            })
            .collect(),
    );
    r
}

/// The stock window the run loaded, or (a caller that gave none) the one
/// of the period's own product rows.
pub(super) fn stock_view<'a>(inputs: &CheckInputs<'a>) -> std::borrow::Cow<'a, StockWindow> {
    match inputs.stock {
        Some(w) => std::borrow::Cow::Borrowed(w),
        None => std::borrow::Cow::Owned(StockWindow::from_rows(
            &inputs.facts.products,
            inputs.period().last_day(),
        )),
    }
}

fn label(p: &ProductFact) -> String {
    match &p.title {
        Some(t) => format!("{} {t}", p.sku_id),
        None => p.sku_id.clone(),
    }
}

fn stock(ctx: &Ctx, inputs: &CheckInputs, outs: bool) -> CheckResult {
    if !inputs.has(Dataset::Products) {
        return ctx.skipped(None, &ctx.no_export(Dataset::Products));
    }
    let view = stock_view(inputs);
    let Some(last) = view.last else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(ctx, "本期没有商品数据行", "no product rows for the period"),
        );
    };
    let safety = ctx.s.param("safety_days");
    let seven = Decimal::from(7);
    let mut hits: Vec<(Decimal, Sample)> = Vec::new();
    for p in &view.at_end {
        if p.status == Some(ProductStatus::Delisted) {
            continue;
        }
        let Some(stock) = p.stock else { continue };
        let sold = view.units(&p.sku_id);
        if sold <= 0 {
            continue;
        }
        let daily = Decimal::from(sold) / seven;
        if outs && stock <= 0 {
            hits.push((
                Decimal::from(-sold),
                Sample::at(
                    &p.row,
                    tr!(
                        ctx,
                        "{}：已断货，近 7 天售出 {sold} 件",
                        "{}: out of stock, sold {sold} in 7 days",
                        label(p)
                    ),
                ),
            ));
        } else if !outs && stock > 0 {
            let cover = Decimal::from(stock) / daily;
            if cover < safety {
                hits.push((
                    cover,
                    Sample::at(
                        &p.row,
                        tr!(
                            ctx,
                            "{}：库存 {stock}，近 7 天售出 {sold} 件，可售 {} 天",
                            "{}: stock {stock}, {sold} sold in 7 days, cover {} days",
                            label(p),
                            cover.round_dp(1).normalize()
                        ),
                    ),
                ));
            }
        }
    }
    hits.sort_by_key(|h| h.0);
    let n = hits.len();
    let message = if outs {
        tr!(
            ctx,
            "{n} 个近 7 天（至 {last}）有销量的 SKU 已断货",
            "{n} SKU(s) sold in the 7 days to {last} and are out of stock"
        )
    } else {
        tr!(
            ctx,
            "{last} 有 {n} 个 SKU 库存可售天数不足 {} 天",
            "{n} SKU(s) with less than {} days of stock cover on {last}",
            safety.normalize()
        )
    };
    let mut r = ctx.graded(None, Decimal::from(n), message);
    if !outs {
        r.baseline = num(safety);
    }
    r.samples = truncate_samples(hits.into_iter().map(|(_, s)| s).collect());
    r
}

fn ads_roi(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    if !inputs.has(Dataset::Ads) {
        return ctx.skipped(None, &ctx.no_export(Dataset::Ads));
    }
    let f = inputs.facts;
    struct Campaign<'a> {
        spend: Decimal,
        revenue: Decimal,
        row: &'a SourceRef,
    }
    let mut campaigns: BTreeMap<(String, &str), Campaign> = BTreeMap::new();
    for a in f.ads.iter().filter(|a| f.period.contains(a.date)) {
        let key = (a.channel.clone().unwrap_or_default(), a.campaign.as_str());
        let c = campaigns.entry(key).or_insert(Campaign {
            spend: Decimal::ZERO,
            revenue: Decimal::ZERO,
            row: &a.row,
        });
        c.spend += a.spend;
        c.revenue += a.revenue.unwrap_or_default();
    }
    let min_spend = ctx.s.param("min_spend");
    let mut eligible: Vec<(Decimal, String, &Campaign)> = campaigns
        .iter()
        .filter(|(_, c)| c.spend >= min_spend && !c.spend.is_zero())
        .map(|((channel, name), c)| {
            let label = if channel.is_empty() {
                name.to_string()
            } else {
                format!("{channel} / {name}")
            };
            (c.revenue / c.spend, label, c)
        })
        .collect();
    eligible.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let Some((lowest, _, _)) = eligible.first() else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "没有花费达到 {} 的推广计划",
                "no campaign spent {} or more",
                yuan(min_spend)
            ),
        );
    };
    let floor = ctx.s.warn.or(ctx.s.fail).unwrap_or(Decimal::ONE);
    let below = eligible.iter().filter(|e| e.0 < floor).count();
    let mut r = ctx.graded(
        None,
        *lowest,
        tr!(
            ctx,
            "花费 ≥ {1} 的 {0} 个计划中有 {below} 个 ROI 低于 {2}；最低 ROI {3}",
            "{below} of {} campaign(s) spending ≥ {} return less than {} per yuan; lowest ROI {}",
            eligible.len(),
            yuan(min_spend),
            floor.normalize(),
            lowest.round_dp(2)
        ),
    );
    r.samples = truncate_samples(
        eligible
            .iter()
            .filter(|e| e.0 < floor)
            .map(|(roi, label, c)| {
                Sample::at(
                    c.row,
                    tr!(
                        ctx,
                        "{label}：花费 {}，成交 {}，ROI {}",
                        "{label}: spend {}, revenue {}, ROI {}",
                        yuan(c.spend),
                        yuan(c.revenue),
                        roi.round_dp(2)
                    ),
                )
            })
            .collect(),
    );
    r
}

/// Per agent over the period: consultation-weighted response time, total
/// consultations, converted buyers and sales, and the agent's first row.
pub(crate) struct Agent<'a> {
    pub name: &'a str,
    pub consultations: i64,
    pub converted: i64,
    pub sales: Decimal,
    pub response: Option<Decimal>,
    pub row: &'a SourceRef,
}

pub(crate) fn agents<'a>(inputs: &'a CheckInputs) -> Vec<Agent<'a>> {
    let f = inputs.facts;
    let mut by: BTreeMap<&str, (Agent, Decimal, Decimal)> = BTreeMap::new();
    for s in f.service.iter().filter(|s| f.period.contains(s.date)) {
        let e = by.entry(s.agent.as_str()).or_insert((
            Agent {
                name: &s.agent,
                consultations: 0,
                converted: 0,
                sales: Decimal::ZERO,
                response: None,
                row: &s.row,
            },
            Decimal::ZERO,
            Decimal::ZERO,
        ));
        e.0.consultations += s.consultations.unwrap_or(0);
        e.0.converted += s.converted_buyers.unwrap_or(0);
        e.0.sales += s.sales.unwrap_or_default();
        if let (Some(c), Some(resp)) = (s.consultations, s.avg_response_seconds) {
            e.1 += Decimal::from(c) * resp;
            e.2 += Decimal::from(c);
        }
    }
    by.into_values()
        .map(|(mut a, num, den)| {
            a.response = (!den.is_zero()).then(|| num / den);
            a
        })
        .collect()
}

fn service_response(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    if !inputs.has(Dataset::Service) {
        return ctx.skipped(None, &ctx.no_export(Dataset::Service));
    }
    let Some(avg) = kpi(inputs.kpis, "avg_response_seconds") else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "本期没有响应时间数据",
                "no response times in the period"
            ),
        );
    };
    let mut r = ctx.graded(
        None,
        avg,
        tr!(
            ctx,
            "平均响应 {} 秒",
            "average response {} s",
            avg.round_dp(1).normalize()
        ),
    );
    if let Some(ceiling) = ctx.s.warn.or(ctx.s.fail) {
        let mut slow: Vec<Agent> = agents(inputs)
            .into_iter()
            .filter(|a| a.response.is_some_and(|x| x > ceiling))
            .collect();
        slow.sort_by_key(|a| std::cmp::Reverse(a.response));
        r.samples = truncate_samples(
            slow.iter()
                .map(|a| {
                    Sample::at(
                        a.row,
                        tr!(
                            ctx,
                            "{}：{} 秒，咨询 {} 人",
                            "{}: {} s over {} consultation(s)",
                            a.name,
                            a.response.unwrap_or_default().round_dp(1).normalize(),
                            a.consultations
                        ),
                    )
                })
                .collect(),
        );
    }
    r
}

fn target_pace(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let period = inputs.period();
    let as_of = period.last_day();
    let key = crate::compute::kpi::month_key(as_of);
    let targets: Vec<_> = inputs
        .facts
        .targets
        .iter()
        .filter(|t| t.month == key)
        .cloned()
        .collect();
    if targets.is_empty() {
        return ctx.result(
            None,
            Level::Pass,
            tr!(ctx, "{key} 没有目标", "no targets for {key}"),
        );
    }
    let mut daily: BTreeMap<NaiveDate, KpiSet> = inputs
        .history
        .range(as_of.with_day0(0).unwrap_or(as_of)..=as_of)
        .map(|(d, s)| (*d, s.clone()))
        .collect();
    if period.days() == 1 {
        daily.insert(period.start, inputs.kpis.clone());
    }
    let mtd = month_to_date_targets(&daily, as_of, &targets);
    let mut paces: Vec<(Decimal, String)> = Vec::new();
    let mut unknown = Vec::new();
    for t in &targets {
        match mtd
            .get(&format!("target_pace.{}", t.metric))
            .and_then(KpiValue::as_decimal)
        {
            Some(p) => {
                let done = mtd
                    .get(&format!("target_completion.{}", t.metric))
                    .and_then(KpiValue::as_decimal)
                    .unwrap_or_default();
                paces.push((
                    p,
                    tr!(
                        ctx,
                        "{}：目标完成 {}，时间进度达成 {}",
                        "{}: {} of target done, pace {}",
                        if ctx.zh {
                            kpi_label(&t.metric, true)
                        } else {
                            t.metric.clone()
                        },
                        pct(done),
                        pct(p)
                    ),
                ));
            }
            None => unknown.push(t.metric.clone()),
        }
    }
    paces.sort_by_key(|p| p.0);
    let Some((lowest, _)) = paces.first() else {
        return ctx.result(
            None,
            Level::Warn,
            tr!(
                ctx,
                "{} 的本月累计值未知（缺少日快照或指标不可累加）",
                "month-to-date actual unknown for {} (daily snapshots missing or not additive)",
                unknown.join(", ")
            ),
        );
    };
    let mut message = tr!(
        ctx,
        "截至 {as_of} 最低的目标进度达成 {}",
        "lowest month-to-date pace {} as of {as_of}",
        pct(*lowest)
    );
    if !unknown.is_empty() {
        message.push_str(&tr!(
            ctx,
            "；未知：{}",
            "; unknown for {}",
            unknown.join(", ")
        ));
    }
    let mut r = ctx.graded(None, *lowest, message);
    r.baseline = num(Decimal::ONE);
    r.samples = paces.into_iter().map(|(_, s)| Sample::note(s)).collect();
    r
}
