//! From the folded purchases, the member export and the previous levels to
//! every member's tier row, the summary block and the action lists.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::model::facts::{MemberFact, Purchase};
use crate::period::Period;

use super::aggregate::{Aggregate, IdArena, MemberStats, PurchaseAggregator};
use super::config::{FrequencyBasis, MonetaryBasis, Scoring, TierSettings};
use super::score::{quantile_bins, quantile_bins_u32, threshold_score_recency, threshold_score_up};
use super::segment::classify;
use super::{LevelChange, Lifecycle, MemberTier, PurchaseClass, TierError};
use crate::model::sort_by_id;

const NO_SEGMENT: u16 = u16::MAX;
const NO_PREV: u32 = u32::MAX;
/// Previous level name that is not configured any more.
const UNKNOWN_LEVEL: u8 = u8::MAX;

/// Per member, in member_id order. `stats.days == 0` means no purchase.
#[derive(Debug, Clone, Copy)]
struct MemberState {
    stats: MemberStats,
    /// R, F, M; 0 when not scored.
    scores: [u8; 3],
    segment: u16,
    level: u8,
    prev: u32,
    change: LevelChange,
}

/// What the evaluation reads of a member in the member export: the id
/// (members without a purchase are listed too) and the birthday. A
/// [`MemberFact`] converts, and so does an `(id, birthday)` pair, the
/// light form a store hands over for millions of members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberBirthday {
    pub member_id: String,
    pub birthday: Option<NaiveDate>,
}

impl From<MemberFact> for MemberBirthday {
    fn from(m: MemberFact) -> MemberBirthday {
        MemberBirthday {
            member_id: m.member_id,
            birthday: m.birthday,
        }
    }
}

impl From<(String, Option<NaiveDate>)> for MemberBirthday {
    fn from((member_id, birthday): (String, Option<NaiveDate>)) -> MemberBirthday {
        MemberBirthday {
            member_id,
            birthday,
        }
    }
}

/// A birthday falling in the coming period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birthday {
    /// Index into [`TierResult::row`].
    pub member: usize,
    pub birthday: NaiveDate,
    /// The day it falls on in the coming period.
    pub on: NaiveDate,
}

/// The crm team's lists; members are indices into [`TierResult::row`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionLists {
    /// Members of the at-risk segments, by monetary descending.
    pub at_risk_high_value: Vec<usize>,
    /// Silent members, by monetary descending, then most recent first.
    pub silent_to_reactivate: Vec<usize>,
    /// B-class members, most recent purchase first.
    pub b_class_to_nudge: Vec<usize>,
    /// Birthdays in the coming period, by date.
    pub birthdays: Vec<Birthday>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActionCounts {
    pub at_risk_high_value: usize,
    pub silent_to_reactivate: usize,
    pub b_class_to_nudge: usize,
    pub birthdays: usize,
}

/// The `tiers` block of summary.json. Count maps keep a meaningful order
/// (rule order, level order, A–C, lifecycle order, up/down/same/new) and
/// list every key, zero counts included.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierSummary {
    pub as_of: NaiveDate,
    /// Members listed.
    pub members: usize,
    /// Members with a purchase in the window (the ones scored).
    pub scored: usize,
    /// Per segment id; `unsegmented` appears only when rules leave cells uncovered.
    #[serde(serialize_with = "ordered_counts")]
    pub segments: Vec<(String, usize)>,
    #[serde(serialize_with = "ordered_counts")]
    pub levels: Vec<(String, usize)>,
    #[serde(serialize_with = "ordered_counts")]
    pub classes: Vec<(String, usize)>,
    #[serde(serialize_with = "ordered_counts")]
    pub lifecycle: Vec<(String, usize)>,
    #[serde(serialize_with = "ordered_counts")]
    pub changes: Vec<(String, usize)>,
    /// Σ(last − first) / Σ(days − 1) over repeat buyers, rounded to 0.01;
    /// null without repeat buyers.
    #[serde(serialize_with = "decimal_number")]
    pub repurchase_cycle_days: Option<Decimal>,
    /// round(1.5 × store cycle), halves away from zero.
    pub suggested_cadence_days: Option<u64>,
    pub actions: ActionCounts,
}

fn ordered_counts<S: Serializer>(v: &[(String, usize)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(v.len()))?;
    for (k, n) in v {
        map.serialize_entry(k, n)?;
    }
    map.end()
}

