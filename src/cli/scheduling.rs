//! The scheduler's commands: `daemon`, `catch-up`, `schedule`, `list-jobs`.

use crate::config::Config;

pub fn daemon(_config: &Config) -> u8 {
    super::commands::not_available("daemon")
}

pub fn catch_up(_config: &Config) -> u8 {
    super::commands::not_available("catch-up")
}

pub fn schedule(_config: &Config, _job: &str, _from: Option<&str>, _count: usize) -> u8 {
    super::commands::not_available("schedule")
}

pub fn list_jobs(_config: &Config) -> u8 {
    super::commands::not_available("list-jobs")
}
