//! One function per command. Each returns the process exit code.

use super::{Cli, Command, exit, load_config};

pub fn dispatch(cli: &Cli) -> u8 {
    match &cli.command {
        Command::Validate => validate(cli),
        other => {
            eprintln!("error: `{}` is not available yet", command_name(other));
            exit::USAGE
        }
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::RunJob { .. } => "run-job",
        Command::Backfill { .. } => "backfill",
        Command::Import { .. } => "import",
        Command::Daemon => "daemon",
        Command::CatchUp => "catch-up",
        Command::Schedule { .. } => "schedule",
        Command::ListJobs => "list-jobs",
        Command::History { .. } => "history",
        Command::Outbox { .. } => "outbox",
        Command::Validate => "validate",
    }
}

/// `validate`: every problem in config, jobs, templates and mappings, each
/// with its file and key; exit 2 when there is any.
fn validate(cli: &Cli) -> u8 {
    match load_config(cli) {
        Ok(config) => {
            eprintln!(
                "ok: {} ({} jobs, {} teams)",
                config.file.display(),
                config.jobs.len(),
                config.teams.len()
            );
            exit::OK
        }
        Err(errors) => {
            eprint!("{errors}");
            exit::USAGE
        }
    }
}