/// Days are a quantity, not money: a JSON number reads better than a string.
fn decimal_number<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v.and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d)) {
        Some(f) => s.serialize_f64(f),
        None => s.serialize_none(),
    }
}

/// Everything one evaluation produced.
#[derive(Debug, Clone)]
pub struct TierResult {
    settings: TierSettings,
    as_of: NaiveDate,
    ids: IdArena,
    members: Vec<MemberState>,
    prev_names: Vec<Arc<str>>,
    pub summary: TierSummary,
    pub actions: ActionLists,
}

impl TierResult {
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    pub fn settings(&self) -> &TierSettings {
        &self.settings
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Index of a member's row.
    pub fn find(&self, member_id: &str) -> Option<usize> {
        self.ids.find(member_id)
    }

    /// Rows in member_id byte order.
    pub fn rows(&self) -> impl Iterator<Item = MemberTier<'_>> + '_ {
        (0..self.members.len()).map(|i| self.row(i))
    }

    /// The row at `i` (panics when out of range, like slice indexing).
    pub fn row(&self, i: usize) -> MemberTier<'_> {
        let m = &self.members[i];
        let s = &self.settings;
        let bought = m.stats.days > 0;
        let score = |x: u8| (x > 0).then_some(x);
        MemberTier {
            member_id: self.ids.get(i),
            first_purchase: bought.then_some(m.stats.first),
            last_purchase: bought.then_some(m.stats.last),
            recency_days: bought.then(|| recency(self.as_of, m.stats.last)),
            frequency: window_frequency(s, &m.stats),
            monetary: monetary(s, &m.stats),
            r_score: score(m.scores[0]),
            f_score: score(m.scores[1]),
            m_score: score(m.scores[2]),
            segment: (m.segment != NO_SEGMENT).then(|| &*s.rules[usize::from(m.segment)].id),
            level: &s.levels[usize::from(m.level)].name,
            level_prev: (m.prev != NO_PREV).then(|| &*self.prev_names[m.prev as usize]),
            level_change: m.change,
            class: class(s, &m.stats),
            lifecycle: lifecycle(s, self.as_of, &m.stats),
            cycle_days: member_cycle(&m.stats),
        }
    }
}

fn recency(as_of: NaiveDate, last: NaiveDate) -> u32 {
    // The aggregator skips purchases after as_of, so this is never negative.
    (as_of - last).num_days().max(0) as u32
}

fn window_frequency(s: &TierSettings, st: &MemberStats) -> u32 {
    match s.frequency {
        FrequencyBasis::Days => st.win_days,
        FrequencyBasis::Orders => st.win_orders,
    }
}

fn monetary(s: &TierSettings, st: &MemberStats) -> Decimal {
    match s.monetary {
        MonetaryBasis::Total => st.win_total,
        MonetaryBasis::Mean => {
            let n = window_frequency(s, st);
            if n == 0 {
                Decimal::ZERO
            } else {
                (st.win_total / Decimal::from(n))
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
            }
        }
    }
}

fn class(s: &TierSettings, st: &MemberStats) -> PurchaseClass {
    let n = match s.frequency {
        FrequencyBasis::Days => st.days,
        FrequencyBasis::Orders => st.orders,
    };
    match n {
        0 => PurchaseClass::A,
        1 => PurchaseClass::B,
        _ => PurchaseClass::C,
    }
}

fn lifecycle(s: &TierSettings, as_of: NaiveDate, st: &MemberStats) -> Lifecycle {
    if st.days == 0 {
        return Lifecycle::Potential;
    }
    let r = recency(as_of, st.last);
    if r <= s.lifecycle.active_days {
        Lifecycle::Active
    } else if r <= s.lifecycle.low_stickiness_days {
        Lifecycle::LowStickiness
    } else {
        Lifecycle::Silent
    }
}

fn member_cycle(st: &MemberStats) -> Option<Decimal> {
    (st.days >= 2).then(|| {
        (Decimal::from((st.last - st.first).num_days()) / Decimal::from(st.days - 1))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
    })
}

/// Where a birthday falls in `period`, if it does (29 Feb → 28 Feb in
/// common years).
pub(crate) fn birthday_in(birthday: NaiveDate, period: &Period) -> Option<NaiveDate> {
    let last = period.last_day();
    (period.start.year()..=last.year())
        .filter_map(|y| {
            NaiveDate::from_ymd_opt(y, birthday.month(), birthday.day()).or_else(|| {
                NaiveDate::from_ymd_opt(y, 2, 28)
                    .filter(|_| birthday.month() == 2 && birthday.day() == 29)
            })
        })
        .find(|d| period.contains(*d))
}

