//! The whole path in one call: ingest → embed → umap → cluster → label →
//! scope, with defaults a first run needs (the CLI's `run` and `demo`).
//!
//! A run records itself in `<dataset>/run.json` (its parameters and the id
//! each step made) after every step. Running the same file with the same
//! parameters again continues an unfinished run, reusing the steps that
//! finished (and the embed step's own checkpoints); a finished run, a
//! dataset made otherwise, or a run with other parameters is refused, so
//! nothing is overwritten.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use latentscope_io::{Store, json};
use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterOptions, default_hdbscan_params};
use crate::dataset::Dataset;
use crate::embed::driver::EmbedOptions;
use crate::embed::{EmbedConfig, EmbedderRegistry};
use crate::error::{Error, Result};
use crate::ids::{ClusterId, EmbeddingId, LabelsId, ScopeId, UmapId, validate_dataset_id};
use crate::ingest::{IngestOptions, ingest_batches, ingest_file};
use crate::label::LabelOptions;
use crate::label::keywords::KeywordsLabeler;
use crate::progress::Progress;
use crate::project::ProjectOptions;
use crate::scope::ScopeParts;
use crate::umap::UmapParams;

/// The file `run` keeps in the dataset directory.
pub const RUN_FILE: &str = "run.json";

/// What a run is asked to do; equal configs resume each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunConfig {
    /// The input file (absolute path).
    pub file: PathBuf,
    /// Its size in bytes (a different file at the same path is another run).
    pub file_size: u64,
    /// The column to embed.
    pub text_column: String,
    /// The embedder's spec string.
    pub model: String,
    /// UMAP neighbours.
    pub neighbors: usize,
    /// UMAP min_dist.
    pub min_dist: f32,
    /// UMAP seed.
    pub seed: u64,
}

impl RunConfig {
    /// A config for `file`'s `text_column` embedded with `model`, and the
    /// default layout parameters (those of [`UmapParams::default`], seed 42).
    pub fn new(file: &Path, text_column: &str, model: &str) -> Result<Self> {
        let meta = std::fs::metadata(file).map_err(|e| latentscope_io::Error::io(file, e))?;
        Ok(Self::with_source(
            std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
            meta.len(),
            text_column,
            model,
        ))
    }

    /// A config for Arrow batches named `name` (recorded in place of a file
    /// path, with the batches' size in place of the file's).
    pub fn for_batches(
        name: &str,
        batches: &[RecordBatch],
        text_column: &str,
        model: &str,
    ) -> Self {
        let bytes = batches
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum();
        Self::with_source(
            PathBuf::from(format!("<batches {name}>")),
            bytes,
            text_column,
            model,
        )
    }

    fn with_source(file: PathBuf, file_size: u64, text_column: &str, model: &str) -> Self {
        let defaults = UmapParams::default();
        Self {
            file,
            file_size,
            text_column: text_column.to_string(),
            model: model.to_string(),
            neighbors: defaults.n_neighbors,
            min_dist: defaults.min_dist,
            seed: 42,
        }
    }
}

/// What a run ingests: a file, or Arrow batches from the caller's code.
#[derive(Debug, Clone)]
pub enum RunInput {
    /// A CSV, TSV, Parquet or JSON Lines file ([`RunConfig::new`]).
    File,
    /// Record batches in memory ([`RunConfig::for_batches`]).
    Batches {
        /// Their schema.
        schema: SchemaRef,
        /// The rows.
        batches: Vec<RecordBatch>,
    },
}

/// The ids the steps of a run made so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunSteps {
    /// The embedding.
    pub embedding: Option<EmbeddingId>,
    /// The layout.
    pub umap: Option<UmapId>,
    /// The clustering.
    pub cluster: Option<ClusterId>,
    /// The keyword labels.
    pub labels: Option<LabelsId>,
    /// The scope (set when the run finished).
    pub scope: Option<ScopeId>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunRecord {
    config: RunConfig,
    steps: RunSteps,
    #[serde(default)]
    seconds: Vec<(String, f64)>,
}

