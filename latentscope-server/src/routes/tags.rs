//! Tags: `GET /api/datasets/{ds}/tags` (`{name: count}`), `GET …/tags/{t}`
//! (the tag's row indices as an Arrow IPC stream with one column, `index`),
//! and the writes (refused on a read-only server): create, add rows, remove
//! rows, delete — the same `tags/<name>.indices` files the CLI writes.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scopes::ARROW_STREAM;
use crate::body::JsonObject;
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

/// The body of `POST …/tags`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTag {
    /// The tag's name (Unicode; no `/`, `\` or control characters).
    #[schema(pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,128}$")]
    name: String,
}

/// The body of `…/tags/{t}/add` and `/remove`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct TagRows {
    /// Input rows.
    #[serde(deserialize_with = "crate::whole::vec_u64")]
    indices: Vec<u64>,
}

/// A tag and its size.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TagSummary {
    /// The tag's name.
    name: String,
    /// Its rows.
    count: u64,
}

/// A tag deleted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TagDeleted {
    /// The tag's name.
    name: String,
    /// Always true.
    deleted: bool,
}

#[utoipa::path(post, path = "/api/datasets/{ds}/tags", tag = "tags", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), request_body = NewTag, responses((status = 201, description = "The tag, created (an existing tag is left as it is)", body = TagSummary)))]
/// Creates a tag (`tags/<name>.indices`, as the CLI writes it).
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    JsonObject(body): JsonObject<NewTag>,
) -> ApiResult<(StatusCode, Json<TagSummary>)> {
    state.require_writable()?;
    let ds = state.dataset(&ds)?;
    let id = ds.id().to_string();
    state
        .write_in_turn(&id, move || {
            ds.create_tag(&body.name)?;
            let count = ds.tag_rows(&body.name)?.len() as u64;
            Ok((
                StatusCode::CREATED,
                Json(TagSummary {
                    name: body.name.clone(),
                    count,
                }),
            ))
        })
        .await
}

/// Rows added to a tag or removed from it.
#[derive(Debug, Clone, Copy)]
enum Edit {
    Add,
    Remove,
}

/// Adds rows to a tag or removes them (rows past the end: 404).
async fn edit_rows(
    state: &Arc<AppState>,
    ds: &str,
    tag: String,
    rows: Vec<u64>,
    edit: Edit,
) -> ApiResult<Json<TagSummary>> {
    state.require_writable()?;
    let ds = state.dataset(ds)?;
    super::rows::check_rows(&rows, ds.rows())?;
    let id = ds.id().to_string();
    state
        .write_in_turn(&id, move || {
            let count = match edit {
                Edit::Add => ds.add_to_tag(&tag, &rows)?,
                Edit::Remove => ds.remove_from_tag(&tag, &rows)?,
            } as u64;
            Ok(Json(TagSummary {
                name: tag.clone(),
                count,
            }))
        })
        .await
}

#[utoipa::path(post, path = "/api/datasets/{ds}/tags/{t}/add", tag = "tags", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("t" = String, Path, description = "The tag name (percent-encoded Unicode; no `/`, `\\` or control characters)", pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,128}$")), request_body = TagRows, responses((status = 200, description = "The tag with the rows added (created if needed)", body = TagSummary)))]
/// Adds rows to a tag.
pub(crate) async fn add(
    State(state): State<Arc<AppState>>,
    Path((ds, tag)): Path<(String, String)>,
    JsonObject(body): JsonObject<TagRows>,
) -> ApiResult<Json<TagSummary>> {
    edit_rows(&state, &ds, tag, body.indices, Edit::Add).await
}

#[utoipa::path(post, path = "/api/datasets/{ds}/tags/{t}/remove", tag = "tags", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("t" = String, Path, description = "The tag name (percent-encoded Unicode; no `/`, `\\` or control characters)", pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,128}$")), request_body = TagRows, responses((status = 200, description = "The tag with the rows removed", body = TagSummary)))]
/// Removes rows from a tag.
pub(crate) async fn remove(
    State(state): State<Arc<AppState>>,
    Path((ds, tag)): Path<(String, String)>,
    JsonObject(body): JsonObject<TagRows>,
) -> ApiResult<Json<TagSummary>> {
    edit_rows(&state, &ds, tag, body.indices, Edit::Remove).await
}

#[utoipa::path(delete, path = "/api/datasets/{ds}/tags/{t}", tag = "tags", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("t" = String, Path, description = "The tag name (percent-encoded Unicode; no `/`, `\\` or control characters)", pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,128}$")), responses((status = 200, description = "The tag was deleted", body = TagDeleted)))]
/// Deletes a tag.
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    Path((ds, tag)): Path<(String, String)>,
) -> ApiResult<Json<TagDeleted>> {
    state.require_writable()?;
    let ds = state.dataset(&ds)?;
    let id = ds.id().to_string();
    state
        .write_in_turn(&id, move || {
            ds.delete_tag(&tag)?;
            Ok(Json(TagDeleted {
                name: tag.clone(),
                deleted: true,
            }))
        })
        .await
}
