//! The member-tier step of a run (SPEC §9): stream every purchase up to the
//! period end from the store into the tier computation, evaluate levels
//! against the previous evaluation, and record this evaluation.
//!
//! Purchases arrive sorted by member and day, so the computation folds them
//! into compact per-member state without holding the order history.

use std::path::Path;

use tracing::info;

use super::RunError;
use crate::compute::kpi::period_instants;
use crate::compute::tiers::{
    PreviousLevels, PurchaseAggregator, TierResult, TierSettings, TiersRaw, evaluate,
};
use crate::config::{Config, ConfigErrors, section};
use crate::period::Period;
use crate::store::Store;

/// Builds the `[tiers]` settings, reporting every problem with its key.
pub fn settings(config: &Config, errors: &mut ConfigErrors) -> Option<TierSettings> {
    let table = config.tiers.clone().unwrap_or_default();
    let raw: TiersRaw = section::deserialize(&table, &config.file, "tiers", errors)?;
    match raw.build() {
        Ok(s) => Some(s),
        Err(problems) => {
            for p in problems {
                errors.push(&config.file, p.key, p.message);
            }
            None
        }
    }
}

/// Evaluates the tiers as of the period's last day, reading the store on
/// connections of its own (`store_path`, already opened and migrated by the
/// run): it runs beside the loading of the period's facts on the run's
/// connection, as neither reads what the other writes. The result is
/// stored with [`record`].
pub fn evaluate_period(config: &Config, period: Period) -> Result<TierResult, RunError> {
    let mut errors = ConfigErrors::default();
    let Some(settings) = settings(config, &mut errors) else {
        return Err(RunError::Config(errors));
    };
    let as_of = period.last_day();
    let (_, end) = period_instants(&period, config.timezone);
    let mut agg = PurchaseAggregator::new(as_of, settings.window);
    let mut fold_err = None;
    // The member list and the previous evaluation are read on a third
    // connection while this one streams the purchases: each is seconds of
    // reading for millions of members.
    let (scanned, side) = std::thread::scope(|s| {
        let side = super::reader::spawn(s, &config.state, "member tiers: member list", |other| {
            let birthdays = other.member_birthdays()?;
            let mut previous = PreviousLevels::new();
            other.for_each_member_level_before(as_of, |m, l| previous.push(m, l))?;
            Ok((birthdays, previous))
        });
        let scanned = Store::open_reader(&config.state)
            .map_err(RunError::from)
            .and_then(|reader| {
                reader
                    .for_each_purchase(None, end, config.timezone, |member, day, net| {
                        if fold_err.is_none()
                            && let Err(e) = agg.push(member, day, net)
                        {
                            fold_err = Some(e);
                        }
                    })
                    .map_err(RunError::from)
            });
        (scanned, side.join())
    });
    scanned?;
    if let Some(e) = fold_err {
        return Err(RunError::Render(format!("member tiers: {e}")));
    }
    let (members, previous) = side?;
    // Birthdays are listed for the period after the one reported on: the
    // crm team acts on them next.
    let coming = period.next();
    Ok(evaluate(&settings, agg.finish(), members, previous, coming))
}

/// Stores the member levels of an evaluation (replacing an earlier
/// evaluation of the same day, so a re-run is idempotent) and its summary.
pub fn record(
    store: &mut Store,
    job: &str,
    period: Period,
    result: &TierResult,
) -> Result<(), RunError> {
    let as_of = period.last_day();
    // Borrowed: millions of members, none of whose ids need copying.
    let levels: Vec<(&str, &str)> = result.rows().map(|r| (r.member_id, r.level)).collect();
    store.put_member_levels(as_of, &levels)?;
    let summary = serde_json::to_value(&result.summary).unwrap_or_default();
    store.put_tier_snapshot(job, &period.to_string(), &summary)?;
    info!(
        members = result.summary.members,
        scored = result.summary.scored,
        as_of = %as_of,
        "member tiers computed"
    );
    Ok(())
}

/// Writes `member_tiers.csv` into the run folder.
pub fn write_csv(dir: &Path, result: &TierResult) -> Result<(), RunError> {
    crate::render::tiers_csv::write_member_tiers_file(dir, result)
        .map(|_| ())
        .map_err(|e| RunError::Render(e.to_string()))
}

/// What the monthly checks read from the tier evaluation.
pub fn check_inputs(
    result: &TierResult,
) -> (crate::check::TierChanges, crate::check::RepurchaseCycle) {
    let count = |list: &[(String, usize)], key: &str| {
        list.iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, n)| *n as u64)
    };
    let s = &result.summary;
    let changes = crate::check::TierChanges {
        up: count(&s.changes, "up"),
        down: count(&s.changes, "down"),
        same: count(&s.changes, "same"),
        new: count(&s.changes, "new"),
    };
    let repeat_buyers = count(&s.classes, "C");
    let cycle = crate::check::RepurchaseCycle {
        store_cycle_days: s.repurchase_cycle_days,
        repeat_buyers,
    };
    (changes, cycle)
}

/// Member counts for the member-growth check.
pub fn member_growth(
    store: &Store,
    config: &Config,
    period: Period,
) -> Result<crate::check::MemberGrowth, RunError> {
    let tz = config.timezone;
    let (start, end) = period_instants(&period, tz);
    let (pstart, _) = period_instants(&period.previous(), tz);
    let at_end = store.member_count()?;
    let joined = store.members_joined_between(start, end)?.len() as u64;
    let joined_prev = store.members_joined_between(pstart, start)?.len() as u64;
    let later = {
        let far = end + chrono::Duration::days(365 * 100);
        store.members_joined_between(end, far)?.len() as u64
    };
    let members_at_end = at_end.saturating_sub(later);
    Ok(crate::check::MemberGrowth {
        members_at_start: members_at_end.saturating_sub(joined),
        members_at_end,
        joined_in_period: joined,
        joined_previous_period: Some(joined_prev),
    })
}
