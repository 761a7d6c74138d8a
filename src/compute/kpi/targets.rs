//! Monthly targets: completion and pace (SPEC §7).
//!
//! A month period compares its own totals with the month's target. Day and
//! week periods compare the month-to-date total, summed from daily
//! snapshots; only additive metrics (counts and money that are sums over
//! days) can be summed that way, so a target on a ratio or on distinct
//! buyers gets completion and pace only in the monthly job.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;

use super::{KpiKind, KpiSet, KpiValue, div, kpi_def, month_key};
use crate::model::facts::TargetFact;

/// `target.<m>`, `target_completion.<m>` and `target_pace.<m>` for every
/// target of the month containing `month`, given the actual values and how
/// many of the month's days have elapsed.
pub fn target_kpis(
    actual: &KpiSet,
    targets: &[TargetFact],
    month: NaiveDate,
    elapsed_days: Decimal,
    days_in_month: Decimal,
) -> KpiSet {
    let key = month_key(month);
    let mut out = KpiSet::new();
    for t in targets.iter().filter(|t| t.month == key) {
        let Some(def) = kpi_def(&t.metric) else {
            tracing::warn!(metric = %t.metric, month = %t.month, "target for an unknown KPI ignored");
            continue;
        };
        let target_value = match def.kind {
            KpiKind::Money => KpiValue::Money(t.target),
            KpiKind::Count => match i64::try_from(t.target.trunc()) {
                Ok(c) if t.target.fract().is_zero() => KpiValue::Count(c),
                _ => KpiValue::Number(t.target),
            },
            KpiKind::Ratio => KpiValue::Ratio(t.target),
            KpiKind::Number | KpiKind::Seconds => KpiValue::Number(t.target),
        };
        out.insert(format!("target.{}", t.metric), target_value);
        let completion = actual
            .get(&t.metric)
            .and_then(KpiValue::as_decimal)
            .and_then(|a| div(a, t.target));
        let time_share = div(elapsed_days, days_in_month);
        let pace = match (completion, time_share) {
            (Some(c), Some(s)) => div(c, s),
            _ => None,
        };
        out.insert(
            format!("target_completion.{}", t.metric),
            completion.map_or(KpiValue::Missing, KpiValue::Ratio),
        );
        out.insert(
            format!("target_pace.{}", t.metric),
            pace.map_or(KpiValue::Missing, KpiValue::Ratio),
        );
    }
    out
}

/// Month-to-date target KPIs as of `as_of` (inclusive) from daily
/// snapshots, which must include `as_of` itself. A day of the month
/// without a snapshot makes the actual unknown rather than understated.
pub fn month_to_date_targets(
    daily: &BTreeMap<NaiveDate, KpiSet>,
    as_of: NaiveDate,
    targets: &[TargetFact],
) -> KpiSet {
    let month_start = as_of.with_day(1).unwrap_or(as_of);
    let elapsed = i64::from(as_of.day());
    let days_in_month = crate::period::Period::month_of(as_of).days();
    let key = month_key(as_of);
    let mut actual = KpiSet::new();
    for t in targets.iter().filter(|t| t.month == key) {
        let additive = kpi_def(&t.metric).is_some_and(|d| d.additive);
        let value: Option<Decimal> = if additive {
            (0..elapsed)
                .map(|i| month_start + Days::new(i as u64))
                .map(|d| {
                    daily
                        .get(&d)
                        .and_then(|set| set.get(&t.metric))
                        .and_then(KpiValue::as_decimal)
                })
                .sum()
        } else {
            None
        };
        actual.insert(
            t.metric.clone(),
            value.map_or(KpiValue::Missing, KpiValue::Number),
        );
    }
    target_kpis(
        &actual,
        targets,
        as_of,
        Decimal::from(elapsed),
        Decimal::from(days_in_month),
    )
}
