//! The label step: a [`Labeler`] names each cluster of a clustering, and one
//! driver ([`Dataset::label`]) that every labeler shares runs it with bounded
//! concurrency, progress, cancellation and resume, and writes
//! `clusters/cluster-NNN-labels-MMM.parquet` (`label`, `description`,
//! `indices`, `hull`, `centroid_x`, `centroid_y`, `count`) with its `.json`
//! last. The built-in labeler is [`keywords::KeywordsLabeler`] (class-based
//! TF-IDF, offline); LLM labelers implement the same trait.

pub mod keywords;
mod stopwords;

use std::collections::BTreeMap;
use std::time::Instant;

pub use async_trait::async_trait;
use futures::StreamExt;
use latentscope_io::{json, table};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cluster::{ClusterLabelRow, default_label_rows, label_rows_batch};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::ids::{ClusterId, LabelsId, NumberedId};
use crate::meta::LATENTSCOPE_VERSION;
use crate::progress::{Progress, check};

/// What a labeler sees of one cluster.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterSample<'a> {
    /// The cluster's number in the clustering.
    pub cluster: i64,
    /// Every row of the cluster (input row indices, ascending).
    pub rows: &'a [u64],
    /// The texts of a sample of those rows (all of them for small clusters),
    /// for labelers that read text (an LLM prompt).
    pub texts: Vec<String>,
    /// Context the user gave about the dataset ("PyPI package summaries").
    pub context: &'a str,
}

/// A labeler's answer for one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClusterLabel {
    /// A short label (a few words).
    pub label: String,
    /// A longer description.
    pub description: String,
}

impl ClusterLabel {
    /// A label and its description.
    pub fn new(label: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            description: description.into(),
        }
    }
}

/// What went wrong labelling a cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// The labeler's backend failed (network, model, …).
    #[error("{backend}: {message}")]
    Backend {
        /// The backend.
        backend: String,
        /// What failed.
        message: String,
    },
}

/// Names clusters. Async because most labelers are network calls.
#[async_trait]
pub trait Labeler: Send + Sync {
    /// The labeler's name as recorded (`keywords`, `openai:gpt-4o-mini`).
    fn name(&self) -> &str;
    /// The parameters that fix its answers (recorded; a run with equal
    /// parameters resumes an unfinished one).
    fn params(&self) -> Map<String, Value> {
        Map::new()
    }
    /// Whether [`ClusterSample::texts`] is used (a labeler fitted on the
    /// dataset, like the keywords one, says no and the texts are not read).
    fn reads_texts(&self) -> bool {
        true
    }
    /// Labels one cluster.
    async fn label(&self, cluster: &ClusterSample<'_>) -> Result<ClusterLabel, LabelError>;
}

/// Options of the label step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LabelOptions {
    /// Rows of each cluster whose texts the labeler gets.
    pub samples: usize,
    /// Labels in flight at once.
    pub concurrency: usize,
    /// Context about the dataset, passed to the labeler.
    pub context: String,
}

impl Default for LabelOptions {
    fn default() -> Self {
        Self {
            samples: 20,
            concurrency: 4,
            context: String::new(),
        }
    }
}

/// The record of a labelling, `clusters/cluster-NNN-labels-MMM.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LabelsMeta {
    /// The id.
    pub id: LabelsId,
    /// The clustering labelled.
    pub cluster_id: ClusterId,
    /// The labeler.
    pub labeler: String,
    /// Its parameters, and the step's.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Clusters labelled (the unclustered one included).
    pub n_labels: u64,
    /// Labels taken from an interrupted run.
    #[serde(default)]
    pub resumed_labels: u64,
    /// Seconds for the whole step.
    pub seconds: f64,
    /// The latentscope version that made it.
    pub latentscope_version: String,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// Fields we do not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LabelParams {
    step: String,
    cluster_id: ClusterId,
    labeler: String,
    labeler_params: Map<String, Value>,
    samples: usize,
    context: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    labels: BTreeMap<i64, ClusterLabel>,
}

/// Seconds between checkpoints of finished labels.
const CHECKPOINT_SECONDS: f64 = 2.0;

