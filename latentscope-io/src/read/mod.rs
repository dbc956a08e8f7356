//! Readers that turn a user's table file (CSV, TSV, Parquet, JSON Lines) into
//! a stream of Arrow [`RecordBatch`]es, with column types inferred from the
//! whole file and errors that name the file and line.

mod csv;
mod infer;
mod jsonl;
mod parquet;

use std::fmt;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};

/// Rows per batch that the readers produce.
pub const BATCH_ROWS: usize = 65_536;

/// The table formats we read, chosen from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated values with a header row (`.csv`).
    Csv,
    /// Tab-separated values with a header row (`.tsv`, `.tab`).
    Tsv,
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    JsonLines,
}

impl Format {
    /// The format named by the file's extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "parquet" | "pq" => Ok(Format::Parquet),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            _ => Err(Error::UnsupportedFormat {
                path: path.display().to_string(),
                extension: ext,
            }),
        }
    }
}

/// A table being read: its schema, its row count when known, and its batches.
pub struct TableReader {
    path: String,
    schema: SchemaRef,
    rows: Option<u64>,
    batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
}

impl TableReader {
    /// Wraps a schema and a batch iterator (for tables that come from elsewhere).
    pub fn new(
        path: impl Into<String>,
        schema: SchemaRef,
        rows: Option<u64>,
        batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
    ) -> Self {
        Self {
            path: path.into(),
            schema,
            rows,
            batches,
        }
    }

    /// Where the table comes from (a file path, or a description).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The columns and their types.
    pub fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    /// The number of rows, when the reader knows it before reading them.
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }
}

impl Iterator for TableReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.batches.next()
    }
}

impl fmt::Debug for TableReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableReader")
            .field("path", &self.path)
            .field("schema", &self.schema)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// Opens a table file, choosing the reader from its extension.
///
/// A missing file is [`Error::NotFound`]; an unknown extension is
/// [`Error::UnsupportedFormat`]; an empty file, a header with no rows, a
/// ragged row or invalid UTF-8 are errors that name the file and line.
pub fn open_table(path: &Path) -> Result<TableReader> {
    let format = Format::from_path(path)?;
    if !path.exists() {
        return Err(Error::NotFound {
            path: path.display().to_string(),
        });
    }
    match format {
        Format::Csv => csv::open(path, b','),
        Format::Tsv => csv::open(path, b'\t'),
        Format::Parquet => parquet::open(path),
        Format::JsonLines => jsonl::open(path),
    }
}

/// A source of batches; [`Batches`] turns it into a fused iterator that stops
/// after the first error.
pub(crate) trait BatchSource {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>>;
}

pub(crate) struct Batches<S> {
    source: S,
    done: bool,
}

impl<S> Batches<S> {
    pub(crate) fn new(source: S) -> Self {
        Self {
            source,
            done: false,
        }
    }
}

impl<S: BatchSource> Iterator for Batches<S> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.source.next_batch();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}
