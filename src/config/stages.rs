//! The last step of loading: the sections other stages own (`[tiers]`,
//! `[smtp]`, `[daemon]`, a dataset's `[http]` and every job's `[checks]`) are built by those
//! stages' own config types here, so one load reports their problems with
//! everyone else's, each with its file and key, before any work starts.
//!
//! Secrets are not looked up: whether `password_env` names a set variable is
//! a question for the moment mail is sent, not for the files.

use super::{Config, ConfigErrors, SourceKind, section};
use crate::check::{ChecksConfig, RawChecks};
use crate::compute::tiers::TiersRaw;
use crate::deliver::SmtpConfigRaw;
use crate::schedule::RawDaemon;
use crate::source::http;

pub(super) fn check(config: &Config, errors: &mut ConfigErrors) {
    let file = &config.file;
    let table = config.tiers.clone().unwrap_or_default();
    if let Some(raw) = section::deserialize::<TiersRaw>(&table, file, "tiers", errors)
        && let Err(problems) = raw.build()
    {
        for p in problems {
            errors.push(file, p.key, p.message);
        }
    }
    // Unknown keys always count; completeness only when mail is sent
    // (outbox-only needs no server).
    if let Some(table) = &config.smtp
        && let Some(raw) = section::deserialize::<SmtpConfigRaw>(table, file, "smtp", errors)
        && config.delivery == super::DeliveryMode::Smtp
        && let Err(problems) = raw.build_with_env(config.dir(), |_| Some("set".to_string()))
    {
        for p in problems {
            errors.push(file, p.key, p.message);
        }
    }
    if let Some(table) = &config.daemon
        && let Some(raw) = section::deserialize::<RawDaemon>(table, file, "daemon", errors)
        && let Err(problems) = raw.build()
    {
        for p in problems {
            errors.push(file, p.key, p.message);
        }
    }
    for (dataset, dc) in &config.datasets {
        if let SourceKind::Http(table) = &dc.source {
            let key = format!("datasets.{}.http", dataset.name());
            let no_secrets = |_: &str| Some("set".to_string());
            if let Err(problems) =
                http::build_with_env(table, file, &key, config.timezone, &no_secrets)
            {
                errors.0.extend(problems.0);
            }
        }
    }
    crate::run::scheduled::validate_schedules(config, errors);
    for job in config.jobs.values() {
        if let Some(raw) =
            section::deserialize::<RawChecks>(&job.checks, &job.file, "checks", errors)
            && let Err(problems) = ChecksConfig::build(&raw)
        {
            for p in problems {
                errors.push(&job.file, p.key, p.message);
            }
        }
    }
}
