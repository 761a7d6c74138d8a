//! Reading the store on a second connection beside the run's own.
//!
//! A week's or a month's rows and the member tiers are seconds of reading
//! each; the run's connection does one part while a thread with a
//! read-only connection of its own does another, so the second core works
//! too. The thread joins the run's tracing span, and a panic in it comes
//! back as an error of the run rather than taking the process down.

use std::path::Path;
use std::thread::{Scope, ScopedJoinHandle};

use super::RunError;
use crate::store::Store;

/// A read running on its own connection; [`Reader::join`] waits for it.
pub(super) struct Reader<'scope, T> {
    handle: ScopedJoinHandle<'scope, Result<T, RunError>>,
    what: &'static str,
}

/// Starts `read` on a thread of `scope` with a read-only connection to the
/// store at `state` (opened and migrated already by the run). `what` names
/// the read in the error a panic becomes.
pub(super) fn spawn<'scope, 'env, T, F>(
    scope: &'scope Scope<'scope, 'env>,
    state: &'env Path,
    what: &'static str,
    read: F,
) -> Reader<'scope, T>
where
    T: Send + 'scope,
    F: FnOnce(&Store) -> Result<T, RunError> + Send + 'scope,
{
    let span = tracing::Span::current();
    let handle = scope.spawn(move || span.in_scope(|| read(&Store::open_reader(state)?)));
    Reader { handle, what }
}

impl<T> Reader<'_, T> {
    pub(super) fn join(self) -> Result<T, RunError> {
        let what = self.what;
        self.handle
            .join()
            .unwrap_or_else(|_| Err(RunError::Render(format!("{what}: reader panicked"))))
    }
}
