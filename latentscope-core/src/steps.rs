//! The steps in builder style: each carries its options and progress with
//! the defaults a first run wants, and async steps have blocking forms, so a
//! caller needs no executor.
//!
//! ```no_run
//! # use latentscope_core::prelude::*;
//! # fn main() -> latentscope_core::Result<()> {
//! # let ds: Dataset = todo!(); let model: Box<dyn Embedder> = todo!();
//! let embedding = ds.new_embedding(model.as_ref()).run_blocking()?.id;
//! let umap = ds.new_umap(embedding).seed(42).run()?;
//! let clusters = ds.new_clustering(umap).run()?;
//! let labels = ds.new_labels(clusters).run_blocking()?;
//! let scope = ds.new_scope(embedding, umap, clusters, labels).label("first look").run()?;
//! # Ok(()) }
//! ```

use std::fmt;

use crate::cluster::{ClusterOptions, default_hdbscan_params};
use crate::dataset::Dataset;
use crate::embed::{EmbedOptions, EmbedOutcome, Embedder};
use crate::error::Result;
use crate::hdbscan::HdbscanParams;
use crate::ids::{ClusterId, EmbeddingId, LabelsId, ScopeId, UmapId};
use crate::label::{LabelOptions, Labeler, LabelerRegistry};
use crate::progress::{NoProgress, Progress};
use crate::project::{PcaReducer, ProjectOptions};
use crate::scope::ScopeParts;
use crate::umap::UmapParams;

impl Dataset {
    /// The embed step with `embedder` ([`EmbedStep`]).
    pub fn new_embedding<'a>(&'a self, embedder: &'a dyn Embedder) -> EmbedStep<'a> {
        EmbedStep {
            ds: self,
            embedder,
            options: EmbedOptions::default(),
            progress: &NoProgress,
        }
    }

    /// The 2-D step on `embedding`: UMAP with [`UmapParams::default`] ([`UmapStep`]).
    pub fn new_umap(&self, embedding: EmbeddingId) -> UmapStep<'_> {
        UmapStep {
            ds: self,
            embedding,
            params: UmapParams::default(),
            pca: false,
            options: ProjectOptions::default(),
            progress: &NoProgress,
        }
    }

    /// The cluster step on `umap`: HDBSCAN with the defaults for this row
    /// count ([`default_hdbscan_params`], [`ClusterStep`]).
    pub fn new_clustering(&self, umap: UmapId) -> ClusterStep<'_> {
        ClusterStep {
            ds: self,
            umap,
            params: default_hdbscan_params(self.rows() as usize),
            options: ClusterOptions::default(),
            progress: &NoProgress,
        }
    }

    /// The label step on `cluster`: keyword labels unless another labeler is
    /// given ([`LabelStep`]).
    pub fn new_labels(&self, cluster: ClusterId) -> LabelStep<'_> {
        LabelStep {
            ds: self,
            cluster,
            labeler: None,
            options: LabelOptions::default(),
            progress: &NoProgress,
        }
    }

    /// The scope step: a scope of the four parts ([`ScopeStep`]).
    pub fn new_scope(
        &self,
        embedding: EmbeddingId,
        umap: UmapId,
        cluster: ClusterId,
        labels: LabelsId,
    ) -> ScopeStep<'_> {
        ScopeStep {
            ds: self,
            parts: ScopeParts::new(embedding, umap, cluster, labels),
            label: self.id().to_string(),
            description: String::new(),
        }
    }
}

/// The embed step ([`Dataset::new_embedding`]).
pub struct EmbedStep<'a> {
    ds: &'a Dataset,
    embedder: &'a dyn Embedder,
    options: EmbedOptions,
    progress: &'a dyn Progress,
}

impl<'a> EmbedStep<'a> {
    /// Every option at once.
    pub fn options(mut self, options: EmbedOptions) -> Self {
        self.options = options;
        self
    }

    /// Text put before every row.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options = self.options.with_prefix(Some(prefix.into()));
        self
    }

    /// Rows per batch.
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.options = self.options.with_batch_size(Some(rows));
        self
    }

    /// Where progress goes (and cancellation comes from).
    pub fn progress(mut self, progress: &'a dyn Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Runs it (or resumes an unfinished run with the same options).
    pub async fn run(self) -> Result<EmbedOutcome> {
        self.ds
            .embed(self.embedder, &self.options, self.progress)
            .await
    }

    /// Runs it on this thread, with no executor needed.
    pub fn run_blocking(self) -> Result<EmbedOutcome> {
        futures::executor::block_on(self.run())
    }
}

/// The 2-D step ([`Dataset::new_umap`]).
pub struct UmapStep<'a> {
    ds: &'a Dataset,
    embedding: EmbeddingId,
    params: UmapParams,
    pca: bool,
    options: ProjectOptions,
    progress: &'a dyn Progress,
}

impl<'a> UmapStep<'a> {
    /// Every UMAP parameter at once.
    pub fn params(mut self, params: UmapParams) -> Self {
        self.params = params;
        self
    }

