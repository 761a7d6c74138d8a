//! Deterministic synthetic members and purchases of a large shop, for
//! benchmarks and scale tests of the tier computation (SPEC §14: 2 M
//! members, ~10 M purchases a year).
//!
//! Ids are `m` plus a zero-padded number, so numeric and byte order agree
//! and the purchase stream comes out in the order the aggregator needs.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use crate::model::facts::{MemberFact, Purchase};

/// xorshift64*: small, fast and reproducible; no statistical claims needed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The id of synthetic member `i`.
pub fn member_id(i: u32) -> String {
    format!("m{i:08}")
}

/// Purchases of the first `buyers` members over the 365 days ending on
/// `as_of`, about `purchases` in all (each buyer 1 to 2·avg − 1), sorted by
/// member then day, amounts 10.00–999.99.
pub fn synthetic_purchases(
    buyers: u32,
    purchases: u64,
    as_of: NaiveDate,
    seed: u64,
) -> impl Iterator<Item = Purchase> {
    let mut rng = Rng::new(seed);
    let avg = (purchases / u64::from(buyers.max(1))).max(1);
    (0..buyers).flat_map(move |i| {
        let n = 1 + rng.below(2 * avg - 1);
        let mut days: Vec<u64> = (0..n).map(|_| rng.below(365)).collect();
        // Larger offsets are earlier days; descending offsets give ascending days.
        days.sort_unstable_by(|a, b| b.cmp(a));
        let id = member_id(i);
        let amounts: Vec<i64> = (0..n).map(|_| 1_000 + rng.below(99_000) as i64).collect();
        days.into_iter()
            .zip(amounts)
            .map(move |(off, cents)| Purchase {
                member_id: id.clone(),
                day: as_of - Days::new(off),
                net_amount: Decimal::new(cents, 2),
            })
    })
}

/// `count` members (the first ones are the buyers of [`synthetic_purchases`]),
/// each with a birthday.
pub fn synthetic_members(count: u32, seed: u64) -> impl Iterator<Item = MemberFact> {
    let mut rng = Rng::new(seed ^ 0xB1B7);
    // 1970-01-01 plus up to ~40 years.
    let base = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (0..count).map(move |i| MemberFact {
        member_id: member_id(i),
        joined_at: None,
        level: None,
        phone: None,
        birthday: Some(base + Days::new(rng.below(14_600))),
        gender: None,
        city: None,
        points: None,
        source: None,
    })
}
