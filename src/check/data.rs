//! Data checks: is each dataset's export there, whole and sane, and do
//! orders and traffic agree.

use rust_decimal::Decimal;
use serde_json::Value as Json;

use super::{
    CheckInputs, CheckResult, Ctx, DatasetInput, Level, Sample, num, pct, truncate_samples, yuan,
};
use crate::compute::kpi::{KpiValue, shop_traffic_rows, traffic_paid_amount};
use crate::model::Dataset;

pub(super) fn run(ctx: &Ctx, inputs: &CheckInputs) -> Vec<Option<CheckResult>> {
    match ctx.def.id {
        "reconciliation" => vec![reconciliation(ctx, inputs)],
        "traffic_total_row" => vec![traffic_total_row(ctx, inputs)],
        id => inputs
            .datasets
            .iter()
            .map(|d| per_dataset(id, ctx, d))
            .collect(),
    }
}

fn per_dataset(id: &str, ctx: &Ctx, d: &DatasetInput) -> Option<CheckResult> {
    let name = d.name();
    let suffix = Some(name);
    if id == "file_present" {
        return Some(if d.present {
            ctx.result(
                suffix,
                Level::Pass,
                tr!(
                    ctx,
                    "{name}：{} 个文件",
                    "{name}: {} file(s)",
                    d.files.len()
                ),
            )
        } else if d.required {
            ctx.result(
                suffix,
                Level::Fail,
                tr!(
                    ctx,
                    "{name}：缺少必需的导出文件",
                    "{name}: required export is missing"
                ),
            )
        } else {
            ctx.skipped(
                suffix,
                &tr!(
                    ctx,
                    "缺少可选的{name}导出文件",
                    "optional {name} export is missing"
                ),
            )
        });
    }
    if !d.present {
        return None;
    }
    let total_rows = d.records + d.invalid.len() as u64;
    Some(match id {
        "not_empty" => {
            let level = match (total_rows, d.required) {
                (0, true) => Level::Fail,
                (0, false) => Level::Warn,
                _ => Level::Pass,
            };
            let mut r = ctx.result(
                suffix,
                level,
                tr!(
                    ctx,
                    "{name}：{total_rows} 行数据",
                    "{name}: {total_rows} data row(s)"
                ),
            );
            r.observed = Json::from(total_rows);
            r
        }
        "required_columns" => {
            let level = if d.missing_columns.is_empty() {
                Level::Pass
            } else {
                Level::Fail
            };
            let message = if d.missing_columns.is_empty() {
                tr!(
                    ctx,
                    "{name}：必需列齐全",
                    "{name}: every required column found"
                )
            } else {
                tr!(
                    ctx,
                    "{name}：缺少必需列 {}",
                    "{name}: missing required column(s) {}",
                    d.missing_columns.join(", ")
                )
            };
            let mut r = ctx.result(suffix, level, message);
            r.observed = Json::from(d.missing_columns.clone());
            r
        }
        "invalid_values" => {
            let share = if total_rows == 0 {
                Decimal::ZERO
            } else {
                Decimal::from(d.invalid.len()) / Decimal::from(total_rows)
            };
            let mut r = ctx.graded(
                suffix,
                share,
                tr!(
                    ctx,
                    "{name}：{total_rows} 行中 {} 行被拒（{}）",
                    "{name}: {} of {total_rows} row(s) rejected ({})",
                    d.invalid.len(),
                    pct(share)
                ),
            );
            r.samples = truncate_samples(
                d.invalid
                    .iter()
                    .map(|i| Sample {
                        file: i.file.clone(),
                        row: i.row,
                        detail: tr!(ctx, "列“{}”：{}", "column {:?}: {}", i.column, i.reason),
                    })
                    .collect(),
            );
            r
        }
        "duplicate_keys" => {
            let n = Decimal::from(d.duplicate_keys.len());
            let mut r = ctx.graded(
                suffix,
                n,
                tr!(
                    ctx,
                    "{name}：{} 行的键与前面的行重复",
                    "{name}: {} row(s) repeat an earlier key",
                    d.duplicate_keys.len()
                ),
            );
            r.samples = truncate_samples(
                d.duplicate_keys
                    .iter()
                    .map(|k| Sample {
                        file: k.file.clone(),
                        row: k.row,
                        detail: tr!(
                            ctx,
                            "键 {} 首次出现在第 {} 行",
                            "key {} first seen on row {}",
                            k.key,
                            k.first_row
                        ),
                    })
                    .collect(),
            );
            r
        }
        "rows_outside_period" => ctx.graded(
            suffix,
            Decimal::from(d.rows_outside_period),
            tr!(
                ctx,
                "{name}：{} 行日期不在本期内",
                "{name}: {} row(s) dated outside the period",
                d.rows_outside_period
            ),
        ),
        "row_count" => row_count(ctx, d),
        _ => return None,
    })
}

