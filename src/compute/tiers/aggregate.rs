//! Folds the purchase stream into one compact state per member.
//!
//! The store streams purchases sorted by (member_id in byte order, day), so a
//! member's purchases arrive together and distinct days are counted by
//! comparing with the previous day alone: nothing but a ~40-byte state per
//! member and the member ids (packed into one string) is ever held, whatever
//! the number of purchases. Out-of-order input is an error rather than a
//! silently wrong count; in-memory callers sort with [`sort_purchases`].

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

/// Accepts purchases one at a time (a callback for a database cursor) and
/// builds the [`Aggregate`].
#[derive(Debug)]
pub struct PurchaseAggregator {
    as_of: NaiveDate,
    window_start: Option<NaiveDate>,
    ids: IdArena,
    stats: Vec<MemberStats>,
    pushed: u64,
}

impl PurchaseAggregator {
    /// `as_of` is the last day counted (the period's last day): purchases
    /// after it are skipped, so a re-run for a past month sees what that
    /// month saw.
    pub fn new(as_of: NaiveDate, window: Window) -> PurchaseAggregator {
        let window_start = match window {
            Window::All => None,
            // A window of n days ends on as_of, so it starts n − 1 days earlier.
            Window::Days(n) => as_of.checked_sub_days(Days::new(u64::from(n.saturating_sub(1)))),
        };
        PurchaseAggregator {
            as_of,
            window_start,
            ids: IdArena::default(),
            stats: Vec::new(),
            pushed: 0,
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
            return Ok(());
        }
        let in_window = self.window_start.is_none_or(|start| day >= start);
        let win = u32::from(in_window);
        let amount = if in_window { net } else { Decimal::ZERO };

        if let (Some(prev_id), Some(cur)) = (self.ids.last(), self.stats.last_mut()) {
            match prev_id.cmp(member_id) {
                std::cmp::Ordering::Equal => {
                    if day < cur.last {
                        return Err(TierError::Unsorted {
                            index,
                            member_id: member_id.to_string(),
                            day,
                            prev_member_id: prev_id.to_string(),
                            prev_day: cur.last,
                        });
                    }
                    if day > cur.last {
                        cur.days += 1;
                        cur.win_days += win;
                        cur.last = day;
                    }
                    cur.orders += 1;
                    cur.win_orders += win;
                    cur.win_total += amount;
                    return Ok(());
                }
                std::cmp::Ordering::Greater => {
                    return Err(TierError::Unsorted {
                        index,
                        member_id: member_id.to_string(),
                        day,
                        prev_member_id: prev_id.to_string(),
                        prev_day: cur.last,
                    });
                }
                std::cmp::Ordering::Less => {}
            }
        }
        self.ids.push(member_id);
        self.stats.push(MemberStats {
            first: day,
            last: day,
            days: 1,
            orders: 1,
            win_days: win,
            win_orders: win,
            win_total: amount,
        });
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
            as_of: self.as_of,
            ids: self.ids,
            stats: self.stats,
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
