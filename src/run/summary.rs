//! `summary.json` (SPEC §12): the machine-readable record of a run.
//!
//! Field names are a contract other tools read; money travels as exact
//! decimal strings, ratios as numbers, missing values as `null`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value as Json;

use crate::period::Period;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub job: String,
    pub period: PeriodJson,
    pub status: String,
    pub generated_at: DateTime<Utc>,
    pub inputs: Vec<InputJson>,
    pub kpis: Json,
    pub comparisons: Json,
    pub decomposition: Json,
    pub checks: Json,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Json>,
    pub deliveries: Vec<DeliveryJson>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PeriodJson {
    pub kind: &'static str,
    /// `2026-11-22`, `2026-W47` or `2026-11`.
    pub id: String,
    pub start: NaiveDate,
    /// Exclusive end: the period is `[start, end)`.
    pub end: NaiveDate,
}

impl From<Period> for PeriodJson {
    fn from(p: Period) -> Self {
        PeriodJson {
            kind: p.kind().as_str(),
            id: p.to_string(),
            start: p.start,
            end: p.end,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputJson {
    pub dataset: String,
    pub file: String,
    pub sha256: String,
    pub rows: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeliveryJson {
    pub team: String,
    pub to: Vec<String>,
    pub attachment: Option<String>,
    /// `sent`, `queued`, `written` (outbox-only), `held`, `failed`, `skipped`
    /// (already sent), `dry-run` or `not-sent` (`--no-send`).
    pub status: String,
}
