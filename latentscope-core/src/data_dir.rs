//! [`DataDir`]: a data directory (or an in-memory store) and the datasets in
//! it, the entry point of a program that uses latentscope as a library.

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use latentscope_io::{LocalStore, MemoryStore, Store};

use crate::dataset::Dataset;
use crate::embed::EmbedderRegistry;
use crate::error::Result;
use crate::ingest::{IngestOptions, ingest_batches, ingest_file};
use crate::meta::DatasetMeta;
use crate::pipeline::{RunConfig, RunInput, RunReport};
use crate::progress::{NoProgress, Progress};

/// A data directory: `<dir>/<dataset>/…`, as the `latentscope` command
/// and the Python latent-scope lay it out.
///
/// ```
/// use latentscope_core::prelude::*;
/// use latentscope_core::latentscope_io::arrow_array::{ArrayRef, RecordBatch, StringArray};
/// use std::sync::Arc;
///
/// let data = DataDir::in_memory();
/// let texts: ArrayRef = Arc::new(StringArray::from(vec!["a cat", "a dog"]));
/// let batch = RecordBatch::try_from_iter([("text", texts)]).unwrap();
/// let ds = data.ingest_batches("pets", vec![batch], "text")?;
/// assert_eq!(ds.rows(), 2);
/// assert_eq!(data.datasets()?[0].id, "pets");
/// # Ok::<(), latentscope_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DataDir {
    store: Arc<dyn Store>,
}

impl DataDir {
    /// The data directory at `path` (created when a dataset is first written).
    pub fn open(path: impl AsRef<Path>) -> Self {
        Self::with_store(Arc::new(LocalStore::new(path.as_ref())))
    }

    /// A data directory that lives in memory (tests, programs that keep
    /// nothing on disk).
    pub fn in_memory() -> Self {
        Self::with_store(Arc::new(MemoryStore::new()))
    }

    /// A data directory in any [`Store`].
    pub fn with_store(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Its store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The datasets in it, by id.
    pub fn datasets(&self) -> Result<Vec<DatasetMeta>> {
        Dataset::list(self.store.as_ref())
    }

    /// Opens one dataset.
    pub fn dataset(&self, id: &str) -> Result<Dataset> {
        Dataset::open(self.store.clone(), id)
    }

    /// Ingests a file (CSV, TSV, Parquet or JSON Lines) as dataset `id`.
    pub fn ingest(&self, id: &str, file: impl AsRef<Path>, text_column: &str) -> Result<Dataset> {
        ingest_file(
            self.store.clone(),
            id,
            file.as_ref(),
            &IngestOptions::new(text_column),
            &NoProgress,
        )
    }

    /// Ingests Arrow batches (all of one schema) as dataset `id`.
    pub fn ingest_batches(
        &self,
        id: &str,
        batches: Vec<RecordBatch>,
        text_column: &str,
    ) -> Result<Dataset> {
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => Arc::new(arrow_schema::Schema::empty()),
        };
        ingest_batches(
            self.store.clone(),
            id,
            schema,
            batches,
            &IngestOptions::new(text_column),
            &NoProgress,
        )
    }

    /// The whole pipeline on a file into dataset `id` (continuing an
    /// unfinished run of the same file and parameters), on this thread:
    /// ingest, embed with `model` as `embedders` resolves it, UMAP, HDBSCAN,
    /// keyword labels and a scope.
    pub fn run_file(
        &self,
        id: &str,
        file: impl AsRef<Path>,
        text_column: &str,
        model: &str,
        embedders: &EmbedderRegistry,
        progress: &dyn Progress,
    ) -> Result<RunReport> {
        let config = RunConfig::new(file.as_ref(), text_column, model)?;
        futures::executor::block_on(crate::pipeline::run_input(
            self.store.clone(),
            id,
            &config,
            RunInput::File,
            embedders,
            progress,
        ))
    }

    /// The whole pipeline on Arrow batches into dataset `id`, as
    /// [`run_file`](Self::run_file) does.
    pub fn run_batches(
        &self,
        id: &str,
        batches: Vec<RecordBatch>,
        text_column: &str,
        model: &str,
        embedders: &EmbedderRegistry,
        progress: &dyn Progress,
    ) -> Result<RunReport> {
        let config = RunConfig::for_batches(id, &batches, text_column, model);
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => Arc::new(arrow_schema::Schema::empty()),
        };
        futures::executor::block_on(crate::pipeline::run_input(
            self.store.clone(),
            id,
            &config,
            RunInput::Batches { schema, batches },
            embedders,
            progress,
        ))
    }
}
