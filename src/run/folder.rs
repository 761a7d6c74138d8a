//! The run folder `<out>/<job>/<period>/` (SPEC §12), written as a whole.
//!
//! Everything a run produces goes into a hidden temporary folder beside the
//! final one, which is renamed into place only when complete. A run that dies
//! half-way leaves the previous run folder (if any) untouched and no
//! half-written workbook where a user would open it. Replacing an earlier
//! run's folder swaps the two in one step where the file system can; where
//! it cannot, it takes two renames (the old folder aside, the new one in),
//! and a process killed between them leaves the previous folder under its
//! hidden `.old` name until the job runs that period again.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::RunError;

/// A run folder being written.
#[derive(Debug)]
pub struct RunFolder {
    final_path: PathBuf,
    tmp_path: PathBuf,
    committed: bool,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Output {
        path: path.display().to_string(),
        source,
    }
}

fn folder_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}

impl RunFolder {
    /// Starts writing the folder that will become `final_path`.
    pub fn create(final_path: &Path) -> Result<RunFolder, RunError> {
        let parent = final_path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let tmp_path = parent.join(format!(
            ".{}.tmp-{}",
            folder_name(final_path),
            std::process::id()
        ));
        if tmp_path.exists() {
            fs::remove_dir_all(&tmp_path).map_err(io_err(&tmp_path))?;
        }
        fs::create_dir_all(&tmp_path).map_err(io_err(&tmp_path))?;
        Ok(RunFolder {
            final_path: final_path.to_path_buf(),
            tmp_path,
            committed: false,
        })
    }

    /// Where files are written until [`RunFolder::commit`].
    pub fn path(&self) -> &Path {
        &self.tmp_path
    }

    /// The folder's path once committed.
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Writes `bytes` to `rel` inside the folder.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<PathBuf, RunError> {
        let path = self.tmp_path.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let mut f = fs::File::create(&path).map_err(io_err(&path))?;
        f.write_all(bytes).map_err(io_err(&path))?;
        f.sync_all().map_err(io_err(&path))?;
        Ok(path)
    }

    /// Where the replaced folder is set aside during [`RunFolder::commit`]:
    /// named after the folder as well as the process, because a parallel
    /// backfill commits several folders of one parent from one process.
    fn old_path(&self) -> PathBuf {
        self.tmp_path.with_file_name(format!(
            ".{}.old-{}",
            folder_name(&self.final_path),
            std::process::id()
        ))
    }

    /// Moves the finished folder into place, replacing an earlier run of the
    /// same job and period.
    ///
    /// Where the file system can (Linux's `renameat2` with
    /// `RENAME_EXCHANGE`), the new and the old folder swap names in one
    /// step, so the run folder is never missing, not even to a process
    /// killed mid-commit; the old one, now under the temporary name, is
    /// removed afterwards. Elsewhere the old folder is renamed aside first.
    pub fn commit(self) -> Result<PathBuf, RunError> {
        self.finish(true)
    }

    /// [`RunFolder::commit`]; `try_exchange` false takes the two-rename way
    /// even where the swap would work, so tests reach it on Linux too.
    fn finish(mut self, try_exchange: bool) -> Result<PathBuf, RunError> {
        let old = self.old_path();
        // Left by an earlier process of the same id that died mid-commit;
        // the folder in place is the newer one.
        if old.exists() {
            fs::remove_dir_all(&old).map_err(io_err(&old))?;
        }
        if self.final_path.exists() {
            let swapped = try_exchange
                && exchange(&self.tmp_path, &self.final_path).map_err(io_err(&self.final_path))?;
            if swapped {
                // The temporary name now holds the previous run: clutter only.
                let _ = fs::remove_dir_all(&self.tmp_path);
            } else {
                self.replace_in_two_steps(&old)?;
            }
        } else {
            fs::rename(&self.tmp_path, &self.final_path).map_err(io_err(&self.final_path))?;
        }
        self.committed = true;
        Ok(self.final_path.clone())
    }

    fn replace_in_two_steps(&self, old: &Path) -> Result<(), RunError> {
        fs::rename(&self.final_path, old).map_err(io_err(&self.final_path))?;
        fs::rename(&self.tmp_path, &self.final_path).map_err(io_err(&self.final_path))?;
        // The new folder is in place; a leftover old copy is only clutter.
        let _ = fs::remove_dir_all(old);
        Ok(())
    }
}

