//! The error type of the core crate. Context (dataset, id, column, row) is
//! carried as data so callers can act on it and messages name what was wrong.

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a dataset operation or a step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing files failed (the inner error names the file).
    #[error(transparent)]
    Io(#[from] latentscope_io::Error),
    /// A dataset id with characters outside `[A-Za-z0-9_-]`.
    #[error("invalid dataset id {id:?}: {reason}")]
    InvalidDatasetId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A string that is not an artifact id of the expected kind.
    #[error("invalid id {id:?}: expected {expected}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// The form expected.
        expected: &'static str,
    },
    /// Creating a dataset whose id is taken.
    #[error("dataset {id:?} already exists in {store}; choose another id or remove it first")]
    DatasetExists {
        /// The dataset id.
        id: String,
        /// Where it is.
        store: String,
    },
    /// Opening a dataset that does not exist.
    #[error(
        "no dataset {id:?} in {store}; the datasets there are: {}",
        list_or_none(available)
    )]
    DatasetNotFound {
        /// The dataset id asked for.
        id: String,
        /// Where it was looked for.
        store: String,
        /// The datasets that exist.
        available: Vec<String>,
    },
    /// An artifact id that does not exist in the dataset.
    #[error("dataset {dataset:?} has no {id}; it has: {}", list_or_none(available))]
    ArtifactNotFound {
        /// The dataset.
        dataset: String,
        /// The id asked for.
        id: String,
        /// The ids of that kind that exist.
        available: Vec<String>,
    },
    /// A column that is not in the input.
    #[error("no column {column:?} in {source_name}; the columns are: {}", available.join(", "))]
    ColumnNotFound {
        /// The table or file.
        source_name: String,
        /// The column asked for.
        column: String,
        /// The columns there are.
        available: Vec<String>,
    },
    /// A column whose type does not suit its use.
    #[error("column {column:?} has type {found}; {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// Its type.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A tag name that cannot be a file name.
    #[error("invalid tag name {name:?}: {reason}")]
    InvalidTagName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A row index past the end of the dataset.
    #[error("row {row} is out of range: the dataset has {rows} rows (0..{rows})")]
    RowOutOfRange {
        /// The index given.
        row: u64,
        /// The dataset's row count.
        rows: u64,
    },
    /// Input data that cannot be used (wrong shape, non-finite values...).
    #[error("{source_name}: {message}")]
    InvalidInput {
        /// Where the data came from.
        source_name: String,
        /// What was wrong.
        message: String,
    },
    /// An embedder could not be resolved, loaded or run.
    #[error(transparent)]
    Embedder(#[from] crate::embed::EmbedError),
    /// An embedder failed on some rows of a run.
    #[error("embedding {rows}: {source}")]
    Embed {
        /// The rows of the failing batch.
        rows: String,
        /// What the embedder said.
        source: crate::embed::EmbedError,
    },
    /// The progress callback asked to stop; earlier artifacts are intact.
    #[error("cancelled")]
    Cancelled,
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}
