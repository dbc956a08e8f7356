//! Jobs over HTTP: `POST /api/datasets/{ds}/jobs` starts a step (refused
//! read-only), `GET …/jobs` lists a dataset's, `GET /api/jobs/{id}` one,
//! `GET /api/jobs/{id}/events` follows its progress as Server-Sent Events
//! (`Last-Event-ID` resumes), `POST /api/jobs/{id}/cancel` stops it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::Value;

use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{Job, JobRequest, JobStatus};
use crate::state::AppState;

fn job(state: &AppState, id: &str) -> ApiResult<Arc<Job>> {
    state
        .jobs
        .get(id)
        .ok_or_else(|| ApiError::new("not_found", format!("no job {id:?} on this server")))
}

#[utoipa::path(post, path = "/api/datasets/{ds}/jobs", tag = "jobs", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), request_body = JobRequest, responses((status = 202, description = "The job, started", body = Object)))]
/// Starts a step as a job.
pub(crate) async fn start(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    JsonObject(request): JsonObject<JobRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.require_writable()?;
    let ds = state.dataset(&ds)?;
    let job = state.jobs.start(ds, &state.config.data_dir, request)?;
    Ok((StatusCode::ACCEPTED, Json(job.summary())))
}

#[utoipa::path(get, path = "/api/datasets/{ds}/jobs", tag = "jobs", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), responses((status = 200, description = "The dataset's jobs, newest first: this server's, and earlier ones from their records in `<dataset>/jobs/`", body = Vec<Object>)))]
/// A dataset's jobs.
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
) -> ApiResult<Json<Vec<Value>>> {
    let ds = state.dataset(&ds)?;
    let mut all: Vec<Value> = state.jobs.of(ds.id()).iter().map(|j| j.summary()).collect();
    // Jobs of earlier runs of the server, from their records on disk.
    let dir = state.config.data_dir.join(ds.id()).join("jobs");
    let known: std::collections::HashSet<String> = all
        .iter()
        .filter_map(|j| j["id"].as_str().map(str::to_string))
        .collect();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if known.contains(id) || !id.starts_with("job-") {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            if let Ok(Value::Object(mut record)) = serde_json::from_slice::<Value>(&bytes) {
                record.remove("all_events");
                all.push(Value::Object(record));
            }
        }
    }
    all.sort_by(|a, b| b["id"].as_str().cmp(&a["id"].as_str()));
    Ok(Json(all))
}

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "The job id", pattern = r"^job-[0-9]{1,20}-[0-9]{1,20}$")), responses((status = 200, description = "The job: step, params, status, latest progress, artifact", body = Object)))]
/// One job.
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(job(&state, &id)?.summary()))
}

#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path, description = "The job id", pattern = r"^job-[0-9]{1,20}-[0-9]{1,20}$")), responses((status = 202, description = "Asked to stop at its next progress report", body = Object)))]
/// Cancels a job.
pub(crate) async fn cancel(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.require_writable()?;
    let job = job(&state, &id)?;
    job.cancel();
    Ok((StatusCode::ACCEPTED, Json(job.summary())))
}

#[utoipa::path(get, path = "/api/jobs/{id}/events", tag = "jobs", params(("id" = String, Path, description = "The job id", pattern = r"^job-[0-9]{1,20}-[0-9]{1,20}$")), responses((status = 200, description = "Server-Sent Events: `progress` {stage, done, total}, `log` {message}, `done` {artifact}, `error` {error, code}, `cancelled`; each with an `id`; send `Last-Event-ID` to resume after it", content_type = "text/event-stream")))]
/// A job's events as they happen.
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let job = job(&state, &id)?;
    let after: u64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let stream = futures::stream::unfold((job, after, false), |(job, after, ended)| async move {
        if ended {
            return None;
        }
        loop {
            let next = {
                // Register for the next change before reading, so none is missed.
                let changed = job.changed();
                let mut pending = std::pin::pin!(changed);
                pending.as_mut().enable();
                let next = job.events_after(after).into_iter().next();
                if next.is_none() && job.status() == JobStatus::Running {
                    let _ = tokio::time::timeout(Duration::from_secs(1), pending).await;
                    continue;
                }
                next
            };
            let e = next?;
            let terminal = matches!(e.kind, "done" | "error" | "cancelled");
            let event = Event::default()
                .id(e.id.to_string())
                .event(e.kind)
                .data(e.data.to_string());
            return Some((Ok(event), (job, e.id, terminal)));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
