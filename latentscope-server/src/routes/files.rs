//! `GET /api/datasets/{ds}/files/{kind}/{file}`: an artifact's own files by
//! typed kind and id (`umaps/umap-001.png`, `clusters/cluster-001.json`,
//! `scopes/scopes-001.parquet`, …) and nothing else: the kind is one of four
//! folders, the name parses as an id of that kind, the extension is `.png`,
//! `.json` or `.parquet`, so no request reads outside the data directory.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use latentscope_core::{ClusterId, EmbeddingId, LabelsId, ScopeId, UmapId};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Checks that `stem` is an id of the folder's kind.
fn typed(kind: &str, stem: &str) -> bool {
    match kind {
        "embeddings" => stem.parse::<EmbeddingId>().is_ok(),
        "umaps" => stem.parse::<UmapId>().is_ok(),
        "clusters" => stem.parse::<ClusterId>().is_ok() || stem.parse::<LabelsId>().is_ok(),
        "scopes" => {
            let base = stem
                .strip_suffix("-input")
                .or_else(|| stem.strip_suffix("-transactions"))
                .unwrap_or(stem);
            base.parse::<ScopeId>().is_ok()
        }
        _ => false,
    }
}

/// One file of an artifact.
#[utoipa::path(get, path = "/api/datasets/{ds}/files/{kind}/{file}", tag = "files", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("kind" = String, Path, description = "embeddings, umaps, clusters or scopes", pattern = r"^(embeddings|umaps|clusters|scopes)$"), ("file" = String, Path, description = "An artifact id with .png, .json or .parquet (umap-001.png)", pattern = r"^[a-z]+-[0-9]{3,9}(-labels-[0-9]{3,9}|-input|-transactions)?[.](png|json|parquet)$")), responses((status = 200, description = "The file", content((String = "image/png"), (Object = "application/json"), (String = "application/vnd.apache.parquet")))))]
pub(crate) async fn file(
    State(state): State<Arc<AppState>>,
    Path((ds, kind, name)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let ds = state.dataset(&ds)?;
    let (stem, ext) = name
        .rsplit_once('.')
        .ok_or_else(|| ApiError::new("not_found", format!("no file {name:?}")))?;
    let mime = match ext {
        "png" => "image/png",
        "json" => "application/json",
        "parquet" => "application/vnd.apache.parquet",
        _ => {
            return Err(ApiError::new(
                "not_found",
                format!("no file {name:?}: only .png, .json and .parquet are served"),
            ));
        }
    };
    if !typed(&kind, stem) {
        return Err(ApiError::new(
            "not_found",
            format!(
                "no file {kind}/{name}: expected embeddings, umaps, clusters or scopes and an id of that kind"
            ),
        ));
    }
    let key = ds.key(&format!("{kind}/{stem}.{ext}"));
    let bytes = ds.store().get(&key)?;
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}