/// Runs the whole evaluation from a purchase iterator (sorted by member_id,
/// then day; see [`super::sort_purchases`]).
pub fn compute_tiers<P, M, L>(
    settings: &TierSettings,
    as_of: NaiveDate,
    coming: Period,
    purchases: P,
    members: M,
    previous: L,
) -> Result<TierResult, TierError>
where
    P: IntoIterator<Item = Purchase>,
    M: IntoIterator<Item = MemberFact>,
    L: IntoIterator<Item = (String, String)>,
{
    let mut agg = PurchaseAggregator::new(as_of, settings.window);
    agg.extend(purchases)?;
    Ok(evaluate(
        settings,
        agg.finish(),
        members,
        previous.into_iter().collect(),
        coming,
    ))
}

/// Scores, segments, levels and lists for the folded purchases.
/// `previous` holds the levels of the latest evaluation before this as-of
/// date (collected from any `(member_id, level)` pairs, such as a
/// `HashMap<String, String>`; ids sorted by member_id in byte order, as a
/// store query returns them, are joined without sorting). `coming` is the
/// period whose birthdays are listed.
pub fn evaluate<M>(
    settings: &TierSettings,
    agg: Aggregate,
    members: M,
    previous: PreviousLevels,
    coming: Period,
) -> TierResult
where
    M: IntoIterator,
    M::Item: Into<MemberBirthday>,
{
    let as_of = agg.as_of;

    // Members without a purchase, and birthdays (kept by id until indices exist).
    let mut extras: Vec<String> = Vec::new();
    let mut birthdays: Vec<(String, NaiveDate, NaiveDate)> = Vec::new();
    let mut hint = 0;
    for m in members {
        let m: MemberBirthday = m.into();
        if let Some(b) = m.birthday
            && let Some(on) = birthday_in(b, &coming)
        {
            birthdays.push((m.member_id.clone(), b, on));
        }
        if !m.member_id.is_empty() && agg.ids.find_hinted(&m.member_id, &mut hint).is_none() {
            extras.push(m.member_id);
        }
    }
    let buyers: Vec<MemberState> = agg.stats.iter().map(|st| blank_state(*st)).collect();
    let (mut ids, mut states) = merge_members(&agg.ids, &buyers, extras, as_of);
    drop(buyers);
    drop(agg);

    let previous = previous.finish();
    let mut hint = 0;
    let only_previous: Vec<String> = previous
        .ids
        .iter()
        .filter(|id| !id.is_empty() && ids.find_hinted(id, &mut hint).is_none())
        .map(str::to_owned)
        .collect();
    if !only_previous.is_empty() {
        (ids, states) = merge_members(&ids, &states, only_previous, as_of);
    }

    score_members(settings, as_of, &mut states);
    assign_levels(settings, &ids, &mut states, &previous);
    let prev_names = previous.names;
    let unknown: Vec<&str> = prev_names
        .iter()
        .filter(|n| !settings.levels.iter().any(|l| l.name == **n))
        .map(|n| &**n)
        .collect();
    if !unknown.is_empty() {
        tracing::warn!(
            names = ?unknown,
            "previous member levels not configured any more; those members' change is \"new\""
        );
    }

    let mut result = TierResult {
        settings: settings.clone(),
        as_of,
        ids,
        members: states,
        prev_names,
        summary: TierSummary {
            as_of,
            members: 0,
            scored: 0,
            segments: Vec::new(),
            levels: Vec::new(),
            classes: Vec::new(),
            lifecycle: Vec::new(),
            changes: Vec::new(),
            repurchase_cycle_days: None,
            suggested_cadence_days: None,
            actions: ActionCounts::default(),
        },
        actions: ActionLists::default(),
    };

    let mut bdays: Vec<Birthday> = birthdays
        .into_iter()
        .filter_map(|(id, birthday, on)| {
            result.ids.find(&id).map(|member| Birthday {
                member,
                birthday,
                on,
            })
        })
        .collect();
    // A member listed twice (snapshot plus increments) is listed once: the
    // earliest date wins, the same whatever order the export came in.
    bdays.sort_unstable_by_key(|b| (b.member, b.on, b.birthday));
    bdays.dedup_by_key(|b| b.member);
    bdays.sort_unstable_by_key(|b| (b.on, b.member));
    result.actions = action_lists(&result, bdays);
    result.summary = summarise(&result);
    tracing::info!(
        %as_of,
        members = result.summary.members,
        scored = result.summary.scored,
        repurchase_cycle_days = ?result.summary.repurchase_cycle_days,
        "member tiers evaluated"
    );
    result
}

