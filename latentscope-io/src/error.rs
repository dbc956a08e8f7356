//! The error type of this crate: every variant names the file (and where it
//! applies the line, row or field) that was wrong.

use std::path::PathBuf;

/// A boxed error from a library we call (Arrow, Parquet, serde).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while storing, reading or converting data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key or file does not exist.
    #[error("{path}: not found")]
    NotFound {
        /// The missing key or file.
        path: String,
    },
    /// `put_if_absent` found the key already there.
    #[error("{path}: already exists")]
    AlreadyExists {
        /// The key that exists.
        path: String,
    },
    /// Another writer holds the lock.
    #[error("{path}: locked by another writer ({holder}); wait for it to finish")]
    Locked {
        /// The lock file or key.
        path: String,
        /// What is known of the holder (a process id), or "unknown".
        holder: String,
    },
    /// A key that would escape the store or is not a plain relative path.
    #[error("{key:?}: invalid key: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An operating-system error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file the operation was on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file's extension names no format we read.
    #[error(
        "{path}: cannot read this format (extension {extension:?}); use .csv, .tsv, .parquet, .jsonl or .ndjson"
    )]
    UnsupportedFormat {
        /// The file.
        path: String,
        /// Its extension ("" when it has none).
        extension: String,
    },
    /// The file has no header row or no bytes at all.
    #[error("{path}: the file is empty")]
    EmptyFile {
        /// The file.
        path: String,
    },
    /// The file has a header but no data rows.
    #[error("{path}: the file has a header but no rows")]
    NoRows {
        /// The file.
        path: String,
    },
    /// A line holds bytes that are not UTF-8.
    #[error("{path}: line {line}: invalid UTF-8 in column {column:?}")]
    InvalidUtf8 {
        /// The file.
        path: String,
        /// The 1-based line number.
        line: u64,
        /// The column the bad field belongs to.
        column: String,
    },
    /// A CSV/TSV row with a different number of fields than the header.
    #[error("{path}: line {line}: expected {expected} fields as in the header, found {found}")]
    RaggedRow {
        /// The file.
        path: String,
        /// The 1-based line number.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// A line or value that could not be parsed.
    #[error("{path}: {}{message}", line_prefix(*line))]
    Malformed {
        /// The file.
        path: String,
        /// The 1-based line number (0 when unknown).
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// A column the caller asked for is not in the table.
    #[error("{path}: no column {column:?}; the columns are: {}", available.join(", "))]
    ColumnNotFound {
        /// The table.
        path: String,
        /// The column asked for.
        column: String,
        /// The columns there are.
        available: Vec<String>,
    },
    /// A column has a type this operation cannot use.
    #[error("{path}: column {column:?} has type {found}, expected {expected}")]
    ColumnType {
        /// The table.
        path: String,
        /// The column.
        column: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// An error from the Parquet or Arrow libraries while reading or writing.
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// JSON that could not be read or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// `"line N: "`, or nothing when the line is unknown (0).
fn line_prefix(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!("line {line}: ")
    }
}

impl Error {
    /// Wraps a Parquet/Arrow/other library error with the file it concerns.
    pub fn format(path: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Format {
            path: path.into(),
            source: source.into(),
        }
    }

    /// Wraps an I/O error with the file it concerns; `NotFound` becomes [`Error::NotFound`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound {
                path: path.display().to_string(),
            }
        } else {
            Error::Io { path, source }
        }
    }

    /// True when this error means the key or file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}
