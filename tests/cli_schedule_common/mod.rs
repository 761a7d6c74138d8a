//! A throwaway installation of the sample config for the scheduler's
//! command-line tests: `storepulse.toml`, `jobs/`, `templates/` and the
//! targets file copied into a temporary folder, so state and run folders land
//! there; the inbox is the repository's sample inbox or a copy of some of
//! its days.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Install {
    pub dir: tempfile::TempDir,
    pub inbox: PathBuf,
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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

impl Install {
    /// The sample config reading the whole sample inbox (`days` = None) or a
    /// copy of the given days of it.
    pub fn new(days: Option<&[&str]>) -> Install {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            repo().join("storepulse.toml"),
            dir.path().join("storepulse.toml"),
        )
        .unwrap();
        copy_dir(&repo().join("jobs"), &dir.path().join("jobs"));
        copy_dir(&repo().join("templates"), &dir.path().join("templates"));
        std::fs::create_dir_all(dir.path().join("sample-data")).unwrap();
        std::fs::copy(
            repo().join("sample-data/targets.csv"),
            dir.path().join("sample-data/targets.csv"),
        )
        .unwrap();
        let inbox = match days {
            None => repo().join("sample-data/inbox"),
            Some(days) => {
                let inbox = dir.path().join("inbox");
                std::fs::create_dir_all(&inbox).unwrap();
                for day in days {
                    copy_dir(
                        &repo().join("sample-data/inbox").join(day),
                        &inbox.join(day),
                    );
                }
                inbox
            }
        };
        Install { dir, inbox }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.path().join("var/storepulse.db")
    }

    /// `storepulse --config <copy> --set inbox=<inbox> <extra>...`.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, extra: &[S]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_storepulse"));
        cmd.arg("--config")
            .arg(self.path().join("storepulse.toml"))
            .arg("--set")
            .arg(format!("inbox={}", self.inbox.display()))
            .args(extra)
            .env_remove("STOREPULSE_CONFIG")
            .env_remove("STOREPULSE_LOG");
        cmd
    }

    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, extra: &[S]) -> Output {
        self.command(extra).output().unwrap()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The latest attempt of `(job, period)` as `(attempt, status, error)`,
/// read without taking any lock, so it works beside a writing daemon.
pub fn latest_attempt(
    state: &Path,
    job: &str,
    period: &str,
) -> Option<(u32, String, Option<String>)> {
    if !state.exists() {
        return None;
    }
    let conn =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).ok()?;
    conn.query_row(
        "SELECT attempt, status, error FROM runs WHERE job = ?1 AND period = ?2 \
         ORDER BY attempt DESC LIMIT 1",
        (job, period),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}