fn blank_state(stats: MemberStats) -> MemberState {
    MemberState {
        stats,
        scores: [0; 3],
        segment: NO_SEGMENT,
        level: 0,
        prev: NO_PREV,
        change: LevelChange::New,
    }
}

/// Merges listed members (ids ascending) with extra ids (any order,
/// duplicates allowed, none already listed) into one member_id-ordered list;
/// extras have no purchase.
fn merge_members(
    ids: &IdArena,
    states: &[MemberState],
    mut extras: Vec<String>,
    as_of: NaiveDate,
) -> (IdArena, Vec<MemberState>) {
    if !extras.is_sorted() {
        sort_by_id(&mut extras, String::as_str);
    }
    extras.dedup();
    let total = ids.len() + extras.len();
    let extra_bytes: usize = extras.iter().map(String::len).sum();
    let mut out_ids = IdArena::with_capacity(total, ids.bytes() + extra_bytes);
    let mut out = Vec::with_capacity(total);
    let none = blank_state(MemberStats {
        first: as_of,
        last: as_of,
        days: 0,
        orders: 0,
        win_days: 0,
        win_orders: 0,
        win_total: Decimal::ZERO,
    });
    let (mut i, mut j) = (0, 0);
    while i < ids.len() || j < extras.len() {
        let take_listed = j >= extras.len() || (i < ids.len() && ids.get(i) < extras[j].as_str());
        if take_listed {
            out_ids.push(ids.get(i));
            out.push(states[i]);
            i += 1;
        } else {
            out_ids.push(&extras[j]);
            out.push(none);
            j += 1;
        }
    }
    (out_ids, out)
}

/// Integers that order exactly like `values`: mantissas brought to one
/// scale when they fit in i128 (always, for money), else dense ranks.
fn money_keys(values: &[Decimal]) -> Vec<i128> {
    let scale = values.iter().map(|d| d.scale()).max().unwrap_or(0);
    let scaled: Option<Vec<i128>> = values
        .iter()
        .map(|d| {
            10i128
                .checked_pow(scale - d.scale())?
                .checked_mul(d.mantissa())
        })
        .collect();
    if let Some(keys) = scaled {
        return keys;
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&a, &b| values[a].cmp(&values[b]));
    let mut keys = vec![0i128; values.len()];
    let mut rank = 0i128;
    for (k, &i) in order.iter().enumerate() {
        if k > 0 && values[i] != values[order[k - 1]] {
            rank += 1;
        }
        keys[i] = rank;
    }
    keys
}

fn score_members(s: &TierSettings, as_of: NaiveDate, states: &mut [MemberState]) {
    let scored: Vec<usize> = (0..states.len())
        .filter(|&i| states[i].stats.win_days > 0)
        .collect();
    if scored.is_empty() {
        return;
    }
    let rec: Vec<u32> = scored
        .iter()
        .map(|&i| recency(as_of, states[i].stats.last))
        .collect();
    let freq: Vec<u32> = scored
        .iter()
        .map(|&i| window_frequency(s, &states[i].stats))
        .collect();
    let mon: Vec<Decimal> = scored
        .iter()
        .map(|&i| monetary(s, &states[i].stats))
        .collect();
    let q = s.q;
    match &s.scoring {
        Scoring::Quantiles => {
            // `scored` is in member_id order, which quantile_bins needs for ties.
            let rb = quantile_bins_u32(&rec, q);
            let fb = quantile_bins_u32(&freq, q);
            let money = money_keys(&mon);
            let mb = if money.iter().all(|k| i64::try_from(*k).is_ok()) {
                // Narrower keys sort faster; money always fits.
                quantile_bins(&money.iter().map(|&k| k as i64).collect::<Vec<i64>>(), q)
            } else {
                quantile_bins(&money, q)
            };
            for (k, &i) in scored.iter().enumerate() {
                states[i].scores = [q + 1 - rb[k], fb[k], mb[k]];
            }
        }
        Scoring::Thresholds(t) => {
            for (k, &i) in scored.iter().enumerate() {
                states[i].scores = [
                    threshold_score_recency(i64::from(rec[k]), &t.recency),
                    threshold_score_up(&i64::from(freq[k]), &t.frequency),
                    threshold_score_up(&mon[k], &t.monetary),
                ];
            }
        }
    }
    for &i in &scored {
        let [r, f, m] = states[i].scores;
        // Rule lists are short (config-sized), far below u16::MAX.
        states[i].segment = classify(&s.rules, r, f, m).map_or(NO_SEGMENT, |x| x as u16);
    }
}

