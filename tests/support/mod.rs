//! Shared harness of the command-line acceptance tests (`tests/cli_*.rs`):
//! a throw-away workspace holding a copy of the shipped `storepulse.toml`,
//! `jobs/` and `templates/`, its own state, run folders and archive, and
//! either the repository's sample inbox or a private copy of some of its
//! days; the real `storepulse` binary run in it; and readers for what a run
//! leaves behind (summary.json, store row counts) that do not go through the
//! library under test.
//!
//! Full runs over the sample cost seconds, so a prepared state file can be
//! copied into a new workspace instead of ingesting the inbox again.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tempfile::TempDir;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample inbox shipped with the repository.
pub fn sample_inbox() -> PathBuf {
    repo().join("sample-data/inbox")
}

/// The binary under test: `STOREPULSE_BIN` if set, else the newest
/// `deps/storepulse-*` built from this checkout (whose path its debug info
/// names), else cargo's `CARGO_BIN_EXE_storepulse`. Several checkouts (or
/// profiles) building into one shared target directory overwrite the file
/// cargo names with each other's binary, stale ones included.
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("STOREPULSE_BIN") {
            return PathBuf::from(p);
        }
        let cargo = PathBuf::from(env!("CARGO_BIN_EXE_storepulse"));
        let deps = cargo.parent().unwrap().join("deps");
        let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with("storepulse-") && p.extension().is_none()
            })
            .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
        candidates
            .into_iter()
            .map(|(_, p)| p)
            .find(|p| {
                // The library's unit-test harness shares the name.
                contains(p, env!("CARGO_MANIFEST_DIR")) == Some(true)
                    && contains(p, "RUST_TEST_THREADS") == Some(false)
            })
            .unwrap_or(cargo)
    })
    .clone()
}

/// Whether the bytes of `exe` contain `text`; `None` when that cannot be
/// told (no `grep`).
fn contains(exe: &Path, text: &str) -> Option<bool> {
    Command::new("grep")
        .args(["-q", "-a", "-F", "--", text])
        .arg(exe)
        .status()
        .ok()
        .and_then(|s| s.code())
        .and_then(|c| match c {
            0 => Some(true),
            1 => Some(false),
            _ => None,
        })
}

/// The tables of the store whose row counts the tests compare.
pub const TABLES: [&str; 8] = [
    "orders",
    "order_items",
    "traffic",
    "products",
    "members",
    "service",
    "ads",
    "ingested_files",
];