    /// UMAP's `n_neighbors`.
    pub fn neighbors(mut self, n: usize) -> Self {
        self.params.n_neighbors = n;
        self
    }

    /// UMAP's `min_dist`.
    pub fn min_dist(mut self, d: f32) -> Self {
        self.params.min_dist = d;
        self
    }

    /// The seed (with one thread, the same layout every run).
    pub fn seed(mut self, seed: u64) -> Self {
        self.params.seed = Some(seed);
        self
    }

    /// Starts from an earlier umap of this dataset, to stay aligned with it.
    pub fn init_from(mut self, umap: UmapId) -> Result<Self> {
        let start = self.ds.umap_start(&umap.to_string())?;
        self.params.init = start.init;
        self.options.init_from = start.from;
        Ok(self)
    }

    /// PCA instead of UMAP.
    pub fn pca(mut self) -> Self {
        self.pca = true;
        self
    }

    /// Threads (default: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = Some(threads);
        self
    }

    /// Where progress goes (and cancellation comes from).
    pub fn progress(mut self, progress: &'a dyn Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Runs it; returns the new umap's id.
    pub fn run(self) -> Result<UmapId> {
        if self.pca {
            self.ds
                .project(self.embedding, &PcaReducer, &self.options, self.progress)
        } else {
            self.ds
                .project(self.embedding, &self.params, &self.options, self.progress)
        }
    }
}

/// The cluster step ([`Dataset::new_clustering`]).
pub struct ClusterStep<'a> {
    ds: &'a Dataset,
    umap: UmapId,
    params: HdbscanParams,
    options: ClusterOptions,
    progress: &'a dyn Progress,
}

impl<'a> ClusterStep<'a> {
    /// Every HDBSCAN parameter at once.
    pub fn params(mut self, params: HdbscanParams) -> Self {
        self.params = params;
        self
    }

    /// HDBSCAN's `min_cluster_size`.
    pub fn min_cluster_size(mut self, n: usize) -> Self {
        self.params.min_cluster_size = n;
        self
    }

    /// HDBSCAN's `min_samples`.
    pub fn min_samples(mut self, n: usize) -> Self {
        self.params.min_samples = Some(n);
        self
    }

    /// Assigns noise to the nearest cluster instead of an "Unclustered" one.
    pub fn assign_noise(mut self) -> Self {
        self.options.assign_noise = true;
        self
    }

    /// Threads (default: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.options.threads = Some(threads);
        self
    }

    /// Where progress goes (and cancellation comes from).
    pub fn progress(mut self, progress: &'a dyn Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Runs it; returns the new clustering's id.
    pub fn run(self) -> Result<ClusterId> {
        self.ds
            .cluster(self.umap, &self.params, &self.options, self.progress)
    }
}

/// The label step ([`Dataset::new_labels`]).
pub struct LabelStep<'a> {
    ds: &'a Dataset,
    cluster: ClusterId,
    labeler: Option<&'a dyn Labeler>,
    options: LabelOptions,
    progress: &'a dyn Progress,
}

impl<'a> LabelStep<'a> {
    /// The labeler (default: keywords fitted on this dataset).
    pub fn labeler(mut self, labeler: &'a dyn Labeler) -> Self {
        self.labeler = Some(labeler);
        self
    }

    /// Every label option at once (samples per cluster, concurrency, context).
    pub fn options(mut self, options: LabelOptions) -> Self {
        self.options = options;
        self
    }

    /// Context about the dataset for the labeler.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.options.context = context.into();
        self
    }

    /// Where progress goes (and cancellation comes from).
    pub fn progress(mut self, progress: &'a dyn Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Runs it (or resumes an unfinished run with the same labeler and
    /// options); returns the new labels' id.
    pub async fn run(self) -> Result<LabelsId> {
        let keywords;
        let labeler = match self.labeler {
            Some(l) => l,
            None => {
                keywords = LabelerRegistry::default().resolve("keywords", self.ds)?;
                keywords.as_ref()
            }
        };
        self.ds
            .label(self.cluster, labeler, &self.options, self.progress)
            .await
    }

    /// Runs it on this thread, with no executor needed.
    pub fn run_blocking(self) -> Result<LabelsId> {
        futures::executor::block_on(self.run())
    }
}

/// The scope step ([`Dataset::new_scope`]).
#[derive(Debug)]
pub struct ScopeStep<'a> {
    ds: &'a Dataset,
    parts: ScopeParts,
    label: String,
    description: String,
}

impl ScopeStep<'_> {
    /// The scope's name (default: the dataset's id).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// A longer description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Writes it; returns the new scope's id.
    pub fn run(self) -> Result<ScopeId> {
        self.ds
            .create_scope(&self.parts, &self.label, &self.description)
    }
}

macro_rules! debug_step {
    ($($t:ident),*) => {$(
        impl fmt::Debug for $t<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).field("dataset", &self.ds.id()).finish_non_exhaustive()
            }
        }
    )*};
}
debug_step!(EmbedStep, UmapStep, ClusterStep, LabelStep);
