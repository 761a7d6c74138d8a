//! Where exports come from (SPEC §4.1): the inbox drop folder, HTTP, and
//! `import` of multi-day files; every ingested file is archived first.
//!
//! This stage finds files and decides which need ingesting; it never parses
//! them (that is `parse`) and never writes rows (that is `store`).

pub mod archive;
pub mod http;
pub mod inbox;
pub mod pattern;

use std::path::PathBuf;

/// Errors finding or copying source files.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("inbox folder {} does not exist", path.display())]
    InboxMissing { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