/// The median of the trailing counts (mean of the middle two for an even
/// number), or `None` without history.
pub(crate) fn median(values: &[u64]) -> Option<Decimal> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        Decimal::from(v[mid])
    } else {
        (Decimal::from(v[mid - 1]) + Decimal::from(v[mid])) / Decimal::TWO
    })
}

fn row_count(ctx: &Ctx, d: &DatasetInput) -> CheckResult {
    let name = d.name();
    let suffix = Some(name);
    let today = d.row_count_today;
    match median(&d.trailing_counts).filter(|m| !m.is_zero()) {
        None => {
            let mut r = ctx.result(
                suffix,
                Level::Pass,
                tr!(
                    ctx,
                    "{name}：{today} 行；没有前 7 天的记录可比",
                    "{name}: {today} row(s); no trailing history to compare with"
                ),
            );
            r.observed = Json::from(today);
            r
        }
        Some(m) => {
            let share = Decimal::from(today) / m;
            let mut r = ctx.graded(
                suffix,
                share,
                tr!(
                    ctx,
                    "{name}：{today} 行，为前 7 天中位数 {1} 的 {0}",
                    "{name}: {today} row(s), {} of the trailing 7-day median {}",
                    pct(share),
                    m.normalize()
                ),
            );
            r.baseline = num(m);
            r
        }
    }
}

fn reconciliation(ctx: &Ctx, inputs: &CheckInputs) -> Option<CheckResult> {
    if !inputs.has(Dataset::Orders) || !inputs.has(Dataset::Traffic) {
        return None;
    }
    let suffix = Some("orders_traffic");
    let orders = match inputs.kpis.get("gross_sales") {
        Some(KpiValue::Money(m)) => *m,
        _ => Decimal::ZERO,
    };
    let Some(traffic) = traffic_paid_amount(inputs.facts) else {
        return Some(ctx.result(
            suffix,
            Level::Pass,
            tr!(
                ctx,
                "流量数据没有支付金额，无法对账",
                "traffic export carries no paid amount: nothing to reconcile"
            ),
        ));
    };
    let diff = (orders - traffic).abs();
    let share = if traffic.is_zero() {
        if orders.is_zero() {
            Decimal::ZERO
        } else {
            Decimal::ONE
        }
    } else {
        diff / traffic
    };
    let mut r = ctx.graded(
        suffix,
        share,
        tr!(
            ctx,
            "订单支付金额 {} 与流量支付金额 {} 相差 {}（{}）",
            "orders gross sales {} vs traffic paid amount {}: difference {} ({})",
            yuan(orders),
            yuan(traffic),
            yuan(diff),
            pct(share)
        ),
    );
    r.baseline = Json::String(traffic.to_string());
    Some(r)
}

fn traffic_total_row(ctx: &Ctx, inputs: &CheckInputs) -> Option<CheckResult> {
    if !inputs.has(Dataset::Traffic) {
        return None;
    }
    let (_, fallback) = shop_traffic_rows(inputs.facts);
    let suffix = Some("traffic");
    let mut r = if fallback.is_empty() {
        ctx.result(
            suffix,
            Level::Pass,
            tr!(ctx, "每天都有全店汇总行", "every day has a shop-total row"),
        )
    } else {
        ctx.result(
            suffix,
            Level::Warn,
            tr!(
                ctx,
                "{} 天没有全店汇总行：访客数按来源相加，来源之间有重叠，数值偏高",
                "{} day(s) without a shop-total row: visitors summed over sources, which overlap and overstate",
                fallback.len()
            ),
        )
    };
    r.observed = Json::from(fallback.len());
    r.samples = truncate_samples(
        fallback
            .iter()
            .map(|d| Sample::note(tr!(ctx, "{d}：无汇总行", "{d}: no total row")))
            .collect(),
    );
    Some(r)
}
