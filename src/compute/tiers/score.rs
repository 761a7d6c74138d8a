//! Scores 1..=q: quantile bins over the scored members, or fixed cut points.
//!
//! Quantile bins follow SPEC §9 exactly: members are ranked by the value
//! ascending with ties broken by member_id in byte order, and rank k of N
//! gets `max(1, ⌈(k − 1)·q / (N − 1)⌉)`, or ⌈q/2⌉ when N = 1. That is pandas'
//! `qcut(rank(method="first"), q)`, and it makes bin sizes differ by at most
//! one whatever the values.

/// The bin of 1-based rank `k` among `n` ranked values.
pub fn quantile_bin(k: u64, n: u64, q: u8) -> u8 {
    debug_assert!((1..=n).contains(&k));
    let q64 = u64::from(q);
    if n <= 1 {
        return q.div_ceil(2);
    }
    let bin = ((k - 1) * q64).div_ceil(n - 1).max(1);
    // k ≤ n bounds the quotient by q, which fits in u8.
    bin as u8
}

/// Quantile bins for `values`, which must be in member_id byte order so that
/// position breaks ties. Returns one bin per value, in the same order.
pub fn quantile_bins<T: Ord + Copy>(values: &[T], q: u8) -> Vec<u8> {
    let n = values.len();
    // Position fits in u32: the member count is far below 4 billion.
    let mut ranked: Vec<(T, u32)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u32))
        .collect();
    ranked.sort_unstable();
    let mut bins = vec![0u8; n];
    for (rank0, (_, pos)) in ranked.iter().enumerate() {
        bins[*pos as usize] = quantile_bin(rank0 as u64 + 1, n as u64, q);
    }
    bins
}

/// [`quantile_bins`] for small counts (days, purchases): a counting sort,
/// linear in the members, instead of a comparison sort. Same result.
pub fn quantile_bins_u32(values: &[u32], q: u8) -> Vec<u8> {
    let max = values.iter().copied().max().unwrap_or(0) as usize;
    // Beyond this the count table would outweigh the values.
    if max > values.len().max(1 << 16) {
        return quantile_bins(values, q);
    }
    // start[v] = how many values are below v.
    let mut start = vec![0u64; max + 2];
    for &v in values {
        start[v as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let n = values.len() as u64;
    values
        .iter()
        .map(|&v| {
            // Walking in position order hands equal values ascending ranks,
            // exactly the member_id tie-break.
            let slot = &mut start[v as usize];
            *slot += 1;
            quantile_bin(*slot, n, q)
        })
        .collect()
}

/// Score for a higher-is-better value with ascending cut points:
/// 1 below the first cut, 2 from it, …, `cuts.len() + 1` from the last.
pub fn threshold_score_up<T: PartialOrd>(value: &T, cuts: &[T]) -> u8 {
    1 + cuts.iter().filter(|c| *c <= value).count() as u8
}

/// Score for recency (lower is better): `cuts.len() + 1` up to the first
/// cut, one less up to the next, …, 1 beyond the last.
pub fn threshold_score_recency(days: i64, cuts: &[i64]) -> u8 {
    1 + cuts.iter().filter(|c| days <= **c).count() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_member_lands_in_the_middle() {
        assert_eq!(quantile_bin(1, 1, 5), 3);
        assert_eq!(quantile_bin(1, 1, 4), 2);
        assert_eq!(quantile_bins(&[42], 5), vec![3]);
    }

    #[test]
    fn two_members_take_the_extremes() {
        // k=1: max(1, 0) = 1; k=2: ceil(5/1) = 5.
        assert_eq!(quantile_bins(&[10, 3], 5), vec![5, 1]);
        // Tie: position (member_id order) decides.
        assert_eq!(quantile_bins(&[7, 7], 5), vec![1, 5]);
    }

    #[test]
    fn five_members_one_per_bin_with_ties_by_position() {
        // Values: positions 0..5 = [2, 1, 2, 9, 1]. Ascending with ties by
        // position: pos1(1) k1, pos4(1) k2, pos0(2) k3, pos2(2) k4, pos3(9) k5.
        // bin = max(1, ceil((k-1)*5/4)): 1, 2, 3, 4, 5.
        assert_eq!(quantile_bins(&[2, 1, 2, 9, 1], 5), vec![3, 1, 4, 5, 2]);
    }

    #[test]
    fn seven_members() {
        // ceil((k-1)*5/6) for k = 1..7: 0→1, 5/6→1, 10/6→2, 15/6→3, 20/6→4, 25/6→5, 30/6→5.
        let bins: Vec<u8> = (1..=7).map(|k| quantile_bin(k, 7, 5)).collect();
        assert_eq!(bins, vec![1, 1, 2, 3, 4, 5, 5]);
        // All equal: ranks follow position.
        assert_eq!(quantile_bins(&[0; 7], 5), vec![1, 1, 2, 3, 4, 5, 5]);
        // Reversed values reverse the bins.
        assert_eq!(
            quantile_bins(&[7, 6, 5, 4, 3, 2, 1], 5),
            vec![5, 5, 4, 3, 2, 1, 1]
        );
    }

    #[test]
    fn counting_bins_match_sorting_bins() {
        let cases: [&[u32]; 5] = [
            &[2, 1, 2, 9, 1],
            &[0; 7],
            &[7, 6, 5, 4, 3, 2, 1],
            &[42],
            &[5, 70_000, 3, 3],
        ];
        for values in cases {
            for q in [2, 5, 9] {
                assert_eq!(
                    quantile_bins_u32(values, q),
                    quantile_bins(values, q),
                    "{values:?} q={q}"
                );
            }
        }
        assert!(quantile_bins_u32(&[], 5).is_empty());
    }

    #[test]
    fn thresholds() {
        let cuts = [2, 3, 5, 8];
        assert_eq!(threshold_score_up(&1, &cuts), 1);
        assert_eq!(threshold_score_up(&2, &cuts), 2);
        assert_eq!(threshold_score_up(&7, &cuts), 4);
        assert_eq!(threshold_score_up(&8, &cuts), 5);
        let rcuts = [30, 60, 90, 180];
        assert_eq!(threshold_score_recency(0, &rcuts), 5);
        assert_eq!(threshold_score_recency(30, &rcuts), 5);
        assert_eq!(threshold_score_recency(31, &rcuts), 4);
        assert_eq!(threshold_score_recency(180, &rcuts), 2);
        assert_eq!(threshold_score_recency(181, &rcuts), 1);
    }
}