/// The levels of the latest evaluation before this one, by member_id
/// ascending, level names interned.
///
/// A shop with millions of members has a handful of level names: the ids
/// are packed end to end in one string and each level is an index into the
/// names, so the previous evaluation costs a few bytes per member instead of
/// two heap strings each. Build it with [`PreviousLevels::push`] from a
/// store cursor, or collect it from `(member_id, level)` pairs.
#[derive(Debug, Clone, Default)]
pub struct PreviousLevels {
    ids: IdArena,
    levels: Vec<u32>,
    names: Vec<Arc<str>>,
    /// Name lookup once there are more names than a short scan suits.
    index: HashMap<Arc<str>, u32>,
    /// Whether some id was pushed after a greater one.
    unsorted: bool,
    /// Whether some id was pushed right after itself.
    repeated: bool,
}

impl PreviousLevels {
    pub fn new() -> PreviousLevels {
        PreviousLevels::default()
    }

    /// Adds one member's previous level. Ids may come in any order; of a
    /// repeated id the first pushed wins.
    pub fn push(&mut self, member_id: &str, level: &str) {
        match self.ids.last().map(|last| last.cmp(member_id)) {
            Some(std::cmp::Ordering::Greater) => self.unsorted = true,
            Some(std::cmp::Ordering::Equal) => self.repeated = true,
            _ => {}
        }
        let known = if self.names.len() <= 16 {
            self.names
                .iter()
                .position(|n| **n == *level)
                .map(|i| i as u32)
        } else {
            self.index.get(level).copied()
        };
        let i = known.unwrap_or_else(|| {
            let name: Arc<str> = Arc::from(level);
            // Names number at most the members, far below u32::MAX.
            let i = self.names.len() as u32;
            self.names.push(name.clone());
            self.index.insert(name, i);
            i
        });
        self.ids.push(member_id);
        self.levels.push(i);
    }

    /// Puts the ids in order (stable: the first of a repeated id wins) and
    /// drops repeats. Sorted input, as a store query returns it, is only
    /// checked.
    fn finish(mut self) -> PreviousLevels {
        if !self.unsorted && !self.repeated {
            return self;
        }
        let mut order: Vec<usize> = (0..self.ids.len()).collect();
        if self.unsorted {
            // Out of order only when built from a map: the store's
            // levels come sorted. Ties by position keep the first pushed.
            let ids = &self.ids;
            order.sort_unstable_by(|&a, &b| ids.get(a).cmp(ids.get(b)).then(a.cmp(&b)));
        }
        let mut ids = IdArena::with_capacity(self.ids.len(), self.ids.bytes());
        let mut levels = Vec::with_capacity(self.levels.len());
        for i in order {
            let id = self.ids.get(i);
            if ids.last() == Some(id) {
                continue;
            }
            ids.push(id);
            levels.push(self.levels[i]);
        }
        self.ids = ids;
        self.levels = levels;
        self.unsorted = false;
        self.repeated = false;
        self
    }
}

impl FromIterator<(String, String)> for PreviousLevels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> PreviousLevels {
        let mut out = PreviousLevels::new();
        for (id, level) in pairs {
            out.push(&id, &level);
        }
        out
    }
}

