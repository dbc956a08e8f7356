//! Progress reporting with cancellation: the callback every step reports
//! through. The trait lives in `latentscope-algorithms` (its algorithms report
//! through it too) and is re-exported here.

pub use latentscope_algorithms::progress::{NoProgress, Progress, ProgressEvent};

use std::ops::ControlFlow;

/// Asks `progress` whether to go on; `Err(Error::Cancelled)` when it said stop.
pub(crate) fn check(
    progress: &dyn Progress,
    stage: &str,
    done: u64,
    total: Option<u64>,
) -> crate::Result<()> {
    match progress.update(ProgressEvent::new(stage, done, total)) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(crate::Error::Cancelled),
    }
}
