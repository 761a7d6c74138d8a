//! The monthly review: targets, members, repurchase, tier migration,
//! stock to clear, sell-through, the service leaderboard and the
//! repurchase cycle with the campaign cadence it suggests.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value as Json;

use super::daily::{Agent, agents, kpi};
use super::{CheckInputs, CheckResult, Ctx, Level, Sample, num, pct, truncate_samples, yuan};
use crate::compute::kpi::{KpiValue, kpi_label, month_key};
use crate::model::Dataset;
use crate::model::facts::ProductFact;

pub(super) fn run(ctx: &Ctx, inputs: &CheckInputs) -> Option<CheckResult> {
    let needs = match ctx.def.id {
        "member_growth" => Some(Dataset::Members),
        "repurchase_rate" => Some(Dataset::Orders),
        "zero_sellers" | "sell_through" => Some(Dataset::Products),
        "service_leaderboard" => Some(Dataset::Service),
        _ => None,
    };
    if let Some(d) = needs.filter(|d| !inputs.has(*d)) {
        return Some(ctx.skipped(None, &ctx.no_export(d)));
    }
    Some(match ctx.def.id {
        "target_completion" => target_completion(ctx, inputs),
        "member_growth" => member_growth(ctx, inputs),
        "repurchase_rate" => repurchase_rate(ctx, inputs),
        "tier_migration" => tier_migration(ctx, inputs),
        "zero_sellers" => zero_sellers(ctx, inputs),
        "sell_through" => sell_through(ctx, inputs),
        "service_leaderboard" => service_leaderboard(ctx, inputs),
        "repurchase_cycle" => repurchase_cycle(ctx, inputs),
        _ => return None,
    })
}

fn target_completion(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let key = month_key(inputs.period().start);
    let metrics: Vec<&str> = inputs
        .facts
        .targets
        .iter()
        .filter(|t| t.month == key)
        .map(|t| t.metric.as_str())
        .collect();
    if metrics.is_empty() {
        return ctx.result(
            None,
            Level::Pass,
            tr!(ctx, "{key} 没有目标", "no targets for {key}"),
        );
    }
    let mut done: Vec<(Decimal, String)> = Vec::new();
    let mut unknown = Vec::new();
    for m in metrics {
        let get = |prefix: &str| {
            inputs
                .kpis
                .get(&format!("{prefix}.{m}"))
                .and_then(KpiValue::as_decimal)
        };
        match get("target_completion") {
            Some(c) => done.push((
                c,
                tr!(
                    ctx,
                    "{}：实际 {} / 目标 {}（{}）",
                    "{}: {} of target {} ({})",
                    if ctx.zh {
                        kpi_label(m, true)
                    } else {
                        m.to_string()
                    },
                    kpi(inputs.kpis, m)
                        .map_or("—".into(), |a| a.round_dp(2).normalize().to_string()),
                    get("target").map_or("—".into(), |t| t.normalize().to_string()),
                    pct(c)
                ),
            )),
            None => unknown.push(m),
        }
    }
    done.sort_by_key(|d| d.0);
    let Some((lowest, _)) = done.first() else {
        return ctx.result(
            None,
            Level::Warn,
            tr!(
                ctx,
                "{} 的完成率未知",
                "completion unknown for {}",
                unknown.join(", ")
            ),
        );
    };
    let met = done.iter().filter(|d| d.0 >= Decimal::ONE).count();
    let mut r = ctx.graded(
        None,
        *lowest,
        tr!(
            ctx,
            "{key} 共 {} 个目标，达成 {met} 个；最低完成率 {}",
            "{met} of {} target(s) met for {key}; lowest completion {}",
            done.len() + unknown.len(),
            pct(*lowest)
        ),
    );
    r.samples = done.into_iter().map(|(_, s)| Sample::note(s)).collect();
    r
}

fn member_growth(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let Some(m) = inputs.members else {
        return ctx.skipped(
            None,
            &tr!(ctx, "没有会员数统计", "member counts not available"),
        );
    };
    let fall = match m.joined_previous_period {
        Some(p) if p > 0 => ((Decimal::from(p) - Decimal::from(m.joined_in_period))
            / Decimal::from(p))
        .max(Decimal::ZERO),
        _ => Decimal::ZERO,
    };
    let net = m.members_at_end as i64 - m.members_at_start as i64;
    let mut r = ctx.graded(
        None,
        fall,
        tr!(
            ctx,
            "新入会 {} 人（上期 {}）；会员数 {} → {}（{net:+}）",
            "{} member(s) joined (previous period {}); members {} → {} ({net:+})",
            m.joined_in_period,
            m.joined_previous_period
                .map_or("—".into(), |p| p.to_string()),
            m.members_at_start,
            m.members_at_end
        ),
    );
    if net < 0 && r.level < Level::Warn {
        r.level = ctx.s.level.unwrap_or(Level::Warn);
        r.message
            .push_str(&tr!(ctx, "：会员总数减少", ": the member base shrank"));
    }
    r.baseline = m.joined_previous_period.map_or(Json::Null, Json::from);
    r
}

