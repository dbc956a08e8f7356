//! `GET /api/datasets/{ds}/scopes/{s}` (the scope, its labels on the map and
//! the LOD node table) and `GET …/scopes/{s}/points` (every point in LOD
//! order, as an Arrow IPC stream).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, BooleanArray, Float32Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use latentscope_core::latentscope_io::table;
use latentscope_core::{ClusterId, Dataset, LabelsId, NumberedId, ScopeId};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::lod::{self, DEFAULT_CAPACITY};
use crate::state::{AppState, ScopePoints};

/// The media type of an Arrow IPC stream.
pub(crate) const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
/// The seed of the LOD sample (any fixed value: the order is then stable).
const LOD_SEED: u64 = 0x6c6f_645f_7365_6564;

fn parse_scope(s: &str) -> ApiResult<ScopeId> {
    Ok(s.parse::<ScopeId>()?)
}

/// A column as u32, f32 or bool values, whatever integer/float type it holds.
fn u32_values(batch: &RecordBatch, name: &str, key: &str) -> ApiResult<Vec<u32>> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| ApiError::new("bad_input", format!("{key}: no column {name:?}")))?;
    let bad = || {
        ApiError::new(
            "bad_input",
            format!("{key}: column {name:?} must hold integers ≥ 0"),
        )
    };
    let values: Option<Vec<u32>> = match column.data_type() {
        DataType::Int64 => column
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.and_then(|v| u32::try_from(v).ok()))
            .collect(),
        DataType::Int32 => column
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.and_then(|v| u32::try_from(v).ok()))
            .collect(),
        DataType::UInt32 => column.as_primitive::<UInt32Type>().iter().collect(),
        _ => None,
    };
    values.ok_or_else(bad)
}

fn f32_values(batch: &RecordBatch, name: &str, key: &str) -> ApiResult<Vec<f32>> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| ApiError::new("bad_input", format!("{key}: no column {name:?}")))?;
    match column.data_type() {
        DataType::Float32 => Ok(column
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .collect()),
        DataType::Float64 => Ok(column
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.unwrap_or(0.0) as f32)
            .collect()),
        other => Err(ApiError::new(
            "bad_input",
            format!("{key}: column {name:?} has type {other}, expected floats"),
        )),
    }
}

/// Reads a scope's points and builds their LOD order.
fn read_points(ds: &Dataset, id: ScopeId) -> ApiResult<ScopePoints> {
    let key = ds.key(&format!("{}/{id}.parquet", ScopeId::FOLDER));
    let batch = table::read_table(ds.store().as_ref(), &key, None)?;
    let rows = batch.num_rows();
    let ls_index = match batch.column_by_name("ls_index") {
        Some(_) => u32_values(&batch, "ls_index", &key)?,
        None => (0..rows as u32).collect(),
    };
    let x = f32_values(&batch, "x", &key)?;
    let y = f32_values(&batch, "y", &key)?;
    let cluster = u32_values(&batch, "cluster", &key)?;
    let deleted: Vec<bool> = match batch.column_by_name("deleted") {
        Some(c) if c.data_type() == &DataType::Boolean => {
            c.as_boolean().iter().map(|v| v.unwrap_or(false)).collect()
        }
        _ => vec![false; rows],
    };
    let xy: Vec<f32> = x
        .iter()
        .zip(&y)
        .flat_map(|(&x, &y)| {
            let clean = |v: f32| {
                if v.is_finite() {
                    v.clamp(-1.0, 1.0)
                } else {
                    0.0
                }
            };
            [clean(x), clean(y)]
        })
        .collect();
    let lod = lod::build(&xy, DEFAULT_CAPACITY, LOD_SEED);
    Ok(ScopePoints {
        ls_index,
        xy,
        cluster,
        deleted,
        lod,
    })
}

/// The points of a scope, cached.
pub(crate) fn points(state: &AppState, ds: &Dataset, id: ScopeId) -> ApiResult<Arc<ScopePoints>> {
    ds.require(id)?;
    let key = ds.key(&format!("{}/{id}.parquet", ScopeId::FOLDER));
    state.scope_points(&key, || read_points(ds, id))
}

