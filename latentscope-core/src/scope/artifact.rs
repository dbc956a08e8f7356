//! The scope's files: `scopes-NNN.json` and the tile indices of
//! `scopes-NNN.parquet`, as the Python tool computes them.

use latentscope_io::json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dataset::Dataset;
use crate::error::Result;
use crate::ids::{ClusterId, EmbeddingId, ScopeId, UmapId};

/// The record of a scope, `scopes/scopes-NNN.json`, with the Python
/// latent-scope's field names (so its explorer opens ours and ours its);
/// fields this struct does not name are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScopeMeta {
    /// The format version (`"1.0.0"`).
    #[serde(default)]
    pub ls_version: String,
    /// The id.
    pub id: ScopeId,
    /// The embedding.
    pub embedding_id: EmbeddingId,
    /// The 2-D layout.
    pub umap_id: UmapId,
    /// The clustering.
    pub cluster_id: ClusterId,
    /// `"default"` or the labels id (`cluster-NNN-labels-MMM`).
    pub cluster_labels_id: String,
    /// The scope's name.
    #[serde(default)]
    pub label: String,
    /// A longer description.
    #[serde(default)]
    pub description: String,
    /// The dataset's `meta.json`, as it was.
    #[serde(default)]
    pub dataset: Value,
    /// The embedding's record.
    #[serde(default)]
    pub embedding: Value,
    /// The umap's record.
    #[serde(default)]
    pub umap: Value,
    /// The clustering's record.
    #[serde(default)]
    pub cluster: Value,
    /// `"rows"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    /// The labels' id and clustering (and their record, for numbered labels).
    #[serde(default)]
    pub cluster_labels: Value,
    /// One entry per cluster (the unclustered one last).
    #[serde(default)]
    pub cluster_labels_lookup: Vec<ScopeLabel>,
    /// Rows.
    #[serde(default)]
    pub rows: u64,
    /// The columns of `scopes-NNN.parquet`.
    #[serde(default)]
    pub columns: Vec<String>,
    /// 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<usize>,
    /// Bytes of `scopes-NNN.parquet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// When it was made, `YYYY-MM-DD HH:MM:SS` (the Python form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Our version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latentscope_version: Option<String>,
    /// When it was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Fields of other writers.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One cluster of a scope, as `cluster_labels_lookup` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScopeLabel {
    /// The label.
    #[serde(default)]
    pub label: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// The rows of the cluster's convex hull, in order.
    #[serde(default)]
    pub hull: Vec<i64>,
    /// The cluster's number.
    #[serde(default)]
    pub cluster: i64,
}

/// The cell of a point in an `n × n` grid over [-1, 1]² (row-major from
/// the bottom-left), as the Python tool computes `tile_index_64/128`.
pub(crate) fn tile_index(x: f32, y: f32, n: i64) -> i64 {
    let cell = |v: f32| (((v as f64 + 1.0) / 2.0 * n as f64).floor() as i64).clamp(0, n - 1);
    cell(y) * n + cell(x)
}

pub(super) fn json_of(ds: &Dataset, key: &str) -> Result<Value> {
    Ok(json::read_json(ds.store().as_ref(), &ds.key(key))?)
}

impl Dataset {
    /// The record of a scope (`scopes-NNN.json`).
    pub fn scope_meta(&self, id: ScopeId) -> Result<ScopeMeta> {
        self.record(id)
    }

    /// The record of a scope (`scopes-NNN.json`) as JSON.
    pub fn scope_json(&self, id: ScopeId) -> Result<Value> {
        self.record(id)
    }
}

#[cfg(test)]
mod tests {
    use super::tile_index;

    #[test]
    fn tile_index_matches_the_python_tool() {
        // Values read off the Python fixture's scopes-001.parquet, row 0.
        assert_eq!(tile_index(-0.278_398_1, -0.346_582_17, 64), 1303);
        assert_eq!(tile_index(-0.278_398_1, -0.346_582_17, 128), 5294);
        assert_eq!(tile_index(1.0, 1.0, 64), 64 * 64 - 1);
        assert_eq!(tile_index(-1.0, -1.0, 128), 0);
    }
}