fn repurchase_rate(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let Some(rate) = kpi(inputs.kpis, "repurchase_rate") else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(ctx, "本期没有支付买家", "no paying buyers in the period"),
        );
    };
    let previous = inputs.previous.and_then(|p| kpi(p, "repurchase_rate"));
    let fall = match previous {
        Some(p) if !p.is_zero() => ((p - rate) / p).max(Decimal::ZERO),
        _ => Decimal::ZERO,
    };
    let mut r = ctx.graded(
        None,
        fall,
        tr!(
            ctx,
            "复购率 {}（上期 {}）",
            "repurchase rate {} (previous period {})",
            pct(rate),
            previous.map_or("—".into(), pct)
        ),
    );
    r.baseline = previous.map_or(Json::Null, num);
    r
}

fn tier_migration(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let Some(t) = inputs.tier_changes else {
        return ctx.skipped(
            None,
            &tr!(ctx, "未计算会员分层", "member tiers not computed"),
        );
    };
    let evaluated = t.up + t.down + t.same;
    let net = if evaluated == 0 {
        Decimal::ZERO
    } else {
        (Decimal::from(t.down) - Decimal::from(t.up)) / Decimal::from(evaluated)
    };
    let mut r = ctx.graded(
        None,
        net,
        tr!(
            ctx,
            "会员等级：升 {}，降 {}，不变 {}，新 {}",
            "levels: {} up, {} down, {} same, {} new",
            t.up,
            t.down,
            t.same,
            t.new
        ),
    );
    r.baseline = Json::from(t.up);
    r
}

fn zero_sellers(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let days = ctx.s.param("days");
    let Some(sold) = inputs.sold_in_window else {
        return ctx.skipped(
            None,
            &tr!(
                ctx,
                "没有各 SKU 近 {} 天的销量",
                "{}-day sales per SKU not available",
                days.normalize()
            ),
        );
    };
    // The candidates are the stock window's last day, the SKUs `sold` was
    // asked about, as on the warehouse sheet.
    let view = super::daily::stock_view(inputs);
    if view.last.is_none() {
        return ctx.result(
            None,
            Level::Pass,
            tr!(ctx, "本期没有商品数据行", "no product rows for the period"),
        );
    }
    let window_days = u32::try_from(days.trunc()).unwrap_or(90);
    let hits = crate::compute::kpi::zero_sellers(&view, sold, window_days, inputs.facts.tz);
    let stock: i64 = hits.iter().filter_map(|p| p.stock).sum();
    let mut r = ctx.graded(
        None,
        Decimal::from(hits.len()),
        tr!(
            ctx,
            "{} 个在线有库存（共 {stock} 件）的 SKU 近 {window_days} 天零销量，建议清仓",
            "{} SKU(s) online with stock ({stock} units) and no sale in {window_days} days: clear them (清仓)",
            hits.len()
        ),
    );
    r.samples = truncate_samples(
        hits.iter()
            .map(|p| {
                Sample::at(
                    &p.row,
                    tr!(
                        ctx,
                        "{}{}：库存 {}",
                        "{}{}: stock {}",
                        p.sku_id,
                        p.title
                            .as_deref()
                            .map(|t| format!(" {t}"))
                            .unwrap_or_default(),
                        p.stock.unwrap_or(0)
                    ),
                )
            })
            .collect(),
    );
    r
}

fn sell_through(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let Some(rate) = kpi(inputs.kpis, "sell_through_rate") else {
        return ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "本期无销量也无库存",
                "no units sold and no stock in the period"
            ),
        );
    };
    let mut r = ctx.graded(
        None,
        rate,
        tr!(ctx, "售罄率 {}", "sell-through {}", pct(rate)),
    );
    let f = inputs.facts;
    if let Some(last) = f
        .products
        .iter()
        .filter(|p| f.period.contains(p.date))
        .map(|p| p.date)
        .max()
    {
        let mut per: std::collections::BTreeMap<&str, (i64, i64, Option<&ProductFact>)> =
            Default::default();
        for p in f.products.iter().filter(|p| f.period.contains(p.date)) {
            let e = per.entry(p.sku_id.as_str()).or_default();
            e.0 += p.paid_units.unwrap_or(0);
            if p.date == last {
                e.1 += p.stock.unwrap_or(0);
                e.2 = Some(p);
            }
        }
        let mut low: Vec<(Decimal, &str, i64, i64, &ProductFact)> = per
            .iter()
            .filter_map(|(sku, (u, s, p))| {
                let p = (*p)?;
                (*s > 0).then(|| (Decimal::from(*u) / Decimal::from(u + s), *sku, *u, *s, p))
            })
            .collect();
        low.sort_by(|a, b| a.0.cmp(&b.0).then(b.3.cmp(&a.3)).then(a.1.cmp(b.1)));
        r.samples = truncate_samples(
            low.iter()
                .map(|(st, sku, u, s, p)| {
                    Sample::at(
                        &p.row,
                        tr!(
                            ctx,
                            "{sku}：售出 {u}，库存 {s}，售罄率 {}",
                            "{sku}: sold {u}, stock {s}, sell-through {}",
                            pct(*st)
                        ),
                    )
                })
                .collect(),
        );
    }
    r
}

