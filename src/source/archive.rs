//! Content hashing and the archive of raw inputs.
//!
//! Every ingested file is copied to `<archive>/<dataset>/<date>/<sha256>.<ext>`
//! before it is parsed, so whatever the pipeline later does, the exact bytes
//! it read can be found again. The copy goes to a temporary name first and is
//! renamed into place, so the archive holds only whole files.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::SourceError;
use crate::model::Dataset;

/// The hex sha256 of a file's content.
pub fn sha256_file(path: &Path) -> Result<String, SourceError> {
    let io_err = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Where the archived copy of a file lives.
pub fn archive_path(
    archive: &Path,
    dataset: Dataset,
    date: Option<NaiveDate>,
    sha256: &str,
    original: &Path,
) -> PathBuf {
    let ext = original
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .filter(|e| e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "bin".into());
    let day = date.map_or_else(|| "undated".to_string(), |d| d.format("%Y-%m-%d").to_string());
    archive
        .join(dataset.name())
        .join(day)
        .join(format!("{sha256}.{ext}"))
}

/// Copies `src` into the archive (once: an existing copy is kept, it has the
/// same content by construction) and returns the archive path.
pub fn archive_file(
    archive: &Path,
    dataset: Dataset,
    date: Option<NaiveDate>,
    sha256: &str,
    src: &Path,
) -> Result<PathBuf, SourceError> {
    let dest = archive_path(archive, dataset, date, sha256, src);
    if dest.is_file() {
        return Ok(dest);
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source: io::Error| SourceError::Io { path, source }
    };
    let dir = dest.parent().unwrap_or(archive);
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!(".{sha256}.{}.part", std::process::id()));
    {
        let mut out = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut input = File::open(src).map_err(io_err(src))?;
        io::copy(&mut input, &mut out).map_err(io_err(&tmp))?;
        out.flush().map_err(io_err(&tmp))?;
        out.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_once_under_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("订单.CSV");
        std::fs::write(&src, b"abc").unwrap();
        let sha = sha256_file(&src).unwrap();
        // sha256("abc"), a published test vector.
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let arch = dir.path().join("archive");
        let d = "2026-11-22".parse().ok();
        let p = archive_file(&arch, Dataset::Orders, d, &sha, &src).unwrap();
        assert!(p.ends_with(format!("orders/2026-11-22/{sha}.csv")));
        assert_eq!(std::fs::read(&p).unwrap(), b"abc");
        assert_eq!(archive_file(&arch, Dataset::Orders, d, &sha, &src).unwrap(), p);
    }
}