/// One step of a finished run, for the summary.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StepReport {
    /// `ingest`, `embed`, `umap`, `cluster`, `label`, `scope`.
    pub step: &'static str,
    /// The artifact it made or reused.
    pub id: String,
    /// Seconds it took in this run (0 when reused).
    pub seconds: f64,
    /// Whether an earlier, interrupted run had already done it.
    pub reused: bool,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunReport {
    /// The dataset.
    pub dataset: String,
    /// Rows.
    pub rows: u64,
    /// Clusters found (noise not counted).
    pub clusters: u64,
    /// Rows the clustering left as noise.
    pub noise: u64,
    /// The scope made.
    pub scope: ScopeId,
    /// Each step.
    pub steps: Vec<StepReport>,
    /// True when an earlier, unfinished run was continued.
    pub resumed: bool,
}

/// The state of a dataset id before a run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// No such dataset: a run starts from ingest.
    Fresh,
    /// An unfinished run with the same config: it continues.
    Unfinished(RunSteps),
    /// A finished run with the same config: its scope.
    Finished(ScopeId),
}

/// Reads what a dataset id holds, refusing ids a run must not touch.
pub fn run_state(store: &Arc<dyn Store>, dataset: &str, config: &RunConfig) -> Result<RunState> {
    validate_dataset_id(dataset)?;
    let ids = Dataset::ids(store.as_ref())?;
    if !ids.iter().any(|d| d == dataset) {
        return Ok(RunState::Fresh);
    }
    let key = format!("{dataset}/{RUN_FILE}");
    if !store.exists(&key)? {
        return Err(Error::DatasetExists {
            id: dataset.to_string(),
            store: format!("{store} (made by `ingest`, not `run`)"),
        });
    }
    let record: RunRecord = json::read_json(store.as_ref(), &key)?;
    if record.config != config.clone() {
        return Err(Error::AlreadyExists {
            what: format!("dataset {dataset:?}"),
            reason: format!(
                "it holds a run of {} (column {:?}, model {}) with other parameters; choose another --dataset",
                record.config.file.display(),
                record.config.text_column,
                record.config.model
            ),
        });
    }
    let steps = existing_steps(&Dataset::open(store.clone(), dataset)?, record.steps)?;
    Ok(match steps.scope {
        Some(scope) => RunState::Finished(scope),
        None => RunState::Unfinished(steps),
    })
}

/// The steps of a run record whose artifacts still exist: from the first
/// one deleted since, the run makes them again.
fn existing_steps(ds: &Dataset, mut steps: RunSteps) -> Result<RunSteps> {
    let embedding = steps.embedding.map(|e| ds.require(e)).transpose().is_ok();
    let umap = embedding && steps.umap.map(|u| ds.require(u)).transpose().is_ok();
    let cluster = umap && steps.cluster.map(|c| ds.require(c)).transpose().is_ok();
    let labels = cluster
        && match (steps.cluster, steps.labels) {
            (Some(c), Some(l)) => ds.labels_ids(c)?.contains(&l),
            (_, None) => true,
            (None, Some(_)) => false,
        };
    let scope = labels && steps.scope.map(|s| ds.require(s)).transpose().is_ok();
    if !embedding {
        steps.embedding = None;
    }
    if !umap {
        steps.umap = None;
    }
    if !cluster {
        steps.cluster = None;
    }
    if !labels {
        steps.labels = None;
    }
    if !scope {
        steps.scope = None;
    }
    Ok(steps)
}

/// Runs (or continues) the whole pipeline on `config.file` into `dataset`,
/// with the embedder `embedders` resolves for `config.model` (so the model
/// used is always the one recorded).
pub async fn run(
    store: Arc<dyn Store>,
    dataset: &str,
    config: &RunConfig,
    embedders: &EmbedderRegistry,
    progress: &dyn Progress,
) -> Result<RunReport> {
    run_input(store, dataset, config, RunInput::File, embedders, progress).await
}

