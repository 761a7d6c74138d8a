//! The scheduling keys of a job file and the global `[daemon]` section:
//! raw serde structs that reject unknown keys, and build steps that report
//! every problem at once, each naming its key.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::period::PeriodKind;
use crate::schedule::cron::Schedule;
use crate::schedule::job::{CatchUp, Overlap, RetryPolicy, ScheduledJob};

/// One problem with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Full key path, e.g. `jobs.daily-ops.retries.attempts`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The scheduling keys of a job file, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJobSchedule {
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub catchup: Option<String>,
    pub max_catchup: Option<u32>,
    pub retries: Option<RawRetries>,
    pub timeout_secs: Option<u64>,
    pub step_timeout_secs: Option<u64>,
    pub overlap: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    pub attempts: Option<u32>,
    pub base_secs: Option<u64>,
    pub cap_secs: Option<u64>,
    pub jitter: Option<f64>,
}

/// Resolved scheduling settings of one job.
#[derive(Debug, Clone)]
pub struct JobScheduleConfig {
    pub schedule: Schedule,
    pub timezone: Tz,
    pub catchup: CatchUp,
    pub max_catchup: u32,
    pub overlap: Overlap,
    pub retries: RetryPolicy,
    pub run_timeout: Duration,
    pub step_timeout: Duration,
}

pub const DEFAULT_MAX_CATCHUP: u32 = 7;
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl RawJobSchedule {
    /// Resolves the keys found under `prefix` (e.g. `jobs.daily-ops`), with
    /// `default_tz` (the global `timezone`) for jobs that set none.
    pub fn build(
        &self,
        prefix: &str,
        default_tz: Tz,
    ) -> Result<JobScheduleConfig, Vec<ConfigProblem>> {
        let mut found = Problems {
            prefix,
            list: Vec::new(),
        };

        let timezone = match &self.timezone {
            None => Some(default_tz),
            Some(name) => match name.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    found.add(
                        "timezone",
                        format!("unknown IANA time zone {name:?} (e.g. \"Asia/Shanghai\")"),
                    );
                    None
                }
            },
        };
        let schedule = match (&self.schedule, timezone) {
            (None, _) => {
                found.add(
                    "schedule",
                    "missing cron expression (e.g. \"30 8 * * *\")".into(),
                );
                None
            }
            (Some(expr), Some(tz)) => match Schedule::parse(expr, tz) {
                Ok(s) => Some(s),
                Err(e) => {
                    found.add("schedule", e.to_string());
                    None
                }
            },
            (Some(_), None) => None,
        };
        let catchup = match self.catchup.as_deref() {
            None => CatchUp::default(),
            Some(word) => CatchUp::parse(word).unwrap_or_else(|| {
                found.add(
                    "catchup",
                    format!("unknown policy {word:?} (expected latest, all or none)"),
                );
                CatchUp::default()
            }),
        };
        let overlap = match self.overlap.as_deref() {
            None => Overlap::default(),
            Some(word) => Overlap::parse(word).unwrap_or_else(|| {
                found.add(
                    "overlap",
                    format!("unknown policy {word:?} (expected skip or queue)"),
                );
                Overlap::default()
            }),
        };
        let max_catchup = self.max_catchup.unwrap_or(DEFAULT_MAX_CATCHUP);
        if max_catchup == 0 {
            found.add(
                "max_catchup",
                "must be at least 1 (use catchup = \"none\" to disable catch-up)".into(),
            );
        }
        let run_timeout = found.secs("timeout_secs", self.timeout_secs, DEFAULT_RUN_TIMEOUT);
        let step_timeout = found.secs(
            "step_timeout_secs",
            self.step_timeout_secs,
            DEFAULT_STEP_TIMEOUT,
        );
        let defaults = RetryPolicy::default();
        let retries = match &self.retries {
            None => defaults,
            Some(raw) => {
                let attempts = raw.attempts.unwrap_or(defaults.attempts);
                if attempts == 0 {
                    found.add(
                        "retries.attempts",
                        "must be at least 1 (the first attempt)".into(),
                    );
                }
                let base = found.secs("retries.base_secs", raw.base_secs, defaults.base);
                let cap = found.secs("retries.cap_secs", raw.cap_secs, defaults.cap);
                if cap < base {
                    found.add(
                        "retries.cap_secs",
                        format!(
                            "cap {}s is below base_secs {}s",
                            cap.as_secs(),
                            base.as_secs()
                        ),
                    );
                }
                let jitter = raw.jitter.unwrap_or(defaults.jitter);
                if !(0.0..=1.0).contains(&jitter) {
                    found.add(
                        "retries.jitter",
                        format!("{jitter} is not a fraction in 0..=1"),
                    );
                }
                RetryPolicy {
                    attempts,
                    base,
                    cap,
                    jitter,
                }
            }
        };
        if step_timeout > run_timeout {
            found.add(
                "step_timeout_secs",
                format!(
                    "{}s exceeds the run timeout timeout_secs = {}s",
                    step_timeout.as_secs(),
                    run_timeout.as_secs()
                ),
            );
        }
        match (schedule, timezone) {
            (Some(schedule), Some(timezone)) if found.list.is_empty() => Ok(JobScheduleConfig {
                schedule,
                timezone,
                catchup,
                max_catchup,
                overlap,
                retries,
                run_timeout,
                step_timeout,
            }),
            _ => Err(found.list),
        }
    }
}

