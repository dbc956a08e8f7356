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
use futures::StreamExt;
use futures::stream::BoxStream;
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
    let job = state
        .jobs
        .start(ds, &state.config.data_dir, request, None)?;
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
    let dir = state.config.data_dir.join(ds.id()).join("jobs");
    all.extend(records(&dir, &all));
    all.sort_by(|a, b| b["id"].as_str().cmp(&a["id"].as_str()));
    Ok(Json(all))
}

/// The job records in `dir` (`<dataset>/jobs/`) of jobs not in `known`.
fn records(dir: &std::path::Path, known: &[Value]) -> Vec<Value> {
    let known: std::collections::HashSet<&str> =
        known.iter().filter_map(|j| j["id"].as_str()).collect();
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if known.contains(id) || !crate::stamp::is_id(id, "job") {
            continue;
        }
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        if let Ok(mut record) = serde_json::from_slice::<Value>(&bytes) {
            mark_interrupted(&mut record);
            if let Some(r) = record.as_object_mut() {
                r.remove("all_events");
            }
            out.push(record);
        }
    }
    out
}

/// A record that says `running` belongs to a job no server runs any more
/// (the jobs this server runs are not read from disk): it was interrupted.
fn mark_interrupted(record: &mut Value) {
    if record["status"] == "running" {
        record["status"] = "interrupted".into();
    }
}

#[utoipa::path(get, path = "/api/jobs", tag = "jobs", responses((status = 200, description = "Every job, newest first: this server's, and earlier ones from their records in `<dataset>/jobs/`", body = Vec<Object>)))]
/// Every job of every dataset.
pub(crate) async fn all(State(state): State<Arc<AppState>>) -> ApiResult<Json<Vec<Value>>> {
    let mut all: Vec<Value> = state.jobs.all().iter().map(|j| j.summary()).collect();
    let data_dir = state.config.data_dir.clone();
    let known = all.clone();
    let earlier = crate::state::blocking(move || {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&data_dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') {
                    out.extend(records(&entry.path().join("jobs"), &known));
                }
            }
        }
        Ok(out)
    })
    .await?;
    all.extend(earlier);
    all.sort_by(|a, b| b["id"].as_str().cmp(&a["id"].as_str()));
    Ok(Json(all))
}

/// The record on disk of a job of an earlier server.
fn record_of(state: &AppState, id: &str) -> ApiResult<Value> {
    let not_found = || ApiError::new("not_found", format!("no job {id:?}"));
    if !crate::stamp::is_id(id, "job") {
        return Err(not_found());
    }
    let entries = std::fs::read_dir(&state.config.data_dir).map_err(|_| not_found())?;
    for entry in entries.flatten() {
        let path = entry.path().join("jobs").join(format!("{id}.json"));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        return serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::new("bad_input", format!("{}: {e}", path.display())));
    }
    Err(not_found())
}

/// A job's dataset, step and parameters: this server's, or from its record.
fn request_of(state: &AppState, id: &str) -> ApiResult<(String, String, Value)> {
    if let Some(job) = state.jobs.get(id) {
        return Ok((job.dataset.clone(), job.step.clone(), job.params.clone()));
    }
    let record = record_of(state, id)?;
    let text = |k: &str| record[k].as_str().map(str::to_string);
    match (text("dataset"), text("step")) {
        (Some(dataset), Some(step)) => Ok((dataset, step, record["params"].clone())),
        _ => Err(ApiError::new(
            "bad_input",
            format!("the record of job {id} names no dataset or step"),
        )),
    }
}

#[utoipa::path(post, path = "/api/jobs/{id}/rerun", tag = "jobs", params(("id" = String, Path, description = "The job id", pattern = r"^job-[0-9]{1,20}-[0-9]{1,20}$")), responses((status = 202, description = "A new job with the same step and parameters (`rerun_of` names this one); a failed or cancelled run resumes", body = Object)))]
/// Runs a job again.
pub(crate) async fn rerun(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    state.require_writable()?;
    let (dataset, step, params) = request_of(&state, &id)?;
    let job = if step == "ingest" {
        let text = |k: &str| params[k].as_str();
        let upload = text("upload")
            .ok_or_else(|| ApiError::bad_request("the job's params have no upload"))?;
        super::uploads::start_ingest(
            &state,
            upload,
            text("text_column"),
            text("dataset"),
            Some(id),
        )?
    } else {
        let ds = state.dataset(&dataset)?;
        state.jobs.start(
            ds,
            &state.config.data_dir,
            JobRequest { step, params },
            Some(id),
        )?
    };
    Ok((StatusCode::ACCEPTED, Json(job.summary())))
}

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "The job id", pattern = r"^job-[0-9]{1,20}-[0-9]{1,20}$")), responses((status = 200, description = "The job: step, params, status, latest progress, artifact", body = Object)))]
/// One job.
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    match state.jobs.get(&id) {
        Some(job) => Ok(Json(job.summary())),
        None => {
            let mut record = record_of(&state, &id)?;
            mark_interrupted(&mut record);
            if let Some(r) = record.as_object_mut() {
                r.remove("all_events");
            }
            Ok(Json(record))
        }
    }
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
) -> ApiResult<
    Sse<axum::response::sse::KeepAliveStream<BoxStream<'static, Result<Event, Infallible>>>>,
> {
    let after: u64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let Some(job) = state.jobs.get(&id) else {
        // A job of an earlier server: its recorded events, ending with an
        // `error` if it never ended (the server stopped while it ran).
        let record = record_of(&state, &id)?;
        let mut events: Vec<Value> = record["all_events"].as_array().cloned().unwrap_or_default();
        let ended = events
            .last()
            .is_some_and(|e| matches!(e["kind"].as_str(), Some("done" | "error" | "cancelled")));
        if !ended {
            let next = events.last().and_then(|e| e["id"].as_u64()).unwrap_or(0) + 1;
            events.push(serde_json::json!({"id": next, "kind": "error", "data": {
                "error": "interrupted: the server stopped while this job ran; earlier artifacts are intact, rerun it to resume",
                "code": "interrupted",
            }}));
        }
        let events: Vec<Result<Event, Infallible>> = events
            .into_iter()
            .filter(|e| e["id"].as_u64().is_some_and(|id| id > after))
            .map(|e| {
                Ok(Event::default()
                    .id(e["id"].to_string())
                    .event(e["kind"].as_str().unwrap_or("log"))
                    .data(e["data"].to_string()))
            })
            .collect();
        return Ok(Sse::new(futures::stream::iter(events).boxed()).keep_alive(KeepAlive::default()));
    };
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
    Ok(Sse::new(stream.boxed()).keep_alive(KeepAlive::default()))
}
