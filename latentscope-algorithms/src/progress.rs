//! Progress reporting with cancellation: the callback every step reports through.
use std::ops::ControlFlow;

/// One progress report from a running stage.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ProgressEvent<'a> {
    /// The stage, e.g. `"umap:knn"`, `"umap:epochs"`, `"hdbscan:mst"`.
    pub stage: &'a str,
    /// Units done so far in this stage.
    pub done: u64,
    /// Total units of this stage, when known.
    pub total: Option<u64>,
}

impl<'a> ProgressEvent<'a> {
    /// A report that `done` of `total` units of `stage` are finished.
    pub fn new(stage: &'a str, done: u64, total: Option<u64>) -> Self {
        Self { stage, done, total }
    }
}

/// Receives progress; returning `ControlFlow::Break(())` asks the work to stop.
pub trait Progress: Send + Sync {
    /// Called between units of work (batches, epochs, phases).
    fn update(&self, event: ProgressEvent<'_>) -> ControlFlow<()>;
}

/// Ignores every event and never cancels.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _event: ProgressEvent<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

impl<F> Progress for F
where
    F: Fn(ProgressEvent<'_>) -> ControlFlow<()> + Send + Sync,
{
    fn update(&self, event: ProgressEvent<'_>) -> ControlFlow<()> {
        self(event)
    }
}
