//! One run of a dataset (refused read-only where it writes): name or
//! describe it (`PATCH`, a sidecar: the artifact is untouched), list what
//! was made from it, and delete it through `Dataset::delete` (refused with
//! the dependents listed unless `with_dependents=true`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

/// The body of `PATCH …/artifacts/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct NameChange {
    /// A display name (one line, at most 200 characters); empty clears it.
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    name: Option<String>,
    /// A description (at most 10,000 characters; newlines and tabs allowed);
    /// empty clears it.
    #[schema(
        max_length = 10000,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    description: Option<String>,
}

/// A run's name and description.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Named {
    /// The artifact id.
    id: String,
    /// Its display name, if any.
    name: Option<String>,
    /// Its description, if any.
    description: Option<String>,
}

/// What was made from a run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Dependents {
    /// The artifact id.
    artifact: String,
    /// The artifacts made from it, directly or not, in the order a delete
    /// removes them.
    dependents: Vec<String>,
}

/// `DELETE …/artifacts/{id}` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeleteQuery {
    /// Also delete what was made from it (else a 409 lists them).
    #[serde(default)]
    with_dependents: bool,
}

/// What a delete removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Deleted {
    /// The artifacts deleted, dependents first.
    deleted: Vec<String>,
}

#[utoipa::path(patch, path = "/api/datasets/{ds}/artifacts/{id}", tag = "artifacts", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("id" = String, Path, description = "The artifact id", pattern = r"^(embedding-[0-9]{3,9}|umap-[0-9]{3,9}|cluster-[0-9]{3,9}(-labels-[0-9]{3,9})?|scopes-[0-9]{3,9})$")), request_body = NameChange, responses((status = 200, description = "Its name and description now (kept in `<dataset>/names.json`)", body = Named)))]
/// Names or describes a run.
pub(crate) async fn name(
    State(state): State<Arc<AppState>>,
    Path((ds, id)): Path<(String, String)>,
    JsonObject(change): JsonObject<NameChange>,
) -> ApiResult<Json<Named>> {
    state.require_writable()?;
    let ds = state.dataset(&ds)?;
    let dataset = ds.id().to_string();
    let now = state
        .write_in_turn(&dataset, move || {
            let now = ds.name_run(&id, change.name.as_deref(), change.description.as_deref())?;
            Ok(Named {
                id: id.clone(),
                name: now.name,
                description: now.description,
            })
        })
        .await?;
    Ok(Json(now))
}

#[utoipa::path(get, path = "/api/datasets/{ds}/artifacts/{id}/dependents", tag = "artifacts", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("id" = String, Path, description = "The artifact id", pattern = r"^(embedding-[0-9]{3,9}|umap-[0-9]{3,9}|cluster-[0-9]{3,9}(-labels-[0-9]{3,9})?|scopes-[0-9]{3,9})$")), responses((status = 200, description = "What deleting it would also delete", body = Dependents)))]
/// What was made from a run.
pub(crate) async fn dependents(
    State(state): State<Arc<AppState>>,
    Path((ds, id)): Path<(String, String)>,
) -> ApiResult<Json<Dependents>> {
    let ds = state.dataset(&ds)?;
    blocking(move || {
        if !ds.artifacts()?.iter().any(|a| a.id == id) {
            return Err(ApiError::new(
                "not_found",
                format!("dataset {:?} has no artifact {id:?}", ds.id()),
            ));
        }
        Ok(Json(Dependents {
            dependents: ds.dependents(&id)?,
            artifact: id,
        }))
    })
    .await
}

#[utoipa::path(delete, path = "/api/datasets/{ds}/artifacts/{id}", tag = "artifacts", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("id" = String, Path, description = "The artifact id", pattern = r"^(embedding-[0-9]{3,9}|umap-[0-9]{3,9}|cluster-[0-9]{3,9}(-labels-[0-9]{3,9})?|scopes-[0-9]{3,9})$"), DeleteQuery), responses((status = 200, description = "Deleted (409 `has_dependents` lists what was made from it, unless `with_dependents=true`)", body = Deleted)))]
/// Deletes a run.
pub(crate) async fn delete(
    State(state): State<Arc<AppState>>,
    Path((ds, id)): Path<(String, String)>,
    Query(query): Query<DeleteQuery>,
) -> ApiResult<Json<Deleted>> {
    state.require_writable()?;
    let ds = state.dataset(&ds)?;
    let mut gone = vec![id.clone()];
    if query.with_dependents {
        gone.extend(ds.dependents(&id).unwrap_or_default());
    }
    state.jobs.refuse_deleting(ds.id(), &gone)?;
    let dataset = ds.id().to_string();
    let deleted = state
        .write_in_turn(&dataset, move || Ok(ds.delete(&id, query.with_dependents)?))
        .await?;
    Ok(Json(Deleted { deleted }))
}
