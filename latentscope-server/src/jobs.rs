//! Jobs: a step started over HTTP runs in this process on a blocking thread,
//! through the core's artifact lifecycle (so a cancelled or failed job
//! leaves earlier artifacts intact and can be resumed), reporting progress
//! as numbered events that any number of clients follow (Server-Sent
//! Events; a client that reconnects with `Last-Event-ID` gets what it
//! missed). Each job's record is kept in `<data>/<dataset>/jobs/<id>.json`,
//! as the Python tool keeps its own.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use latentscope_core::{ClusterId, Dataset, LabelsId, ProgressEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

/// The steps a job can run on a dataset (`POST …/jobs`); `ingest` makes
/// one from an upload (`POST /api/datasets`).
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
    /// The job this one runs again, if any.
    pub rerun_of: Option<String>,
    /// Milliseconds since the Unix epoch when it started.
    started_at: String,
    finished_at: Mutex<Option<String>>,
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

    /// Adds the job's last event and writes its record with it before any
    /// client can see it: whoever sees the job end finds its record ended.
    fn finish(&self, kind: &'static str, data: Value, record_dir: &std::path::Path) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let id = events.len() as u64 + 1;
        events.push(JobEvent { id, kind, data });
        write_record(record_dir, self, &events);
        drop(events);
        self.changed.notify_waiters();
    }

    /// The job as the API shows it.
    pub fn summary(&self) -> Value {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        self.summary_of(&events)
    }

    fn summary_of(&self, events: &[JobEvent]) -> Value {
        let last = events.last().cloned();
        let progress = events.iter().rev().find(|e| e.kind == "progress").cloned();
        let artifact = events
            .iter()
            .find(|e| e.kind == "done")
            .map(|e| e.data["artifact"].clone());
        let error = events
            .iter()
            .find(|e| e.kind == "error")
            .map(|e| e.data["error"].clone());
        let finished_at = self
            .finished_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        json!({
            "id": self.id,
            "dataset": self.dataset,
            "step": self.step,
            "params": self.params,
            "status": self.status(),
            "started_at": self.started_at,
            "finished_at": finished_at,
            "progress": progress.map(|e| e.data),
            "artifact": artifact,
            "error": error,
            "rerun_of": self.rerun_of,
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
}

fn text(params: &Value, key: &str) -> ApiResult<String> {
    params[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request(format!("params.{key}: missing (a string)")))
}

/// `defaults` with the fields that `params` gives replaced (`aliases` maps
/// other names to the fields' own); keys of `params` that are neither
/// fields nor the step's `own` are refused, naming them.
fn merged<T: Serialize + serde::de::DeserializeOwned>(
    defaults: &T,
    params: &Value,
    own: &[&str],
    aliases: &[(&str, &str)],
) -> ApiResult<T> {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(defaults) else {
        return Err(ApiError::new("internal", "parameters are not an object"));
    };
    let Some(given) = params.as_object() else {
        return Err(ApiError::bad_request("params: a JSON object"));
    };
    for (key, value) in given {
        let field = aliases
            .iter()
            .find(|(alias, _)| alias == key)
            .map_or(key.as_str(), |(_, field)| field);
        if fields.contains_key(field) {
            // null: the default.
            if !value.is_null() {
                fields.insert(field.to_string(), value.clone());
            }
        } else if !own.contains(&key.as_str()) {
            let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
            known.extend(own);
            return Err(ApiError::bad_request(format!(
                "params.{key}: not a parameter of this step; it takes {}",
                known.join(", ")
            )));
        }
    }
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| ApiError::bad_request(format!("params: {e}")))
}

/// A umap job's parameters, and the layout it starts from (`init: umap-NNN`).
fn umap_params(
    p: &Value,
) -> ApiResult<(
    latentscope_core::umap::UmapParams,
    Option<latentscope_core::UmapId>,
)> {
    let mut params = p.clone();
    let init_from = match params["init"].as_str() {
        Some(i) if i.starts_with("umap-") => {
            let from = i.parse::<latentscope_core::UmapId>()?;
            params["init"] = Value::Null;
            Some(from)
        }
        _ => None,
    };
    let umap = merged(
        &latentscope_core::umap::UmapParams::default(),
        &params,
        &["embedding", "method"],
        &[("n_neighbors", "neighbors")],
    )?;
    Ok((umap, init_from))
}

/// A cluster job's parameters: the defaults for the dataset's row count.
fn cluster_params(ds: &Dataset, p: &Value) -> ApiResult<latentscope_core::hdbscan::HdbscanParams> {
    let defaults = latentscope_core::cluster::default_hdbscan_params(ds.rows() as usize);
    merged(&defaults, p, &["umap"], &[("min_cluster_size", "samples")])
}

/// A label job's options.
fn label_options(p: &Value) -> ApiResult<latentscope_core::LabelOptions> {
    merged(
        &latentscope_core::LabelOptions::default(),
        p,
        &["cluster", "labeler"],
        &[],
    )
}

/// Refuses parameters a step does not take, before it starts.
fn check_params(ds: &Dataset, step: &str, p: &Value) -> ApiResult<()> {
    match step {
        "umap" => umap_params(p).map(drop),
        "cluster" => cluster_params(ds, p).map(drop),
        "label" => label_options(p).map(drop),
        _ => Ok(()),
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

    /// Refuses (409 `artifact_busy`, naming the job) deleting `artifacts`
    /// of `dataset` while a running job reads one of them.
    pub fn refuse_deleting(&self, dataset: &str, artifacts: &[String]) -> ApiResult<()> {
        for job in self.of(dataset) {
            if job.status() != JobStatus::Running {
                continue;
            }
            if let Some(read) = artifacts.iter().find(|a| job.reads.contains(a)) {
                return Err(ApiError::new(
                    "artifact_busy",
                    format!("job {} ({}) is running and reads {read}", job.id, job.step),
                )
                .with("artifact", read.clone())
                .with("holder", job.id.clone()));
            }
        }
        Ok(())
    }

    /// Every job this server started, newest first.
    pub fn all(&self) -> Vec<Arc<Job>> {
        let mut jobs: Vec<Arc<Job>> = self
            .all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
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
        rerun_of: Option<String>,
    ) -> ApiResult<Arc<Job>> {
        if !request.params.is_object() {
            return Err(ApiError::bad_request("params: a JSON object"));
        }
        let reads = reads(&request.step, &request.params)?;
        check_params(&ds, &request.step, &request.params)?;
        if request.step == "delete" {
            let artifact = text(&request.params, "artifact")?;
            let mut gone = vec![artifact.clone()];
            if request.params["with_dependents"].as_bool() == Some(true) {
                gone.extend(ds.dependents(&artifact).unwrap_or_default());
            }
            self.refuse_deleting(ds.id(), &gone)?;
        }
        let spec = Spec {
            dataset: ds.id().to_string(),
            step: request.step,
            params: request.params,
            reads,
            rerun_of,
        };
        self.launch(spec, data_dir, move |job| run(&ds, job))
    }

    /// Starts ingesting `ingest.file` as dataset `ingest.dataset` (checked
    /// by the caller); the upload's folder is removed once it is done.
    pub fn start_ingest(
        &self,
        store: Arc<dyn latentscope_core::latentscope_io::Store>,
        data_dir: &std::path::Path,
        ingest: Ingest,
        rerun_of: Option<String>,
    ) -> ApiResult<Arc<Job>> {
        let spec = Spec {
            dataset: ingest.dataset.clone(),
            step: "ingest".into(),
            params: json!({
                "upload": ingest.upload,
                "text_column": ingest.text_column,
                "dataset": ingest.dataset,
            }),
            reads: Vec::new(),
            rerun_of,
        };
        self.launch(spec, data_dir, move |job| {
            let progress = progress_of(job);
            latentscope_core::ingest::ingest_file(
                store,
                &ingest.dataset,
                &ingest.file,
                &latentscope_core::ingest::IngestOptions::new(&ingest.text_column),
                &progress,
            )?;
            if let Some(folder) = ingest.file.parent() {
                let _ = std::fs::remove_dir_all(folder);
            }
            Ok(ingest.dataset.clone())
        })
    }

    /// Registers a job and runs `work` on a blocking thread, recording its
    /// events and its end.
    fn launch(
        &self,
        spec: Spec,
        data_dir: &std::path::Path,
        work: impl FnOnce(&Job) -> ApiResult<String> + Send + 'static,
    ) -> ApiResult<Arc<Job>> {
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        for job in all
            .values()
            .filter(|j| j.dataset == spec.dataset && j.status() == JobStatus::Running)
        {
            if job.step == spec.step && (job.params == spec.params || spec.step == "ingest") {
                return Err(ApiError::new(
                    "artifact_busy",
                    format!(
                        "job {} ({} {}) is running the same step",
                        job.id, job.step, job.params
                    ),
                )
                .with("holder", job.id.clone()));
            }
        }
        let id = crate::stamp::new_id("job");
        let job = Arc::new(Job {
            id,
            started_at: now_ms().to_string(),
            dataset: spec.dataset,
            step: spec.step,
            params: spec.params,
            reads: spec.reads,
            rerun_of: spec.rerun_of,
            finished_at: Mutex::new(None),
            status: Mutex::new(JobStatus::Running),
            events: Mutex::new(Vec::new()),
            cancel: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
            last_progress: Mutex::new(None),
        });
        all.insert(job.id.clone(), job.clone());
        drop(all);
        let record_dir = data_dir.join(&job.dataset).join("jobs");
        let runner = job.clone();
        tokio::task::spawn_blocking(move || {
            write_record(&record_dir, &runner, &[]);
            runner.push(
                "log",
                json!({"message": format!("{} started", runner.step)}),
            );
            // The first progress event: the step has started (its own
            // reports follow once it has read its inputs).
            runner.push(
                "progress",
                json!({"stage": runner.step, "done": 0, "total": null}),
            );
            let result = work(&runner);
            let (status, kind, data) = match &result {
                Ok(artifact) => (JobStatus::Done, "done", json!({"artifact": artifact})),
                Err(e) if e.code == "cancelled" => (
                    JobStatus::Cancelled,
                    "cancelled",
                    json!({"message": "cancelled; earlier artifacts are intact, running it again resumes"}),
                ),
                Err(e) => (
                    JobStatus::Error,
                    "error",
                    json!({"error": e.message, "code": e.code}),
                ),
            };
            // The status first: whoever sees the last event sees the job ended.
            *runner.finished_at.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(now_ms().to_string());
            *runner.status.lock().unwrap_or_else(|p| p.into_inner()) = status;
            runner.finish(kind, data, &record_dir);
        });
        Ok(job)
    }
}

/// What a job runs, before it has an id.
struct Spec {
    dataset: String,
    step: String,
    params: Value,
    reads: Vec<String>,
    rerun_of: Option<String>,
}

/// An ingest job: an uploaded file becomes a dataset.
#[derive(Debug, Clone)]
pub struct Ingest {
    /// The upload's id.
    pub upload: String,
    /// The uploaded file (in its own folder under `<data>/.uploads/`).
    pub file: std::path::PathBuf,
    /// The new dataset's id.
    pub dataset: String,
    /// The column holding the text.
    pub text_column: String,
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The progress callback of a job: events at most every 50 ms (and each
/// stage's last); `Break` once the job is cancelled.
fn progress_of(job: &Job) -> impl Fn(ProgressEvent<'_>) -> ControlFlow<()> + '_ {
    move |e: ProgressEvent<'_>| {
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
    }
}

/// Writes `<dataset>/jobs/<id>.json` (under a temporary name, then renamed).
fn write_record(dir: &std::path::Path, job: &Job, events: &[JobEvent]) {
    let mut record = job.summary_of(events);
    record["all_events"] = serde_json::to_value(events).unwrap_or(Value::Null);
    let _ = std::fs::create_dir_all(dir);
    let tmp = dir.join(format!(".{}.json.tmp", job.id));
    if std::fs::write(&tmp, serde_json::to_vec_pretty(&record).unwrap_or_default()).is_ok() {
        let _ = std::fs::rename(&tmp, dir.join(format!("{}.json", job.id)));
    }
}

/// Runs the job's step; returns the artifact it made (or deleted).
fn run(ds: &Dataset, job: &Job) -> ApiResult<String> {
    let progress = progress_of(job);
    let p = &job.params;
    let cancelled = |e: latentscope_core::Error| -> ApiError { e.into() };
    match job.step.as_str() {
        "umap" => {
            let (params, init_from) = umap_params(p)?;
            let mut step = ds
                .new_umap(text(p, "embedding")?.parse()?)
                .params(params)
                .progress(&progress);
            if let Some(from) = init_from {
                step = step.init_from(from)?;
            }
            match p["method"].as_str() {
                None | Some("umap") => {}
                Some("pca") => step = step.pca(),
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "params.method: {other:?}; umap or pca"
                    )));
                }
            }
            Ok(step.run().map_err(cancelled)?.to_string())
        }
        "cluster" => {
            let params = cluster_params(ds, p)?;
            let step = ds
                .new_clustering(text(p, "umap")?.parse()?)
                .params(params)
                .progress(&progress);
            Ok(step.run().map_err(cancelled)?.to_string())
        }
        "label" => {
            let cluster: ClusterId = text(p, "cluster")?.parse()?;
            let labeler_name = p["labeler"].as_str().unwrap_or("keywords");
            let labeler = latentscope_models::labelers()
                .resolve(labeler_name, ds)
                .map_err(cancelled)?;
            let options = label_options(p)?;
            let step = ds
                .new_labels(cluster)
                .labeler(labeler.as_ref())
                .options(options)
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
            let config = latentscope_core::EmbedConfig::default().with_data_dir(ds.data_dir());
            let embedder = latentscope_models::registry()
                .resolve(spec, &config)
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
