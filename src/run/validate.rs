//! `storepulse validate`: everything a run would trip over, found without
//! running: each stage's own config sections, rules and templates, every
//! problem with its file and key.
//!
//! `config::load` has already built every section (check thresholds, tier
//! settings, SMTP, daemon, HTTP sources); this adds what needs more than the
//! files: segment-rule coverage, that HTTP secrets exist, email templates, report
//! layouts and labels.

use crate::config::{Config, ConfigErrors};

/// Every problem in `config` beyond its shape; empty when a run can go.
pub fn validate(config: &Config) -> ConfigErrors {
    let mut errors = ConfigErrors::default();
    validate_tiers(config, &mut errors);
    super::fetch::validate_http(config, &mut errors);
    super::deliver::validate_delivery(config, &mut errors);
    validate_reports(config, &mut errors);
    errors
}

/// Report layouts and labels load, and every team's layout exists.
fn validate_reports(config: &Config, errors: &mut ConfigErrors) {
    let mut push = |e: crate::render::LayoutError| errors.push(&e.file, e.key, e.message);
    for locale in [crate::config::Locale::ZhCn, crate::config::Locale::En] {
        if let Err(problems) = crate::render::load_labels(&config.templates, locale) {
            problems.into_iter().for_each(&mut push);
        }
    }
    let layouts = match crate::render::load_layouts(&config.templates) {
        Ok(l) => l,
        Err(problems) => {
            problems.into_iter().for_each(&mut push);
            return;
        }
    };
    for team in config.teams.values() {
        if layouts.get(&team.layout).is_none() {
            errors.push(
                &config.file,
                format!("teams.{}.layout", team.id),
                format!(
                    "no report layout {:?} in {}",
                    team.layout,
                    config.templates.join("reports").display()
                ),
            );
        }
    }
    for job in config.jobs.values() {
        for (team, layout) in &job.teams {
            if layouts.get(layout).is_none() {
                errors.push(
                    &job.file,
                    format!("layouts.{team}"),
                    format!("no report layout {layout:?}"),
                );
            }
        }
    }
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
