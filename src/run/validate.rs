//! `storepulse validate`: everything a run would trip over, found without
//! running: each stage's own config sections, rules and templates, every
//! problem with its file and key.
//!
//! `config::load` has already checked the global file and the job files'
//! shapes; this adds what only the stages know (check thresholds, tier
//! settings and segment coverage, SMTP, schedules, HTTP sources, report
//! layouts and email templates).

use crate::check::{ChecksConfig, RawChecks};
use crate::config::{Config, ConfigErrors, section};

/// Every problem in `config` beyond its shape; empty when a run can go.
pub fn validate(config: &Config) -> ConfigErrors {
    let mut errors = ConfigErrors::default();
    validate_tiers(config, &mut errors);
    validate_checks(config, &mut errors);
    errors
}

fn validate_tiers(config: &Config, errors: &mut ConfigErrors) {
    let Some(settings) = super::tiers::settings(config, errors) else {
        return;
    };
    let coverage = settings.coverage();
    for id in &coverage.never_matching {
        errors.push(
            &config.file,
            "tiers.segment_rules",
            format!("segment rule {id:?} can never match: earlier rules take every cell it names"),
        );
    }
    if !coverage.uncovered.is_empty() {
        let cells: Vec<String> = coverage
            .uncovered
            .iter()
            .take(10)
            .map(|c| format!("R{}F{}M{}", c.r, c.f, c.m))
            .collect();
        errors.push(
            &config.file,
            "tiers.segment_rules",
            format!(
                "{} score cell(s) match no segment rule, e.g. {}",
                coverage.uncovered.len(),
                cells.join(", ")
            ),
        );
    }
}

fn validate_checks(config: &Config, errors: &mut ConfigErrors) {
    for job in config.jobs.values() {
        let Some(raw): Option<RawChecks> =
            section::deserialize(&job.checks, &job.file, "checks", errors)
        else {
            continue;
        };
        if let Err(problems) = ChecksConfig::build(&raw) {
            for p in problems {
                errors.push(&job.file, p.key, p.message);
            }
        }
    }
}
