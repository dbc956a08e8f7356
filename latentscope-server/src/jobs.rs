//! Jobs: a step started over HTTP runs in this process on a blocking thread,
//! through the core's artifact lifecycle (so a cancelled or failed job
//! leaves earlier artifacts intact and can be resumed), reporting progress
//! as numbered events that any number of clients follow (Server-Sent
//! Events; a client that reconnects with `Last-Event-ID` gets what it
//! missed). Each job's record is kept in `<data>/<dataset>/jobs/<id>.json`,
//! as the Python tool keeps its own.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use latentscope_core::{ClusterId, Dataset, LabelsId, ProgressEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

/// The steps a job can run.
pub const STEPS: [&str; 6] = ["embed", "umap", "cluster", "label", "scope", "delete"];

/// One event of a job, numbered from 1.
#[derive(Debug, Clone, Serialize)]
pub struct JobEvent {
    /// Its number (the SSE `id`).
    pub id: u64,
    /// `progress`, `log`, `done`, `error` or `cancelled`.
    pub kind: &'static str,
    /// Its data: `{stage, done, total}`, `{message}`, `{artifact}`, `{error, code}`.
    pub data: Value,
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Running.
    Running,
    /// Finished: its artifact is written.
    Done,
    /// Failed: the error is its last event.
    Error,
    /// Cancelled: earlier artifacts are intact; running it again resumes.
    Cancelled,
}

/// A job: what it runs, where it is, and its events.
#[derive(Debug)]
pub struct Job {
    /// `job-<ms>-<n>`.
    pub id: String,
    /// The dataset.
    pub dataset: String,
    /// The step.
    pub step: String,
    /// Its parameters, as posted.
    pub params: Value,
    /// The artifacts it reads (to refuse deleting them meanwhile).
    pub reads: Vec<String>,
    /// Milliseconds since the Unix epoch when it started.
    started_at: String,
    status: Mutex<JobStatus>,
    events: Mutex<Vec<JobEvent>>,
    cancel: AtomicBool,
    changed: tokio::sync::Notify,
    last_progress: Mutex<Option<std::time::Instant>>,
}

impl Job {
    /// Its status now.
    pub fn status(&self) -> JobStatus {
        *self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The events after `after`.
    pub fn events_after(&self, after: u64) -> Vec<JobEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|e| e.id > after)
            .cloned()
            .collect()
    }

    /// Resolves when an event is added (or the job ends); create it before
    /// reading the events, and `enable` it, so none is missed.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Asks the job to stop at its next progress report.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn push(&self, kind: &'static str, data: Value) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let id = events.len() as u64 + 1;
        events.push(JobEvent { id, kind, data });
        drop(events);
        self.changed.notify_waiters();
    }

    /// The job as the API shows it.
    pub fn summary(&self) -> Value {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let last = events.last().cloned();
        let progress = events.iter().rev().find(|e| e.kind == "progress").cloned();
        let artifact = events
            .iter()
            .find(|e| e.kind == "done")
            .map(|e| e.data["artifact"].clone());
        json!({
            "id": self.id,
            "dataset": self.dataset,
            "step": self.step,
            "params": self.params,
            "status": self.status(),
            "started_at": self.started_at,
            "progress": progress.map(|e| e.data),
            "artifact": artifact,
            "last_event": last,
            "events": events.len(),
        })
    }
}

/// The body of `POST …/jobs`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct JobRequest {
    /// embed, umap, cluster, label, scope or delete.
    #[schema(pattern = r"^(embed|umap|cluster|label|scope|delete)$")]
    pub step: String,
    /// The step's parameters (see `GET /api/steps`): `{embedding, neighbors?,
    /// min_dist?, seed?, method?}` for umap, `{umap, min_cluster_size?,
    /// min_samples?}` for cluster, `{cluster, labeler?}` for label,
    /// `{embedding, umap, cluster, labels, label?, description?}` for scope,
    /// `{model?}` for embed, `{artifact, with_dependents?}` for delete.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub params: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Every job this server started.
#[derive(Debug, Default)]
pub struct Jobs {
    all: Mutex<HashMap<String, Arc<Job>>>,
    next: AtomicU64,
}

fn text(params: &Value, key: &str) -> ApiResult<String> {
    params[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request(format!("params.{key}: missing (a string)")))
}

fn number(params: &Value, key: &str) -> ApiResult<Option<u64>> {
    match &params[key] {
        Value::Null => Ok(None),
        v => v.as_u64().map(Some).ok_or_else(|| {
            ApiError::bad_request(format!("params.{key}: {v} is not a whole number ≥ 0"))
        }),
    }
}

