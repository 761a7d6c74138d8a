//! Loading what the compute and check stages need for one period.
//!
//! Every query is bounded by the period (or a short trailing window), so a
//! run's cost follows the size of the period, not of the history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::RunError;
use crate::compute::kpi::{
    KpiSet, PeriodFacts, compute_kpis, kpis_from_json, kpis_to_exact_json, period_instants,
};
use crate::config::Config;
use crate::model::facts::TargetFact;
use crate::period::Period;
use crate::store::{RowsVersion, Store};

/// Product rows of a span of days, read once per run and handed to every
/// step that needs some of those days (the period's KPIs, the previous
/// period's product sheet, the 7-day stock checks): a large catalogue's day
/// is ~20 000 rows, and reading the same days three times was a quarter of
/// a daily run.
pub struct ProductRows {
    start: NaiveDate,
    end: NaiveDate,
    rows: Vec<crate::model::facts::ProductFact>,
}

impl ProductRows {
    /// The rows of `[start, end)`.
    pub fn load(store: &Store, start: NaiveDate, end: NaiveDate) -> Result<ProductRows, RunError> {
        Ok(ProductRows {
            start,
            end,
            rows: store.products_between(start, end)?,
        })
    }

    fn covers(&self, start: NaiveDate, end: NaiveDate) -> bool {
        start >= self.start && end <= self.end
    }

