//! Errors returned by the UMAP entry points.

/// What went wrong in a UMAP run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UmapError {
    /// A parameter is out of its valid range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name, e.g. `"min_dist"`.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// Why the value was rejected.
        reason: &'static str,
    },
    /// The input has too few rows for the requested neighbourhood size.
    #[error("too few rows: got {rows}, need at least {needed}")]
    TooFewRows {
        /// Rows in the input.
        rows: usize,
        /// Rows needed.
        needed: usize,
    },
    /// The input holds a NaN or an infinity.
    #[error("non-finite value at row {row}, column {column}")]
    NonFinite {
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        column: usize,
    },
    /// The progress callback asked the run to stop.
    #[error("cancelled")]
    Cancelled,
}