/// What a step reads, from its parameters (checked as typed ids).
fn reads(step: &str, params: &Value) -> ApiResult<Vec<String>> {
    Ok(match step {
        "umap" => vec![
            text(params, "embedding")?
                .parse::<latentscope_core::EmbeddingId>()?
                .to_string(),
        ],
        "cluster" => vec![
            text(params, "umap")?
                .parse::<latentscope_core::UmapId>()?
                .to_string(),
        ],
        "label" => vec![text(params, "cluster")?.parse::<ClusterId>()?.to_string()],
        "scope" => vec![
            text(params, "embedding")?
                .parse::<latentscope_core::EmbeddingId>()?
                .to_string(),
            text(params, "umap")?
                .parse::<latentscope_core::UmapId>()?
                .to_string(),
            text(params, "cluster")?.parse::<ClusterId>()?.to_string(),
        ],
        "embed" | "delete" => Vec::new(),
        other => {
            return Err(ApiError::bad_request(format!(
                "step {other:?}: one of {}",
                STEPS.join(", ")
            )));
        }
    })
}

impl Jobs {
    /// A job by id.
    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// The jobs of a dataset this server started, newest first.
    pub fn of(&self, dataset: &str) -> Vec<Arc<Job>> {
        let mut jobs: Vec<Arc<Job>> = self
            .all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|j| j.dataset == dataset)
            .cloned()
            .collect();
        jobs.sort_by(|a, b| b.id.cmp(&a.id));
        jobs
    }

    /// Starts `request` on `ds`; refuses (409 `artifact_busy`, naming the
    /// holder) a job equal to a running one, and a delete of what a running
    /// job reads.
    pub fn start(
        &self,
        ds: Dataset,
        data_dir: &std::path::Path,
        request: JobRequest,
    ) -> ApiResult<Arc<Job>> {
        if !request.params.is_object() {
            return Err(ApiError::bad_request("params: a JSON object"));
        }
        let reads = reads(&request.step, &request.params)?;
        {
            let all = self.all.lock().unwrap_or_else(|p| p.into_inner());
            for job in all
                .values()
                .filter(|j| j.dataset == ds.id() && j.status() == JobStatus::Running)
            {
                let same = job.step == request.step && job.params == request.params;
                let deletes_its_input = request.step == "delete"
                    && request.params["artifact"]
                        .as_str()
                        .is_some_and(|a| job.reads.iter().any(|r| r == a));
                if same || deletes_its_input {
                    return Err(ApiError::new(
                        "artifact_busy",
                        format!(
                            "job {} ({} {}) is running{}",
                            job.id,
                            job.step,
                            job.params,
                            if same {
                                " the same step"
                            } else {
                                " and reads it"
                            }
                        ),
                    ));
                }
            }
        }
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let job = Arc::new(Job {
            id: format!("job-{ms}-{n}"),
            dataset: ds.id().to_string(),
            step: request.step.clone(),
            params: request.params.clone(),
            reads,
            started_at: ms.to_string(),
            status: Mutex::new(JobStatus::Running),
            events: Mutex::new(Vec::new()),
            cancel: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
            last_progress: Mutex::new(None),
        });
        self.all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.id.clone(), job.clone());
        let record_dir = data_dir.join(ds.id()).join("jobs");
        let runner = job.clone();
        tokio::task::spawn_blocking(move || {
            write_record(&record_dir, &runner);
            let result = run(&ds, &runner);
            let status = match &result {
                Ok(artifact) => {
                    runner.push("done", json!({"artifact": artifact}));
                    JobStatus::Done
                }
                Err(e) if e.code == "cancelled" => {
                    runner.push("cancelled", json!({"message": "cancelled; earlier artifacts are intact, running it again resumes"}));
                    JobStatus::Cancelled
                }
                Err(e) => {
                    runner.push("error", json!({"error": e.message, "code": e.code}));
                    JobStatus::Error
                }
            };
            *runner.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
            runner.changed.notify_waiters();
            write_record(&record_dir, &runner);
        });
        Ok(job)
    }
}

