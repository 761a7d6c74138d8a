//! Per-job check settings: the raw `[checks.<id>]` tables and the build
//! step that resolves them over the catalogue's defaults.
//!
//! ```toml
//! [checks.row_count]
//! warn = 0.6          # ratio to the trailing 7-day median below which it warns
//! fail = 0.25
//! [checks.refund_rate]
//! fail = 0.3          # business checks only warn unless given a fail threshold
//! [checks.low_stock]
//! safety_days = 10
//! [checks.traffic_move]
//! level = "fail"      # any breach is a fail (or "warn": never more than a warning)
//! [checks.ads_roi]
//! enabled = false
//! ```
//!
//! Business checks default to warn-only: a fail holds every team's report,
//! and a bad business day is exactly the news the reports should carry.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::Level;
use super::catalog::{CheckDef, Direction, check_catalog, check_def};

/// One `[checks.<id>]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub enabled: Option<bool>,
    /// `"warn"` or `"fail"`: the level any breach reports at, overriding
    /// the warn / fail grading (a skipped check stays a warning).
    pub level: Option<String>,
    pub warn: Option<f64>,
    pub fail: Option<f64>,
    pub safety_days: Option<f64>,
    pub min_spend: Option<f64>,
    pub days: Option<f64>,
    pub top: Option<f64>,
    pub min_consultations: Option<f64>,
}

/// The `[checks]` table: check id → settings.
pub type RawChecks = BTreeMap<String, RawCheck>;

/// A problem in the `[checks]` table, naming its key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct CheckConfigError {
    /// `checks.<id>` or `checks.<id>.<setting>`.
    pub key: String,
    pub message: String,
}

/// The resolved settings of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSettings {
    pub enabled: bool,
    /// When set, every breach reports at this level (warn or fail).
    pub level: Option<Level>,
    pub warn: Option<Decimal>,
    pub fail: Option<Decimal>,
    pub params: BTreeMap<&'static str, Decimal>,
}

impl CheckSettings {
    /// A parameter of the check (its catalogue default unless configured).
    pub fn param(&self, name: &str) -> Decimal {
        self.params.get(name).copied().unwrap_or_default()
    }
}

/// Resolved settings for every check in the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct ChecksConfig {
    settings: BTreeMap<&'static str, CheckSettings>,
}

fn dec(x: f64) -> Option<Decimal> {
    // Through the shortest decimal text, so 0.3 becomes 0.3 and not the
    // binary float's 0.299999….
    x.is_finite().then(|| x.to_string().parse().ok()).flatten()
}

fn defaults_of(def: &CheckDef) -> CheckSettings {
    CheckSettings {
        enabled: true,
        level: None,
        warn: def.warn.and_then(dec),
        fail: def.fail.and_then(dec),
        params: def
            .params
            .iter()
            .filter_map(|(k, v)| dec(*v).map(|d| (*k, d)))
            .collect(),
    }
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            settings: check_catalog()
                .iter()
                .map(|d| (d.id, defaults_of(d)))
                .collect(),
        }
    }
}

impl ChecksConfig {
    /// Resolves a job's `[checks]` table; every problem is returned, each
    /// naming its key.
    pub fn build(raw: &RawChecks) -> Result<ChecksConfig, Vec<CheckConfigError>> {
        let mut cfg = ChecksConfig::default();
        let mut errors = Vec::new();
        for (id, r) in raw {
            let Some(def) = check_def(id) else {
                let known: Vec<&str> = check_catalog().iter().map(|d| d.id).collect();
                errors.push(CheckConfigError {
                    key: format!("checks.{id}"),
                    message: format!("unknown check (known: {})", known.join(", ")),
                });
                continue;
            };
            let mut err = |setting: &str, message: String| {
                errors.push(CheckConfigError {
                    key: format!("checks.{id}.{setting}"),
                    message,
                });
            };
            let s = cfg
                .settings
                .entry(def.id)
                .or_insert_with(|| defaults_of(def));
            if let Some(e) = r.enabled {
                s.enabled = e;
            }
            match r.level.as_deref() {
                None => {}
                Some("warn") => s.level = Some(Level::Warn),
                Some("fail") => s.level = Some(Level::Fail),
                Some(other) => err("level", format!("{other:?} is not \"warn\" or \"fail\"")),
            }
            for (name, value, slot) in
                [("warn", r.warn, &mut s.warn), ("fail", r.fail, &mut s.fail)]
            {
                let Some(v) = value else { continue };
                if def.direction == Direction::Rule {
                    err(
                        name,
                        "this check has no threshold (use level or enabled)".into(),
                    );
                } else if let Some(d) = dec(v) {
                    *slot = Some(d);
                } else {
                    err(name, format!("{v} is not a finite number"));
                }
            }
            if let (Some(w), Some(f)) = (s.warn, s.fail) {
                match def.direction {
                    Direction::Above if f < w => err(
                        "fail",
                        format!(
                            "fail threshold {f} is below the warn threshold {w} (this check is worse above)"
                        ),
                    ),
                    Direction::Below if f > w => err(
                        "fail",
                        format!(
                            "fail threshold {f} is above the warn threshold {w} (this check is worse below)"
                        ),
                    ),
                    _ => {}
                }
            }
            for (name, value) in [
                ("safety_days", r.safety_days),
                ("min_spend", r.min_spend),
                ("days", r.days),
                ("top", r.top),
                ("min_consultations", r.min_consultations),
            ] {
                let Some(v) = value else { continue };
                if !def.params.iter().any(|(p, _)| *p == name) {
                    err(name, "not a setting of this check".into());
                    continue;
                }
                let whole = matches!(name, "days" | "top" | "min_consultations");
                match dec(v) {
                    Some(d) if d > Decimal::ZERO && (!whole || d.fract().is_zero()) => {
                        // Params are only listed for defs that have them.
                        if let Some(key) = def.params.iter().map(|(p, _)| *p).find(|p| *p == name) {
                            s.params.insert(key, d);
                        }
                    }
                    _ if whole => err(name, format!("{v} is not a positive whole number")),
                    _ => err(name, format!("{v} is not a positive number")),
                }
            }
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// The settings of a check id from the catalogue.
    pub fn get(&self, id: &str) -> Option<&CheckSettings> {
        self.settings.get(id)
    }

    /// The window of the `zero_sellers` check in days, for loading the
    /// per-SKU sales it needs.
    pub fn zero_seller_days(&self) -> u32 {
        self.get("zero_sellers")
            .map(|s| s.param("days"))
            .and_then(|d| u32::try_from(d.trunc()).ok())
            .unwrap_or(90)
    }

    /// The low-stock safety cover in days.
    pub fn safety_days(&self) -> Decimal {
        self.get("low_stock")
            .map_or(Decimal::from(7), |s| s.param("safety_days"))
    }
}