    /// [`ProductRows::between`], handing over the rows held rather than
    /// copying them: for the last reader of the span.
    pub fn into_between(
        self,
        store: &Store,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<crate::model::facts::ProductFact>, RunError> {
        if self.covers(start, end) {
            let mut rows = self.rows;
            rows.retain(|p| p.date >= start && p.date < end);
            Ok(rows)
        } else {
            Ok(store.products_between(start, end)?)
        }
    }

    /// The rows of `[start, end)`, from memory when the span covers it.
    pub fn between(
        &self,
        store: &Store,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<crate::model::facts::ProductFact>, RunError> {
        if self.covers(start, end) {
            Ok(self
                .rows
                .iter()
                .filter(|p| p.date >= start && p.date < end)
                .cloned()
                .collect())
        } else {
            Ok(store.products_between(start, end)?)
        }
    }
}

/// Loads the facts of `period` from the store.
pub fn load(store: &Store, config: &Config, period: Period) -> Result<PeriodFacts, RunError> {
    load_with(store, config, period, None)
}

/// [`load`], taking the period's product rows from `products` when given.
///
/// For a week or a month the order lines and product rows are read on a
/// second connection of their own while this one reads the orders: a
/// large shop's month is millions of rows each, and the second core would
/// otherwise wait. A day is read on this connection alone, since a thread
/// and a connection cost more than its few thousand rows.
pub fn load_with(
    store: &Store,
    config: &Config,
    period: Period,
    products: Option<&ProductRows>,
) -> Result<PeriodFacts, RunError> {
    let tz = config.timezone;
    let (start, end) = period_instants(&period, tz);
    let lines_and_products = |store: &Store| -> Result<_, RunError> {
        let items = store.items_for_paid_orders_between(start, end)?;
        let products = match products {
            Some(rows) => rows.between(store, period.start, period.end)?,
            None => store.products_between(period.start, period.end)?,
        };
        Ok((items, products))
    };
    let (orders, lines) = if period.kind() == crate::period::PeriodKind::Day {
        (
            load_orders(store, config, period),
            lines_and_products(store),
        )
    } else {
        std::thread::scope(|s| {
            let lines = super::reader::spawn(
                s,
                &config.state,
                "order lines and product rows",
                lines_and_products,
            );
            let orders = load_orders(store, config, period);
            (orders, lines.join())
        })
    };
    let mut facts = orders?;
    let (items, products) = lines?;
    let skus: Vec<String> = items
        .iter()
        .map(|i| i.sku_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    facts.unit_costs = unit_costs(store, period.last_day(), &skus, &products)?;
    facts.items = items;
    facts.products = products;
    Ok(facts)
}

/// Every fact of `period` but its order lines, product rows and unit costs.
fn load_orders(store: &Store, config: &Config, period: Period) -> Result<PeriodFacts, RunError> {
    let tz = config.timezone;
    let (start, end) = period_instants(&period, tz);
    let orders_paid = store.orders_paid_between(start, end)?;
    let buyers: Vec<String> = orders_paid
        .iter()
        .map(|o| o.member_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut facts = PeriodFacts::empty(period, tz);
    facts.orders_created = store.count_orders_created_between(period.start, period.end)?;
    facts.unpaid_created = store.unpaid_orders_created_between(period.start, period.end)?;
    facts.first_paid_at = store.first_paid_at(&buyers)?;
    facts.orders_paid = orders_paid;
    facts.traffic = store.traffic_between(period.start, period.end)?;
    facts.traffic_types = config
        .traffic_types
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    facts.service = store.service_between(period.start, period.end)?;
    facts.ads = store.ads_between(period.start, period.end)?;
    facts.targets = targets_for(store, config, period)?;
    Ok(facts)
}

/// The latest unit cost on or before `last_day` of each of `skus`.
///
/// The products export of `last_day` itself, when it has a cost for a
/// SKU, is that latest cost; only SKUs without one there are looked up in
/// the history (the store walks its months back until each is found).
fn unit_costs(
    store: &Store,
    last_day: NaiveDate,
    skus: &[String],
    products: &[crate::model::facts::ProductFact],
) -> Result<HashMap<String, Decimal>, RunError> {
    let mut costs: HashMap<String, Decimal> = products
        .iter()
        .filter(|p| p.date == last_day)
        .filter_map(|p| Some((p.sku_id.clone(), p.unit_cost?)))
        .collect();
    let rest: Vec<String> = skus
        .iter()
        .filter(|s| !costs.contains_key(*s))
        .cloned()
        .collect();
    costs.extend(store.unit_costs_for(last_day, &rest)?);
    costs.retain(|sku, _| skus.binary_search(sku).is_ok());
    Ok(costs)
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
    if let Some(file) = &config.targets.file {
        for t in target_file(config, file)? {
            if months.contains(&t.month) {
                out.insert((t.month, t.metric), t.target);
            }
        }
    }
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

/// The facts of `period` that describe its products only: what checks and
/// sheets read of a comparison period.
pub fn load_products(
    store: &Store,
    config: &Config,
    period: Period,
    products: ProductRows,
) -> Result<PeriodFacts, RunError> {
    let mut facts = PeriodFacts::empty(period, config.timezone);
    facts.products = products.into_between(store, period.start, period.end)?;
    Ok(facts)
}

/// Daily KPI snapshots for `days`, computing (and storing) those that are
/// missing (never computed, or dropped when their rows changed). `own` is
/// a day whose facts and KPIs the caller already has (a day job's own
/// day): it is stored as computed rather than loaded again.
pub fn daily_snapshots(
    store: &mut Store,
    config: &Config,
    days: &[NaiveDate],
    own: Option<(&PeriodFacts, &KpiSet)>,
    seen: RowsVersion,
) -> Result<BTreeMap<NaiveDate, KpiSet>, RunError> {
    let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
        return Ok(BTreeMap::new());
    };
    let stored = store.daily_kpis(*first, *last + Days::new(1))?;
    let mut out = BTreeMap::new();
    for day in days {
        let cached = stored.get(day).map(kpis_from_stored);
        let own = own.filter(|(f, _)| f.period == Period::day(*day));
        let set = match (cached, own) {
            (Some(set), _) => set,
            (None, Some((facts, kpis))) => {
                store.put_daily_kpis(*day, &snapshot_map(kpis, facts), seen)?;
                kpis.clone()
            }
            (None, None) => {
                let facts = load(store, config, Period::day(*day))?;
                let set = compute_kpis(&facts);
                store.put_daily_kpis(*day, &snapshot_map(&set, &facts), seen)?;
                set
            }
        };
        out.insert(*day, set);
    }
    Ok(out)
}

/// The KPIs of a week or a month: its stored snapshot, or computed from
/// its rows and stored for the next run that compares with it.
pub fn period_snapshot(
    store: &mut Store,
    config: &Config,
    period: Period,
    seen: RowsVersion,
) -> Result<KpiSet, RunError> {
    let name = period.to_string();
    let Some(stored) = store.period_kpis(&name, period.start, period.last_day())? else {
        let set = compute_kpis(&load(store, config, period)?);
        keep_period_snapshot(store, period, &set, seen)?;
        return Ok(set);
    };
    let mut set = kpis_from_stored(&stored);
    if period.kind() == crate::period::PeriodKind::Month {
        // Targets are settings, not rows: the stored actuals are measured
        // against the targets as they are now, as a fresh computation is.
        let targets = targets_for(store, config, period)?;
        let days = Decimal::from(period.days());
        let extra = crate::compute::kpi::target_kpis(&set, &targets, period.start, days, days);
        set.extend(extra);
    }
    Ok(set)
}

/// Stores the KPIs of a week or a month a run has computed (its own
/// period), so the next period's run compares with them without loading
/// the rows again. Day periods have their daily snapshots instead.
pub fn keep_period_snapshot(
    store: &mut Store,
    period: Period,
    set: &KpiSet,
    seen: RowsVersion,
) -> Result<(), RunError> {
    let mut map = kpi_map(set);
    // Target KPIs are applied when the snapshot is read (see
    // `period_snapshot`), so a changed target never reads stale.
    map.retain(|id, _| !crate::compute::kpi::is_target_kpi(id));
    store.put_period_kpis(
        &period.to_string(),
        period.start,
        period.last_day(),
        &map,
        seen,
    )?;
    Ok(())
}

/// A stored snapshot read back into KPIs.
fn kpis_from_stored(m: &BTreeMap<String, Option<String>>) -> KpiSet {
    let json: serde_json::Map<String, serde_json::Value> = m
        .iter()
        // Not a KPI, and the largest value of a day: not parsed.
        .filter(|(k, _)| k.as_str() != SKU_UNITS)
        .map(|(k, v)| {
            let value = v
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(serde_json::Value::Null);
            (k.clone(), value)
        })
        .collect();
    kpis_from_json(&serde_json::Value::Object(json))
}

/// KPIs as stored: id → exact JSON text, `None` for a missing value.
fn kpi_map(set: &KpiSet) -> BTreeMap<String, Option<String>> {
    // Exact decimals: a snapshot read back must equal the KPIs computed,
    // or a comparison would depend on whether its period was computed in
    // this run or an earlier one.
    let mut map = BTreeMap::new();
    if let serde_json::Value::Object(o) = kpis_to_exact_json(set) {
        for (k, v) in o {
            let text = (!v.is_null()).then(|| v.to_string());
            map.insert(k, text);
        }
    }
    map
}

/// The snapshot id under which a day's units per SKU are kept beside its
/// KPIs. The KPI reader skips ids the catalogue does not know, so it never
/// shows up as a KPI; keeping it in the same rows makes it as fresh as the
/// KPIs and written in the same transaction.
const SKU_UNITS: &str = "_units_by_sku";

fn snapshot_map(set: &KpiSet, facts: &PeriodFacts) -> BTreeMap<String, Option<String>> {
    let mut map = kpi_map(set);
    let units = serde_json::Value::Object(
        sum_units(&facts.items)
            .into_iter()
            .map(|(sku, n)| (sku, serde_json::Value::from(n)))
            .collect(),
    );
    map.insert(SKU_UNITS.to_string(), Some(units.to_string()));
    map
}

/// Units per SKU over order lines (the facts' lines are those of the orders
/// paid in their period).
fn sum_units(items: &[crate::model::facts::ItemFact]) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for i in items {
        *out.entry(i.sku_id.clone()).or_default() += i.quantity;
    }
    out
}

/// Units sold per SKU over `[start, end)` days, for stock cover and
/// stock-out checks: the lines of the orders paid on those days.
///
/// A day with a daily snapshot has its units stored with it; only days
/// without one (or with a snapshot from before units were kept) are summed
/// from the order lines, so a week's window costs a few stored rows rather
/// than a lookup for every order of the week.
pub fn units_by_sku(
    store: &Store,
    config: &Config,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<HashMap<String, i64>, RunError> {
    let stored = store.daily_kpi_values(start, end, SKU_UNITS)?;
    let mut out: HashMap<String, i64> = HashMap::new();
    let mut day = start;
    while day < end {
        let parsed = stored
            .get(&day)
            .and_then(|v| v.as_deref())
            .and_then(|text| serde_json::from_str::<BTreeMap<String, i64>>(text).ok());
        let units = match parsed {
            Some(units) => units.into_iter().collect(),
            None => {
                let (s, e) = period_instants(&Period::day(day), config.timezone);
                store.units_by_sku_paid_between(s, e)?
            }
        };
        for (sku, n) in units {
            *out.entry(sku).or_default() += n;
        }
        day = day + Days::new(1);
    }
    Ok(out)
}

/// Reads a targets CSV (月份/month, 指标/metric, 目标/target).
fn target_file(config: &Config, path: &std::path::Path) -> Result<Vec<TargetFact>, RunError> {
    use crate::model::Dataset;
    let opts = crate::parse::ParseOptions {
        dataset: Dataset::Targets,
        tz: config.timezone,
        extra_aliases: Default::default(),
        sheet: None,
        file_name: path.display().to_string(),
    };
    let mut out = Vec::new();
    let mut bad = Vec::new();
    crate::parse::parse_path(path, &opts, &mut |rec| {
        let month = rec.get(0).as_text().and_then(normalize_month);
        let metric = rec.get(1).as_text().map(str::trim).map(str::to_string);
        let target = rec.get(2).as_decimal();
        match (month, metric, target) {
            (Some(month), Some(metric), Some(target)) => out.push(TargetFact {
                month,
                metric,
                target,
            }),
            _ => bad.push(rec.row),
        }
    })
    .map_err(|e| RunError::Parse(Box::new(e)))?;
    if let Some(row) = bad.first() {
        return Err(RunError::MissingInput {
            dataset: "targets".into(),
            message: format!(
                "{}: row {row}: month must look like 2026-11 ({} bad rows)",
                path.display(),
                bad.len()
            ),
        });
    }
    Ok(out)
}

/// `2026-11`, `2026/11`, `202611` or `2026年11月` → `2026-11`.
fn normalize_month(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let (y, m) = match digits.len() {
        6 => (&digits[..4], &digits[4..]),
        5 => (&digits[..4], &digits[4..]),
        _ => return None,
    };
    let m: u32 = m.parse().ok()?;
    (1..=12).contains(&m).then(|| format!("{y}-{m:02}"))
}

#[cfg(test)]
mod tests {
    use super::normalize_month;

    #[test]
    fn months_in_the_forms_plans_use() {
        assert_eq!(normalize_month("2026-11").as_deref(), Some("2026-11"));
        assert_eq!(normalize_month("2026/3").as_deref(), Some("2026-03"));
        assert_eq!(normalize_month("2026年11月").as_deref(), Some("2026-11"));
        assert_eq!(normalize_month("202611").as_deref(), Some("2026-11"));
        assert_eq!(normalize_month("2026-13"), None);
        assert_eq!(normalize_month("Nov"), None);
    }
}
