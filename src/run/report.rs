//! The render step of a run: one workbook per team that gets a report from
//! the job, written into the run folder.

use std::path::PathBuf;

use super::pipeline::Computed;
use super::{RunError, RunFolder};
use crate::store::Store;

/// A workbook written for a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workbook {
    pub team: String,
    /// The file name inside the run folder.
    pub file_name: String,
    /// Where it is now (inside the not yet committed folder).
    pub path: PathBuf,
}

/// Renders every team's workbook into `folder`.
pub fn render_workbooks(
    _run: &Computed<'_>,
    _store: &Store,
    _folder: &RunFolder,
) -> Result<Vec<Workbook>, RunError> {
    Ok(Vec::new())
}
