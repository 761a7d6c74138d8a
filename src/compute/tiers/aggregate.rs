//! Folds the purchase stream into one compact state per member.
//!
//! The store streams purchases sorted by (member_id in byte order, day), so a
//! member's purchases arrive together and distinct days are counted by
//! comparing with the previous day alone: nothing but a ~40-byte state per
//! member and the member ids (packed into one string) is ever held, whatever
//! the number of purchases. Out-of-order input is an error rather than a
//! silently wrong count; in-memory callers sort with [`sort_purchases`].

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use crate::model::facts::Purchase;

use super::TierError;
use super::config::Window;

/// Member ids packed end to end in one string, in the order pushed.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdArena {
    text: String,
    ends: Vec<usize>,
}

impl IdArena {
    pub(crate) fn with_capacity(members: usize, bytes: usize) -> IdArena {
        IdArena {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(members),
        }
    }

    pub(crate) fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(self.text.len());
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.text.len()
    }

    pub(crate) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The ids in the order pushed.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }

    pub(crate) fn last(&self) -> Option<&str> {
        self.len().checked_sub(1).map(|i| self.get(i))
    }

    /// Binary search; valid only when ids were pushed in ascending order.
    pub(crate) fn find(&self, id: &str) -> Option<usize> {
        self.search(id, 0, self.len()).ok()
    }

    /// Like [`IdArena::find`], starting from where the previous lookup ended:
    /// lookups in ascending order cost a step or two each instead of a full
    /// binary search over millions of ids, any other order still works.
    pub(crate) fn find_hinted(&self, id: &str, hint: &mut usize) -> Option<usize> {
        let n = self.len();
        let h = (*hint).min(n);
        let (lo, hi) = if h < n && self.get(h) <= id {
            // Gallop forward until an id above the target bounds the range.
            let (mut lo, mut step) = (h, 1);
            loop {
                let probe = lo + step;
                if probe >= n || self.get(probe) > id {
                    break (lo, probe.min(n));
                }
                lo = probe;
                step *= 2;
            }
        } else {
            (0, h)
        };
        let found = self.search(id, lo, hi);
        *hint = match found {
            Ok(i) | Err(i) => i,
        };
        found.ok()
    }

    fn search(&self, id: &str, mut lo: usize, mut hi: usize) -> Result<usize, usize> {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }
}

/// What one member's purchases up to the as-of date add up to.
///
/// `first`, `last`, `days` and `orders` cover every streamed purchase up to
/// the as-of date; the `win_` fields only those inside the tier window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MemberStats {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub days: u32,
    pub orders: u32,
    pub win_days: u32,
    pub win_orders: u32,
    pub win_total: Decimal,
}

/// The purchase stream folded per member, ids ascending.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub(crate) as_of: NaiveDate,
    pub(crate) ids: IdArena,
    pub(crate) stats: Vec<MemberStats>,
}

impl Aggregate {
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    /// Members with at least one purchase up to the as-of date.
    pub fn buyers(&self) -> usize {
        self.stats.len()
    }
}

impl MemberStats {
    fn first_purchase(p: Admitted) -> MemberStats {
        MemberStats {
            first: p.day,
            last: p.day,
            days: 1,
            orders: 1,
            win_days: p.win,
            win_orders: p.win,
            win_total: p.amount,
        }
    }

    /// Adds a purchase on or after the member's last one.
    fn add(&mut self, p: Admitted) {
        if p.day > self.last {
            self.days += 1;
            self.win_days += p.win;
            self.last = p.day;
        }
        self.orders += 1;
        self.win_orders += p.win;
        self.win_total += p.amount;
    }
}

/// A purchase let into the fold: its day, whether it counts in the window
/// (1 or 0) and the amount it adds to the window's total.
#[derive(Debug, Clone, Copy)]
struct Admitted {
    day: NaiveDate,
    win: u32,
    amount: Decimal,
}

/// What both aggregators check and work out for each purchase pushed.
#[derive(Debug)]
struct Gate {
    as_of: NaiveDate,
    window_start: Option<NaiveDate>,
    pushed: u64,
}

impl Gate {
    fn new(as_of: NaiveDate, window: Window) -> Gate {
        let window_start = match window {
            Window::All => None,
            // A window of n days ends on as_of, so it starts n − 1 days earlier.
            Window::Days(n) => as_of.checked_sub_days(Days::new(u64::from(n.saturating_sub(1)))),
        };
        Gate {
            as_of,
            window_start,
            pushed: 0,
        }
    }