/// Writes `<dataset>/jobs/<id>.json` (under a temporary name, then renamed).
fn write_record(dir: &std::path::Path, job: &Job) {
    let mut record = job.summary();
    record["all_events"] = serde_json::to_value(job.events_after(0)).unwrap_or(Value::Null);
    let _ = std::fs::create_dir_all(dir);
    let tmp = dir.join(format!(".{}.json.tmp", job.id));
    if std::fs::write(&tmp, serde_json::to_vec_pretty(&record).unwrap_or_default()).is_ok() {
        let _ = std::fs::rename(&tmp, dir.join(format!("{}.json", job.id)));
    }
}

/// Runs the job's step; returns the artifact it made (or deleted).
fn run(ds: &Dataset, job: &Job) -> ApiResult<String> {
    let progress = |e: ProgressEvent<'_>| {
        // At most one progress event every 50 ms (and each stage's last).
        let mut last = job.last_progress.lock().unwrap_or_else(|p| p.into_inner());
        let due = last.is_none_or(|t| t.elapsed().as_millis() >= 50) || Some(e.done) == e.total;
        if due {
            *last = Some(std::time::Instant::now());
            drop(last);
            job.push(
                "progress",
                json!({"stage": e.stage, "done": e.done, "total": e.total}),
            );
        }
        if job.cancel.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let p = &job.params;
    let cancelled = |e: latentscope_core::Error| -> ApiError { e.into() };
    job.push("log", json!({"message": format!("{} started", job.step)}));
    // The first progress event: the step has started (its own reports follow
    // once it has read its inputs).
    job.push(
        "progress",
        json!({"stage": job.step, "done": 0, "total": null}),
    );
    match job.step.as_str() {
        "umap" => {
            let mut step = ds
                .new_umap(text(p, "embedding")?.parse()?)
                .progress(&progress);
            if let Some(n) = number(p, "neighbors")? {
                step = step.neighbors(n as usize);
            }
            if let Some(d) = p["min_dist"].as_f64() {
                step = step.min_dist(d as f32);
            }
            if let Some(s) = number(p, "seed")? {
                step = step.seed(s);
            }
            if p["method"].as_str() == Some("pca") {
                step = step.pca();
            }
            Ok(step.run().map_err(cancelled)?.to_string())
        }
        "cluster" => {
            let mut step = ds
                .new_clustering(text(p, "umap")?.parse()?)
                .progress(&progress);
            if let Some(n) = number(p, "min_cluster_size")?.or(number(p, "samples")?) {
                step = step.min_cluster_size(n as usize);
            }
            if let Some(n) = number(p, "min_samples")? {
                step = step.min_samples(n as usize);
            }
            Ok(step.run().map_err(cancelled)?.to_string())
        }
        "label" => {
            let cluster: ClusterId = text(p, "cluster")?.parse()?;
            let labeler_name = p["labeler"].as_str().unwrap_or("keywords");
            let labeler = latentscope_core::label::LabelerRegistry::default()
                .resolve(labeler_name, ds)
                .map_err(cancelled)?;
            let step = ds
                .new_labels(cluster)
                .labeler(labeler.as_ref())
                .progress(&progress);
            Ok(step.run_blocking().map_err(cancelled)?.to_string())
        }
        "scope" => {
            let cluster: ClusterId = text(p, "cluster")?.parse()?;
            let labels = match p["labels"].as_str() {
                None | Some("default") => LabelsId::default_for(cluster),
                Some(l) => LabelsId::parse_for(cluster, l)?,
            };
            let mut step = ds.new_scope(
                text(p, "embedding")?.parse()?,
                text(p, "umap")?.parse()?,
                cluster,
                labels,
            );
            if let Some(l) = p["label"].as_str() {
                step = step.label(l);
            }
            if let Some(d) = p["description"].as_str() {
                step = step.description(d);
            }
            Ok(step.run().map_err(cancelled)?.to_string())
        }
        "embed" => {
            let spec = p["model"]
                .as_str()
                .unwrap_or(latentscope_models::DEFAULT_MODEL);
            let embedder = latentscope_models::registry()
                .resolve(spec, &latentscope_core::EmbedConfig::default())
                .map_err(latentscope_core::Error::from)?;
            let outcome = ds
                .new_embedding(embedder.as_ref())
                .progress(&progress)
                .run_blocking()
                .map_err(cancelled)?;
            Ok(outcome.id.to_string())
        }
        "delete" => {
            let artifact = text(p, "artifact")?;
            let with = p["with_dependents"].as_bool().unwrap_or(false);
            let gone = ds.delete(&artifact, with)?;
            Ok(gone.join(","))
        }
        other => Err(ApiError::bad_request(format!("step {other:?}"))),
    }
}
