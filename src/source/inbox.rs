//! The inbox drop folder: find every export file, its dataset and its date.
//!
//! The walk only stats files; hashing is left to the caller, who hashes only
//! files whose size or modification time differ from what the store
//! recorded, so checking a year of exports stays cheap (SPEC §4.1).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::pattern::DatePattern;
use super::SourceError;
use crate::model::Dataset;

/// How deep below the inbox files are looked for. Real layouts are
/// `<date>/<file>` or a flat folder; a little slack costs nothing.
const MAX_DEPTH: usize = 4;

/// One export file found in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxFile {
    pub dataset: Dataset,
    pub date: NaiveDate,
    pub path: PathBuf,
    /// Path relative to the inbox, `/`-separated: the registry key.
    pub rel: String,
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// Lists the files of `datasets` dated on or before `up_to`, sorted by
/// dataset, date and name. A missing inbox folder is an error; an empty one
/// is not.
pub fn scan(
    inbox: &Path,
    datasets: &[(Dataset, DatePattern)],
    up_to: NaiveDate,
) -> Result<Vec<InboxFile>, SourceError> {
    if !inbox.is_dir() {
        return Err(SourceError::InboxMissing {
            path: inbox.to_path_buf(),
        });
    }
    let mut found = Vec::new();
    walk(inbox, inbox, 0, up_to, &mut |rel, path, meta| {
        for (dataset, pattern) in datasets {
            if let Some(date) = pattern.date_of(Path::new(rel))
                && date <= up_to
            {
                found.push(InboxFile {
                    dataset: *dataset,
                    date,
                    path: path.to_path_buf(),
                    rel: rel.to_string(),
                    size: meta.len(),
                    mtime: mtime_secs(meta),
                });
                break;
            }
        }
    })?;
    found.sort_by(|a, b| (a.dataset, a.date, &a.rel).cmp(&(b.dataset, b.date, &b.rel)));
    Ok(found)
}

pub fn mtime_secs(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    up_to: NaiveDate,
    f: &mut dyn FnMut(&str, &Path, &std::fs::Metadata),
) -> Result<(), SourceError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SourceError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SourceError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden files and partial downloads are someone else's business.
        if name.starts_with('.') || name.ends_with(".part") || name.ends_with(".tmp") {
            continue;
        }
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if meta.is_dir() {
            // Date folders after the run's period end are not looked into.
            if let Ok(d) = NaiveDate::parse_from_str(&name, "%Y-%m-%d")
                && d > up_to
            {
                continue;
            }
            if depth + 1 < MAX_DEPTH {
                walk(root, &path, depth + 1, up_to, f)?;
            }
        } else if meta.is_file() {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            f(&rel, &path, &meta);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_dated_files_and_skips_future_folders() {
        let dir = tempfile::tempdir().unwrap();
        for (d, name) in [
            ("2026-11-21", "ExportOrderList20261121.csv"),
            ("2026-11-22", "ExportOrderList20261122.csv"),
            ("2026-11-22", "ExportOrderList20261122 (1).csv"),
            ("2026-11-22", "notes.txt"),
            ("2026-11-23", "ExportOrderList20261123.csv"),
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
            std::fs::write(dir.path().join(d).join(name), "x").unwrap();
        }
        let p = DatePattern::new("{date}/ExportOrderList{yyyymmdd}*.csv").unwrap();
        let files = scan(
            dir.path(),
            &[(Dataset::Orders, p)],
            "2026-11-22".parse().unwrap(),
        )
        .unwrap();
        let rels: Vec<_> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "2026-11-21/ExportOrderList20261121.csv",
                "2026-11-22/ExportOrderList20261122 (1).csv",
                "2026-11-22/ExportOrderList20261122.csv",
            ]
        );
        assert!(scan(&dir.path().join("nope"), &[], "2026-11-22".parse().unwrap()).is_err());
    }
}
