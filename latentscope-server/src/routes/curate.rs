//! `POST /api/datasets/{ds}/scopes/{s}/curate`: a new scope derived from a
//! scope with labels renamed or described, rows moved to another cluster,
//! marked deleted or restored (artifacts are never edited in place; the new
//! scope's transactions file lists the edits). Refused on a read-only server.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latentscope_core::ScopeId;
use latentscope_core::scope::ScopeEdits;
use serde::Serialize;

use crate::body::JsonObject;
use crate::error::ApiResult;
use crate::state::{AppState, blocking};

/// What a curation made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Curated {
    /// The new scope (`scopes-002`).
    scope: String,
    /// The new labels artifact, when labels changed.
    labels: Option<String>,
    /// The new scope's explore address.
    explore: String,
}

/// One label change (for the schema).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct LabelEditDoc {
    /// The cluster.
    cluster: u32,
    /// Its new short label.
    label: Option<String>,
    /// Its new description.
    description: Option<String>,
}

/// Rows moved (for the schema).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct RowMoveDoc {
    /// The rows.
    indices: Vec<u64>,
    /// The cluster they move to.
    cluster: u32,
}

/// The body of `…/curate` (every part optional).
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct CurateDoc {
    /// Labels and descriptions changed.
    #[serde(default)]
    labels: Vec<LabelEditDoc>,
    /// Rows moved to another cluster.
    #[serde(default)]
    moves: Vec<RowMoveDoc>,
    /// Rows marked deleted.
    #[serde(default)]
    deleted: Vec<u64>,
    /// Rows no longer deleted.
    #[serde(default)]
    restored: Vec<u64>,
    /// The new scope's name.
    label: Option<String>,
    /// The new scope's description.
    description: Option<String>,
}

#[utoipa::path(post, path = "/api/datasets/{ds}/scopes/{s}/curate", tag = "scopes", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("s" = String, Path, description = "The scope id (`scopes-001`)", pattern = r"^scopes-[0-9]{3,9}$")), request_body = CurateDoc, responses((status = 201, description = "The new scope (and labels artifact) made", body = Curated)))]
/// A new scope derived from this one with the edits applied.
pub(crate) async fn curate(
    State(state): State<Arc<AppState>>,
    Path((ds, s)): Path<(String, String)>,
    JsonObject(edits): JsonObject<ScopeEdits>,
) -> ApiResult<(StatusCode, Json<Curated>)> {
    state.require_writable()?;
    let ds = state.dataset(&ds)?;
    let from: ScopeId = s.parse()?;
    blocking(move || {
        let n = ds.rows();
        let moved = edits.moves.iter().flat_map(|m| &m.indices);
        super::rows::check_rows(moved.chain(&edits.deleted).chain(&edits.restored), n)?;
        let made = ds.curate_scope(from, &edits)?;
        Ok((
            StatusCode::CREATED,
            Json(Curated {
                explore: format!("/datasets/{}/explore/{}", ds.id(), made.scope),
                scope: made.scope.to_string(),
                labels: made.labels.map(|l| l.to_string()),
            }),
        ))
    })
    .await
}
