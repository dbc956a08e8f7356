//! Comparing two runs of a dataset (reads: allowed on a read-only server):
//! `GET …/compare/umaps?left=&right=` (each row's displacement once the
//! right layout is aligned to the left by Procrustes, as Arrow) and
//! `GET …/compare/clusters?left=&right=` (ARI, NMI and the overlap table).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, RecordBatch, UInt32Array};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use latentscope_core::compare::{contingency, procrustes};
use latentscope_core::{ClusterId, UmapId};
use serde::{Deserialize, Serialize};

use super::scopes::ARROW_STREAM;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

/// The two runs compared.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UmapPair {
    /// The reference layout (`umap-001`).
    #[param(pattern = r"^umap-[0-9]{3,9}$")]
    left: String,
    /// The layout aligned to it (`umap-002`).
    #[param(pattern = r"^umap-[0-9]{3,9}$")]
    right: String,
}

/// The two clusterings compared.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ClusterPair {
    /// One clustering (`cluster-001`).
    #[param(pattern = r"^cluster-[0-9]{3,9}$")]
    left: String,
    /// The other (`cluster-002`).
    #[param(pattern = r"^cluster-[0-9]{3,9}$")]
    right: String,
}

/// The overlap of two clusterings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Overlap {
    /// The left clustering's clusters.
    left: Vec<i64>,
    /// The right clustering's clusters.
    right: Vec<i64>,
    /// Rows per (left cluster, right cluster).
    counts: Vec<Vec<u64>>,
}

/// How alike two clusterings are.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ClusterComparison {
    /// Adjusted Rand index (1: the same partition; about 0: chance).
    ari: f64,
    /// Normalised mutual information (arithmetic mean of the entropies).
    nmi: f64,
    /// Rows outside the right cluster that overlaps their left cluster most.
    changed: u64,
    /// The rows compared.
    rows: u64,
    /// The overlap table.
    overlap: Overlap,
}

#[utoipa::path(get, path = "/api/datasets/{ds}/compare/umaps", tag = "compare", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), UmapPair), responses((status = 200, description = "Arrow IPC, one row per input row: index u32, displacement f32 (distance from its place in the left layout once the right one is aligned by shift, scale, rotation and mirror), x f32, y f32 (the right layout aligned); the mean displacement in the schema metadata", content_type = "application/vnd.apache.arrow.stream")))]
/// How far each row moved between two layouts.
pub(crate) async fn umaps(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    Query(q): Query<UmapPair>,
) -> ApiResult<Response> {
    let ds = state.dataset(&ds)?;
    let (left, right): (UmapId, UmapId) = (q.left.parse()?, q.right.parse()?);
    let bytes = blocking(move || {
        let (a, b) = (ds.read_umap(left)?, ds.read_umap(right)?);
        let (aligned, moved) = procrustes(&a.xy, &b.xy).ok_or_else(|| {
            ApiError::new(
                "mismatched_parts",
                format!("{left} and {right} do not have the same rows"),
            )
        })?;
        let mean = moved.iter().map(|&d| f64::from(d)).sum::<f64>() / moved.len().max(1) as f64;
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "index",
                Arc::new(UInt32Array::from_iter_values(0..moved.len() as u32)),
            ),
            ("displacement", Arc::new(Float32Array::from(moved))),
            (
                "x",
                Arc::new(Float32Array::from_iter_values(
                    aligned.iter().step_by(2).copied(),
                )),
            ),
            (
                "y",
                Arc::new(Float32Array::from_iter_values(
                    aligned.iter().skip(1).step_by(2).copied(),
                )),
            ),
        ];
        let internal = |e: arrow_schema::ArrowError| ApiError::new("internal", e.to_string());
        let batch = RecordBatch::try_from_iter(columns).map_err(internal)?;
        let mut metadata = std::collections::HashMap::new();
        metadata.insert("mean_displacement".to_string(), mean.to_string());
        let schema = Arc::new(batch.schema().as_ref().clone().with_metadata(metadata));
        let batch = batch.with_schema(schema.clone()).map_err(internal)?;
        let mut out = Vec::new();
        let mut writer =
            arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema).map_err(internal)?;
        writer
            .write(&batch)
            .and_then(|_| writer.finish())
            .map_err(internal)?;
        drop(writer);
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], bytes).into_response())
}

#[utoipa::path(get, path = "/api/datasets/{ds}/compare/clusters", tag = "compare", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ClusterPair), responses((status = 200, description = "ARI, NMI, rows changed and the overlap table", body = ClusterComparison)))]
/// How alike two clusterings are.
pub(crate) async fn clusters(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    Query(q): Query<ClusterPair>,
) -> ApiResult<Json<ClusterComparison>> {
    let ds = state.dataset(&ds)?;
    let (left, right): (ClusterId, ClusterId) = (q.left.parse()?, q.right.parse()?);
    blocking(move || {
        let (a, b) = (ds.read_cluster(left)?, ds.read_cluster(right)?);
        let table = contingency(&a.clusters, &b.clusters).ok_or_else(|| {
            ApiError::new(
                "mismatched_parts",
                format!("{left} and {right} do not have the same rows"),
            )
        })?;
        let rows = a.clusters.len() as u64;
        let kept: u64 = table
            .counts
            .iter()
            .map(|r| r.iter().copied().max().unwrap_or(0))
            .sum();
        Ok(Json(ClusterComparison {
            ari: table.adjusted_rand_index(),
            nmi: table.normalized_mutual_info(),
            changed: rows - kept,
            rows,
            overlap: Overlap {
                left: table.left,
                right: table.right,
                counts: table.counts,
            },
        }))
    })
    .await
}
