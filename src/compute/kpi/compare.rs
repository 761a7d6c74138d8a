//! Comparisons with earlier periods and the sales decomposition (SPEC §7).
//!
//! `change` is the relative change against the previous period,
//! `(current − previous) / |previous|`, for every kind including ratios (a
//! conversion rate going from 0.02 to 0.03 is a change of 0.5, not one
//! percentage point). Dividing by the magnitude keeps the sign meaning
//! "went up" when the previous value was negative (a gross loss). It is
//! missing when either value is missing or the previous value is zero.
//!
//! The decomposition splits `gross_sales = visitors × conversion_rate × aov`
//! with the logarithmic-mean (LMDI, log-share) method: each factor's
//! contribution is `L(G₁, G₀) · ln(x₁ / x₀)` with
//! `L = (G₁ − G₀) / (ln G₁ − ln G₀)` (and `L = G` when sales did not move).
//! The logarithms are `Decimal` logarithms, so no binary float enters; the
//! contributions are rounded half-even to 0.01 and the rounding remainder
//! goes to aov, so the three contributions add up to the change exactly.

use std::collections::BTreeMap;

use rust_decimal::prelude::*;
use serde_json::{Value as Json, json};

use super::{KpiSet, KpiValue, decimal_number, div};

/// One KPI against its earlier periods.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The previous period's value; `None` when there is no previous set.
    pub previous: Option<KpiValue>,
    /// Relative change against the previous period.
    pub change: Option<Decimal>,
    /// The same period a week earlier (daily jobs).
    pub week_ago: Option<KpiValue>,
    /// The same period a year earlier, when the store has it.
    pub year_ago: Option<KpiValue>,
}

pub type Comparisons = BTreeMap<String, Comparison>;

/// `(current − previous) / |previous|`; `None` when either is missing or
/// the previous value is zero.
pub fn relative_change(current: &KpiValue, previous: &KpiValue) -> Option<Decimal> {
    let (c, p) = (current.as_decimal()?, previous.as_decimal()?);
    div(c - p, p.abs())
}

/// Compares every KPI of `current` with the sets given.
pub fn compare(
    current: &KpiSet,
    previous: Option<&KpiSet>,
    week_ago: Option<&KpiSet>,
    year_ago: Option<&KpiSet>,
) -> Comparisons {
    let pick = |set: Option<&KpiSet>, id: &str| {
        set.map(|s| s.get(id).cloned().unwrap_or(KpiValue::Missing))
    };
    current
        .iter()
        .map(|(id, value)| {
            let prev = pick(previous, id);
            let change = prev.as_ref().and_then(|p| relative_change(value, p));
            (
                id.clone(),
                Comparison {
                    previous: prev,
                    change,
                    week_ago: pick(week_ago, id),
                    year_ago: pick(year_ago, id),
                },
            )
        })
        .collect()
}

/// `{id: {previous, change, week_ago, year_ago}}` for summary.json; a
/// value that is missing or has no period to come from is null.
pub fn comparisons_to_json(c: &Comparisons) -> Json {
    let value = |v: &Option<KpiValue>| v.as_ref().map_or(Json::Null, KpiValue::to_json);
    Json::Object(
        c.iter()
            .map(|(id, cmp)| {
                (
                    id.clone(),
                    json!({
                        "previous": value(&cmp.previous),
                        "change": cmp.change.map_or(Json::Null, decimal_number),
                        "week_ago": value(&cmp.week_ago),
                        "year_ago": value(&cmp.year_ago),
                    }),
                )
            })
            .collect(),
    )
}

/// One factor's part in the change of gross sales.
#[derive(Debug, Clone, PartialEq)]
pub struct FactorContribution {
    /// `visitors`, `conversion_rate` or `aov`.
    pub factor: &'static str,
    pub previous: Decimal,
    pub current: Decimal,
    /// Yuan of the sales change due to this factor (0.01 precision).
    pub contribution: Decimal,
    /// contribution / change; missing when sales did not change.
    pub share: Option<Decimal>,
}

/// Why gross sales moved between two periods.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    pub previous_gross_sales: Decimal,
    pub current_gross_sales: Decimal,
    pub change: Decimal,
    pub factors: Vec<FactorContribution>,
}

impl Decomposition {
    /// The summary.json form: money as decimal strings, visitors as an
    /// integer, rates and shares as numbers.
    pub fn to_json(&self) -> Json {
        let factor_value = |name: &str, d: Decimal| match name {
            "visitors" => d.to_i64().map_or(Json::Null, Json::from),
            "aov" => Json::String(d.to_string()),
            _ => decimal_number(d),
        };
        json!({
            "previous_gross_sales": self.previous_gross_sales.to_string(),
            "current_gross_sales": self.current_gross_sales.to_string(),
            "change": self.change.to_string(),
            "method": "lmdi",
            "factors": self.factors.iter().map(|f| json!({
                "factor": f.factor,
                "previous": factor_value(f.factor, f.previous),
                "current": factor_value(f.factor, f.current),
                "contribution": f.contribution.to_string(),
                "share": f.share.map_or(Json::Null, decimal_number),
            })).collect::<Vec<_>>(),
        })
    }

    /// The factor that moved sales most (by absolute contribution).
    pub fn main_factor(&self) -> Option<&FactorContribution> {
        self.factors.iter().max_by_key(|f| f.contribution.abs())
    }
}

const FACTORS: [&str; 3] = ["visitors", "conversion_rate", "aov"];

/// Splits the change in gross sales into the three factors. `None` when a
/// factor is missing or not positive in either period (a logarithm of zero
/// has no share to give).
pub fn decompose(current: &KpiSet, previous: &KpiSet) -> Option<Decomposition> {
    let get = |set: &KpiSet, id: &str| {
        set.get(id)
            .and_then(KpiValue::as_decimal)
            .filter(|d| *d > Decimal::ZERO)
    };
    let g1 = get(current, "gross_sales")?;
    let g0 = get(previous, "gross_sales")?;
    let mut values = Vec::with_capacity(3);
    for name in FACTORS {
        values.push((name, get(previous, name)?, get(current, name)?));
    }
    let change = g1 - g0;
    let weight = if change.is_zero() {
        g1
    } else {
        let log_ratio = div(g1, g0)?.checked_ln()?;
        div(change, log_ratio)?
    };
    let mut factors = Vec::with_capacity(3);
    let mut assigned = Decimal::ZERO;
    for (i, (name, x0, x1)) in values.into_iter().enumerate() {
        let contribution = if i + 1 == FACTORS.len() {
            change - assigned
        } else {
            let raw = weight.checked_mul(div(x1, x0)?.checked_ln()?)?;
            raw.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
        };
        assigned += contribution;
        factors.push(FactorContribution {
            factor: name,
            previous: x0,
            current: x1,
            contribution,
            share: div(contribution, change).map(|s| s.round_dp(6)),
        });
    }
    Some(Decomposition {
        previous_gross_sales: g0,
        current_gross_sales: g1,
        change,
        factors,
    })
}