/// What one invocation of the binary did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing stderr when it differs, and that
    /// nothing panicked.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code {} (expected {code}); stderr:\n{}",
            self.code, self.stderr
        );
        self.no_panic()
    }

    pub fn no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked") && self.code != 101,
            "the binary panicked:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that stderr mentions every one of `parts`.
    pub fn stderr_has(&self, parts: &[&str]) -> &Self {
        for p in parts {
            assert!(
                self.stderr.contains(p),
                "stderr lacks {p:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

pub struct Workspace {
    pub dir: TempDir,
    pub inbox: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

impl Workspace {
    /// A workspace reading the repository's sample inbox in place.
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let root = repo();
        std::fs::copy(
            root.join("storepulse.toml"),
            dir.path().join("storepulse.toml"),
        )
        .unwrap();
        copy_dir(&root.join("jobs"), &dir.path().join("jobs"));
        copy_dir(&root.join("templates"), &dir.path().join("templates"));
        Workspace {
            dir,
            inbox: sample_inbox(),
        }
    }

    /// A workspace with a private inbox holding copies of the sample's
    /// `days` (all of them when `days` is empty), free to be edited.
    pub fn with_inbox_copy(days: &[&str]) -> Workspace {
        let mut ws = Workspace::new();
        let inbox = ws.dir.path().join("inbox");
        if days.is_empty() {
            copy_dir(&sample_inbox(), &inbox);
        } else {
            for d in days {
                copy_dir(&sample_inbox().join(d), &inbox.join(d));
            }
        }
        ws.inbox = inbox;
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.path().join("var/storepulse.db")
    }

    pub fn out(&self) -> PathBuf {
        self.path().join("var/out")
    }

    /// Runs `storepulse` with this workspace's config and inbox, plus `sets`
    /// (`key=value` overrides) and the command `args`.
    pub fn run_with(&self, sets: &[&str], args: &[&str]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.current_dir(self.path())
            .arg("--config")
            .arg(self.path().join("storepulse.toml"))
            .arg("--set")
            .arg(format!("inbox={}", self.inbox.display()))
            .arg("--set")
            .arg(format!(
                "targets.file={}",
                repo().join("sample-data/targets.csv").display()
            ))
            .env_remove("STOREPULSE_CONFIG")
            .env_remove("STOREPULSE_LOG")
            .env("NO_COLOR", "1");
        for s in sets {
            cmd.arg("--set").arg(s);
        }
        cmd.args(args);
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin().display()));
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(&[], args)
    }

    /// Copies a prepared state file (and its journal, if any) in.
    pub fn use_state(&self, state: &Path) {
        std::fs::create_dir_all(self.path().join("var")).unwrap();
        std::fs::copy(state, self.state()).unwrap();
        for ext in ["-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{ext}", state.display()));
            if from.exists() {
                std::fs::copy(&from, format!("{}{ext}", self.state().display())).unwrap();
            }
        }
    }

    /// Runs `args` (a run that must succeed) and returns the state file it
    /// leaves, to seed other workspaces with [`Workspace::use_state_bytes`].
    pub fn prepare_state(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.code == 0 || out.code == 1,
            "preparing the state: exit {}\n{}",
            out.code,
            out.stderr
        );
        out.no_panic();
        let wal = PathBuf::from(format!("{}-wal", self.state().display()));
        assert!(!wal.exists(), "the state has an uncheckpointed journal");
        std::fs::read(self.state()).unwrap()
    }

    pub fn use_state_bytes(&self, state: &[u8]) {
        std::fs::create_dir_all(self.path().join("var")).unwrap();
        std::fs::write(self.state(), state).unwrap();
    }

    /// Every file below the run folders, relative to them.
    pub fn out_files(&self) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, acc: &mut Vec<String>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, base, acc);
                } else {
                    acc.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let mut acc = Vec::new();
        walk(&self.out(), &self.out(), &mut acc);
        acc.sort();
        acc
    }

    pub fn run_folder(&self, job: &str, period: &str) -> PathBuf {
        self.out().join(job).join(period)
    }

    pub fn summary(&self, job: &str, period: &str) -> serde_json::Value {
        let path = self.run_folder(job, period).join("summary.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// Row counts of [`TABLES`].
    pub fn counts(&self) -> BTreeMap<&'static str, i64> {
        let conn = rusqlite::Connection::open(self.state()).unwrap();
        TABLES
            .iter()
            .map(|t| {
                let n: i64 = conn
                    .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                    .unwrap();
                (*t, n)
            })
            .collect()
    }

    /// Orders stored per day.
    pub fn orders_per_day(&self) -> BTreeMap<String, i64> {
        let conn = rusqlite::Connection::open(self.state()).unwrap();
        let mut stmt = conn
            .prepare("SELECT day, count(*) FROM orders GROUP BY day")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The sha256 recorded for every ingested file, by path.
    pub fn registered(&self) -> BTreeMap<String, String> {
        let conn = rusqlite::Connection::open(self.state()).unwrap();
        let mut stmt = conn
            .prepare("SELECT dataset || ':' || path, sha256 FROM ingested_files")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// The check record with `id` in a summary.
pub fn check<'a>(summary: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {}", summary["checks"]))
}

/// Decodes a GBK / GB18030 file of the sample inbox.
pub fn read_gbk(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let (text, _, bad) = encoding_rs::GB18030.decode(&bytes);
    assert!(!bad, "{} is not GB18030", path.display());
    text.into_owned()
}

pub fn write_gbk(path: &Path, text: &str) {
    let (bytes, _, bad) = encoding_rs::GB18030.encode(text);
    assert!(!bad);
    std::fs::write(path, bytes).unwrap();
}

/// The sample's orders export of `day` (`YYYY-MM-DD`).
pub fn orders_file(inbox: &Path, day: &str) -> PathBuf {
    inbox
        .join(day)
        .join(format!("ExportOrderList{}.csv", day.replace('-', "")))
}

/// A corrected orders export of the sample's `day` keeping every other
/// order: written as GBK to `path` for `import`, and returned as text.
pub fn write_half_orders_export(day: &str, path: &Path) -> String {
    let text = read_gbk(&orders_file(&sample_inbox(), day));
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || i % 2 == 1)
        .map(|(_, l)| l)
        .collect();
    let half = kept.join("\n") + "\n";
    write_gbk(path, &half);
    half
}

/// The records of a CSV text, header first, read with the csv crate.
pub fn csv_records(text: &str) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

/// Writes records back as CSV text (the sample's shape: quotes only where
/// needed).
pub fn csv_text(records: &[csv::StringRecord]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// The shop-total visitors of the sample's traffic workbook of `day`.
pub fn traffic_total_visitors(day: &str) -> i64 {
    use calamine::{Data, Reader, open_workbook_auto};
    let path = sample_inbox()
        .join(day)
        .join(format!("【生意参谋平台】流量来源_{day}_{day}.xlsx"));
    let mut wb = open_workbook_auto(&path).unwrap();
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    let total = sheet
        .rows()
        .find(|r| r.len() > 2 && r[1] == Data::String("全店".into()))
        .expect("a 全店 row");
    match &total[2] {
        Data::Float(f) => *f as i64,
        Data::Int(i) => *i,
        other => panic!("visitors cell {other:?}"),
    }
}
