//! The latentscope core: the [`Dataset`] handle over a data directory, typed
//! artifact ids, the shared step machinery and the plugin traits.
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
pub mod dataset;
pub mod embed;
pub mod embedding;
pub mod error;
pub mod hdbscan;
pub mod hull;
pub mod ids;
pub mod ingest;
pub mod label;
pub mod layout;
pub mod meta;
pub mod pca;
pub mod pipeline;
pub mod progress;
pub mod project;
pub mod scope;
pub mod tags;
pub mod thumbnail;
pub mod time;
pub mod umap;

pub use dataset::Dataset;
pub use embed::driver::{EmbedOptions, EmbedOutcome};
pub use embed::registry::{EmbedConfig, EmbedderRegistry};
pub use embed::{EmbedError, Embedder, EmbedderSpec};
pub use error::{Error, Result};
pub use ids::{ClusterId, EmbeddingId, LabelsId, NumberedId, ScopeId, UmapId};
pub use label::{ClusterLabel, ClusterSample, LabelOptions, Labeler};
pub use latentscope_io;
pub use ndarray;
pub use progress::{NoProgress, Progress, ProgressEvent};
