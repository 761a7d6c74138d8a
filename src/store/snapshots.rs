//! Computed results kept for later runs: daily KPI values (so a week or a
//! year-ago comparison reads 7 or 365 small rows instead of recomputing),
//! member level evaluations (so the next evaluation knows each member's
//! previous level), and tier summaries per run.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};

use super::Store;
use super::codec::{date_from_text, date_to_text};
use super::error::{Context, StoreError};

const KPIS: &str = "daily_kpis";
const VERSION: &str = "rows_version";

/// A count of the ingests committed to the store, bumped in each ingest's
/// transaction. Snapshots are stored only if it has not moved since the
/// rows they were computed from were read: an ingest committing in
/// between (another process's run or import) has dropped the snapshots
/// its rows feed, and a late write must not bring a stale one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowsVersion(i64);

fn rows_version(conn: &rusqlite::Connection) -> Result<RowsVersion, StoreError> {
    conn.prepare_cached("SELECT n FROM rows_version WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .optional()
        .ctx(VERSION, "read")
        .map(|n| RowsVersion(n.unwrap_or(0)))
}

/// Bumps the version in the caller's transaction (see [`RowsVersion`]).
pub(crate) fn bump_rows_version(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO rows_version (id, n) VALUES (1, 1) \
         ON CONFLICT (id) DO UPDATE SET n = n + 1",
    )
    .and_then(|mut s| s.execute([]))
    .ctx(VERSION, "bump")?;
    Ok(())
}
const PERIOD_KPIS: &str = "period_kpis";
const LEVELS: &str = "member_level_sets";

/// Members per stored row of a level evaluation (~1.5 MB of text).
const LEVELS_PER_CHUNK: usize = 65_536;

/// Appends `s` with `\\`, tab and newline escaped, so they cannot be
/// taken for the separators of the stored lines. The migration that
/// moved the rows of version 1 here escapes the same way.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Undoes [`push_escaped`]; `None` for an escape it never writes.
fn unescape(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('\\') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            _ => return None,
        });
    }
    Some(Cow::Owned(out))
}
const TIERS: &str = "tier_snapshots";

impl Store {
    /// Replaces the KPI values stored for `day` (id → exact value text, or
    /// `None` for a missing value). KPIs are facts of the shop, not of a
    /// job, so any job computing a day writes the same values.
    ///
    /// `seen` is the [`RowsVersion`] read before the rows the values were
    /// computed from: if an ingest has committed since, the values may be
    /// of rows that are gone, and nothing is stored (`Ok(false)`).
    pub fn put_daily_kpis(
        &mut self,
        day: NaiveDate,
        kpis: &BTreeMap<String, Option<String>>,
        seen: RowsVersion,
    ) -> Result<bool, StoreError> {
        self.write(KPIS, "put", |tx| {
            if rows_version(tx)? != seen {
                return Ok(false);
            }
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
            Ok(true)
        })
    }

    /// Replaces the KPI values stored for a whole period (a week or a
    /// month, named as in run folders), covering `first_day..=last_day`;
    /// `seen` as for [`Store::put_daily_kpis`].
    pub fn put_period_kpis(
        &mut self,
        period: &str,
        first_day: NaiveDate,
        last_day: NaiveDate,
        kpis: &BTreeMap<String, Option<String>>,
        seen: RowsVersion,
    ) -> Result<bool, StoreError> {
        self.write(PERIOD_KPIS, "put", |tx| {
            if rows_version(tx)? != seen {
                return Ok(false);
            }
            tx.prepare_cached("DELETE FROM period_kpis WHERE period = ?1")
                .and_then(|mut s| s.execute([period]))
                .ctx(PERIOD_KPIS, "clear period")?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO period_kpis (period, first_day, last_day, kpi, value) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .ctx(PERIOD_KPIS, "put")?;
            let (first, last) = (date_to_text(first_day), date_to_text(last_day));
            for (id, value) in kpis {
                ins.execute(params![period, first, last, id, value])
                    .ctx(PERIOD_KPIS, "put")?;
            }
            Ok(true)
        })
    }

    /// The current [`RowsVersion`]: read it before loading the rows a
    /// snapshot is computed from.
    pub fn rows_version(&self) -> Result<RowsVersion, StoreError> {
        rows_version(&self.conn)
    }

