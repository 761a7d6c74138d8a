//! File-name patterns with date placeholders (SPEC §4.1).
//!
//! A dataset's pattern is a glob below the inbox in which `{date}` stands for
//! `YYYY-MM-DD` and `{yyyymmdd}` for `YYYYMMDD`, so real platform names such
//! as `{date}/【生意参谋平台】商品_全部_{date}_{date}.xls` match. The inbox is
//! walked once per run; each file is tested against the pattern with the
//! placeholders as digit classes, and its date is the one that, substituted
//! back, makes the pattern match.

use std::path::Path;

use chrono::NaiveDate;
use globset::{Glob, GlobBuilder, GlobMatcher};

const DATE_DIGITS: &str = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]";
const YMD_DIGITS: &str = "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]";

/// A compiled dataset pattern.
#[derive(Debug, Clone)]
pub struct DatePattern {
    pattern: String,
    any_date: GlobMatcher,
}

/// Checks a pattern as config validation does.
pub fn validate(pattern: &str) -> Result<(), String> {
    DatePattern::new(pattern).map(|_| ())
}

fn compile(glob: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| format!("invalid pattern {glob:?}: {e}"))
}

impl DatePattern {
    pub fn new(pattern: &str) -> Result<DatePattern, String> {
        if !pattern.contains("{date}") && !pattern.contains("{yyyymmdd}") {
            return Err(format!(
                "pattern {pattern:?} needs a {{date}} or {{yyyymmdd}} placeholder so each file has a date"
            ));
        }
        if pattern.starts_with('/') || pattern.split('/').any(|p| p == "..") {
            return Err(format!(
                "pattern {pattern:?} must stay below the inbox (no leading '/' or '..')"
            ));
        }
        let any = pattern
            .replace("{date}", DATE_DIGITS)
            .replace("{yyyymmdd}", YMD_DIGITS);
        Ok(DatePattern {
            pattern: pattern.to_string(),
            any_date: compile(&any)?,
        })
    }

    /// The pattern with `date` substituted.
    pub fn for_date(&self, date: NaiveDate) -> String {
        self.pattern
            .replace("{date}", &date.format("%Y-%m-%d").to_string())
            .replace("{yyyymmdd}", &date.format("%Y%m%d").to_string())
    }

    /// The date of `rel` (a path relative to the inbox, `/`-separated) if it
    /// matches this pattern.
    pub fn date_of(&self, rel: &Path) -> Option<NaiveDate> {
        if !self.any_date.is_match(rel) {
            return None;
        }
        let text = rel.to_string_lossy();
        candidate_dates(&text)
            .into_iter()
            .find(|d| compile(&self.for_date(*d)).is_ok_and(|m| m.is_match(rel)))
    }
}

/// Every `YYYY-MM-DD` and `YYYYMMDD` substring of `s` that is a real date.
fn candidate_dates(s: &str) -> Vec<NaiveDate> {
    // Work on bytes: the path may hold CJK text, and a date is pure ASCII.
    let b = s.as_bytes();
    let ascii = |r: &[u8]| std::str::from_utf8(r).ok().map(str::to_owned);
    let mut out = Vec::new();
    for i in 0..b.len() {
        if let Some(text) = b.get(i..i + 10).and_then(ascii)
            && let Ok(d) = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        {
            out.push(d);
        }
        if let Some(w) = b.get(i..i + 8)
            && w.iter().all(u8::is_ascii_digit)
            && let Some(text) = ascii(w)
            && let Ok(d) = NaiveDate::parse_from_str(&text, "%Y%m%d")
        {
            out.push(d);
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_come_from_the_placeholders() {
        let p = DatePattern::new("{date}/ExportOrderList{yyyymmdd}*.csv").unwrap();
        assert_eq!(
            p.date_of(Path::new("2026-11-22/ExportOrderList20261122.csv")),
            Some(d("2026-11-22"))
        );
        assert_eq!(
            p.date_of(Path::new("2026-11-22/ExportOrderList20261122 (1).csv")),
            Some(d("2026-11-22"))
        );
        // Folder and file disagree: not this pattern's file.
        assert_eq!(
            p.date_of(Path::new("2026-11-22/ExportOrderList20261121.csv")),
            None
        );
        assert_eq!(p.date_of(Path::new("2026-11-22/other.csv")), None);
        let q = DatePattern::new("{date}/【生意参谋平台】商品_全部_{date}_{date}.xls*").unwrap();
        assert_eq!(
            q.date_of(Path::new(
                "2026-11-11/【生意参谋平台】商品_全部_2026-11-11_2026-11-11.xlsx"
            )),
            Some(d("2026-11-11"))
        );
    }

    #[test]
    fn stars_do_not_cross_folders() {
        let p = DatePattern::new("{date}/orders.*").unwrap();
        assert_eq!(
            p.date_of(Path::new("2026-11-22/orders.csv")),
            Some(d("2026-11-22"))
        );
        assert_eq!(p.date_of(Path::new("2026-11-22/x/orders.csv")), None);
    }

    #[test]
    fn patterns_without_a_date_or_escaping_the_inbox_are_rejected() {
        assert!(DatePattern::new("orders.csv").is_err());
        assert!(DatePattern::new("../{date}/orders.csv").is_err());
        assert!(DatePattern::new("/{date}/orders.csv").is_err());
    }
}