fn service_leaderboard(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let mut board: Vec<Agent> = agents(inputs);
    if board.is_empty() {
        return ctx.result(
            None,
            Level::Pass,
            tr!(ctx, "本期没有客服数据", "no service rows in the period"),
        );
    }
    let conv = |a: &Agent| {
        (a.consultations > 0).then(|| Decimal::from(a.converted) / Decimal::from(a.consultations))
    };
    board.sort_by(|a, b| {
        b.sales
            .cmp(&a.sales)
            .then(conv(b).cmp(&conv(a)))
            .then(a.name.cmp(b.name))
    });
    let shop = kpi(inputs.kpis, "consult_conversion_rate").filter(|s| !s.is_zero());
    let min_cons = ctx.s.param("min_consultations");
    let lowest = shop.and_then(|shop| {
        board
            .iter()
            .filter(|a| Decimal::from(a.consultations) >= min_cons)
            .filter_map(|a| conv(a).map(|c| (c / shop, a.name)))
            .min_by(|x, y| x.0.cmp(&y.0))
    });
    let Some(leader) = board.first().map(|a| a.name) else {
        return ctx.result(None, Level::Pass, String::new());
    };
    let mut r = match lowest {
        Some((ratio, name)) => ctx.graded(
            None,
            ratio,
            tr!(
                ctx,
                "{} 位客服；销售第一 {leader}；转化最低 {name}，为全店 {2} 的 {1}",
                "{} agent(s); top seller {leader}; lowest conversion {name} at {} of the shop's {}",
                board.len(),
                pct(ratio),
                shop.map_or("—".into(), pct)
            ),
        ),
        None => ctx.result(
            None,
            Level::Pass,
            tr!(
                ctx,
                "{} 位客服；销售第一 {leader}",
                "{} agent(s); top seller {leader}",
                board.len()
            ),
        ),
    };
    r.baseline = shop.map_or(Json::Null, num);
    r.samples = truncate_samples(
        board
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Sample::at(
                    a.row,
                    tr!(
                        ctx,
                        "第 {} 名 {}：销售额 {}，询单转化 {}（咨询 {} 人），响应 {} 秒",
                        "#{} {}: sales {}, conversion {} of {} consultation(s), response {} s",
                        i + 1,
                        a.name,
                        yuan(a.sales),
                        conv(a).map_or("—".into(), pct),
                        a.consultations,
                        a.response
                            .map_or("—".into(), |r| r.round_dp(1).normalize().to_string())
                    ),
                )
            })
            .collect(),
    );
    r
}

/// Suggested campaign cadence for a store repurchase cycle:
/// round(1.5 × cycle) days, halves away from zero.
pub fn suggested_cadence_days(cycle_days: Decimal) -> Decimal {
    (cycle_days * Decimal::new(15, 1))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
}

fn repurchase_cycle(ctx: &Ctx, inputs: &CheckInputs) -> CheckResult {
    let Some(rc) = inputs.repurchase else {
        return ctx.skipped(
            None,
            &tr!(ctx, "未计算会员分层", "member tiers not computed"),
        );
    };
    let Some(cycle) = rc.store_cycle_days else {
        return ctx.result(
            None,
            Level::Warn,
            tr!(
                ctx,
                "分层窗口内没有复购买家，无法计算复购周期",
                "no repeat buyers in the tier window: no repurchase cycle"
            ),
        );
    };
    let cadence = suggested_cadence_days(cycle);
    let mut r = ctx.result(
        None,
        Level::Pass,
        tr!(
            ctx,
            "复购周期 {} 天（{} 位复购买家）：建议每 {} 天做一次会员活动",
            "repurchase cycle {} days over {} repeat buyer(s): run a member campaign every {} days",
            cycle.round_dp(1).normalize(),
            rc.repeat_buyers,
            cadence
        ),
    );
    r.observed = num(cycle);
    r.baseline = num(cadence);
    r
}