/// The points of a scope, read and ordered on a blocking thread the first
/// time.
pub(crate) async fn load_points(
    state: &Arc<AppState>,
    ds: &Dataset,
    id: ScopeId,
) -> ApiResult<Arc<ScopePoints>> {
    let (state, ds) = (state.clone(), ds.clone());
    crate::state::blocking(move || points(&state, &ds, id)).await
}

/// Greedy map labelling: each label, biggest cluster first, shows from the
/// first zoom level (scale 2^z) at which its box meets no bigger label's.
fn zoom_ranges(labels: &[(f32, f32, usize, usize)]) -> Vec<Option<u8>> {
    const LEVELS: u8 = 12;
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(labels[i].2));
    let mut min_zoom: Vec<Option<u8>> = vec![None; labels.len()];
    let mut placed: Vec<usize> = Vec::new();
    for &i in &order {
        let (x, y, _, chars) = labels[i];
        let zoom = (0..LEVELS).find(|&z| {
            let scale = f32::powi(2.0, z as i32);
            let half_w = |c: usize| (0.012 * c as f32 + 0.02) / scale;
            let half_h = 0.035 / scale;
            placed.iter().all(|&j| {
                let (xj, yj, _, cj) = labels[j];
                min_zoom[j].is_none_or(|zj| zj > z)
                    || (x - xj).abs() > half_w(chars) + half_w(cj)
                    || (y - yj).abs() > 2.0 * half_h
            })
        });
        min_zoom[i] = zoom;
        if zoom.is_some() {
            placed.push(i);
        }
    }
    min_zoom
}

/// The scope's record, its labels on the map and the LOD node table.
#[utoipa::path(get, path = "/api/datasets/{ds}/scopes/{s}", tag = "scopes", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("s" = String, Path, description = "The scope id (`scopes-001`)", pattern = r"^scopes-[0-9]{3,9}$")), responses((status = 200, description = "The scope: its record, its labels on the map (text, count, centroid, hull, zoom range) and the LOD node table", body = Object)))]
pub(crate) async fn scope(
    State(state): State<Arc<AppState>>,
    Path((ds, s)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let ds = state.dataset(&ds)?;
    let id = parse_scope(&s)?;
    let meta = ds.scope_meta(id)?;
    let labels_id = LabelsId::parse_for(meta.cluster_id, &meta.cluster_labels_id)
        .unwrap_or_else(|_| LabelsId::default_for(meta.cluster_id));
    let rows = ds.read_labels(labels_id)?;
    let pts = load_points(&state, &ds, id).await?;
    let geometry: Vec<(f32, f32, usize, usize)> = rows
        .iter()
        .map(|r| {
            (
                r.centroid[0],
                r.centroid[1],
                r.indices.len(),
                r.label.chars().count(),
            )
        })
        .collect();
    let zooms = zoom_ranges(&geometry);
    let labels: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(c, r)| {
            json!({
                "cluster": c,
                "label": r.label,
                "description": r.description,
                "count": r.indices.len(),
                "centroid": r.centroid,
                "hull": r.hull,
                "zoom": [zooms[c], Value::Null],
            })
        })
        .collect();
    Ok(Json(json!({
        "scope": meta,
        "labels_id": labels_id.to_string(),
        "labels": labels,
        "rows": pts.ls_index.len(),
        "lod": {"capacity": DEFAULT_CAPACITY, "nodes": pts.lod.nodes},
        "points": format!("/api/datasets/{}/scopes/{id}/points", ds.id()),
        "cluster_id": meta.cluster_id.to_string(),
        "folders": {"clusters": ClusterId::FOLDER},
    })))
}

/// The Arrow schema of the points stream.
pub(crate) fn points_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("ls_index", DataType::UInt32, false),
        Field::new("x", DataType::Float32, false),
        Field::new("y", DataType::Float32, false),
        Field::new("cluster", DataType::UInt32, false),
        Field::new("deleted", DataType::Boolean, false),
    ]))
}

