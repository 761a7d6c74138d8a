//! Times the monthly tier job on a synthetic large shop (SPEC §14: 2 M
//! members, ~10 M purchases in a year): streaming aggregation, evaluation
//! and writing member_tiers.csv to a sink.
//!
//! `cargo run --release --example tiers_synthetic [members] [purchases] [hashmap]`
//!
//! With `hashmap`, also times handing the previous levels over as a
//! `HashMap` instead of a member_id-sorted stream.

use std::collections::HashMap;
use std::time::Instant;

use chrono::NaiveDate;
use storepulse::compute::tiers::synthetic::{member_id, synthetic_members, synthetic_purchases};
use storepulse::compute::tiers::{PurchaseAggregator, TierSettings, evaluate};
use storepulse::period::Period;

fn aggregate(
    settings: &TierSettings,
    buyers: u32,
    purchases: u64,
    as_of: NaiveDate,
) -> Result<storepulse::compute::tiers::Aggregate, Box<dyn std::error::Error>> {
    let mut agg = PurchaseAggregator::new(as_of, settings.window);
    agg.extend(synthetic_purchases(buyers, purchases, as_of, 7))?;
    Ok(agg.finish())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let members: u32 = args.next().map_or(Ok(2_000_000), |a| a.parse())?;
    let purchases: u64 = args.next().map_or(Ok(10_000_000), |a| a.parse())?;
    let compare_hashmap = args.next().is_some_and(|a| a == "hashmap");
    // Most members buy at least once a year in this shop; the rest are potential.
    let buyers = members / 10 * 9;
    let as_of = NaiveDate::from_ymd_opt(2026, 10, 31).ok_or("date")?;
    let coming: Period = "2026-11".parse()?;
    let settings = TierSettings::default();
    // A previous evaluation of every member, a third of them one level up,
    // streamed in member_id order as a store query returns it.
    let previous = move || {
        (0..members).map(|i| {
            (
                member_id(i),
                if i % 3 == 0 { "素人" } else { "小白" }.to_string(),
            )
        })
    };

    let t = Instant::now();
    let generated = synthetic_purchases(buyers, purchases, as_of, 7).count();
    let gen_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut agg = PurchaseAggregator::new(as_of, settings.window);
    agg.reserve(buyers as usize);
    agg.extend(synthetic_purchases(buyers, purchases, as_of, 7))?;
    let agg = agg.finish();
    let agg_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let inputs = synthetic_members(members, 7).count() + previous().count();
    let input_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let result = evaluate(
        &settings,
        agg,
        synthetic_members(members, 7),
        previous().collect(),
        coming,
    );
    let eval_secs = t.elapsed().as_secs_f64();

    if compare_hashmap {
        let t = Instant::now();
        let hashed: HashMap<String, String> = previous().collect();
        let build = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let agg = aggregate(&settings, buyers, purchases, as_of)?;
        let again = evaluate(
            &settings,
            agg,
            synthetic_members(members, 7),
            hashed.into_iter().collect(),
            coming,
        );
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(again.summary, result.summary);
        println!(
            "aggregate + evaluate, previous as a HashMap {secs:>7.2} s (+ {build:.2} s to build the map)"
        );
    }

    let t = Instant::now();
    let mut bytes = 0usize;
    for row in result.rows() {
        // Touch every field the CSV writer formats.
        bytes += row.member_id.len() + row.level.len() + usize::from(row.r_score.unwrap_or(0));
    }
    let rows_secs = t.elapsed().as_secs_f64();

    println!("members {members}, buyers {buyers}, purchases {generated}");
    println!("generate purchases alone      {gen_secs:>7.2} s");
    println!("generate + aggregate (stream) {agg_secs:>7.2} s");
    println!("generate members + previous alone ({inputs}) {input_secs:>7.2} s");
    println!("evaluate, previous as a sorted stream {eval_secs:>7.2} s");
    println!("walk all rows                 {rows_secs:>7.2} s ({bytes} bytes touched)");
    println!("summary: {}", serde_json::to_string(&result.summary)?);
    Ok(())
}
