//! `GET /api/version`, `GET /api/datasets`, `GET /api/datasets/{ds}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use latentscope_core::dataset::{ArtifactKind, ArtifactState};
use latentscope_core::{Dataset, NumberedId, ScopeId};
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::openapi::VersionInfo;
use crate::state::AppState;

/// `{version, read_only, features, embedders}`.
#[utoipa::path(get, path = "/api/version", tag = "meta", responses((status = 200, description = "The server: version, read-only or not, features, embedders", body = crate::openapi::VersionInfo)))]
pub(crate) async fn version(State(state): State<Arc<AppState>>) -> Json<VersionInfo> {
    let embedders: Vec<String> = latentscope_models::registry()
        .entries()
        .iter()
        .filter(|e| e.missing_feature.is_none())
        .map(|e| e.spec.to_string())
        .collect();
    Json(VersionInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        read_only: state.config.read_only,
        features: features().into_iter().map(String::from).collect(),
        embedders,
    })
}

fn features() -> Vec<&'static str> {
    vec![
        "points_arrow",
        "lod",
        "rows",
        "tags",
        "columns",
        "filter",
        "search_exact",
        "search_hnsw",
        "openapi",
    ]
}

/// A scope as the dataset listing shows it.
fn scope_summary(state: &AppState, ds: &Dataset, id: ScopeId) -> Value {
    let meta = ds.scope_meta(id).ok();
    // A thumbnail only where the umap's PNG exists (an imported layout may
    // have none), so a page never asks for a missing file.
    let thumbnail = meta.as_ref().and_then(|m| {
        let key = ds.key(&format!(
            "{}/{}.png",
            latentscope_core::UmapId::FOLDER,
            m.umap_id
        ));
        state
            .path_of(&key)
            .is_file()
            .then(|| format!("/api/datasets/{}/files/umaps/{}.png", ds.id(), m.umap_id))
    });
    json!({
        "id": id.to_string(),
        "label": meta.as_ref().map(|m| m.label.clone()),
        "description": meta.as_ref().map(|m| m.description.clone()),
        "rows": meta.as_ref().map(|m| m.rows),
        "umap_id": meta.as_ref().map(|m| m.umap_id.to_string()),
        "cluster_id": meta.as_ref().map(|m| m.cluster_id.to_string()),
        "thumbnail": thumbnail,
        "explore": format!("/datasets/{}/explore/{id}", ds.id()),
    })
}

/// Every dataset with its `meta.json` and its scopes.
#[utoipa::path(get, path = "/api/datasets", tag = "meta", responses((status = 200, description = "Every dataset: its meta.json with its scopes (id, label, rows, thumbnail, explore address)", body = Vec<Object>)))]
pub(crate) async fn datasets(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    let mut out = Vec::new();
    for meta in state.data.datasets()? {
        let Ok(ds) = state.dataset(&meta.id) else {
            continue;
        };
        let scopes: Vec<Value> = ds
            .artifact_ids::<ScopeId>()
            .unwrap_or_default()
            .into_iter()
            .map(|id| scope_summary(&state, &ds, id))
            .collect();
        let mut entry = serde_json::to_value(&meta).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut entry {
            m.insert("scopes".into(), Value::Array(scopes));
        }
        out.push(entry);
    }
    Ok(Json(Value::Array(out)))
}

/// One dataset: its `meta.json`, every artifact (as `show` lists them) and
/// its tags.
#[utoipa::path(get, path = "/api/datasets/{ds}", tag = "meta", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), responses((status = 200, description = "One dataset: meta, every artifact with its state, parents and record, scopes, tags", body = Object)))]
pub(crate) async fn dataset(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
) -> ApiResult<Json<Value>> {
    let ds = state.dataset(&ds)?;
    let artifacts = ds.artifacts()?;
    let scopes: Vec<Value> = artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Scope && a.state == ArtifactState::Finished)
        .filter_map(|a| a.id.parse::<ScopeId>().ok())
        .map(|id| scope_summary(&state, &ds, id))
        .collect();
    Ok(Json(json!({
        "meta": ds.meta(),
        "artifacts": artifacts,
        "scopes": scopes,
        "tags": ds.tags()?,
        "folders": {
            "embeddings": latentscope_core::EmbeddingId::FOLDER,
            "umaps": latentscope_core::UmapId::FOLDER,
            "clusters": latentscope_core::ClusterId::FOLDER,
            "scopes": ScopeId::FOLDER,
        },
    })))
}