fn assign_levels(
    s: &TierSettings,
    ids: &IdArena,
    states: &mut [MemberState],
    previous: &PreviousLevels,
) {
    // Configured position of each previous name.
    let prev_rank: Vec<u8> = previous
        .names
        .iter()
        .map(|n| {
            s.levels
                .iter()
                .position(|l| l.name == *n)
                .map_or(UNKNOWN_LEVEL, |p| p as u8)
        })
        .collect();
    let mut j = 0;
    for (i, st) in states.iter_mut().enumerate() {
        let spend = st.stats.win_total;
        // Levels ascend and the first starts at 0, so some level always applies.
        let earned = s.levels.iter().rposition(|l| l.from <= spend).unwrap_or(0);
        st.level = earned as u8;
        st.prev = NO_PREV;
        st.change = LevelChange::New;
        // Both lists ascend by member_id: advance the previous cursor.
        let id = ids.get(i);
        while j < previous.ids.len() && previous.ids.get(j) < id {
            j += 1;
        }
        if j >= previous.ids.len() || previous.ids.get(j) != id {
            continue;
        }
        let pi = previous.levels[j];
        st.prev = pi;
        let prev_level = prev_rank[pi as usize];
        if prev_level == UNKNOWN_LEVEL {
            continue;
        }
        let p = usize::from(prev_level);
        let kept = p > earned && s.levels[p].keep.is_some_and(|k| spend >= k);
        let level = if kept { p } else { earned };
        st.level = level as u8;
        st.change = match level.cmp(&p) {
            std::cmp::Ordering::Greater => LevelChange::Up,
            std::cmp::Ordering::Less => LevelChange::Down,
            std::cmp::Ordering::Equal => LevelChange::Same,
        };
    }
}

fn action_lists(r: &TierResult, birthdays: Vec<Birthday>) -> ActionLists {
    let s = &r.settings;
    let at_risk: Vec<u16> = s
        .rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| s.at_risk_segments.iter().any(|id| id.as_str() == &*rule.id))
        .map(|(i, _)| i as u16)
        .collect();
    let mut at_risk_high_value = Vec::new();
    let mut silent = Vec::new();
    let mut b_class = Vec::new();
    for (i, m) in r.members.iter().enumerate() {
        if at_risk.contains(&m.segment) {
            at_risk_high_value.push(i);
        }
        if lifecycle(s, r.as_of, &m.stats) == Lifecycle::Silent {
            silent.push(i);
        }
        if class(s, &m.stats) == PurchaseClass::B {
            b_class.push(i);
        }
    }
    // Sort on plain integer keys: comparing decimals (and chasing each
    // member's state) a few million times costs seconds.
    let sort_desc = |list: &mut Vec<usize>, by_money: bool| {
        let money: Vec<Decimal> = if by_money {
            list.iter()
                .map(|&i| monetary(s, &r.members[i].stats))
                .collect()
        } else {
            Vec::new()
        };
        let money = money_keys(&money);
        let mut keyed: Vec<(Reverse<i128>, Reverse<NaiveDate>, usize)> = list
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let m = if by_money { money[k] } else { 0 };
                (Reverse(m), Reverse(r.members[i].stats.last), i)
            })
            .collect();
        keyed.sort_unstable();
        *list = keyed.into_iter().map(|(_, _, i)| i).collect();
    };
    // Money descending, then most recent first, then member_id.
    sort_desc(&mut at_risk_high_value, true);
    sort_desc(&mut silent, true);
    // Most recent first.
    sort_desc(&mut b_class, false);
    ActionLists {
        at_risk_high_value,
        silent_to_reactivate: silent,
        b_class_to_nudge: b_class,
        birthdays,
    }
}

