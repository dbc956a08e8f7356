//! The latentscope core: the [`Dataset`] handle over a data directory, typed
//! artifact ids, the shared step machinery and the plugin traits.
//!
//! # Glossary
//!
//! | name | means |
//! | --- | --- |
//! | dataset | `<data>/<dataset-id>/`: `input.parquet` (the rows), `meta.json`, one folder per artifact kind; [`Dataset`] is its handle ([`dataset`]) |
//! | row index | a row's 0-based position in `input.parquet`; every artifact is keyed by it, in order |
//! | artifact | one run's output: its files and its `.json` (written last) under a typed id ([`ids`]) that is never reused |
//! | step | a module with the same three parts: the plugin trait and its options (`mod.rs`), the driver that runs it (`driver.rs`), the artifact's files (`artifact.rs`): [`embed`], [`project`], [`cluster`], [`label`], [`scope`] |
//! | embedding | the vectors of every row ([`EmbeddingId`], `embedding-NNN`), made by an [`Embedder`] |
//! | project, projection | the 2-D step ([`project`]): a [`Reducer`] (UMAP or PCA) maps an embedding to a [`Layout`](project::Layout) |
//! | umap | the 2-D artifact, whatever the method (`umap-NNN`, [`UmapId`], [`UmapMeta`](project::UmapMeta)): the Python tool's name, kept on disk and on the command line; also the algorithm ([`umap`]) |
//! | layout | the 2-D points of a umap artifact, in memory ([`project::Layout`]) |
//! | clustering | a cluster artifact (`cluster-NNN`, [`ClusterId`]) made by a [`Clusterer`] from a umap; a row's cluster number within it is a cluster index |
//! | labels | a name (and description) per cluster of a clustering (`cluster-NNN-labels-MMM`, [`LabelsId`]), made by a [`Labeler`] |
//! | scope | a named combination of an embedding, a umap, a clustering and its labels (`scopes-NNN`, [`ScopeId`]): what the explorer opens |
//! | tag | a named set of row indices (`tags/<name>.indices`) |
//!
//! # Brief overview
//!
//! - [`Dataset`] is a handle over `<data>/<dataset-id>/` in a
//!   [`Store`](latentscope_io::Store): [`Dataset::open`], [`Dataset::list`],
//!   and [`ingest::ingest_file`] / [`ingest::ingest_batches`] to make one.
//! - [`EmbeddingId`], [`UmapId`], [`ClusterId`], [`LabelsId`] and
//!   [`ScopeId`] print and parse the on-disk names (`embedding-001`, …);
//!   [`Dataset::allocate`] hands out the next number and never reuses one.
//! - [`Progress`] is the callback every step reports through; returning
//!   `ControlFlow::Break` cancels and leaves earlier artifacts intact.
//! - [`meta::DatasetMeta`] is `meta.json`; tags are on [`Dataset`]
//!   ([`Dataset::add_to_tag`], …); precomputed vectors and 2-D layouts are
//!   imported with [`Dataset::import_embedding`] and [`Dataset::import_umap`].
//! - [`Embedder`] is the embedding plugin trait (async); [`Dataset::embed`]
//!   runs any embedder with batching, progress, cancellation and resume;
//!   [`EmbedderRegistry`] resolves spec strings to embedders.
//! - [`cluster::Clusterer`] is the clustering plugin trait; [`hdbscan`] is the
//!   built-in native HDBSCAN, run by [`Dataset::cluster`].
//! - [`project::Reducer`] is the 2-D projection plugin trait; [`umap`] (native
//!   UMAP) and [`pca`] are built in, run by [`Dataset::project`].
//! - The algorithms ([`umap`], [`hdbscan`], [`pca`], [`hull`], [`compare`]) live in the
//!   `latentscope-algorithms` crate, re-exported here.
//!
//! ```
//! use std::sync::Arc;
//! use latentscope_core::ingest::{ingest_batches, IngestOptions};
//! use latentscope_core::{Dataset, NoProgress};
//! use latentscope_io::arrow_array::{RecordBatch, StringArray, ArrayRef};
//! use latentscope_io::MemoryStore;
//!
//! let texts: ArrayRef = Arc::new(StringArray::from(vec!["a cat", "a dog"]));
//! let batch = RecordBatch::try_from_iter([("text", texts)]).unwrap();
//! let store = Arc::new(MemoryStore::new());
//! let ds = ingest_batches(store.clone(), "pets", batch.schema(), vec![batch],
//!     &IngestOptions::new("text"), &NoProgress)?;
//! assert_eq!(ds.rows(), 2);
//! assert_eq!(Dataset::ids(store.as_ref())?, vec!["pets"]);
//! # Ok::<(), latentscope_core::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod cluster;
pub mod data_dir;
pub mod dataset;
pub mod embed;
pub mod error;
pub mod ingest;
pub mod label;
pub mod pipeline;
pub mod progress;
pub mod project;
pub mod scope;
pub mod steps;

#[doc(hidden)]
pub mod fuzz;
mod pool;
mod thumbnail;
mod time;

pub use cluster::Clusterer;
pub use data_dir::DataDir;
pub use dataset::Dataset;
pub use dataset::{ids, meta};
pub use embed::{
    EmbedConfig, EmbedError, EmbedOptions, EmbedOutcome, Embedder, EmbedderRegistry, EmbedderSpec,
};
pub use error::{Error, Result};
pub use ids::{
    ArtifactId, ClusterId, ClusterIndex, EmbeddingId, LabelsId, NumberedId, RowIndex, ScopeId,
    UmapId,
};
pub use label::{ClusterLabel, ClusterSample, LabelOptions, Labeler};
pub use latentscope_algorithms::{compare, hdbscan, hull, pca, umap};
pub use latentscope_io;
pub use ndarray;
pub use progress::{NoProgress, Progress, ProgressEvent};
pub use project::Reducer;

/// The types most programs use: `use latentscope_core::prelude::*;`.
pub mod prelude {
    pub use crate::cluster::{ClusterOptions, Clusterer};
    pub use crate::data_dir::DataDir;
    pub use crate::dataset::Dataset;
    pub use crate::embed::{EmbedConfig, EmbedOptions, Embedder, EmbedderRegistry};
    pub use crate::error::{Error, Result};
    pub use crate::hdbscan::HdbscanParams;
    pub use crate::ids::{ClusterId, EmbeddingId, LabelsId, ScopeId, UmapId};
    pub use crate::label::{LabelOptions, Labeler, LabelerRegistry};
    pub use crate::progress::{NoProgress, Progress, ProgressEvent};
    pub use crate::project::{ProjectOptions, Reducer};
    pub use crate::umap::UmapParams;
}

/// A parameter struct as the JSON object recorded in an artifact's `.json`
/// (field names as its serde attributes give them: the Python tool's).
pub(crate) fn params_map<T: serde::Serialize>(
    params: &T,
) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(params) {
        Ok(serde_json::Value::Object(m)) => m,
        // Parameter structs serialize to objects; anything else is recorded whole.
        Ok(other) => serde_json::Map::from_iter([("value".to_string(), other)]),
        Err(e) => serde_json::Map::from_iter([("error".to_string(), e.to_string().into())]),
    }
}

/// The embedding artifact's items under their former path ([`embed`] now).
#[doc(hidden)]
pub mod embedding {
    pub use crate::embed::artifact::*;
}
/// The umap artifact's items under their former path ([`project`] now).
#[doc(hidden)]
pub mod layout {
    pub use crate::project::artifact::*;
}
