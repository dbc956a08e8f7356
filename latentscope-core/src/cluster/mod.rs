//! The cluster step: a [`Clusterer`] run on a umap's 2-D points, written as
//! `clusters/cluster-NNN.parquet` (`cluster`, `raw_cluster`),
//! `cluster-NNN-labels-default.parquet` (one row per cluster: `label`,
//! `description`, `indices`, `hull`, `centroid_x`, `centroid_y`, `count`; the
//! unclustered one last), `cluster-NNN.png` and `cluster-NNN.json` (last).
//!
//! Noise (raw label -1) is either kept as its own "Unclustered" cluster, whose
//! id is one past the highest cluster, or assigned to the nearest cluster
//! centroid, as the Python tool does.

pub(crate) mod artifact;
pub(crate) mod driver;

pub use artifact::{ClusterAssignment, ClusterLabelRow, ClusterMeta};

use ndarray::ArrayView2;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::hdbscan::{HdbscanParams, hdbscan};
use crate::progress::Progress;

/// A clustering algorithm over points (rows × dims). Sync and CPU-bound: the
/// caller runs it inside a rayon pool it sized (never the global pool).
pub trait Clusterer: Send + Sync + std::fmt::Debug {
    /// The method name recorded in the artifact (`"hdbscan"`).
    fn method(&self) -> &str;
    /// Every parameter, recorded in the artifact's JSON.
    fn params(&self) -> Map<String, Value>;
    /// Labels every point: `-1` for noise, clusters numbered from 0.
    fn cluster(&self, points: ArrayView2<'_, f32>, progress: &dyn Progress) -> Result<Clustering>;
}

/// What a [`Clusterer`] found.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Clustering {
    /// Per point: the cluster (from 0), or -1 for noise.
    pub labels: Vec<i64>,
    /// Per point: membership strength in [0, 1], when the method has one.
    pub probabilities: Option<Vec<f32>>,
    /// Per point: outlier score, when the method has one.
    pub outlier_scores: Option<Vec<f32>>,
}

impl Clustering {
    /// A clustering from labels alone.
    pub fn from_labels(labels: Vec<i64>) -> Self {
        Self {
            labels,
            ..Self::default()
        }
    }
}

/// How the cluster step runs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// Assign noise to the nearest cluster centroid instead of keeping an
    /// "Unclustered" cluster.
    pub assign_noise: bool,
    /// Threads for the algorithm (`None`: all cores).
    pub threads: Option<usize>,
}

impl Clusterer for HdbscanParams {
    fn method(&self) -> &str {
        "hdbscan"
    }

    fn params(&self) -> Map<String, Value> {
        crate::params_map(self)
    }

    fn cluster(&self, points: ArrayView2<'_, f32>, progress: &dyn Progress) -> Result<Clustering> {
        // Fewer points than HDBSCAN reads for one core distance (a file of
        // a few rows): no cluster, every point noise, rather than no map.
        let n = points.nrows();
        if n > 0 && n <= self.effective_min_samples() && n < self.min_cluster_size {
            return Ok(Clustering {
                labels: vec![-1; n],
                probabilities: Some(vec![0.0; n]),
                outlier_scores: Some(vec![1.0; n]),
            });
        }
        let r = hdbscan(points, self, progress)?;
        Ok(Clustering {
            labels: r.labels,
            probabilities: Some(r.probabilities),
            outlier_scores: Some(r.outlier_scores),
        })
    }
}

/// HDBSCAN parameters for a first run on `rows` points, chosen so that 1k to
/// 1M rows give tens to a few hundred clusters: `min_cluster_size` grows as
/// the square root of the row count (10k rows: 25, the Python tool's default;
/// 1M rows: 250), `min_samples` is 5 (at most `min_cluster_size`).
pub fn default_hdbscan_params(rows: usize) -> HdbscanParams {
    let mcs = ((rows as f64).sqrt() / 4.0).round().clamp(5.0, 1000.0) as usize;
    HdbscanParams::new(mcs).with_min_samples(mcs.min(5))
}
