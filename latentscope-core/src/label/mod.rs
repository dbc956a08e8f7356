//! The label step: a [`Labeler`] names each cluster of a clustering, and one
//! driver ([`Dataset::label`](crate::Dataset::label)) that every labeler
//! shares runs it with bounded concurrency, progress, cancellation and resume, and writes
//! `clusters/cluster-NNN-labels-MMM.parquet` (`label`, `description`,
//! `indices`, `hull`, `centroid_x`, `centroid_y`, `count`) with its `.json`
//! last. The built-in labeler is [`keywords::KeywordsLabeler`] (class-based
//! TF-IDF, offline); LLM labelers implement the same trait.

pub(crate) mod artifact;
pub(crate) mod driver;
mod exemplars;

pub use artifact::LabelsMeta;
pub use driver::LabelEstimate;

pub mod keywords;
pub mod registry;
mod stopwords;

pub use registry::{LabelerEntry, LabelerFactory, LabelerRegistry};

pub use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;

/// What a labeler sees of one cluster.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterSample<'a> {
    /// The cluster's number in the clustering.
    pub cluster: i64,
    /// Every row of the cluster (input row indices, ascending).
    pub rows: &'a [u64],
    /// The texts of a sample of those rows (all of them for small clusters),
    /// for labelers that read text (an LLM prompt): exemplars chosen in
    /// embedding space (nearest the centroid with the corpus mean removed,
    /// then diverse ones; identical texts once) when the clustering's
    /// embedding can be read, else rows spaced evenly.
    pub texts: Vec<String>,
    /// Context the user gave about the dataset ("PyPI package summaries").
    pub context: &'a str,
    /// The cluster's most distinctive terms (class-based TF-IDF, best
    /// first), for labelers that read text; empty otherwise.
    pub keywords: Vec<String>,
}

impl<'a> ClusterSample<'a> {
    /// A sample of cluster `cluster` made of `rows`, with `texts` to read
    /// and no keywords or context (for tests and labelers' own drivers).
    pub fn new(cluster: i64, rows: &'a [u64], texts: Vec<String>) -> Self {
        Self {
            cluster,
            rows,
            texts,
            context: "",
            keywords: Vec::new(),
        }
    }

    /// The number of rows in the cluster.
    pub fn size(&self) -> usize {
        self.rows.len()
    }
}

/// One cluster and the label the first pass gave it, for
/// [`Labeler::distinguish`].
#[derive(Debug, Clone)]
pub struct Labelled<'a> {
    /// What the labeler saw of the cluster.
    pub sample: &'a ClusterSample<'a>,
    /// Its label.
    pub label: ClusterLabel,
}

/// What one request of a labeler would cost, for `--dry-run`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestEstimate {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// The most answer tokens it may take.
    pub max_answer_tokens: u64,
}

/// A labeler's answer for one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClusterLabel {
    /// A short label (a few words).
    pub label: String,
    /// A longer description.
    pub description: String,
}

impl ClusterLabel {
    /// A label and its description.
    pub fn new(label: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            description: description.into(),
        }
    }
}

/// What went wrong labelling a cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// The labeler's backend failed (network, model, …).
    #[error("{backend}: {message}")]
    Backend {
        /// The backend.
        backend: String,
        /// What failed.
        message: String,
    },
}

/// Names clusters. Async because most labelers are network calls.
#[async_trait]
pub trait Labeler: Send + Sync {
    /// The labeler's name as recorded (`keywords`, `openai:gpt-4o-mini`).
    fn name(&self) -> &str;
    /// The parameters that fix its answers (recorded; a run with equal
    /// parameters resumes an unfinished one).
    fn params(&self) -> Map<String, Value> {
        Map::new()
    }
    /// Whether [`ClusterSample::texts`] is used (a labeler fitted on the
    /// dataset, like the keywords one, says no and the texts are not read).
    fn reads_texts(&self) -> bool {
        true
    }
    /// Labels one cluster.
    async fn label(&self, cluster: &ClusterSample<'_>) -> Result<ClusterLabel, LabelError>;

    /// A second pass over every cluster's first label: returns the labels
    /// to keep, one per cluster in order, with colliding ones renamed. The
    /// default keeps them all (labelers that cannot collide, or cannot
    /// ask again); an error leaves the first-pass labels in place.
    async fn distinguish(
        &self,
        labelled: &[Labelled<'_>],
    ) -> Result<Vec<ClusterLabel>, LabelError> {
        Ok(labelled.iter().map(|l| l.label.clone()).collect())
    }

    /// Labels in flight at once that suit this labeler (a local Ollama
    /// runs one at a time); `None` leaves it to [`LabelOptions::concurrency`].
    fn concurrency(&self) -> Option<usize> {
        None
    }

    /// What the labeler has used so far (requests, retries, tokens),
    /// recorded in the labels' `.json` as `usage`; empty by default.
    fn usage(&self) -> Map<String, Value> {
        Map::new()
    }

    /// What labelling `cluster` would send, without sending it (`None`:
    /// nothing is sent, as for a local labeler).
    fn estimate(&self, cluster: &ClusterSample<'_>) -> Option<RequestEstimate> {
        let _ = cluster;
        None
    }
}

/// Options of the label step (recorded in the labels' `.json`, with the
/// labeler's own parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LabelOptions {
    /// Rows of each cluster whose texts the labeler gets.
    pub samples: usize,
    /// Labels in flight at once.
    pub concurrency: usize,
    /// Context about the dataset, passed to the labeler.
    pub context: String,
}

impl Default for LabelOptions {
    fn default() -> Self {
        Self {
            samples: 20,
            concurrency: 4,
            context: String::new(),
        }
    }
}