    /// Numbers the purchase and checks it; `None` for one after the as-of
    /// date, which is not counted.
    fn admit(
        &mut self,
        member_id: &str,
        day: NaiveDate,
        net: Decimal,
    ) -> Result<Option<Admitted>, TierError> {
        self.pushed += 1;
        let index = self.pushed;
        if member_id.is_empty() {
            return Err(TierError::EmptyMemberId { index });
        }
        if net <= Decimal::ZERO {
            return Err(TierError::NotAPurchase {
                index,
                member_id: member_id.to_string(),
                day,
                net,
            });
        }
        if day > self.as_of {
            return Ok(None);
        }
        let in_window = self.window_start.is_none_or(|start| day >= start);
        Ok(Some(Admitted {
            day,
            win: u32::from(in_window),
            amount: if in_window { net } else { Decimal::ZERO },
        }))
    }

    fn unsorted(
        &self,
        member_id: &str,
        day: NaiveDate,
        prev_id: &str,
        prev_day: NaiveDate,
    ) -> TierError {
        TierError::Unsorted {
            index: self.pushed,
            member_id: member_id.to_string(),
            day,
            prev_member_id: prev_id.to_string(),
            prev_day,
        }
    }
}

/// Accepts purchases one at a time (a callback for a database cursor) and
/// builds the [`Aggregate`].
#[derive(Debug)]
pub struct PurchaseAggregator {
    gate: Gate,
    ids: IdArena,
    stats: Vec<MemberStats>,
}

impl PurchaseAggregator {
    /// `as_of` is the last day counted (the period's last day): purchases
    /// after it are skipped, so a re-run for a past month sees what that
    /// month saw.
    pub fn new(as_of: NaiveDate, window: Window) -> PurchaseAggregator {
        PurchaseAggregator {
            gate: Gate::new(as_of, window),
            ids: IdArena::default(),
            stats: Vec::new(),
        }
    }

    /// Reserves room when the caller knows roughly how many buyers to expect.
    pub fn reserve(&mut self, members: usize) {
        self.stats.reserve(members);
        self.ids.ends.reserve(members);
        self.ids.text.reserve(members * 12);
    }

    /// Adds one purchase. Purchases must come sorted by member_id (byte
    /// order), then day; several on the same day are fine.
    pub fn push(&mut self, member_id: &str, day: NaiveDate, net: Decimal) -> Result<(), TierError> {
        let Some(p) = self.gate.admit(member_id, day, net)? else {
            return Ok(());
        };
        if let (Some(prev_id), Some(cur)) = (self.ids.last(), self.stats.last_mut()) {
            match prev_id.cmp(member_id) {
                std::cmp::Ordering::Equal if day >= cur.last => {
                    cur.add(p);
                    return Ok(());
                }
                std::cmp::Ordering::Equal | std::cmp::Ordering::Greater => {
                    return Err(self.gate.unsorted(member_id, day, prev_id, cur.last));
                }
                std::cmp::Ordering::Less => {}
            }
        }
        self.ids.push(member_id);
        self.stats.push(MemberStats::first_purchase(p));
        Ok(())
    }

