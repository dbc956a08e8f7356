//! Errors reported by [`hdbscan`](super::hdbscan).

/// Why a clustering run could not produce a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HdbscanError {
    /// A parameter is outside its valid range.
    #[error("invalid HDBSCAN parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name, e.g. `"min_cluster_size"`.
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// There are not enough points for the requested neighbourhood size.
    #[error("HDBSCAN needs at least {needed} points (min_samples + 1), but got {points}")]
    TooFewPoints {
        /// Number of points given.
        points: usize,
        /// Number of points needed.
        needed: usize,
    },
    /// A coordinate is NaN or infinite.
    #[error("point at row {row} has a non-finite value (NaN or infinity) in column {column}")]
    NonFinite {
        /// Row (point index) of the first non-finite value.
        row: usize,
        /// Column of that value.
        column: usize,
    },
    /// The progress callback asked the run to stop.
    #[error("HDBSCAN was cancelled")]
    Cancelled,
}
