//! The error type of the core crate. Context (dataset, id, file, row, column,
//! parameter) is carried as data so that callers can act on it, and every
//! message names what was wrong. [`Error::code`] gives the stable code the
//! server answers with and [`Error::exit_code`] the CLI's exit status (the
//! table is `docs/errors.md`).

use latentscope_algorithms::hdbscan::HdbscanError;
use latentscope_algorithms::pca::PcaError;
use latentscope_algorithms::umap::UmapError;

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
    /// Something that exists already and may not be made again.
    #[error("{what} already exists: {reason}")]
    AlreadyExists {
        /// What exists (`dataset "x"`, a tag, …).
        what: String,
        /// What to do instead.
        reason: String,
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
    /// A parameter outside its valid range.
    #[error("invalid {name} {value:?}: {reason}")]
    InvalidParameter {
        /// The parameter's name (`min_dist`, `threads`, …).
        name: String,
        /// The value given.
        value: String,
        /// Why it was refused, or what would be accepted.
        reason: String,
    },
    /// Data that cannot be used: a file, row or column that is malformed,
    /// of the wrong shape or holds non-finite values.
    #[error("{file}{}: {message}", at(*row, column.as_deref()))]
    BadInput {
        /// The file (or artifact, or input) the data came from.
        file: String,
        /// The row, where one is to blame.
        row: Option<u64>,
        /// The column, where one is to blame.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A file this build cannot read (an `.h5` without the `hdf5` feature, a
    /// LanceDB table).
    #[error("{file}: {reason}")]
    Unsupported {
        /// The file or artifact.
        file: String,
        /// Why it cannot be read, and what would read it.
        reason: String,
    },
    /// Parts that do not belong together (a umap made from another
    /// embedding, a clustering of another number of rows, …).
    #[error("{message}")]
    Mismatch {
        /// What disagrees with what.
        message: String,
    },
    /// Another run holds the artifact: it is writing it, or reading what
    /// this would delete.
    #[error("{artifact} is busy: {holder} holds it; try again when that has finished")]
    Busy {
        /// The artifact.
        artifact: String,
        /// Who holds it.
        holder: String,
    },
    /// Deleting an artifact that others were made from.
    #[error(
        "cannot delete {artifact}: {} were made from it; delete those first, or delete them with it (--with-dependents)",
        list_or_none(dependents)
    )]
    HasDependents {
        /// The artifact asked to delete.
        artifact: String,
        /// The artifacts made from it, directly or not.
        dependents: Vec<String>,
    },
    /// An embedder could not be resolved, loaded or run.
    #[error(transparent)]
    Embedder(#[from] crate::embed::EmbedError),
    /// An embedder failed on some rows of a run.
    #[error("embedding {rows}: {error}")]
    Embed {
        /// The rows of the failing batch.
        rows: String,
        /// What the embedder said (in the message itself, not as a
        /// `source`, so a printed chain says it once).
        error: crate::embed::EmbedError,
    },
    /// A labeler (or another plugin) failed.
    #[error("{backend}: {message}")]
    Backend {
        /// The backend (`labeler keywords`, …).
        backend: String,
        /// What failed.
        message: String,
    },
    /// UMAP refused its input or parameters.
    #[error("umap: {0}")]
    Umap(UmapError),
    /// HDBSCAN refused its input or parameters.
    #[error("hdbscan: {0}")]
    Hdbscan(HdbscanError),
    /// PCA refused its input or parameters.
    #[error("pca: {0}")]
    Pca(#[from] PcaError),
    /// The progress callback asked to stop; earlier artifacts are intact.
    #[error("cancelled")]
    Cancelled,
    /// A bug: something that should not happen did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<UmapError> for Error {
    fn from(e: UmapError) -> Self {
        match e {
            UmapError::Cancelled => Error::Cancelled,
            other => Error::Umap(other),
        }
    }
}

impl From<HdbscanError> for Error {
    fn from(e: HdbscanError) -> Self {
        match e {
            HdbscanError::Cancelled => Error::Cancelled,
            other => Error::Hdbscan(other),
        }
    }
}

impl Error {
    /// A bad-input error about `file`, with no row or column to blame.
    pub fn bad_input(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::BadInput {
            file: file.into(),
            row: None,
            column: None,
            message: message.into(),
        }
    }

    /// An invalid-parameter error.
    pub fn invalid_parameter(
        name: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// The stable code of this kind of error: the JSON `code` the server
    /// answers with (`docs/errors.md` has the table).
    pub fn code(&self) -> &'static str {
        use latentscope_io::Error as Io;
        match self {
            Error::Io(Io::NotFound { .. } | Io::ColumnNotFound { .. }) => "not_found",
            Error::Io(Io::AlreadyExists { .. }) => "already_exists",
            Error::Io(Io::Locked { .. }) => "artifact_busy",
            Error::Io(Io::InvalidKey { .. }) => "invalid_parameter",
            // A file that ends early or holds nonsense is bad input, not a failing disk.
            Error::Io(Io::Io { source, .. })
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
                ) =>
            {
                "bad_input"
            }
            Error::Io(Io::Io { .. }) => "io",
            // Every other I/O error is about a file's contents.
            Error::Io(_) => "bad_input",
            Error::InvalidDatasetId { .. }
            | Error::InvalidId { .. }
            | Error::InvalidTagName { .. }
            | Error::RowOutOfRange { .. }
            | Error::ColumnType { .. }
            | Error::InvalidParameter { .. } => "invalid_parameter",
            Error::DatasetExists { .. } | Error::AlreadyExists { .. } => "already_exists",
            Error::DatasetNotFound { .. }
            | Error::ArtifactNotFound { .. }
            | Error::ColumnNotFound { .. } => "not_found",
            Error::BadInput { .. } => "bad_input",
            Error::Unsupported { .. } => "unsupported",
            Error::Mismatch { .. } => "mismatched_parts",
            Error::Busy { .. } => "artifact_busy",
            Error::HasDependents { .. } => "has_dependents",
            Error::Embedder(e) | Error::Embed { error: e, .. } => match e {
                crate::embed::EmbedError::UnknownModel { .. }
                | crate::embed::EmbedError::InvalidOptions(_) => "invalid_parameter",
                crate::embed::EmbedError::FeatureMissing { .. } => "unsupported",
                crate::embed::EmbedError::ModelNotFound { .. } => "not_found",
                _ => "backend_failed",
            },
            Error::Backend { .. } => "backend_failed",
            Error::Umap(e) => match e {
                UmapError::InvalidParameter { .. } => "invalid_parameter",
                _ => "bad_input",
            },
            Error::Hdbscan(e) => match e {
                HdbscanError::InvalidParameter { .. } => "invalid_parameter",
                _ => "bad_input",
            },
            Error::Pca(e) => match e {
                PcaError::InvalidComponents { .. } => "invalid_parameter",
                _ => "bad_input",
            },
            Error::Cancelled => "cancelled",
            Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status the server answers this error with.
    pub fn http_status(&self) -> u16 {
        status_of(self.code())
    }

    /// The exit status of the `latentscope` command for this error.
    pub fn exit_code(&self) -> u8 {
        exit_code_of(self.code())
    }
}

/// The HTTP status of an error code (`docs/errors.md`).
pub fn status_of(code: &str) -> u16 {
    match code {
        "invalid_parameter" | "bad_upload" => 400,
        "read_only" | "forbidden" => 403,
        "not_found" => 404,
        "method_not_allowed" => 405,
        "payload_too_large" => 413,
        "unsupported_media_type" => 415,
        "already_exists" | "artifact_busy" | "has_dependents" | "cancelled" => 409,
        "bad_input" | "mismatched_parts" | "unsupported" => 422,
        "backend_failed" => 502,
        _ => 500,
    }
}

/// The CLI exit status of an error code (`docs/errors.md`).
pub fn exit_code_of(code: &str) -> u8 {
    match code {
        "invalid_parameter" => 2,
        "not_found" => 3,
        "already_exists" => 4,
        "artifact_busy" => 5,
        "has_dependents" => 6,
        "bad_input" | "mismatched_parts" | "unsupported" => 7,
        "backend_failed" => 8,
        "cancelled" => 130,
        _ => 1,
    }
}

fn at(row: Option<u64>, column: Option<&str>) -> String {
    match (row, column) {
        (Some(r), Some(c)) => format!(", row {r}, column {c:?}"),
        (Some(r), None) => format!(", row {r}"),
        (None, Some(c)) => format!(", column {c:?}"),
        (None, None) => String::new(),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}
