//! Remembered HTTP validators (ETag, Last-Modified, and the hash and name of
//! the file a URL last produced), so the next run's fetch can ask "changed
//! since?" and take a 304 instead of downloading the export again.
//!
//! Keyed by the public URL (secret query values already redacted by the
//! HTTP source), so no credential reaches the store. The HTTP source's
//! `ValidatorCache` trait is synchronous and shared across tasks while a
//! `Store` is not `Sync`, so the run loads the entries it needs before
//! fetching and writes the new ones back afterwards, in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

use super::Store;
use super::error::{Context, StoreError};
use crate::source::http::Validators;

/// Migration 4: the validator table.
pub(crate) const V4: &str = "
CREATE TABLE http_validators (
    url           TEXT    NOT NULL PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    sha256        TEXT    NOT NULL,
    file_name     TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
";

impl Store {
    /// The remembered validators of those of `urls` that have any.
    pub fn http_validators(
        &self,
        urls: &[String],
    ) -> Result<HashMap<String, Validators>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT etag, last_modified, sha256, file_name FROM http_validators WHERE url = ?1",
            )
            .ctx("http_validators", "read validators")?;
        let mut out = HashMap::new();
        for url in urls {
            let found = stmt
                .query_row([url], |r| {
                    Ok(Validators {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                        sha256: r.get(2)?,
                        file_name: r.get(3)?,
                    })
                })
                .optional()
                .ctx("http_validators", "read validators")?;
            if let Some(v) = found {
                out.insert(url.clone(), v);
            }
        }
        Ok(out)
    }

    /// Records (or replaces) the validators of each URL, all in one
    /// transaction.
    pub fn put_http_validators(
        &mut self,
        entries: &[(String, Validators)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write("http_validators", "write validators", |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO http_validators
                     (url, etag, last_modified, sha256, file_name, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .ctx("http_validators", "write validators")?;
            for (url, v) in entries {
                stmt.execute((
                    url,
                    &v.etag,
                    &v.last_modified,
                    &v.sha256,
                    &v.file_name,
                    now.timestamp(),
                ))
                .ctx("http_validators", "write validators")?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(etag: Option<&str>, lm: Option<&str>, sha: &str, name: &str) -> Validators {
        Validators {
            etag: etag.map(str::to_string),
            last_modified: lm.map(str::to_string),
            sha256: sha.into(),
            file_name: name.into(),
        }
    }

    #[test]
    fn validators_round_trip_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let now: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
        let a = "http://h/orders/20261122.csv".to_string();
        let b = "http://h/traffic/2026-11-22.xlsx?key=***".to_string();
        {
            let mut store = Store::open(&path).unwrap();
            assert!(
                store
                    .http_validators(std::slice::from_ref(&a))
                    .unwrap()
                    .is_empty()
            );
            store
                .put_http_validators(
                    &[
                        (a.clone(), v(Some("\"v1\""), None, "aa", "orders.csv")),
                        (
                            b.clone(),
                            v(None, Some("Sun, 22 Nov 2026 20:00:00 GMT"), "bb", "t.xlsx"),
                        ),
                    ],
                    now,
                )
                .unwrap();
            store
                .put_http_validators(
                    &[(a.clone(), v(Some("\"v2\""), None, "cc", "orders.csv"))],
                    now,
                )
                .unwrap();
        }
        // A second connection sees what the first committed.
        let store = Store::open(&path).unwrap();
        let got = store
            .http_validators(&[a.clone(), b.clone(), "http://h/other".into()])
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[&a], v(Some("\"v2\""), None, "cc", "orders.csv"));
        assert_eq!(
            got[&b],
            v(None, Some("Sun, 22 Nov 2026 20:00:00 GMT"), "bb", "t.xlsx")
        );
    }
}
