//! `GET /api/datasets/{ds}/tags` (`{name: count}`) and `GET …/tags/{t}` (the
//! tag's row indices as an Arrow IPC stream with one column, `index`).

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::scopes::ARROW_STREAM;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Every tag with its size.
#[utoipa::path(get, path = "/api/datasets/{ds}/tags", tag = "tags", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), responses((status = 200, description = "Every tag with its number of rows", body = std::collections::BTreeMap<String, u64>)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
) -> ApiResult<Json<Value>> {
    let ds = state.dataset(&ds)?;
    let mut out = Map::new();
    for name in ds.tags()? {
        let n = ds.tag_rows(&name)?.len();
        out.insert(name, n.into());
    }
    Ok(Json(Value::Object(out)))
}

/// One column of row indices as a whole Arrow IPC stream.
pub(crate) fn index_stream(rows: impl IntoIterator<Item = u64>) -> ApiResult<Response> {
    let values: Vec<u32> = rows
        .into_iter()
        .map(|r| u32::try_from(r).unwrap_or(u32::MAX))
        .collect();
    let column: ArrayRef = Arc::new(UInt32Array::from(values));
    let batch = RecordBatch::try_from_iter([("index", column)])
        .map_err(|e| ApiError::new("internal", e.to_string()))?;
    let mut out = Vec::new();
    {
        let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema())
            .map_err(|e| ApiError::new("internal", e.to_string()))?;
        writer
            .write(&batch)
            .and_then(|_| writer.finish())
            .map_err(|e| ApiError::new("internal", e.to_string()))?;
    }
    Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], out).into_response())
}

/// The rows of one tag.
#[utoipa::path(get, path = "/api/datasets/{ds}/tags/{t}", tag = "tags", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("t" = String, Path, description = "The tag name (percent-encoded Unicode; no `/`, `\\` or control characters)", pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,128}$")), responses((status = 200, description = "The tag's rows as an Arrow IPC stream with one column `index`", content_type = "application/vnd.apache.arrow.stream")))]
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Path((ds, tag)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ds = state.dataset(&ds)?;
    index_stream(ds.tag_rows(&tag)?)
}