/// Swaps the names of two existing folders atomically. `Ok(false)` when the
/// system or the file system cannot (old kernels, some network and overlay
/// file systems), for the caller to fall back on two renames.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of replacing: the swap (where the file system has it) and
    /// the two renames other systems use.
    const WAYS: [bool; 2] = [true, false];

    /// A day's run folder inside `dir`.
    fn day_folder(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("daily-ops").join("2026-11-22")
    }

    fn replace(target: &Path, name: &str, body: &[u8], exchange: bool) {
        let f = RunFolder::create(target).unwrap();
        f.write(name, body).unwrap();
        f.finish(exchange).unwrap();
    }

    /// A parallel backfill commits several days of one job at once from one
    /// process: each replacement must set the old folder aside under a name
    /// of its own, or one day's commit finds another's old folder in the way.
    #[test]
    fn folders_of_one_parent_are_replaced_at_once_from_one_process() {
        for exchange in WAYS {
            let dir = tempfile::tempdir().unwrap();
            let parent = dir.path().join("daily-ops");
            std::thread::scope(|scope| {
                for day in ["2026-06-01", "2026-06-02", "2026-06-03"] {
                    let target = parent.join(day);
                    scope.spawn(move || {
                        for round in 0..150u32 {
                            replace(&target, "n.txt", round.to_string().as_bytes(), exchange);
                        }
                    });
                }
            });
            for day in ["2026-06-01", "2026-06-02", "2026-06-03"] {
                assert_eq!(fs::read(parent.join(day).join("n.txt")).unwrap(), b"149");
            }
            assert_eq!(
                fs::read_dir(&parent).unwrap().count(),
                3,
                "exchange {exchange}"
            );
        }
    }

    /// The deterministic form of the test above, for the two-rename way: one
    /// day's folder set aside (as by a commit on another thread at that
    /// moment) does not stand in the way of replacing another day.
    #[test]
    fn one_folder_set_aside_does_not_block_replacing_another() {
        let dir = tempfile::tempdir().unwrap();
        let parent = dir.path().join("daily-ops");
        for day in ["2026-06-01", "2026-06-02"] {
            replace(&parent.join(day), "n.txt", b"1", false);
        }
        let first = RunFolder::create(&parent.join("2026-06-01")).unwrap();
        let aside = first.old_path();
        fs::rename(parent.join("2026-06-01"), &aside).unwrap();
        replace(&parent.join("2026-06-02"), "n.txt", b"2", false);
        assert_eq!(fs::read(parent.join("2026-06-02/n.txt")).unwrap(), b"2");
        assert_eq!(fs::read(aside.join("n.txt")).unwrap(), b"1");
    }

    /// An earlier process with the same id may have died between setting the
    /// old folder aside and removing it.
    #[test]
    fn a_leftover_old_folder_does_not_block_a_commit() {
        for exchange in WAYS {
            let dir = tempfile::tempdir().unwrap();
            let target = day_folder(&dir);
            replace(&target, "a.txt", b"1", exchange);
            let f = RunFolder::create(&target).unwrap();
            let leftover = f.old_path();
            fs::create_dir_all(&leftover).unwrap();
            fs::write(leftover.join("x.txt"), b"old").unwrap();
            f.write("b.txt", b"2").unwrap();
            f.finish(exchange).unwrap();
            assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"2");
            assert!(!leftover.exists(), "exchange {exchange}");
        }
    }

    /// Someone opening the run folder while a re-run replaces it finds the
    /// old or the new one, never nothing.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_run_folder_is_never_missing_while_it_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = day_folder(&dir);
        replace(&target, "n.txt", b"0", true);
        let done = std::sync::atomic::AtomicBool::new(false);
        let missing = std::thread::scope(|scope| {
            let watcher = scope.spawn(|| {
                let mut missing = 0u32;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    if !target.join("n.txt").exists() {
                        missing += 1;
                    }
                }
                missing
            });
            for round in 1..=300u32 {
                replace(&target, "n.txt", round.to_string().as_bytes(), true);
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            watcher.join().unwrap()
        });
        assert_eq!(missing, 0, "the folder was missing {missing} times");
        assert_eq!(fs::read(target.join("n.txt")).unwrap(), b"300");
    }

    #[test]
    fn an_abandoned_folder_leaves_nothing_and_a_commit_replaces() {
        for exchange in WAYS {
            let dir = tempfile::tempdir().unwrap();
            let target = day_folder(&dir);
            {
                let f = RunFolder::create(&target).unwrap();
                f.write("summary.json", b"{}").unwrap();
            }
            assert!(!target.exists());
            assert_eq!(fs::read_dir(target.parent().unwrap()).unwrap().count(), 0);
            replace(&target, "a.txt", b"1", exchange);
            replace(&target, "b.txt", b"2", exchange);
            assert!(!target.join("a.txt").exists());
            assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"2");
            assert_eq!(
                fs::read_dir(target.parent().unwrap()).unwrap().count(),
                1,
                "exchange {exchange}"
            );
        }
    }
}