fn summarise(r: &TierResult) -> TierSummary {
    let s = &r.settings;
    let mut segs = vec![0usize; s.rules.len()];
    let mut unsegmented = 0;
    let mut levels = vec![0usize; s.levels.len()];
    let mut classes = [0usize; 3];
    let mut life = [0usize; 4];
    let mut changes = [0usize; 4];
    let mut scored = 0;
    let (mut span_days, mut gaps) = (0u64, 0u64);
    for m in &r.members {
        if m.stats.win_days > 0 {
            scored += 1;
            match m.segment {
                NO_SEGMENT => unsegmented += 1,
                i => segs[usize::from(i)] += 1,
            }
        }
        levels[usize::from(m.level)] += 1;
        classes[class(s, &m.stats) as usize] += 1;
        life[lifecycle(s, r.as_of, &m.stats) as usize] += 1;
        changes[m.change as usize] += 1;
        if m.stats.days >= 2 {
            span_days += (m.stats.last - m.stats.first).num_days().max(0) as u64;
            gaps += u64::from(m.stats.days - 1);
        }
    }
    let mut segments: Vec<(String, usize)> = s
        .rules
        .iter()
        .zip(segs)
        .map(|(rule, n)| (rule.id.to_string(), n))
        .collect();
    if unsegmented > 0 {
        segments.push(("unsegmented".into(), unsegmented));
    }
    let (cycle, cadence) = if gaps == 0 {
        (None, None)
    } else {
        let exact = Decimal::from(span_days) / Decimal::from(gaps);
        // round(1.5 · S / G) = ⌊(3S + G) / 2G⌋, halves rounding up.
        let cadence = (3 * span_days + gaps) / (2 * gaps);
        (
            Some(exact.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)),
            Some(cadence),
        )
    };
    TierSummary {
        as_of: r.as_of,
        members: r.members.len(),
        scored,
        segments,
        levels: s
            .levels
            .iter()
            .zip(levels)
            .map(|(l, n)| (l.name.to_string(), n))
            .collect(),
        classes: PurchaseClass::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), classes[*c as usize]))
            .collect(),
        lifecycle: Lifecycle::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), life[*c as usize]))
            .collect(),
        changes: LevelChange::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), changes[*c as usize]))
            .collect(),
        repurchase_cycle_days: cycle,
        suggested_cadence_days: cadence,
        actions: ActionCounts {
            at_risk_high_value: r.actions.at_risk_high_value.len(),
            silent_to_reactivate: r.actions.silent_to_reactivate.len(),
            b_class_to_nudge: r.actions.b_class_to_nudge.len(),
            birthdays: r.actions.birthdays.len(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(p: &PreviousLevels) -> Vec<(String, String)> {
        p.ids
            .iter()
            .zip(&p.levels)
            .map(|(id, &level)| (id.to_string(), p.names[level as usize].to_string()))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(m, l)| (m.to_string(), l.to_string()))
            .collect()
    }

    #[test]
    fn previous_levels_in_store_order_are_kept_as_pushed() {
        let want = pairs(&[("a", "素人"), ("b", "小白"), ("c", "素人")]);
        let p: PreviousLevels = want.clone().into_iter().collect();
        let p = p.finish();
        assert_eq!(listed(&p), want);
        // Two distinct names, interned once each.
        assert_eq!(p.names.len(), 2);
    }

    #[test]
    fn previous_levels_out_of_order_are_sorted_and_the_first_of_a_repeat_wins() {
        let p: PreviousLevels = pairs(&[
            ("m2", "达人"),
            ("m10", "小白"),
            ("m1", "红人"),
            ("m2", "小白"),
            ("m1", "素人"),
        ])
        .into_iter()
        .collect();
        assert_eq!(
            listed(&p.finish()),
            pairs(&[("m1", "红人"), ("m10", "小白"), ("m2", "达人")])
        );
        // Sorted, with a repeat next to itself.
        let p: PreviousLevels = pairs(&[("a", "x"), ("a", "y"), ("b", "y")])
            .into_iter()
            .collect();
        assert_eq!(listed(&p.finish()), pairs(&[("a", "x"), ("b", "y")]));
    }

    #[test]
    fn previous_levels_with_many_names_look_them_up_by_hash() {
        let input: Vec<(String, String)> = (0..40)
            .map(|i| (format!("m{i:02}"), format!("level{}", i % 20)))
            .collect();
        let p: PreviousLevels = input.clone().into_iter().collect();
        assert_eq!(p.names.len(), 20);
        assert_eq!(listed(&p.finish()), input);
    }

    #[test]
    fn money_keys_order_like_the_decimals() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let values = [d("10.5"), d("-3"), d("10.50"), d("0.001"), d("7")];
        assert_eq!(money_keys(&values), vec![10_500, -3_000, 10_500, 1, 7_000]);
        // Scales too far apart for i128 fall back to ranks.
        let wide = [
            d("79228162514264337593543950335"),
            d("0.0000000000000000000000000001"),
            d("1"),
        ];
        assert_eq!(money_keys(&wide), vec![2, 0, 1]);
        assert!(money_keys(&[]).is_empty());
    }

    #[test]
    fn birthdays_fall_in_the_period() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let feb: Period = "2027-02".parse().unwrap();
        assert_eq!(birthday_in(d("2000-02-29"), &feb), Some(d("2027-02-28")));
        assert_eq!(birthday_in(d("2000-03-01"), &feb), None);
        let day = Period::day(d("2028-02-29"));
        assert_eq!(birthday_in(d("2000-02-29"), &day), Some(d("2028-02-29")));
        assert_eq!(birthday_in(d("1999-02-28"), &day), None);
    }
}
