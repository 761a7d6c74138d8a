//! The run folder `<out>/<job>/<period>/` (SPEC §12), written as a whole.
//!
//! Everything a run produces goes into a hidden temporary folder beside the
//! final one, which is renamed into place only when complete. A run that dies
//! half-way leaves the previous run folder (if any) untouched and no
//! half-written workbook where a user would open it. Replacing takes two
//! renames (the old folder aside, the new one in); a process killed between
//! them leaves the previous folder under its hidden `.old` name until the
//! job runs that period again.

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
    pub fn commit(mut self) -> Result<PathBuf, RunError> {
        if self.final_path.exists() {
            let old = self.old_path();
            // Left by an earlier process of the same id that died mid-commit;
            // the folder in place is the newer one.
            if old.exists() {
                fs::remove_dir_all(&old).map_err(io_err(&old))?;
            }
            fs::rename(&self.final_path, &old).map_err(io_err(&self.final_path))?;
            fs::rename(&self.tmp_path, &self.final_path).map_err(io_err(&self.final_path))?;
            // The new folder is in place; a leftover old copy is only clutter.
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.tmp_path, &self.final_path).map_err(io_err(&self.final_path))?;
        }
        self.committed = true;
        Ok(self.final_path.clone())
    }
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

    /// A parallel backfill commits several days of one job at once from one
    /// process: each replacement must set the old folder aside under a name
    /// of its own, or one day's commit finds another's old folder in the way.
    #[test]
    fn folders_of_one_parent_are_replaced_at_once_from_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let parent = dir.path().join("daily-ops");
        std::thread::scope(|scope| {
            for day in ["2026-06-01", "2026-06-02", "2026-06-03"] {
                let target = parent.join(day);
                scope.spawn(move || {
                    for round in 0..150u32 {
                        let f = RunFolder::create(&target).unwrap();
                        f.write("n.txt", round.to_string().as_bytes()).unwrap();
                        f.commit()
                            .unwrap_or_else(|e| panic!("{day} round {round}: {e}"));
                    }
                });
            }
        });
        for day in ["2026-06-01", "2026-06-02", "2026-06-03"] {
            assert_eq!(fs::read(parent.join(day).join("n.txt")).unwrap(), b"149");
        }
        assert_eq!(fs::read_dir(&parent).unwrap().count(), 3);
    }

    /// The deterministic form of the test above: one day's folder set aside
    /// (as by a commit on another thread at that moment) does not stand in
    /// the way of replacing another day.
    #[test]
    fn one_folder_set_aside_does_not_block_replacing_another() {
        let dir = tempfile::tempdir().unwrap();
        let parent = dir.path().join("daily-ops");
        for day in ["2026-06-01", "2026-06-02"] {
            let f = RunFolder::create(&parent.join(day)).unwrap();
            f.write("n.txt", b"1").unwrap();
            f.commit().unwrap();
        }
        let first = RunFolder::create(&parent.join("2026-06-01")).unwrap();
        let aside = first.old_path();
        fs::rename(parent.join("2026-06-01"), &aside).unwrap();
        let second = RunFolder::create(&parent.join("2026-06-02")).unwrap();
        second.write("n.txt", b"2").unwrap();
        second.commit().unwrap();
        assert_eq!(fs::read(parent.join("2026-06-02/n.txt")).unwrap(), b"2");
        assert_eq!(fs::read(aside.join("n.txt")).unwrap(), b"1");
    }

    /// An earlier process with the same id may have died between setting the
    /// old folder aside and removing it.
    #[test]
    fn a_leftover_old_folder_does_not_block_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("daily-ops").join("2026-11-22");
        let f = RunFolder::create(&target).unwrap();
        f.write("a.txt", b"1").unwrap();
        f.commit().unwrap();
        let f = RunFolder::create(&target).unwrap();
        let leftover = f.old_path();
        fs::create_dir_all(&leftover).unwrap();
        fs::write(leftover.join("x.txt"), b"old").unwrap();
        f.write("b.txt", b"2").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"2");
        assert!(!leftover.exists());
    }

    #[test]
    fn an_abandoned_folder_leaves_nothing_and_a_commit_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("daily-ops").join("2026-11-22");
        {
            let f = RunFolder::create(&target).unwrap();
            f.write("summary.json", b"{}").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(fs::read_dir(target.parent().unwrap()).unwrap().count(), 0);
        let f = RunFolder::create(&target).unwrap();
        f.write("a.txt", b"1").unwrap();
        f.commit().unwrap();
        let f = RunFolder::create(&target).unwrap();
        f.write("b.txt", b"2").unwrap();
        f.commit().unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"2");
        assert_eq!(fs::read_dir(target.parent().unwrap()).unwrap().count(), 1);
    }
}
