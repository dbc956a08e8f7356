//! The project step's driver: reads an embedding, runs a
//! [`Reducer`](super::Reducer) in a local pool and writes a umap artifact.

use std::time::Instant;

use ndarray::Array2;
use serde_json::Value;

use super::{ProjectOptions, Reducer, UmapStart};
use crate::dataset::{Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{EmbeddingId, UmapId};
use crate::pool::thread_pool;
use crate::progress::Progress;
use crate::project::{Layout, UmapMeta};
use crate::umap::Init;

impl Dataset {
    /// The UMAP start a user names: `spectral`, `pca`, `random`, or the id of
    /// an earlier umap of this dataset, whose layout is read so that the new
    /// run starts from it (and stays aligned with it).
    pub fn umap_start(&self, text: &str) -> Result<UmapStart> {
        let init = match text {
            "spectral" => Init::Spectral,
            "pca" => Init::Pca,
            "random" => Init::Random,
            other => {
                let from: UmapId = other.parse().map_err(|_| {
                    Error::invalid_parameter(
                        "init",
                        other,
                        "expected spectral, pca, random or a umap id such as umap-001",
                    )
                })?;
                let layout = self.read_umap(from)?;
                let xy = ndarray::Array2::from_shape_vec((layout.len(), 2), layout.xy)
                    .map_err(|e| Error::bad_input(from.to_string(), e.to_string()))?;
                return Ok(UmapStart {
                    init: Init::Coordinates(xy),
                    from: Some(from),
                });
            }
        };
        Ok(UmapStart { init, from: None })
    }

    /// Reduces an embedding to 2-D in a local pool and writes the layout as a
    /// new umap artifact; returns its id.
    pub fn project(
        &self,
        embedding: EmbeddingId,
        reducer: &dyn Reducer,
        options: &ProjectOptions,
        progress: &dyn Progress,
    ) -> Result<UmapId> {
        let started = Instant::now();
        // The inputs are read (and checked) before anything is written.
        let vectors = self.read_embedding(embedding)?;
        let mut claim = reducer.params();
        claim.insert("method".into(), reducer.method().into());
        claim.insert("embedding_id".into(), embedding.to_string().into());
        if let Some(from) = options.init_from {
            claim.insert("init_from".into(), from.to_string().into());
        }
        let mut reads = vec![embedding.to_string()];
        reads.extend(options.init_from.map(|u| u.to_string()));
        let artifact = self.begin::<UmapId, _>(&RunSpec::new("umap", &claim).reading(reads))?;
        // The rows move into the reducer, which may free them early.
        let x = Array2::from_shape_vec((vectors.rows, vectors.cols), vectors.data)
            .map_err(|e| Error::bad_input(embedding.to_string(), e.to_string()))?;
        let pool = thread_pool(options.threads)?;
        let reduce_started = Instant::now();
        let reduction = pool.install(|| reducer.reduce_owned(x, progress))?;
        let reduce_seconds = reduce_started.elapsed().as_secs_f64();
        let mut params = reducer.params();
        if let Some(from) = options.init_from {
            params.insert("init_from".into(), from.to_string().into());
        }
        params.extend(reduction.details);
        params.insert("reduce_seconds".into(), reduce_seconds.into());
        let mut meta = UmapMeta::new(reducer.method(), Some(embedding));
        // The neighbourhood used (fewer rows than asked shrink it; none
        // when the rows were too few for UMAP).
        meta.neighbors = match params.get("n_neighbors_used").and_then(Value::as_u64) {
            Some(0) => None,
            Some(used) => Some(used as usize),
            None => params
                .get("neighbors")
                .and_then(Value::as_u64)
                .map(|v| v as usize),
        };
        meta.min_dist = params
            .get("min_dist")
            .and_then(Value::as_f64)
            .map(|v| v as f32);
        meta.seed = params.get("seed").and_then(Value::as_u64);
        meta.params = params;
        let xy = reduction.points.iter().copied().collect();
        meta.seconds = Some(started.elapsed().as_secs_f64());
        self.commit_umap(artifact, Layout { xy }, meta)
    }
}
