//! The embed step's plugin trait and its shared parts: [`Embedder`] (a
//! backend: a batch of texts in, one vector per text out, in order),
//! [`EmbedderSpec`] (what a backend is), [`EmbedError`], the
//! [`registry::EmbedderRegistry`] that maps spec strings such as
//! `candle:sentence-transformers/all-MiniLM-L6-v2` to backends, and the
//! [`driver`] that every backend shares (batching, concurrency, progress,
//! cancellation, resume and the atomic write of `embedding-NNN.*`).
//!
//! A user's own model plugs in by implementing [`Embedder`]:
//!
//! ```
//! use latentscope_core::embed::{async_trait, EmbedError, Embedder, EmbedderSpec};
//!
//! struct Lengths(EmbedderSpec);
//!
//! #[async_trait]
//! impl Embedder for Lengths {
//!     fn spec(&self) -> &EmbedderSpec {
//!         &self.0
//!     }
//!     async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
//!         Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
//!     }
//! }
//!
//! let e = Lengths(EmbedderSpec::new("mine", "lengths", 2));
//! let v = futures::executor::block_on(e.embed(&["abc".to_string()]))?;
//! assert_eq!(v, vec![vec![3.0, 1.0]]);
//! # Ok::<(), EmbedError>(())
//! ```

pub(crate) mod artifact;
pub mod driver;
pub mod registry;

pub use artifact::{EMBEDDING_COLUMN, EmbeddingMeta, read_vectors_file};
pub use driver::{EmbedOptions, EmbedOutcome};
pub use registry::{EmbedConfig, EmbedderRegistry};

use std::fmt;

pub use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What an embedding backend is: recorded with every embedding it makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbedderSpec {
    /// The backend family (`candle`, `static`, `openai`, or a user's name).
    pub provider: String,
    /// The model within the provider (`sentence-transformers/all-MiniLM-L6-v2`).
    pub model: String,
    /// Length of the vectors the backend returns.
    pub dimensions: usize,
    /// Tokens per text the model reads; longer texts are truncated.
    pub max_tokens: Option<usize>,
    /// Text the model expects before every document (e5: `"passage: "`);
    /// used when the user gives no prefix.
    pub default_prefix: String,
    /// Whether the vectors have unit length.
    pub normalized: bool,
    /// Rows per call that suit the backend (the driver's default batch size).
    pub batch_size: usize,
    /// Calls the driver may have in flight at once (1 for local compute,
    /// more for network APIs).
    pub concurrency: usize,
    /// Whether batches should hold texts of similar length (true for
    /// backends that pad a batch to its longest text; false for backends
    /// whose cost is per text, which then get rows in order, uncopied).
    #[serde(default = "yes")]
    pub sort_by_length: bool,
    /// Whether every finished batch is checkpointed at once (for backends
    /// that are paid per call: a killed run, resumed, sends no finished
    /// batch again). Batches then hold rows in order. With this set, a
    /// backend may declare 0 [`dimensions`](Self::dimensions): the driver
    /// learns them from the first batch's answer (no extra request).
    #[serde(default)]
    pub checkpoint_every_batch: bool,
}

fn yes() -> bool {
    true
}

impl EmbedderSpec {
    /// A spec with the given provider, model and dimensions; no token limit,
    /// no prefix, not normalised, batches of 32, one call at a time.
    pub fn new(provider: impl Into<String>, model: impl Into<String>, dimensions: usize) -> Self {
        Self {
            provider: provider.into(),
            model: model.into(),
            dimensions,
            max_tokens: None,
            default_prefix: String::new(),
            normalized: false,
            batch_size: 32,
            concurrency: 1,
            sort_by_length: true,
            checkpoint_every_batch: false,
        }
    }

    /// Sets the token limit.
    pub fn with_max_tokens(mut self, max_tokens: Option<usize>) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the default prefix.
    pub fn with_default_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.default_prefix = prefix.into();
        self
    }

    /// Declares unit-length vectors.
    pub fn with_normalized(mut self, normalized: bool) -> Self {
        self.normalized = normalized;
        self
    }

    /// Sets the default batch size and concurrency.
    pub fn with_batching(mut self, batch_size: usize, concurrency: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self.concurrency = concurrency.max(1);
        self
    }

    /// Sets whether batches are ordered by text length.
    pub fn with_sort_by_length(mut self, sort: bool) -> Self {
        self.sort_by_length = sort;
        self
    }

    /// Sets whether every finished batch is checkpointed.
    pub fn with_checkpoint_every_batch(mut self, every: bool) -> Self {
        self.checkpoint_every_batch = every;
        self
    }

    /// The spec string that resolves to this backend (`provider:model`).
    pub fn spec_string(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }
}