struct Problems<'a> {
    prefix: &'a str,
    list: Vec<ConfigProblem>,
}

impl Problems<'_> {
    fn add(&mut self, key: &str, message: String) {
        self.list.push(ConfigProblem {
            key: format!("{}.{key}", self.prefix),
            message,
        });
    }

    fn secs(&mut self, key: &str, value: Option<u64>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(0) => {
                self.add(key, "must be at least 1 second".into());
                default
            }
            Some(secs) => Duration::from_secs(secs),
        }
    }
}

impl JobScheduleConfig {
    /// The job as the scheduler runs it.
    pub fn into_job(
        self,
        name: &str,
        period: PeriodKind,
        first_seen: DateTime<Utc>,
    ) -> ScheduledJob {
        ScheduledJob {
            name: name.to_string(),
            schedule: self.schedule,
            period,
            catchup: self.catchup,
            max_catchup: self.max_catchup,
            overlap: self.overlap,
            first_seen,
            retries: self.retries,
            run_timeout: self.run_timeout,
            step_timeout: self.step_timeout,
        }
    }
}

/// The global `[daemon]` section, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    pub health_port: Option<u16>,
    pub grace_secs: Option<u64>,
    pub wake_secs: Option<u64>,
}

/// Resolved `[daemon]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Loopback port of `/healthz` and `/metrics`; `None` when set to 0.
    pub health_port: Option<u16>,
    /// How long running work gets to stop after SIGTERM / SIGINT.
    pub grace: Duration,
    /// Longest sleep between two looks at the wall clock.
    pub wake: Duration,
}

pub const DEFAULT_HEALTH_PORT: u16 = 9750;

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            health_port: Some(DEFAULT_HEALTH_PORT),
            grace: Duration::from_secs(30),
            wake: Duration::from_secs(60),
        }
    }
}