impl Dataset {
    /// The rows of a labels file (default or numbered).
    pub fn read_labels(&self, id: LabelsId) -> Result<Vec<ClusterLabelRow>> {
        let key = self.key(&format!("{}/{id}.parquet", ClusterId::FOLDER));
        if !self.store().exists(&key)? {
            return Err(Error::ArtifactNotFound {
                dataset: self.id().to_string(),
                id: id.to_string(),
                available: self
                    .labels_ids(id.cluster())?
                    .iter()
                    .map(|l| l.to_string())
                    .collect(),
            });
        }
        let batch = table::read_table(self.store().as_ref(), &key, None)?;
        crate::cluster::label_rows_from_batch(&batch, &key)
    }

    /// The labels of a clustering: its default labels and every finished
    /// numbered labelling.
    pub fn labels_ids(&self, cluster: ClusterId) -> Result<Vec<LabelsId>> {
        let prefix = format!("{cluster}-labels-");
        let mut ids: Vec<LabelsId> = Vec::new();
        let names: Vec<String> = self
            .store()
            .list(&self.key(ClusterId::FOLDER))?
            .into_iter()
            .map(|e| e.name)
            .collect();
        for name in &names {
            if !name.starts_with(&prefix) {
                continue;
            }
            if let Some(stem) = name.strip_suffix(".parquet")
                && let Ok(id) = stem.parse::<LabelsId>()
                && (id.number().is_none() || names.contains(&format!("{stem}.json")))
            {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The record of a numbered labelling.
    pub fn labels_meta(&self, id: LabelsId) -> Result<LabelsMeta> {
        Ok(json::read_json(
            self.store().as_ref(),
            &self.key(&format!("{}/{id}.json", ClusterId::FOLDER)),
        )?)
    }

    /// Runs the label step: `labeler` names every cluster of `cluster` (the
    /// unclustered one keeps "Unclustered"), written as a new labels
    /// artifact; an unfinished run with the same parameters is resumed.
    pub async fn label(
        &self,
        cluster: ClusterId,
        labeler: &dyn Labeler,
        options: &LabelOptions,
        progress: &dyn Progress,
    ) -> Result<LabelsId> {
        let started = Instant::now();
        let meta = self.cluster_meta(cluster)?;
        let layout = self.read_umap(meta.umap_id)?;
        let (final_labels, raw) = self.read_cluster(cluster)?;
        let mut rows =
            default_label_rows(&raw, &final_labels, meta.unclustered_cluster, &layout.xy);
        if rows.iter().all(|r| r.indices.is_empty()) {
            return Err(Error::InvalidInput {
                source_name: cluster.to_string(),
                message: "the clustering has no clusters to label".into(),
            });
        }
        let params = LabelParams {
            step: "label".into(),
            cluster_id: cluster,
            labeler: labeler.name().to_string(),
            labeler_params: labeler.params(),
            samples: options.samples,
            context: options.context.clone(),
        };
        let (id, _lock) = self.claim_labels(cluster, &params)?;
        let folder = ClusterId::FOLDER;
        let store = self.store().as_ref();
        let checkpoint_key = self.key(&format!("{folder}/.{id}.checkpoint.json"));
        let mut done: Checkpoint = if store.exists(&checkpoint_key)? {
            json::read_json(store, &checkpoint_key).unwrap_or_default()
        } else {
            Checkpoint::default()
        };
        let resumed = done.labels.len() as u64;
        let texts = if labeler.reads_texts() {
            self.texts()?.0
        } else {
            Vec::new()
        };
        let total = rows.len() as u64;
        check(progress, "label", resumed, Some(total))?;
        let todo: Vec<(i64, Vec<u64>)> = rows
            .iter()
            .enumerate()
            .filter(|(c, _)| Some(*c as i64) != meta.unclustered_cluster)
            .filter(|(c, _)| !done.labels.contains_key(&(*c as i64)))
            .map(|(c, r)| (c as i64, r.indices.iter().map(|&i| i as u64).collect()))
            .collect();
        let context = options.context.as_str();
        let jobs = todo.iter().map(|(c, members)| {
            let sample = if texts.is_empty() {
                Vec::new()
            } else {
                sample_rows(members, options.samples)
                    .map(|i| texts[i as usize].clone())
                    .collect()
            };
            let cs = ClusterSample {
                cluster: *c,
                rows: members,
                texts: sample,
                context,
            };
            async move { (cs.cluster, labeler.label(&cs).await) }
        });
        let mut results = futures::stream::iter(jobs).buffer_unordered(options.concurrency.max(1));
        let mut last_checkpoint = Instant::now();
        let mut failure = None;
        while let Some((c, result)) = results.next().await {
            match result {
                Ok(label) => {
                    done.labels.insert(c, label);
                }
                Err(e) => {
                    failure = Some(Error::InvalidInput {
                        source_name: format!("labeler {}", labeler.name()),
                        message: format!("cluster {c}: {e}"),
                    });
                    break;
                }
            }
            let cancelled =
                check(progress, "label", done.labels.len() as u64, Some(total)).is_err();
            if cancelled || last_checkpoint.elapsed().as_secs_f64() >= CHECKPOINT_SECONDS {
                json::write_json(store, &checkpoint_key, &done)?;
                last_checkpoint = Instant::now();
            }
            if cancelled {
                return Err(Error::Cancelled);
            }
        }
        drop(results);
        if let Some(e) = failure {
            json::write_json(store, &checkpoint_key, &done)?;
            return Err(e);
        }
        for (c, row) in rows.iter_mut().enumerate() {
            if let Some(l) = done.labels.get(&(c as i64)) {
                row.label = l.label.clone();
                row.description = l.description.clone();
            }
        }
        table::write_batch(
            store,
            &self.key(&format!("{folder}/{id}.parquet")),
            &label_rows_batch(&rows)?,
        )?;
        let mut all_params = labeler.params();
        all_params.insert("samples".into(), options.samples.into());
        all_params.insert("context".into(), options.context.clone().into());
        let record = LabelsMeta {
            id,
            cluster_id: cluster,
            labeler: labeler.name().to_string(),
            params: all_params,
            n_labels: rows.len() as u64,
            resumed_labels: resumed,
            seconds: started.elapsed().as_secs_f64(),
            latentscope_version: LATENTSCOPE_VERSION.to_string(),
            created_at: crate::time::now_rfc3339(),
            extra: Map::new(),
        };
        json::write_json(store, &self.key(&format!("{folder}/{id}.json")), &record)?;
        let _ = store.delete(&checkpoint_key);
        Ok(id)
    }

    /// Resumes an unfinished labelling with equal parameters or claims the
    /// next number; returns it with the dataset's lock held for the run.
    fn claim_labels(
        &self,
        cluster: ClusterId,
        params: &LabelParams,
    ) -> Result<(LabelsId, latentscope_io::WriterLock)> {
        let lock = self.lock()?;
        let folder = self.key(ClusterId::FOLDER);
        let store = self.store().as_ref();
        let finished = self.labels_ids(cluster)?;
        let prefix = format!("{cluster}-labels-");
        let mut highest = 0;
        let mut unfinished = Vec::new();
        for e in store.list(&folder)? {
            let name = e.name.trim_start_matches('.');
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            let Ok(n) = digits.parse::<u32>() else {
                continue;
            };
            highest = highest.max(n);
            let id = LabelsId::new(cluster, n);
            if e.name.ends_with(".claim") && !finished.contains(&id) {
                unfinished.push(id);
            }
        }
        for id in unfinished {
            let body = store.get(&format!("{folder}/.{id}.claim"))?;
            if serde_json::from_slice::<LabelParams>(&body).ok().as_ref() == Some(params) {
                return Ok((id, lock));
            }
        }
        let body = json::to_json_bytes(&folder, params)?;
        let mut n = highest + 1;
        loop {
            let id = LabelsId::new(cluster, n);
            match store.put_if_absent(&format!("{folder}/.{id}.claim"), &body) {
                Ok(()) => return Ok((id, lock)),
                Err(latentscope_io::Error::AlreadyExists { .. }) => n += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Up to `n` rows spread evenly over the cluster (deterministic).
fn sample_rows(rows: &[u64], n: usize) -> impl Iterator<Item = u64> + '_ {
    let take = n.min(rows.len());
    (0..take).map(move |k| rows[k * rows.len() / take.max(1)])
}
