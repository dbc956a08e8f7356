//! The label step's driver: samples each cluster's rows, asks the
//! [`Labeler`](super::Labeler), checkpoints and resumes, and writes the labels.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use latentscope_io::table;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ClusterLabel, ClusterSample, LabelOptions, Labeler, LabelsMeta};
use crate::cluster::ClusterAssignment;
use crate::cluster::artifact::{default_label_rows, label_rows_batch};
use crate::dataset::{Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{ClusterId, LabelsId};
use crate::meta::LATENTSCOPE_VERSION;
use crate::progress::{Progress, check};

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
        let ClusterAssignment {
            clusters: final_labels,
            raw,
        } = self.read_cluster(cluster)?;
        let mut rows =
            default_label_rows(&raw, &final_labels, meta.unclustered_cluster, &layout.xy);
        if rows.iter().all(|r| r.indices.is_empty()) {
            return Err(Error::invalid_parameter(
                "cluster_id",
                cluster,
                "the clustering has no clusters to label",
            ));
        }
        let params = LabelParams {
            step: "label".into(),
            cluster_id: cluster,
            labeler: labeler.name().to_string(),
            labeler_params: labeler.params(),
            samples: options.samples,
            context: options.context.clone(),
        };
        let artifact =
            self.begin_labels(cluster, &RunSpec::new("label", &params).reading([cluster]))?;
        let id = artifact.id();
        let store = self.store().as_ref();
        let mut done: Checkpoint = artifact.load_checkpoint().unwrap_or_default();
        let resumed = done.labels.len() as u64;
        let texts = if labeler.reads_texts() {
            self.texts()?.texts
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
                    failure = Some(Error::Backend {
                        backend: format!("labeler {}", labeler.name()),
                        message: format!("cluster {c}: {e}"),
                    });
                    break;
                }
            }
            let cancelled =
                check(progress, "label", done.labels.len() as u64, Some(total)).is_err();
            if cancelled || last_checkpoint.elapsed().as_secs_f64() >= CHECKPOINT_SECONDS {
                artifact.save_checkpoint(&done)?;
                last_checkpoint = Instant::now();
            }
            if cancelled {
                return Err(Error::Cancelled);
            }
        }
        drop(results);
        if let Some(e) = failure {
            artifact.save_checkpoint(&done)?;
            return Err(e);
        }
        for (c, row) in rows.iter_mut().enumerate() {
            if let Some(l) = done.labels.get(&(c as i64)) {
                row.label = l.label.clone();
                row.description = l.description.clone();
            }
        }
        table::write_batch(store, &artifact.key(".parquet"), &label_rows_batch(&rows)?)?;
        let mut all_params = labeler.params();
        all_params.extend(crate::params_map(options));
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
        artifact.commit(&record)
    }
}

/// Up to `n` rows spread evenly over the cluster (deterministic).
fn sample_rows(rows: &[u64], n: usize) -> impl Iterator<Item = u64> + '_ {
    let take = n.min(rows.len());
    (0..take).map(move |k| rows[k * rows.len() / take.max(1)])
}