impl RawDaemon {
    pub fn build(&self) -> Result<DaemonConfig, Vec<ConfigProblem>> {
        let defaults = DaemonConfig::default();
        let mut problems = Vec::new();
        let health_port = match self.health_port {
            None => defaults.health_port,
            Some(0) => None,
            Some(port) => Some(port),
        };
        let grace = self.grace_secs.map_or(defaults.grace, Duration::from_secs);
        let wake = match self.wake_secs {
            None => defaults.wake,
            Some(secs @ 1..=60) => Duration::from_secs(secs),
            Some(secs) => {
                problems.push(ConfigProblem {
                    key: "daemon.wake_secs".into(),
                    message: format!("{secs} is outside 1..=60 seconds"),
                });
                defaults.wake
            }
        };
        if problems.is_empty() {
            Ok(DaemonConfig {
                health_port,
                grace,
                wake,
            })
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    #[test]
    fn defaults_fill_everything_but_the_schedule() {
        let raw: RawJobSchedule = toml::from_str(r#"schedule = "30 8 * * *""#).unwrap();
        let cfg = raw.build("jobs.daily-ops", shanghai()).unwrap();
        assert_eq!(cfg.timezone, shanghai());
        assert_eq!(cfg.catchup, CatchUp::Latest);
        assert_eq!(cfg.max_catchup, 7);
        assert_eq!(cfg.overlap, Overlap::Skip);
        assert_eq!(cfg.retries, RetryPolicy::default());
        assert_eq!(cfg.run_timeout, DEFAULT_RUN_TIMEOUT);
        assert_eq!(cfg.step_timeout, DEFAULT_STEP_TIMEOUT);
    }

    #[test]
    fn every_key_is_read() {
        let raw: RawJobSchedule = toml::from_str(
            r#"
            schedule = "0 9 * * 1"
            timezone = "Europe/Berlin"
            catchup = "all"
            max_catchup = 3
            overlap = "queue"
            timeout_secs = 600
            step_timeout_secs = 120
            retries = { attempts = 5, base_secs = 10, cap_secs = 100, jitter = 0.0 }
            "#,
        )
        .unwrap();
        let cfg = raw.build("jobs.weekly-review", shanghai()).unwrap();
        assert_eq!(cfg.timezone.name(), "Europe/Berlin");
        assert_eq!(cfg.schedule.timezone().name(), "Europe/Berlin");
        assert_eq!(cfg.catchup, CatchUp::All);
        assert_eq!(cfg.max_catchup, 3);
        assert_eq!(cfg.overlap, Overlap::Queue);
        assert_eq!(cfg.run_timeout, Duration::from_secs(600));
        assert_eq!(cfg.step_timeout, Duration::from_secs(120));
        assert_eq!(
            cfg.retries,
            RetryPolicy {
                attempts: 5,
                base: Duration::from_secs(10),
                cap: Duration::from_secs(100),
                jitter: 0.0
            }
        );
    }

    #[test]
    fn all_problems_are_reported_with_their_keys() {
        let raw: RawJobSchedule = toml::from_str(
            r#"
            schedule = "0 9 * *"
            catchup = "some"
            overlap = "parallel"
            max_catchup = 0
            timeout_secs = 60
            step_timeout_secs = 600
            retries = { attempts = 0, base_secs = 100, cap_secs = 10, jitter = 2.0 }
            "#,
        )
        .unwrap();
        let problems = raw.build("jobs.x", shanghai()).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "jobs.x.schedule",
                "jobs.x.catchup",
                "jobs.x.overlap",
                "jobs.x.max_catchup",
                "jobs.x.retries.attempts",
                "jobs.x.retries.cap_secs",
                "jobs.x.retries.jitter",
                "jobs.x.step_timeout_secs",
            ]
        );
        assert!(
            problems[0]
                .to_string()
                .starts_with("jobs.x.schedule: invalid cron")
        );
    }

    #[test]
    fn missing_schedule_and_bad_zone_are_named() {
        let raw: RawJobSchedule = toml::from_str(r#"timezone = "Mars/Olympus""#).unwrap();
        let problems = raw.build("jobs.y", shanghai()).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].starts_with("jobs.y.timezone: unknown IANA time zone \"Mars/Olympus\""));
        assert!(text[1].starts_with("jobs.y.schedule: missing cron expression"));
        let zero: RawJobSchedule =
            toml::from_str("schedule = \"@daily\"\ntimeout_secs = 0").unwrap();
        let problems = zero.build("jobs.z", shanghai()).unwrap_err();
        assert_eq!(problems[0].key, "jobs.z.timeout_secs");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<RawJobSchedule>("schedule = \"@daily\"\ncatch_up = \"all\"")
            .unwrap_err();
        assert!(err.to_string().contains("catch_up"), "{err}");
        let err = toml::from_str::<RawDaemon>("port = 1").unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        let err = toml::from_str::<RawRetries>("tries = 1").unwrap_err();
        assert!(err.to_string().contains("tries"), "{err}");
    }

    #[test]
    fn daemon_section_defaults_and_limits() {
        let d = RawDaemon::default().build().unwrap();
        assert_eq!(d, DaemonConfig::default());
        assert_eq!(d.health_port, Some(9750));
        let raw: RawDaemon =
            toml::from_str("health_port = 0\ngrace_secs = 5\nwake_secs = 10").unwrap();
        let d = raw.build().unwrap();
        assert_eq!(d.health_port, None);
        assert_eq!(d.grace, Duration::from_secs(5));
        assert_eq!(d.wake, Duration::from_secs(10));
        let bad: RawDaemon = toml::from_str("wake_secs = 61").unwrap();
        let problems = bad.build().unwrap_err();
        assert_eq!(problems[0].key, "daemon.wake_secs");
        let bad: RawDaemon = toml::from_str("wake_secs = 0").unwrap();
        assert!(bad.build().is_err());
    }
}
