//! Loading what the compute and check stages need for one period.
//!
//! Every query is bounded by the period (or a short trailing window), so a
//! run's cost follows the size of the period, not of the history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::RunError;
use crate::compute::kpi::{
    KpiSet, PeriodFacts, compute_kpis, kpis_from_json, kpis_to_json, period_instants,
};
use crate::config::Config;
use crate::model::facts::TargetFact;
use crate::period::Period;
use crate::store::Store;

/// Loads the facts of `period` from the store.
pub fn load(store: &Store, config: &Config, period: Period) -> Result<PeriodFacts, RunError> {
    let tz = config.timezone;
    let (start, end) = period_instants(&period, tz);
    let orders_paid = store.orders_paid_between(start, end)?;
    let buyers: Vec<String> = orders_paid
        .iter()
        .map(|o| o.member_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let items = store.items_for_paid_orders_between(start, end)?;
    let skus: Vec<String> = items
        .iter()
        .map(|i| i.sku_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut facts = PeriodFacts::empty(period, tz);
    facts.orders_created = store.count_orders_created_between(start, end)?;
    facts.unpaid_created = store.unpaid_orders_created_between(start, end)?;
    facts.unit_costs = store.unit_costs_for(period.last_day(), &skus)?;
    facts.first_paid_at = store.first_paid_at(&buyers)?;
    facts.orders_paid = orders_paid;
    facts.items = items;
    facts.traffic = store.traffic_between(period.start, period.end)?;
    facts.traffic_types = config
        .traffic_types
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    facts.products = store.products_between(period.start, period.end)?;
    facts.service = store.service_between(period.start, period.end)?;
    facts.ads = store.ads_between(period.start, period.end)?;
    facts.targets = targets_for(store, config, period)?;
    Ok(facts)
}

/// Monthly targets for the months the period touches: the store's
/// `targets` rows (from `targets.file`), overridden by inline config months.
fn targets_for(
    store: &Store,
    config: &Config,
    period: Period,
) -> Result<Vec<TargetFact>, RunError> {
    let mut months = BTreeSet::new();
    for d in [period.start, period.last_day()] {
        months.insert(d.format("%Y-%m").to_string());
    }
    let mut out: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for m in &months {
        for t in store.targets_for_month(m)? {
            out.insert((t.month.clone(), t.metric.clone()), t.target);
        }
        if let Some(inline) = config.targets.months.get(m) {
            for (metric, v) in inline {
                out.insert((m.clone(), metric.clone()), *v);
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|((month, metric), target)| TargetFact {
            month,
            metric,
            target,
        })
        .collect())
}

/// Daily KPI snapshots for `days`, computing (and storing) those that are
/// missing or whose inputs were re-ingested in this run (`stale`).
pub fn daily_snapshots(
    store: &mut Store,
    config: &Config,
    days: &[NaiveDate],
    stale: &BTreeSet<NaiveDate>,
) -> Result<BTreeMap<NaiveDate, KpiSet>, RunError> {
    let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
        return Ok(BTreeMap::new());
    };
    let stored = store.daily_kpis(*first, *last + Days::new(1))?;
    let mut out = BTreeMap::new();
    for day in days {
        let cached = stored.get(day).filter(|_| !stale.contains(day)).map(|m| {
            let json: serde_json::Map<String, serde_json::Value> = m
                .iter()
                .map(|(k, v)| {
                    let value = v
                        .as_deref()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or(serde_json::Value::Null);
                    (k.clone(), value)
                })
                .collect();
            kpis_from_json(&serde_json::Value::Object(json))
        });
        let set = match cached {
            Some(set) => set,
            None => {
                let facts = load(store, config, Period::day(*day))?;
                let set = compute_kpis(&facts);
                store.put_daily_kpis(*day, &snapshot_map(&set))?;
                set
            }
        };
        out.insert(*day, set);
    }
    Ok(out)
}

fn snapshot_map(set: &KpiSet) -> BTreeMap<String, Option<String>> {
    let json = kpis_to_json(set);
    let mut map = BTreeMap::new();
    if let serde_json::Value::Object(o) = json {
        for (k, v) in o {
            let text = (!v.is_null()).then(|| v.to_string());
            map.insert(k, text);
        }
    }
    map
}

/// Units sold per SKU over `[start, end)` days, for stock cover and
/// stock-out checks.
pub fn units_by_sku(
    store: &Store,
    config: &Config,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<HashMap<String, i64>, RunError> {
    let period = Period::day(start);
    let (s, _) = period_instants(&period, config.timezone);
    let (_, e) = period_instants(&Period::day(end - Days::new(1)), config.timezone);
    let mut out = HashMap::new();
    for item in store.items_for_paid_orders_between(s, e)? {
        *out.entry(item.sku_id).or_insert(0) += item.quantity;
    }
    Ok(out)
}
