//! `storepulse-gen`: writes a deterministic, seeded inbox of realistic Chinese
//! shop exports (淘宝/天猫 order lists in GBK, 生意参谋 workbooks, member lists,
//! customer-service and ads reports) for demos, tests and benchmarks. The same
//! seed gives byte-identical files on every platform. It stands alone: it
//! shares no code with the storepulse library, so it can describe the files
//! the library must read without borrowing its assumptions.

mod calendar;
mod catalog;
mod out;
mod people;
mod profile;
mod rng;
mod sim;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write workbook {}", path.display())]
    Xlsx {
        path: PathBuf,
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    #[error("{}: text has no GBK encoding (first offending character {sample:?})", path.display())]
    NotGbk { path: PathBuf, sample: String },
    #[error("--start {start} is after --end {end}")]
    Range { start: NaiveDate, end: NaiveDate },
}

#[derive(Parser)]
#[command(
    name = "storepulse-gen",
    about = "Generate a realistic, seeded inbox of shop exports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A mid-size Tmall apparel shop over 100 days around 双11 (the committed sample).
    Sample(GenArgs),
    /// A large store for benchmarks: a year, ~10 M orders, 2 M members, 20 k SKUs.
    Large(GenArgs),
}

#[derive(Args)]
struct GenArgs {
    /// Output folder; files go to `<out>/inbox/<YYYY-MM-DD>/` and `<out>/targets.csv`.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 20_261_122)]
    seed: u64,
    /// First day (default: 2026-08-15 for sample, 2025-11-23 for large).
    #[arg(long)]
    start: Option<NaiveDate>,
    /// Last day, inclusive (default 2026-11-22).
    #[arg(long)]
    end: Option<NaiveDate>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (profile, args, default_start) = match cli.command {
        Command::Sample(a) => (profile::sample(), a, NaiveDate::from_ymd_opt(2026, 8, 15)),
        Command::Large(a) => (profile::large(), a, NaiveDate::from_ymd_opt(2025, 11, 23)),
    };
    let default_end = NaiveDate::from_ymd_opt(2026, 11, 22);
    let (Some(start), Some(end)) = (args.start.or(default_start), args.end.or(default_end)) else {
        eprintln!("storepulse-gen: no date range");
        return ExitCode::from(2);
    };
    let name = profile.name;
    match generate(profile, args.seed, start, end, &args.out) {
        Ok(s) => {
            eprintln!(
                "storepulse-gen {name}: {} days, {} orders ({} paid, {} awaiting payment, {} closed), {} members written{}",
                s.days,
                s.orders,
                s.paid_orders,
                s.unpaid_open,
                s.closed,
                s.members,
                s.buyers
                    .map(|b| format!(", {b} distinct buyers"))
                    .unwrap_or_default()
            );
            for (d, n) in &s.orders_per_day {
                let gross = s.gross_per_day.get(d).copied().unwrap_or_default();
                eprintln!("  {d}: {n} orders created, {gross} paid");
            }
            ExitCode::SUCCESS
        }
        Err(e @ GenError::Range { .. }) => {
            eprintln!("storepulse-gen: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            let mut msg = format!("storepulse-gen: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("{msg}");
            ExitCode::from(3)
        }
    }
}

fn generate(
    profile: profile::Profile,
    seed: u64,
    start: NaiveDate,
    end: NaiveDate,
    out: &std::path::Path,
) -> Result<sim::Summary, GenError> {
    if start > end {
        return Err(GenError::Range { start, end });
    }
    sim::Generator::new(profile, seed, start, end, out).run()
}
