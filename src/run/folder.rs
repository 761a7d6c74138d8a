//! The run folder `<out>/<job>/<period>/` (SPEC §12), written as a whole.
//!
//! Everything a run produces goes into a hidden temporary folder beside the
//! final one, which is renamed into place only when complete. A run that dies
//! half-way leaves the previous run folder (if any) untouched and no
//! half-written workbook where a user would open it.

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

impl RunFolder {
    /// Starts writing the folder that will become `final_path`.
    pub fn create(final_path: &Path) -> Result<RunFolder, RunError> {
        let parent = final_path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let name = final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        let tmp_path = parent.join(format!(".{name}.tmp-{}", std::process::id()));
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

    /// Moves the finished folder into place, replacing an earlier run of the
    /// same job and period.
    pub fn commit(mut self) -> Result<PathBuf, RunError> {
        if self.final_path.exists() {
            let old = self
                .tmp_path
                .with_file_name(format!(".old-{}", std::process::id()));
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
