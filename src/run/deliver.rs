//! The delivery step of a run: compose each team's email, store it in the
//! durable outbox, then send it (or, with `delivery = "outbox-only"`, write
//! it as `mail/<team>.eml` in the run folder).

use tokio_util::sync::CancellationToken;

use super::pipeline::Computed;
use super::report::Workbook;
use super::summary::DeliveryJson;
use super::{RunError, RunFolder};
use crate::store::Store;

/// Messages composed and stored for this run, not yet sent.
#[derive(Debug, Default)]
pub struct Prepared {
    deliveries: Vec<DeliveryJson>,
}

impl Prepared {
    /// The delivery records as they stand before sending.
    pub fn deliveries(&self) -> Vec<DeliveryJson> {
        self.deliveries.clone()
    }
}

/// Composes and stores every team's message (nothing leaves the machine).
pub fn prepare(
    _run: &Computed<'_>,
    _store: &mut Store,
    _folder: &RunFolder,
    _workbooks: &[Workbook],
) -> Result<Prepared, RunError> {
    Ok(Prepared::default())
}

/// Sends what `prepare` stored; returns the final delivery records.
pub async fn send(
    _run: &Computed<'_>,
    _store: &mut Store,
    prepared: Prepared,
    _cancel: &CancellationToken,
) -> Result<Vec<DeliveryJson>, RunError> {
    Ok(prepared.deliveries)
}
