//! The label step's driver: samples each cluster's rows, asks the
//! [`Labeler`](super::Labeler), checkpoints and resumes, and writes the labels.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use latentscope_io::{json, table};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ClusterLabel, ClusterSample, LabelOptions, Labeler, LabelsMeta};
use crate::cluster::artifact::{default_label_rows, label_rows_batch};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::ids::{ClusterId, LabelsId, NumberedId};
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
