//! Properties of the tier computation that must hold for any input.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use storepulse::compute::tiers::{
    MemberTier, Preset, TierResult, TierSettings, classify, compute_tiers, quantile_bins,
    quantile_bins_u32, sort_purchases,
};
use storepulse::model::facts::{MemberFact, Purchase};
use storepulse::period::Period;

proptest! {
    #[test]
    fn bin_sizes_differ_by_at_most_one(values in prop::collection::vec(0u32..20, 1..400), q in 2u8..10) {
        let bins = quantile_bins(&values, q);
        let mut sizes = vec![0usize; usize::from(q)];
        for b in &bins {
            prop_assert!((1..=q).contains(b));
            sizes[usize::from(*b) - 1] += 1;
        }
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        prop_assert!(max - min <= 1, "sizes {sizes:?} for n = {}", values.len());
    }

    #[test]
    fn counting_bins_equal_sorting_bins(
        values in prop::collection::vec(prop_oneof![0u32..10, 0u32..400, any::<u32>()], 0..300),
        q in 2u8..10,
    ) {
        prop_assert_eq!(quantile_bins_u32(&values, q), quantile_bins(&values, q));
    }

    #[test]
    fn bins_never_decrease_with_the_value(values in prop::collection::vec(0u32..50, 2..200)) {
        let bins = quantile_bins(&values, 5);
        for i in 0..values.len() {
            for j in 0..values.len() {
                if values[i] < values[j] {
                    prop_assert!(bins[i] <= bins[j]);
                }
            }
        }
    }

    #[test]
    fn rf10_covers_every_cell_as_specified(r in 1u8..=5, f in 1u8..=5, m in 1u8..=5) {
        // SPEC §9's table, rows R (1–2, 3, 4, 5) by columns F 1..5.
        const TABLE: [[&str; 5]; 4] = [
            ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],
            ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
            ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
            ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],
        ];
        let rules = Preset::Rf10.rules();
        let row = usize::from(r.max(2) - 2);
        let got = classify(&rules, r, f, m).map(|i| &*rules[i].id);
        prop_assert_eq!(got, Some(TABLE[row][usize::from(f) - 1]));
    }

    #[test]
    fn input_order_changes_nothing(
        purchases in prop::collection::vec(purchase(), 0..60),
        members in prop::collection::vec(member(), 0..10),
        previous in prop::collection::vec((id(), level()), 0..10),
        seed in any::<u64>(),
        settings in prop::sample::select(vec![
            "",
            "frequency = \"orders\"\nmonetary = \"mean\"",
            "window_days = 30\nsegments = \"cn8\"",
            "window_days = \"all\"\nsegments = \"rfm11\"",
        ]),
    ) {
        let settings = TierSettings::from_toml(settings).unwrap();
        let previous: HashMap<String, String> = previous.into_iter().collect();
        let mut sorted = purchases.clone();
        sort_purchases(&mut sorted);
        let mut previous_sorted: Vec<(String, String)> = previous.clone().into_iter().collect();
        previous_sorted.sort();
        let base = run(&settings, sorted, members.clone(), previous_sorted);

        let mut shuffled = purchases;
        shuffle(&mut shuffled, seed);
        sort_purchases(&mut shuffled);
        let mut members = members;
        shuffle(&mut members, seed.rotate_left(17));
        let mut previous_shuffled: Vec<(String, String)> = previous.into_iter().collect();
        shuffle(&mut previous_shuffled, seed.rotate_left(31));
        let other = run(&settings, shuffled, members, previous_shuffled);

        prop_assert_eq!(rows(&base), rows(&other));
        prop_assert_eq!(&base.summary, &other.summary);
        prop_assert_eq!(&base.actions, &other.actions);

        // Scores are within range and present exactly for window buyers.
        for m in base.rows() {
            let scored = m.frequency > 0;
            for s in [m.r_score, m.f_score, m.m_score] {
                prop_assert_eq!(s.is_some(), scored);
                prop_assert!(s.is_none_or(|s| (1..=5).contains(&s)));
            }
        }
    }
}

fn run(
    s: &TierSettings,
    p: Vec<Purchase>,
    m: Vec<MemberFact>,
    prev: Vec<(String, String)>,
) -> TierResult {
    let as_of = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
    compute_tiers(s, as_of, "2026-11".parse::<Period>().unwrap(), p, m, prev).unwrap()
}

fn rows(r: &TierResult) -> Vec<MemberTier<'_>> {
    r.rows().collect()
}

fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

fn id() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "A", "b", "ab", "张三", "z9", "-x", "m01", "m1"])
        .prop_map(String::from)
}

fn level() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["小白", "素人", "达人", "红人", "金卡"]).prop_map(String::from)
}

fn purchase() -> impl Strategy<Value = Purchase> {
    (id(), 0u64..500, 1i64..100_000).prop_map(|(member_id, back, cents)| Purchase {
        member_id,
        // Up to 500 days before a day after as_of, so some fall outside.
        day: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap() - Days::new(back),
        net_amount: Decimal::new(cents, 2),
    })
}

fn member() -> impl Strategy<Value = MemberFact> {
    (id(), prop::option::of(0u64..20_000)).prop_map(|(member_id, b)| MemberFact {
        member_id,
        joined_at: None,
        level: None,
        phone: None,
        birthday: b.map(|b| NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Days::new(b)),
        gender: None,
        city: None,
        points: None,
        source: None,
    })
}
