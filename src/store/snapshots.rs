//! Computed results kept for later runs: daily KPI values (so a week or a
//! year-ago comparison reads 7 or 365 small rows instead of recomputing),
//! member level evaluations (so the next evaluation knows each member's
//! previous level), and tier summaries per run.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};

use super::Store;
use super::codec::{date_from_text, date_to_text};
use super::error::{Context, StoreError};

const KPIS: &str = "daily_kpis";
const LEVELS: &str = "member_levels";
const TIERS: &str = "tier_snapshots";

impl Store {
    /// Replaces the KPI values stored for `day` (id → exact value text, or
    /// `None` for a missing value). KPIs are facts of the shop, not of a
    /// job, so any job computing a day writes the same values.
    pub fn put_daily_kpis(
        &mut self,
        day: NaiveDate,
        kpis: &BTreeMap<String, Option<String>>,
    ) -> Result<(), StoreError> {
        self.write(KPIS, "put", |tx| {
            let d = date_to_text(day);
            tx.prepare_cached("DELETE FROM daily_kpis WHERE day = ?1")
                .and_then(|mut s| s.execute([&d]))
                .ctx(KPIS, "clear day")?;
            let mut ins = tx
                .prepare_cached("INSERT INTO daily_kpis (day, kpi, value) VALUES (?1, ?2, ?3)")
                .ctx(KPIS, "put")?;
            for (id, value) in kpis {
                ins.execute(params![d, id, value]).ctx(KPIS, "put")?;
            }
            Ok(())
        })
    }

    /// Stored KPI values for the days in `[day_start, day_end)`; days with
    /// nothing stored are absent.
    pub fn daily_kpis(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, BTreeMap<String, Option<String>>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT day, kpi, value FROM daily_kpis WHERE day >= ?1 AND day < ?2")
            .ctx(KPIS, "read")?;
        let mut rows = stmt
            .query(params![date_to_text(day_start), date_to_text(day_end)])
            .ctx(KPIS, "read")?;
        let mut out: BTreeMap<NaiveDate, BTreeMap<String, Option<String>>> = BTreeMap::new();
        while let Some(r) = rows.next().ctx(KPIS, "read")? {
            let day: String = r.get(0).ctx(KPIS, "read")?;
            let day = date_from_text(KPIS, "day", &day)?;
            out.entry(day)
                .or_default()
                .insert(r.get(1).ctx(KPIS, "read")?, r.get(2).ctx(KPIS, "read")?);
        }
        Ok(out)
    }

    /// The stored value of one KPI id for each day in `[day_start,
    /// day_end)` that has it.
    pub fn daily_kpi_values(
        &self,
        day_start: NaiveDate,
        day_end: NaiveDate,
        kpi: &str,
    ) -> Result<BTreeMap<NaiveDate, Option<String>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT day, value FROM daily_kpis WHERE day >= ?1 AND day < ?2 AND kpi = ?3",
            )
            .ctx(KPIS, "read")?;
        let mut rows = stmt
            .query(params![date_to_text(day_start), date_to_text(day_end), kpi])
            .ctx(KPIS, "read")?;
        let mut out = BTreeMap::new();
        while let Some(r) = rows.next().ctx(KPIS, "read")? {
            let day: String = r.get(0).ctx(KPIS, "read")?;
            out.insert(
                date_from_text(KPIS, "day", &day)?,
                r.get(1).ctx(KPIS, "read")?,
            );
        }
        Ok(out)
    }

    /// Replaces the member level evaluation as of `as_of`.
    pub fn put_member_levels(
        &mut self,
        as_of: NaiveDate,
        levels: &[(String, String)],
    ) -> Result<(), StoreError> {
        self.write(LEVELS, "put", |tx| {
            let d = date_to_text(as_of);
            tx.prepare_cached("DELETE FROM member_levels WHERE as_of = ?1")
                .and_then(|mut s| s.execute([&d]))
                .ctx(LEVELS, "clear evaluation")?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO member_levels (as_of, member_id, level) \
                     VALUES (?1, ?2, ?3)",
                )
                .ctx(LEVELS, "put")?;
            for (member, level) in levels {
                ins.execute(params![d, member, level]).ctx(LEVELS, "put")?;
            }
            Ok(())
        })
    }

    /// The most recent evaluation strictly before `as_of` (member → level);
    /// empty if there is none. Re-running an evaluation therefore compares
    /// with the one before it, not with itself.
    pub fn member_levels_before(
        &self,
        as_of: NaiveDate,
    ) -> Result<HashMap<String, String>, StoreError> {
        let prev: Option<String> = self
            .conn
            .prepare_cached("SELECT max(as_of) FROM member_levels WHERE as_of < ?1")
            .and_then(|mut s| s.query_row([date_to_text(as_of)], |r| r.get(0)))
            .ctx(LEVELS, "find previous evaluation")?;
        let mut out = HashMap::new();
        let Some(prev) = prev else {
            return Ok(out);
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT member_id, level FROM member_levels WHERE as_of = ?1")
            .ctx(LEVELS, "read")?;
        let mut rows = stmt.query([prev]).ctx(LEVELS, "read")?;
        while let Some(r) = rows.next().ctx(LEVELS, "read")? {
            out.insert(r.get(0).ctx(LEVELS, "read")?, r.get(1).ctx(LEVELS, "read")?);
        }
        Ok(out)
    }

    /// Stores (replacing) the tier summary of one run.
    pub fn put_tier_snapshot(
        &mut self,
        job: &str,
        period: &str,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let text = summary.to_string();
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO tier_snapshots (job, period, summary) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![job, period, text]))
            .ctx(TIERS, "put")?;
        Ok(())
    }

    pub fn tier_snapshot(
        &self,
        job: &str,
        period: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT summary FROM tier_snapshots WHERE job = ?1 AND period = ?2")
            .and_then(|mut s| s.query_row(params![job, period], |r| r.get(0)).optional())
            .ctx(TIERS, "read")?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|_| StoreError::Corrupt {
                table: TIERS,
                column: "summary",
                value: t.chars().take(80).collect(),
            })
        })
        .transpose()
    }
}
