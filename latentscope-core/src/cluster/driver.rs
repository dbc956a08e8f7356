//! The cluster step's driver: runs a [`Clusterer`](super::Clusterer) on a
//! umap's points in a local pool, resolves noise and writes the artifact.

use std::time::Instant;

use ndarray::ArrayView2;
use serde_json::{Map, Value};

use super::artifact::rows;
use super::{ClusterMeta, ClusterOptions, Clusterer};
use crate::dataset::{Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{ClusterId, UmapId};
use crate::pool::thread_pool;
use crate::progress::{Progress, check};

impl Dataset {
    /// Runs `clusterer` on a umap's points in a local pool and writes the
    /// clustering artifact; returns its id.
    pub fn cluster(
        &self,
        umap: UmapId,
        clusterer: &dyn Clusterer,
        options: &ClusterOptions,
        progress: &dyn Progress,
    ) -> Result<ClusterId> {
        let started = Instant::now();
        // The inputs are read (and checked) before anything is written.
        let layout = self.read_umap(umap)?;
        let claim = serde_json::json!({
            "umap_id": umap,
            "method": clusterer.method(),
            "params": clusterer.params(),
            "assign_noise": options.assign_noise,
        });
        let artifact =
            self.begin::<ClusterId, _>(&RunSpec::new("cluster", &claim).reading([umap]))?;
        let points = ArrayView2::from_shape((layout.len(), 2), &layout.xy)
            .map_err(|e| Error::bad_input(umap.to_string(), e.to_string()))?;
        check(progress, "cluster", 0, None)?;
        let pool = thread_pool(options.threads)?;
        let algo_started = Instant::now();
        let clustering = pool.install(|| clusterer.cluster(points, progress))?;
        let cluster_seconds = algo_started.elapsed().as_secs_f64();
        let params = clusterer.params();
        let mut meta = ClusterMeta {
            id: ClusterId::new(0),
            umap_id: umap,
            method: clusterer.method().to_string(),
            granularity: rows(),
            cluster_on: "umap".into(),
            samples: params.get("samples").and_then(Value::as_u64),
            // No min_samples means min_cluster_size (HDBSCAN's definition).
            min_samples: params
                .get("min_samples")
                .and_then(Value::as_u64)
                .or_else(|| params.get("samples").and_then(Value::as_u64)),
            cluster_selection_epsilon: params
                .get("cluster_selection_epsilon")
                .and_then(Value::as_f64),
            n_clusters: 0,
            n_noise: 0,
            assign_noise: options.assign_noise,
            unclustered_cluster: None,
            params,
            rows: None,
            cluster_seconds: Some(cluster_seconds),
            seconds: None,
            latentscope_version: None,
            created_at: None,
            extra: Map::new(),
        };
        self.commit_cluster(artifact, &layout.xy, &clustering.labels, &mut meta, started)
    }
}