    /// The KPI values stored for `period` covering `first_day..=last_day`;
    /// `None` when there are none (never computed, or dropped since).
    pub fn period_kpis(
        &self,
        period: &str,
        first_day: NaiveDate,
        last_day: NaiveDate,
    ) -> Result<Option<BTreeMap<String, Option<String>>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kpi, value FROM period_kpis \
                 WHERE period = ?1 AND first_day = ?2 AND last_day = ?3",
            )
            .ctx(PERIOD_KPIS, "get")?;
        let rows = stmt
            .query_map(
                params![period, date_to_text(first_day), date_to_text(last_day)],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
            )
            .ctx(PERIOD_KPIS, "get")?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (k, v) = row.ctx(PERIOD_KPIS, "get")?;
            out.insert(k, v);
        }
        Ok((!out.is_empty()).then_some(out))
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

    /// Replaces the member level evaluation as of `as_of`. `levels` are
    /// (member_id, level) in ascending member_id order, as the tier
    /// evaluation lists its rows.
    ///
    /// An evaluation covers every member (millions in a large shop), so it
    /// is kept as a few hundred rows of [`LEVELS_PER_CHUNK`] members each:
    /// a row per member made storing one evaluation a write of millions of
    /// index entries, and reading the previous one as long.
    pub fn put_member_levels<M: AsRef<str>, L: AsRef<str>>(
        &mut self,
        as_of: NaiveDate,
        levels: &[(M, L)],
    ) -> Result<(), StoreError> {
        self.write(LEVELS, "put", |tx| {
            let d = date_to_text(as_of);
            tx.prepare_cached("DELETE FROM member_level_sets WHERE as_of = ?1")
                .and_then(|mut s| s.execute([&d]))
                .ctx(LEVELS, "clear evaluation")?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO member_level_sets (as_of, chunk, levels) VALUES (?1, ?2, ?3)",
                )
                .ctx(LEVELS, "put")?;
            let mut text = String::new();
            for (chunk, part) in levels.chunks(LEVELS_PER_CHUNK).enumerate() {
                text.clear();
                for (member, level) in part {
                    push_escaped(&mut text, member.as_ref());
                    text.push('\t');
                    push_escaped(&mut text, level.as_ref());
                    text.push('\n');
                }
                ins.execute(params![d, chunk as i64, text])
                    .ctx(LEVELS, "put")?;
            }
            Ok(())
        })
    }

    /// The most recent evaluation strictly before `as_of`, as (member_id,
    /// level) in the order stored; empty if there is none. Re-running an
    /// evaluation therefore compares with the one before it, not with
    /// itself.
    pub fn member_levels_before(
        &self,
        as_of: NaiveDate,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        self.for_each_member_level_before(as_of, |m, l| out.push((m.to_owned(), l.to_owned())))?;
        Ok(out)
    }

    /// [`Store::member_levels_before`] handed to `f` one member at a time,
    /// borrowed from the stored text: millions of members cost no string
    /// of their own.
    pub fn for_each_member_level_before(
        &self,
        as_of: NaiveDate,
        mut f: impl FnMut(&str, &str),
    ) -> Result<(), StoreError> {
        let prev: Option<String> = self
            .conn
            .prepare_cached("SELECT max(as_of) FROM member_level_sets WHERE as_of < ?1")
            .and_then(|mut s| s.query_row([date_to_text(as_of)], |r| r.get(0)))
            .ctx(LEVELS, "find previous evaluation")?;
        let Some(prev) = prev else {
            return Ok(());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT chunk, levels FROM member_level_sets WHERE as_of = ?1 ORDER BY chunk",
            )
            .ctx(LEVELS, "read")?;
        let mut rows = stmt.query([&prev]).ctx(LEVELS, "read")?;
        while let Some(r) = rows.next().ctx(LEVELS, "read")? {
            let chunk: i64 = r.get(0).ctx(LEVELS, "read")?;
            let text = r
                .get_ref(1)
                .and_then(|v| v.as_str().map_err(Into::into))
                .ctx(LEVELS, "read")?;
            for line in text.split_terminator('\n') {
                let parsed = line
                    .split_once('\t')
                    .and_then(|(m, l)| Some((unescape(m)?, unescape(l)?)));
                match parsed {
                    Some((m, l)) => f(&m, &l),
                    None => {
                        return Err(StoreError::Corrupt {
                            table: LEVELS,
                            column: "levels",
                            value: format!("as_of {prev}, chunk {chunk}: {line:?}"),
                        });
                    }
                }
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// More members than one chunk holds, ids with the separators in them,
    /// and a re-run of the same evaluation replacing (not adding to) it.
    #[test]
    fn level_evaluations_read_back_whole_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut levels: Vec<(String, String)> = (0..LEVELS_PER_CHUNK + 10)
            .map(|i| {
                (
                    format!("m{i:07}"),
                    if i % 3 == 0 { "达人" } else { "小白" }.to_string(),
                )
            })
            .collect();
        levels.push(("z\ttab\nnew\\line".into(), "lv\t2".into()));
        store.put_member_levels(day("2026-09-30"), &levels).unwrap();
        store.put_member_levels(day("2026-09-30"), &levels).unwrap();
        assert!(
            store
                .member_levels_before(day("2026-09-30"))
                .unwrap()
                .is_empty()
        );
        let back = store.member_levels_before(day("2026-10-31")).unwrap();
        assert_eq!(back, levels);
        let chunks: i64 = store
            .conn
            .query_row("SELECT count(*) FROM member_level_sets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(chunks, 2);
        // The latest evaluation before the date is the one read.
        let later = vec![("m0000001".to_string(), "红人".to_string())];
        store.put_member_levels(day("2026-10-31"), &later).unwrap();
        assert_eq!(
            store.member_levels_before(day("2026-11-30")).unwrap(),
            later
        );
        assert_eq!(
            store.member_levels_before(day("2026-10-31")).unwrap(),
            levels
        );
    }

    /// A store of version 5 keeps its evaluations through the move to
    /// chunks, escapes included.
    #[test]
    fn version_5_member_levels_move_to_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for (v, sql) in super::super::schema::MIGRATIONS
                .iter()
                .filter(|(v, _)| *v <= 5)
            {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", v).unwrap();
            }
            let rows = [
                ("2026-09-30", "b", "素人"),
                ("2026-09-30", "a\tx", "小白"),
                ("2026-09-30", "c\\d", "达人"),
                ("2026-08-31", "a\tx", "素人"),
            ];
            for (as_of, m, l) in rows {
                conn.execute(
                    "INSERT INTO member_levels (as_of, member_id, level) VALUES (?1, ?2, ?3)",
                    params![as_of, m, l],
                )
                .unwrap();
            }
        }
        let store = Store::open(&path).unwrap();
        let pair = |m: &str, l: &str| (m.to_string(), l.to_string());
        assert_eq!(
            store.member_levels_before(day("2026-10-31")).unwrap(),
            vec![
                pair("a\tx", "小白"),
                pair("b", "素人"),
                pair("c\\d", "达人")
            ]
        );
        assert_eq!(
            store.member_levels_before(day("2026-09-30")).unwrap(),
            vec![pair("a\tx", "素人")]
        );
    }
}
