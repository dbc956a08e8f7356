//! The project step's driver: reads an embedding, runs a
//! [`Reducer`](super::Reducer) in a local pool and writes a umap artifact.

use std::time::Instant;

use ndarray::ArrayView2;
use serde_json::Value;

use super::{ProjectOptions, Reducer};
use crate::dataset::{Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{EmbeddingId, UmapId};
use crate::pool::thread_pool;
use crate::progress::Progress;
use crate::project::{Layout, UmapMeta};

impl Dataset {
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
        let mut claim = reducer.params();
        claim.insert("method".into(), reducer.method().into());
        claim.insert("embedding_id".into(), embedding.to_string().into());
        if let Some(from) = options.init_from {
            claim.insert("init_from".into(), from.to_string().into());
        }
        let mut reads = vec![embedding.to_string()];
        reads.extend(options.init_from.map(|u| u.to_string()));
        let artifact = self.begin::<UmapId, _>(&RunSpec::new("umap", &claim).reading(reads))?;
        let vectors = self.read_embedding(embedding)?;
        let x = ArrayView2::from_shape((vectors.rows, vectors.cols), &vectors.data)
            .map_err(|e| Error::bad_input(embedding.to_string(), e.to_string()))?;
        let pool = thread_pool(options.threads)?;
        let reduce_started = Instant::now();
        let reduction = pool.install(|| reducer.reduce(x, progress))?;
        let reduce_seconds = reduce_started.elapsed().as_secs_f64();
        let mut params = reducer.params();
        if let Some(from) = options.init_from {
            params.insert("init_from".into(), from.to_string().into());
        }
        params.extend(reduction.details);
        params.insert("reduce_seconds".into(), reduce_seconds.into());
        let mut meta = UmapMeta::new(reducer.method(), Some(embedding));
        meta.neighbors = params
            .get("n_neighbors")
            .and_then(Value::as_u64)
            .map(|v| v as usize);
        meta.min_dist = params
            .get("min_dist")
            .and_then(Value::as_f64)
            .map(|v| v as f32);
        meta.params = params;
        let xy = reduction.points.iter().copied().collect();
        meta.seconds = Some(started.elapsed().as_secs_f64());
        self.commit_umap(artifact, Layout { xy }, meta)
    }
}