/// Rows `range` of the LOD order as one batch.
fn points_batch(p: &ScopePoints, range: std::ops::Range<usize>) -> ApiResult<RecordBatch> {
    let order = &p.lod.order[range];
    let at = |r: &u32| *r as usize;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(
            order.iter().map(|r| p.ls_index[at(r)]),
        )),
        Arc::new(Float32Array::from_iter_values(
            order.iter().map(|r| p.xy[2 * at(r)]),
        )),
        Arc::new(Float32Array::from_iter_values(
            order.iter().map(|r| p.xy[2 * at(r) + 1]),
        )),
        Arc::new(UInt32Array::from_iter_values(
            order.iter().map(|r| p.cluster[at(r)]),
        )),
        Arc::new(BooleanArray::from_iter(
            order.iter().map(|r| Some(p.deleted[at(r)])),
        )),
    ];
    RecordBatch::try_new(points_schema(), columns)
        .map_err(|e| ApiError::new("internal", e.to_string()))
}

/// Every point of the scope in LOD order: one Arrow IPC stream whose first
/// batch is the root node (a uniform sample of the map), sent before the
/// rest is encoded.
#[utoipa::path(get, path = "/api/datasets/{ds}/scopes/{s}/points", tag = "scopes", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("s" = String, Path, description = "The scope id (`scopes-001`)", pattern = r"^scopes-[0-9]{3,9}$")), responses((status = 200, description = "Every point as one Arrow IPC stream (ls_index u32, x f32, y f32, cluster u32, deleted bool) in level-of-detail order, the root node first", content_type = "application/vnd.apache.arrow.stream")))]
pub(crate) async fn points_route(
    State(state): State<Arc<AppState>>,
    Path((ds, s)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ds = state.dataset(&ds)?;
    let id = parse_scope(&s)?;
    let p = load_points(&state, &ds, id).await?;
    // Batch boundaries: the root node alone, then about 64k rows at a time.
    let n = p.lod.order.len();
    let first = p.lod.nodes.first().map_or(n, |r| r.count as usize);
    let mut bounds = vec![0, first.min(n)];
    while bounds[bounds.len() - 1] < n {
        let last = bounds[bounds.len() - 1];
        bounds.push((last + 65_536).min(n));
    }
    let parts = bounds.len() - 1;
    let stream = futures::stream::unfold(0usize, move |i| {
        let (p, bounds) = (p.clone(), bounds.clone());
        async move {
            match i.cmp(&parts) {
                std::cmp::Ordering::Less => {
                    Some((encode_part(&p, bounds[i]..bounds[i + 1], i), i + 1))
                }
                // The end-of-stream marker.
                std::cmp::Ordering::Equal => {
                    Some((Ok(bytes::Bytes::from_static(&END_OF_STREAM)), i + 1))
                }
                std::cmp::Ordering::Greater => None,
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, ARROW_STREAM),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The end of an Arrow IPC stream: a continuation marker and a zero length.
const END_OF_STREAM: [u8; 8] = [255, 255, 255, 255, 0, 0, 0, 0];

/// The bytes of part `i` of the points stream: rows `range` of the LOD
/// order as one batch, the schema before the first.
fn encode_part(
    p: &ScopePoints,
    range: std::ops::Range<usize>,
    i: usize,
) -> Result<bytes::Bytes, std::io::Error> {
    let to_io = |e: arrow_schema::ArrowError| std::io::Error::other(e.to_string());
    let batch = points_batch(p, range).map_err(|e| std::io::Error::other(e.message))?;
    let schema = points_schema();
    let mut out = Vec::new();
    {
        let mut writer =
            arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema).map_err(to_io)?;
        writer.write(&batch).map_err(to_io)?;
        writer.flush().map_err(to_io)?;
    }
    if i > 0 {
        // Only the first part carries the schema message.
        let schema_len = schema_message_len(&schema).map_err(to_io)?;
        out.drain(..schema_len);
    }
    Ok(bytes::Bytes::from(out))
}

/// The length of the IPC stream's schema message for `schema`.
fn schema_message_len(schema: &Schema) -> Result<usize, arrow_schema::ArrowError> {
    let mut out = Vec::new();
    {
        let _writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, schema)?;
    }
    Ok(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigger_clusters_label_first_and_crowded_labels_wait_for_zoom() {
        let labels = [(0.0, 0.0, 100, 10), (0.01, 0.0, 50, 10), (0.9, 0.9, 10, 5)];
        let z = zoom_ranges(&labels);
        assert_eq!(z[0], Some(0));
        assert_eq!(z[2], Some(0));
        assert!(z[1].is_some_and(|z| z > 0), "{z:?}");
    }
}