impl fmt::Display for EmbedderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} dims)", self.spec_string(), self.dimensions)
    }
}

/// A backend that turns texts into vectors. `embed` gets one batch and
/// returns exactly one vector of [`EmbedderSpec::dimensions`] floats per
/// text, in the same order. Async because most backends are network calls;
/// local backends run their compute off the executor.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// What this backend is.
    fn spec(&self) -> &EmbedderSpec;
    /// Embeds one batch of texts.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// What this backend has used so far (an API's requests, retries and
    /// tokens), recorded in the embedding's `.json` as `api_usage`; empty
    /// (the default) for local backends.
    fn usage(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }

    /// Embeds one batch of texts into `out`, row after row
    /// (`texts.len() × dimensions` values). The driver calls this one. The
    /// default calls [`Embedder::embed`], checks the shape and copies; a
    /// backend that can write in place (the static model) overrides it to
    /// skip a vector allocation per text.
    async fn embed_into(&self, texts: &[String], out: &mut [f32]) -> Result<(), EmbedError> {
        let dims = self.spec().dimensions;
        let vectors = self.embed(texts).await?;
        if vectors.len() != texts.len() || out.len() != texts.len() * dims {
            return Err(EmbedError::WrongShape {
                expected: format!("{} vectors", texts.len()),
                got: format!("{} vectors", vectors.len()),
            });
        }
        for (i, (v, row)) in vectors
            .iter()
            .zip(out.chunks_exact_mut(dims.max(1)))
            .enumerate()
        {
            if v.len() != dims {
                return Err(EmbedError::WrongShape {
                    expected: format!("{dims} dimensions"),
                    got: format!("a vector of {} for text {i} of the batch", v.len()),
                });
            }
            row.copy_from_slice(v);
        }
        Ok(())
    }
}

/// What went wrong resolving, loading or running an embedder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// A spec string that no registered backend answers.
    #[error("unknown model {spec:?}; known: {}", known.join(", "))]
    UnknownModel {
        /// The spec as given.
        spec: String,
        /// The specs and provider prefixes this build knows.
        known: Vec<String>,
    },
    /// A backend that exists but was not compiled into this build.
    #[error(
        "{spec:?} needs the cargo feature `{feature}`, which this build does not have (rebuild with `--features {feature}`)"
    )]
    FeatureMissing {
        /// The spec as given.
        spec: String,
        /// The cargo feature to enable.
        feature: String,
    },
    /// A model directory without a file the backend needs.
    #[error("model directory {dir} has no {file}")]
    MissingFile {
        /// The directory.
        dir: String,
        /// The file missing, relative to it.
        file: String,
    },
    /// A model that could not be found or downloaded.
    #[error("model {model:?} not found: {message}")]
    ModelNotFound {
        /// The model asked for.
        model: String,
        /// Where it was looked for.
        message: String,
    },
    /// Files present but unusable (bad config, wrong tensor shapes, …).
    #[error("model {model}: {message}")]
    InvalidModel {
        /// The model (or its directory).
        model: String,
        /// What is wrong.
        message: String,
    },
    /// An API provider whose key is not set anywhere it is looked for.
    #[error("{provider}: no API key: set {variable} (looked in {looked})")]
    MissingKey {
        /// The provider (`openai`).
        provider: String,
        /// The variable that holds its key (`OPENAI_API_KEY`).
        variable: String,
        /// Where it was looked for.
        looked: String,
    },
    /// Options the backend cannot honour (more dimensions than it has, …).
    #[error("{0}")]
    InvalidOptions(String),
    /// The backend returned the wrong number or length of vectors.
    #[error("the embedder returned {got} for a batch of {expected}")]
    WrongShape {
        /// What was expected.
        expected: String,
        /// What came back.
        got: String,
    },
    /// Any other backend failure.
    #[error("{backend}: {message}")]
    Backend {
        /// The backend.
        backend: String,
        /// What failed.
        message: String,
    },
}

impl fmt::Debug for dyn Embedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Embedder({})", self.spec())
    }
}