    /// Adds every purchase of an iterator.
    pub fn extend<I: IntoIterator<Item = Purchase>>(
        &mut self,
        purchases: I,
    ) -> Result<(), TierError> {
        for p in purchases {
            self.push(&p.member_id, p.day, p.net_amount)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Aggregate {
        Aggregate {
            as_of: self.gate.as_of,
            ids: self.ids,
            stats: self.stats,
        }
    }
}

/// Builds the same [`Aggregate`] as [`PurchaseAggregator`] from purchases
/// in time order, members interleaved: what a scan of the store's paid-time
/// index yields. That index grows at its end as days are added, where an
/// index by member took each day's orders at random places in the history
/// (see schema version 13).
///
/// Each member's state is found through a hash map while purchases stream
/// in (a member's own purchases still come in day order); the members are
/// put in id order once, at the end.
#[derive(Debug)]
pub struct TimeOrderedAggregator {
    gate: Gate,
    index: HashMap<Box<str>, u32>,
    stats: Vec<MemberStats>,
}

impl TimeOrderedAggregator {
    /// As [`PurchaseAggregator::new`].
    pub fn new(as_of: NaiveDate, window: Window) -> TimeOrderedAggregator {
        TimeOrderedAggregator {
            gate: Gate::new(as_of, window),
            index: HashMap::new(),
            stats: Vec::new(),
        }
    }

    /// Adds one purchase. Each member's purchases must come in day order;
    /// different members' may interleave any way.
    pub fn push(&mut self, member_id: &str, day: NaiveDate, net: Decimal) -> Result<(), TierError> {
        let Some(p) = self.gate.admit(member_id, day, net)? else {
            return Ok(());
        };
        if let Some(&i) = self.index.get(member_id) {
            let cur = &mut self.stats[i as usize];
            if day < cur.last {
                return Err(TierError::OutOfDayOrder {
                    index: self.gate.pushed,
                    member_id: member_id.to_string(),
                    day,
                    prev_day: cur.last,
                });
            }
            cur.add(p);
            return Ok(());
        }
        // Positions fit in u32: a shop has far fewer than four billion
        // members, and the state of each is ~40 bytes of memory.
        let i = u32::try_from(self.stats.len()).map_err(|_| TierError::TooManyMembers)?;
        self.index.insert(member_id.into(), i);
        self.stats.push(MemberStats::first_purchase(p));
        Ok(())
    }

    pub fn finish(self) -> Aggregate {
        let mut order: Vec<(Box<str>, u32)> = self.index.into_iter().collect();
        order.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let bytes = order.iter().map(|(id, _)| id.len()).sum();
        let mut ids = IdArena::with_capacity(order.len(), bytes);
        let mut stats = Vec::with_capacity(order.len());
        for (id, i) in order {
            ids.push(&id);
            stats.push(self.stats[i as usize]);
        }
        Aggregate {
            as_of: self.gate.as_of,
            ids,
            stats,
        }
    }
}

/// Sorts purchases into the order [`PurchaseAggregator::push`] needs.
pub fn sort_purchases(purchases: &mut [Purchase]) {
    purchases.sort_unstable_by(|a, b| {
        a.member_id
            .as_bytes()
            .cmp(b.member_id.as_bytes())
            .then(a.day.cmp(&b.day))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn counts_days_orders_and_window() {
        let mut agg = PurchaseAggregator::new(d("2026-10-31"), Window::Days(31));
        agg.push("a", d("2026-09-30"), dec("5")).unwrap(); // before the window
        agg.push("a", d("2026-10-01"), dec("10")).unwrap(); // first window day
        agg.push("a", d("2026-10-01"), dec("2.5")).unwrap();
        agg.push("a", d("2026-10-31"), dec("1")).unwrap(); // as_of, inclusive
        agg.push("a", d("2026-11-01"), dec("99")).unwrap(); // after as_of: skipped
        agg.push("b", d("2026-11-02"), dec("99")).unwrap(); // only after as_of
        let agg = agg.finish();
        assert_eq!(agg.ids.len(), 1);
        assert_eq!(
            agg.stats[0],
            MemberStats {
                first: d("2026-09-30"),
                last: d("2026-10-31"),
                days: 3,
                orders: 4,
                win_days: 2,
                win_orders: 3,
                win_total: dec("13.5"),
            }
        );
    }

    #[test]
    fn rejects_out_of_order_and_non_purchases() {
        let mut agg = PurchaseAggregator::new(d("2026-10-31"), Window::All);
        agg.push("b", d("2026-10-02"), dec("1")).unwrap();
        let err = agg.push("b", d("2026-10-01"), dec("1")).unwrap_err();
        assert!(
            matches!(&err, TierError::Unsorted { index: 2, prev_day, .. } if *prev_day == d("2026-10-02")),
            "{err}"
        );
        let err = agg.push("a", d("2026-10-05"), dec("1")).unwrap_err();
        assert!(matches!(err, TierError::Unsorted { index: 3, .. }));
        let err = agg.push("c", d("2026-10-05"), dec("0")).unwrap_err();
        assert!(matches!(err, TierError::NotAPurchase { index: 4, .. }));
        let err = agg.push("", d("2026-10-05"), dec("1")).unwrap_err();
        assert!(matches!(err, TierError::EmptyMemberId { index: 5 }));
        assert!(err.to_string().contains("purchase 5"));
    }

    /// Purchases of interleaved members in time order fold to what the
    /// same purchases sorted by member give, window or not.
    #[test]
    fn time_ordered_purchases_fold_as_member_ordered_ones() {
        let start = d("2025-11-01");
        // A small linear congruential generator: the same "random" stream
        // every run, no dependency.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % n
        };
        let mut purchases: Vec<Purchase> = (0..5000)
            .map(|_| Purchase {
                // Ids of different lengths and a multi-byte one, so byte
                // order is exercised.
                member_id: match next(40) {
                    0 => "张三".to_string(),
                    k => format!("m{}", k * 7 % 33),
                },
                day: start + Days::new(next(400)),
                net_amount: Decimal::new(1 + next(100_000) as i64, 2),
            })
            .collect();
        // Time order: by day only, members interleaved as they came.
        purchases.sort_by_key(|p| p.day);
        for window in [Window::Days(31), Window::Days(365), Window::All] {
            let as_of = d("2026-10-31");
            let mut timed = TimeOrderedAggregator::new(as_of, window);
            for p in &purchases {
                timed.push(&p.member_id, p.day, p.net_amount).unwrap();
            }
            let mut sorted = purchases.clone();
            sort_purchases(&mut sorted);
            let mut by_member = PurchaseAggregator::new(as_of, window);
            by_member.extend(sorted).unwrap();
            let (a, b) = (timed.finish(), by_member.finish());
            assert!(b.buyers() > 30, "the test needs many members");
            assert_eq!(
                a.ids.iter().collect::<Vec<_>>(),
                b.ids.iter().collect::<Vec<_>>(),
                "{window:?}"
            );
            assert_eq!(a.stats, b.stats, "{window:?}");
            assert_eq!(a.as_of, b.as_of);
        }
    }

    #[test]
    fn time_ordered_purchases_are_checked_as_sorted_ones() {
        let mut agg = TimeOrderedAggregator::new(d("2026-10-31"), Window::All);
        agg.push("b", d("2026-10-02"), dec("1")).unwrap();
        // Another member earlier is fine in time order.
        agg.push("a", d("2026-10-01"), dec("1")).unwrap();
        let err = agg.push("b", d("2026-10-01"), dec("1")).unwrap_err();
        assert!(
            matches!(&err, TierError::OutOfDayOrder { index: 3, prev_day, .. } if *prev_day == d("2026-10-02")),
            "{err}"
        );
        assert!(err.to_string().contains("day order"), "{err}");
        let err = agg.push("c", d("2026-10-05"), dec("-1")).unwrap_err();
        assert!(matches!(err, TierError::NotAPurchase { index: 4, .. }));
        let err = agg.push("", d("2026-10-05"), dec("1")).unwrap_err();
        assert!(matches!(err, TierError::EmptyMemberId { index: 5 }));
        // After the as-of date: not counted.
        agg.push("z", d("2026-11-01"), dec("1")).unwrap();
        let agg = agg.finish();
        assert_eq!(agg.ids.iter().collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn hinted_lookups_find_the_same_as_binary_search() {
        let mut ids = IdArena::default();
        let all: Vec<String> = (0..100).map(|i| format!("m{:03}", i * 2)).collect();
        for id in &all {
            ids.push(id);
        }
        let mut hint = 0;
        // Ascending, descending and scattered lookups, hits and misses.
        let probes = (0..200)
            .chain((0..200).rev())
            .chain([7, 150, 3, 199, 0, 198]);
        for i in probes {
            let id = format!("m{i:03}");
            let want = all.iter().position(|x| *x == id);
            assert_eq!(ids.find_hinted(&id, &mut hint), want, "{id}");
            assert_eq!(ids.find(&id), want);
        }
        assert_eq!(ids.find_hinted("zzz", &mut hint), None);
        assert_eq!(ids.find_hinted("", &mut hint), None);
    }

    #[test]
    fn sorting_uses_byte_order() {
        let p = |id: &str, day: &str| Purchase {
            member_id: id.into(),
            day: d(day),
            net_amount: Decimal::ONE,
        };
        let mut v = vec![
            p("张三", "2026-01-01"),
            p("b", "2026-01-02"),
            p("B", "2026-01-01"),
            p("b", "2026-01-01"),
        ];
        sort_purchases(&mut v);
        let order: Vec<(&str, NaiveDate)> =
            v.iter().map(|p| (p.member_id.as_str(), p.day)).collect();
        assert_eq!(
            order,
            vec![
                ("B", d("2026-01-01")),
                ("b", d("2026-01-01")),
                ("b", d("2026-01-02")),
                ("张三", d("2026-01-01"))
            ]
        );
    }
}