/// [`run`] with its input given: a file (`config.file`) or Arrow batches.
pub async fn run_input(
    store: Arc<dyn Store>,
    dataset: &str,
    config: &RunConfig,
    input: RunInput,
    embedders: &EmbedderRegistry,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let state = run_state(&store, dataset, config)?;
    // An API provider also looks for its key in the data directory's `.env`.
    let data_dir = store
        .local_path(dataset)
        .and_then(|p| p.parent().map(std::path::Path::to_path_buf));
    let embedder = embedders.resolve(
        &config.model,
        &EmbedConfig::default().with_data_dir(data_dir),
    )?;
    let embedder = embedder.as_ref();
    let mut reports = Vec::new();
    let (ds, mut record, resumed) = match state {
        RunState::Finished(scope) => {
            return Err(Error::AlreadyExists {
                what: format!("dataset {dataset:?}"),
                reason: format!(
                    "it holds a finished run of this file ({scope}); open it with `latentscope show {dataset}`, or choose another --dataset"
                ),
            });
        }
        RunState::Unfinished(steps) => {
            let ds = Dataset::open(store.clone(), dataset)?;
            reports.push(StepReport {
                step: "ingest",
                id: "input.parquet".into(),
                seconds: 0.0,
                reused: true,
            });
            let mut record: RunRecord = json::read_json(store.as_ref(), &ds.key(RUN_FILE))?;
            // Steps whose artifacts were deleted since are made again.
            record.steps = steps;
            (ds, record, true)
        }
        RunState::Fresh => {
            let t = Instant::now();
            let options = IngestOptions::new(config.text_column.clone());
            let ds = match input {
                RunInput::File => {
                    ingest_file(store.clone(), dataset, &config.file, &options, progress)?
                }
                RunInput::Batches { schema, batches } => {
                    ingest_batches(store.clone(), dataset, schema, batches, &options, progress)?
                }
            };
            let seconds = t.elapsed().as_secs_f64();
            reports.push(StepReport {
                step: "ingest",
                id: "input.parquet".into(),
                seconds,
                reused: false,
            });
            let record = RunRecord {
                config: config.clone(),
                steps: RunSteps::default(),
                seconds: vec![("ingest".into(), seconds)],
            };
            json::write_json(store.as_ref(), &ds.key(RUN_FILE), &record)?;
            (ds, record, false)
        }
    };
    let save = |record: &RunRecord| json::write_json(store.as_ref(), &ds.key(RUN_FILE), record);

    macro_rules! step {
        ($name:literal, $field:ident, $make:expr) => {{
            match record.steps.$field {
                Some(id) => {
                    reports.push(StepReport {
                        step: $name,
                        id: id.to_string(),
                        seconds: 0.0,
                        reused: true,
                    });
                    id
                }
                None => {
                    let t = Instant::now();
                    let id = $make;
                    let seconds = t.elapsed().as_secs_f64();
                    record.steps.$field = Some(id);
                    record.seconds.push(($name.into(), seconds));
                    save(&record)?;
                    reports.push(StepReport {
                        step: $name,
                        id: id.to_string(),
                        seconds,
                        reused: false,
                    });
                    id
                }
            }
        }};
    }

    let embedding = step!("embed", embedding, {
        let options = EmbedOptions::default().with_model_spec(Some(config.model.clone()));
        ds.embed(embedder, &options, progress).await?.id
    });
    let umap = step!("umap", umap, {
        let mut params = UmapParams::default();
        params.n_neighbors = config.neighbors;
        params.min_dist = config.min_dist;
        params.seed = Some(config.seed);
        ds.project(embedding, &params, &ProjectOptions::default(), progress)?
    });
    let cluster = step!("cluster", cluster, {
        let params = default_hdbscan_params(ds.rows() as usize);
        ds.cluster(umap, &params, &ClusterOptions::default(), progress)?
    });
    let labels = step!("label", labels, {
        let texts = ds.texts()?.texts;
        let labeler = KeywordsLabeler::fit(&texts);
        ds.label(cluster, &labeler, &LabelOptions::default(), progress)
            .await?
    });
    let scope = step!("scope", scope, {
        let parts = ScopeParts::new(embedding, umap, cluster, labels);
        let description = format!(
            "{} embedded with {}, UMAP, HDBSCAN and keyword labels (latentscope run)",
            config
                .file
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default(),
            config.model
        );
        ds.create_scope(&parts, dataset, &description)?
    });
    let cluster_meta = ds.cluster_meta(cluster)?;
    Ok(RunReport {
        dataset: dataset.to_string(),
        rows: ds.rows(),
        clusters: cluster_meta.n_clusters,
        noise: cluster_meta.n_noise,
        scope,
        steps: reports,
        resumed,
    })
}
