//! Ordering rows by a text id in byte order, the order SQLite's `ORDER BY`
//! on a text column and the tier computation's merges use, and moving
//! large rows into a computed order without copying them all.

/// Stable sort by an id in byte order. Comparing millions of heap strings
/// directly is dominated by cache misses; an inline 8-byte prefix settles
/// most comparisons without touching the strings.
pub fn sort_by_id<T>(items: &mut [T], id: impl Fn(&T) -> &str) {
    let prefix = |s: &str| {
        let mut b = [0u8; 8];
        let n = s.len().min(8);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        // Zero padding orders a shorter id first, as byte order does; equal
        // prefixes fall through to the whole id.
        u64::from_be_bytes(b)
    };
    let mut order: Vec<(u64, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (prefix(id(t)), i))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| id(&items[a.1]).cmp(id(&items[b.1])))
            .then(a.1.cmp(&b.1))
    });
    permute(items, order.into_iter().map(|(_, i)| i).collect());
}

/// Reorders `items` so that position `k` holds the item that was at
/// `from[k]`; `from` must list every position once.
///
/// Applied in place, cycle by cycle: a second vector of the items would
/// double the memory of millions of rows while it is filled.
pub fn permute<T>(items: &mut [T], mut from: Vec<usize>) {
    debug_assert_eq!(items.len(), from.len());
    const DONE: usize = usize::MAX;
    for start in 0..from.len() {
        let mut at = start;
        // Position `at` is due the item now at `from[at]`; following that
        // chain back to `start` closes the cycle.
        while from[at] != DONE {
            let src = from[at];
            from[at] = DONE;
            if src == start {
                break;
            }
            items.swap(at, src);
            at = src;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_like_a_stable_sort_of_the_ids(ids in proptest::collection::vec("[ab]{0,10}", 0..60)) {
            let mut v: Vec<(String, usize)> = ids.into_iter().enumerate().map(|(i, s)| (s, i)).collect();
            let mut want = v.clone();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            sort_by_id(&mut v, |p| p.0.as_str());
            prop_assert_eq!(v, want);
        }
    }

    #[test]
    fn sort_by_id_is_stable_byte_order() {
        let mut v: Vec<(String, u32)> = [
            "abcdefghZ",
            "abcdefgh",
            "b",
            "",
            "abcdefghA",
            "abcdefgh",
            "a\u{0}",
            "a",
        ]
        .iter()
        .enumerate()
        .map(|(i, s)| (s.to_string(), i as u32))
        .collect();
        let mut want = v.clone();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        sort_by_id(&mut v, |p| p.0.as_str());
        assert_eq!(v, want);
        assert_eq!(
            v[3..5],
            [("abcdefgh".to_string(), 1), ("abcdefgh".to_string(), 5)]
        );
    }
}
