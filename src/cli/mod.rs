//! The command line of SPEC §2: argument parsing, logging setup, config
//! loading, dispatch to the commands, and exit codes.
//!
//! Commands are thin: each loads what it needs and calls into the pipeline
//! (`run`), the store or the scheduler. Errors are printed with their whole
//! cause chain on stderr and mapped to the exit codes users script against.

/// Writes with `$mac!` (`write`/`writeln`) to `$stream`, dropping a write
/// error: a stream that cannot be written (a full disk, a closed pipe)
/// loses the message, not the process, whose exit code still tells the
/// outcome. `println!` and friends panic there instead.
macro_rules! write_or_drop {
    ($stream:expr, $mac:ident, $($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = $mac!($stream, $($arg)*);
    }};
}

/// `eprintln!` that cannot panic (see `write_or_drop!`).
macro_rules! say {
    ($($arg:tt)*) => { write_or_drop!(std::io::stderr(), writeln, $($arg)*) };
}

/// `eprint!` that cannot panic.
macro_rules! say_raw {
    ($($arg:tt)*) => { write_or_drop!(std::io::stderr(), write, $($arg)*) };
}

/// `println!` that cannot panic.
macro_rules! put {
    ($($arg:tt)*) => { write_or_drop!(std::io::stdout(), writeln, $($arg)*) };
}

/// `print!` that cannot panic.
macro_rules! put_raw {
    ($($arg:tt)*) => { write_or_drop!(std::io::stdout(), write, $($arg)*) };
}

mod args;
mod commands;
mod outbox;
mod progress;
mod scheduling;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, LogFormat};

use crate::config::{self, Config, ConfigErrors};

/// Exit codes of SPEC §2.
pub mod exit {
    /// Success (warnings allowed).
    pub const OK: u8 = 0;
    /// The run finished but a fail-level check held delivery back (or sent it flagged).
    pub const CHECK_FAILED: u8 = 1;
    /// Usage or configuration error.
    pub const USAGE: u8 = 2;
    /// Input error: a source missing, unreadable, or rejected.
    pub const INPUT: u8 = 3;
    /// Delivery failed after retries; the mail stays queued in the outbox.
    pub const DELIVERY: u8 = 4;
}

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr.
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(&cli);
    ExitCode::from(commands::dispatch(&cli))
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let default = match (cli.verbose, cli.quiet) {
        (_, true) => "warn",
        (0, _) => "info",
        (1, _) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("STOREPULSE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("storepulse={default},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        // A log line that cannot be written is lost, quietly: reporting it
        // on the same broken stderr would panic (see `write_or_drop!`).
        .log_internal_errors(false);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// The config file: `--config`, else `$STOREPULSE_CONFIG`, else `./storepulse.toml`.
pub fn config_path(cli: &Cli) -> PathBuf {
    cli.config
        .clone()
        .or_else(|| std::env::var_os(config::CONFIG_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("storepulse.toml"))
}

/// Loads the config with the `--set` overrides applied.
pub fn load_config(cli: &Cli) -> Result<Config, ConfigErrors> {
    config::load(&config_path(cli), &cli.set)
}

/// Prints an error and its whole `source()` chain to stderr.
pub fn print_error(err: &(dyn std::error::Error + 'static)) {
    let mut last = err.to_string();
    say!("error: {last}");
    let mut cur = err.source();
    while let Some(e) = cur {
        // Many messages already end with their cause's text; saying it
        // twice reads like two problems.
        let text = e.to_string();
        if !last.contains(&text) {
            say!("  caused by: {text}");
        }
        last = text;
        cur = e.source();
    }
}
