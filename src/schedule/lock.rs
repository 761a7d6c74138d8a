//! One daemon per state file: an exclusive OS file lock on `<state>.lock`,
//! held for the life of the daemon and released by the OS even after a crash.
//! The holder's PID is written into the file so a second daemon can say who
//! is in the way.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another storepulse daemon{} already runs on this state (lock {path})", holder_text(*.pid))]
    Held { path: PathBuf, pid: Option<u32> },
    #[error("cannot open lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn holder_text(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!(" (pid {pid})"),
        None => String::new(),
    }
}

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    path: PathBuf,
    _file: File,
}

impl StateLock {
    /// The lock file that guards `state`.
    pub fn path_for(state: &Path) -> PathBuf {
        let mut name = state.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Takes the lock for the state file `state`, or says who holds it.
    pub fn acquire(state: &Path) -> Result<StateLock, LockError> {
        let path = Self::path_for(state);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(LockError::Held { path, pid });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(StateLock { path, _file: file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_pid() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.sqlite");
        let first = StateLock::acquire(&state).unwrap();
        assert_eq!(first.path(), dir.path().join("state.sqlite.lock"));
        let err = StateLock::acquire(&state).unwrap_err();
        match &err {
            LockError::Held { pid, .. } => assert_eq!(*pid, Some(std::process::id())),
            other => panic!("unexpected {other}"),
        }
        assert!(
            err.to_string()
                .contains(&format!("(pid {})", std::process::id())),
            "{err}"
        );
        drop(first);
        StateLock::acquire(&state).unwrap();
    }

    #[test]
    fn unopenable_lock_path_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("missing-dir").join("state.sqlite");
        let err = StateLock::acquire(&state).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err}");
    }
}
