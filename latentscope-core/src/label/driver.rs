//! The label step's driver: samples each cluster's rows, asks the
//! [`Labeler`](super::Labeler), checkpoints and resumes, and writes the labels.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use latentscope_io::table;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::exemplars::{corpus_mean, exemplars};
use super::keywords::KeywordsLabeler;
use super::{ClusterLabel, ClusterSample, LabelOptions, Labeler, Labelled, LabelsMeta};
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
    /// Clusters that kept their keyword label, with the labeler's error.
    #[serde(default)]
    fallbacks: BTreeMap<i64, String>,
    /// Whether the second pass ([`Labeler::distinguish`]) has run.
    #[serde(default)]
    distinguished: bool,
    /// Clusters the second pass renamed.
    #[serde(default)]
    renamed: Vec<i64>,
    /// Why the second pass left the labels as they were, if it failed.
    #[serde(default)]
    distinguish_error: Option<String>,
}

/// Keywords put in each cluster's sample.
const SAMPLE_KEYWORDS: usize = 10;

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
        let (meta, mut rows) = self.clusters_to_label(cluster)?;
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
        let reads = labeler.reads_texts();
        let total = rows.len() as u64;
        check(progress, "label", resumed, Some(total))?;
        let inputs = self.label_inputs(&meta, &rows, reads)?;
        let samples = inputs.samples(options);
        let todo: Vec<&ClusterSample<'_>> = samples
            .iter()
            .filter(|cs| !done.labels.contains_key(&cs.cluster))
            .collect();
        let jobs = todo
            .into_iter()
            .map(|cs| async move { (cs, labeler.label(cs).await) });
        let concurrency = options
            .concurrency
            .min(labeler.concurrency().unwrap_or(usize::MAX))
            .max(1);
        let mut results = futures::stream::iter(jobs).buffer_unordered(concurrency);
        let mut last_checkpoint = Instant::now();
        let mut failure = None;
        while let Some((cs, result)) = results.next().await {
            let c = cs.cluster;
            match (result, &inputs.keywords) {
                (Ok(label), _) => {
                    done.labels.insert(c, label);
                }
                // A cluster the labeler cannot name keeps its keywords.
                (Err(e), Some(k)) => {
                    done.labels.insert(c, k.label_rows(cs.rows));
                    done.fallbacks.insert(c, e.to_string());
                }
                (Err(e), None) => {
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
        if reads && !done.distinguished {
            artifact.save_checkpoint(&done)?;
            self.distinguish(labeler, &samples, &mut done).await;
            artifact.save_checkpoint(&done)?;
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
            extra: record_extra(labeler, &done),
        };
        artifact.commit(&record)
    }

    /// The second pass: the labeler renames clusters whose first labels
    /// collide; an answer that cannot be used keeps the first labels.
    async fn distinguish(
        &self,
        labeler: &dyn Labeler,
        samples: &[ClusterSample<'_>],
        done: &mut Checkpoint,
    ) {
        let labelled: Vec<Labelled<'_>> = samples
            .iter()
            .filter_map(|s| {
                Some(Labelled {
                    sample: s,
                    label: done.labels.get(&s.cluster)?.clone(),
                })
            })
            .collect();
        match labeler.distinguish(&labelled).await {
            Ok(labels) if labels.len() == labelled.len() => {
                for (l, new) in labelled.iter().zip(labels) {
                    if new != l.label {
                        done.renamed.push(l.sample.cluster);
                        done.labels.insert(l.sample.cluster, new);
                    }
                }
            }
            Ok(labels) => {
                done.distinguish_error = Some(format!(
                    "{} labels returned for {} clusters",
                    labels.len(),
                    labelled.len()
                ));
            }
            Err(e) => done.distinguish_error = Some(e.to_string()),
        }
        done.distinguished = true;
    }

    /// The clustering's embedding (if it can be read and matches the rows)
    /// and its mean, for choosing exemplars.
    fn exemplar_vectors(
        &self,
        umap: crate::ids::UmapId,
        rows: usize,
    ) -> Option<(latentscope_io::Matrix, Vec<f32>)> {
        let embedding = self.umap_meta(umap).ok()?.embedding_id?;
        let vectors = self.read_embedding(embedding).ok()?;
        if vectors.rows != rows || vectors.cols == 0 {
            return None;
        }
        let mean = corpus_mean(&vectors);
        Some((vectors, mean))
    }
}

/// What the driver prepares for a labeler that reads texts: the texts,
/// the fitted keywords (prompt and fallback), the embedding for exemplars,
/// and every cluster's rows (the unclustered one aside).
struct LabelInputs {
    reads: bool,
    texts: Vec<String>,
    keywords: Option<KeywordsLabeler>,
    vectors: Option<(latentscope_io::Matrix, Vec<f32>)>,
    members: Vec<(i64, Vec<u64>)>,
}

impl LabelInputs {
    /// Each cluster's sample: exemplars in embedding space where the
    /// embedding is here (else rows spaced evenly), and its keywords.
    fn samples<'a>(&'a self, options: &'a LabelOptions) -> Vec<ClusterSample<'a>> {
        self.members
            .iter()
            .map(|(c, members)| {
                let picked: Vec<u64> = match (&self.vectors, self.reads) {
                    (_, false) => Vec::new(),
                    (Some((m, mean)), true) => {
                        exemplars(m, mean, members, &self.texts, options.samples)
                    }
                    (None, true) => sample_rows(members, options.samples).collect(),
                };
                ClusterSample {
                    cluster: *c,
                    rows: members,
                    texts: picked
                        .iter()
                        .map(|&i| self.texts[i as usize].clone())
                        .collect(),
                    context: &options.context,
                    keywords: self
                        .keywords
                        .as_ref()
                        .map(|k| k.keywords(members, SAMPLE_KEYWORDS))
                        .unwrap_or_default(),
                }
            })
            .collect()
    }
}

/// What labelling a clustering would send, without sending it
/// ([`Dataset::label_estimate`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LabelEstimate {
    /// Clusters to label (the unclustered one aside).
    pub clusters: u64,
    /// Requests of the first pass (the second pass asks once more per
    /// group of colliding labels, not known before).
    pub requests: u64,
    /// Prompt tokens, summed.
    pub prompt_tokens: u64,
    /// Answer tokens at most, summed.
    pub max_answer_tokens: u64,
}

impl Dataset {
    /// What [`label`](Self::label) would send with `labeler` (whose
    /// [`Labeler::estimate`] prices one cluster), without sending anything.
    pub fn label_estimate(
        &self,
        cluster: ClusterId,
        labeler: &dyn Labeler,
        options: &LabelOptions,
    ) -> Result<LabelEstimate> {
        let (meta, rows) = self.clusters_to_label(cluster)?;
        let inputs = self.label_inputs(&meta, &rows, labeler.reads_texts())?;
        let mut estimate = LabelEstimate::default();
        for sample in inputs.samples(options) {
            estimate.clusters += 1;
            if let Some(e) = labeler.estimate(&sample) {
                estimate.requests += 1;
                estimate.prompt_tokens += e.prompt_tokens;
                estimate.max_answer_tokens += e.max_answer_tokens;
            }
        }
        Ok(estimate)
    }

    /// The clustering's record and its label rows (members, hull,
    /// centroid of each cluster); an error when it has no cluster.
    fn clusters_to_label(
        &self,
        cluster: ClusterId,
    ) -> Result<(
        crate::cluster::ClusterMeta,
        Vec<crate::cluster::ClusterLabelRow>,
    )> {
        let meta = self.cluster_meta(cluster)?;
        let layout = self.read_umap(meta.umap_id)?;
        let ClusterAssignment {
            clusters: final_labels,
            raw,
        } = self.read_cluster(cluster)?;
        let rows = default_label_rows(&raw, &final_labels, meta.unclustered_cluster, &layout.xy);
        if rows.iter().all(|r| r.indices.is_empty()) {
            return Err(Error::invalid_parameter(
                "cluster_id",
                cluster,
                "the clustering has no clusters to label",
            ));
        }
        Ok((meta, rows))
    }

    /// Reads what a labeler needs (texts, keywords and the embedding only
    /// when it reads texts).
    fn label_inputs(
        &self,
        meta: &crate::cluster::ClusterMeta,
        rows: &[crate::cluster::ClusterLabelRow],
        reads: bool,
    ) -> Result<LabelInputs> {
        let texts = if reads {
            self.texts()?.texts
        } else {
            Vec::new()
        };
        let keywords = reads.then(|| KeywordsLabeler::fit(&texts));
        let vectors = if reads {
            self.exemplar_vectors(meta.umap_id, texts.len())
        } else {
            None
        };
        let members = rows
            .iter()
            .enumerate()
            .filter(|(c, _)| Some(*c as i64) != meta.unclustered_cluster)
            .map(|(c, r)| (c as i64, r.indices.iter().map(|&i| i as u64).collect()))
            .collect();
        Ok(LabelInputs {
            reads,
            texts,
            keywords,
            vectors,
            members,
        })
    }
}

/// What the labels' `.json` records beyond the parameters: the labeler's
/// usage, the clusters that fell back to keywords (with the error) and
/// the ones the second pass renamed.
fn record_extra(labeler: &dyn Labeler, done: &Checkpoint) -> Map<String, Value> {
    let mut extra = Map::new();
    let usage = labeler.usage();
    if !usage.is_empty() {
        extra.insert("usage".into(), usage.into());
    }
    if labeler.reads_texts() {
        let fallbacks: Vec<Value> = done
            .fallbacks
            .iter()
            .map(|(c, e)| serde_json::json!({"cluster": c, "error": e}))
            .collect();
        extra.insert("fallbacks".into(), fallbacks.into());
        extra.insert("renamed".into(), done.renamed.clone().into());
        if let Some(e) = &done.distinguish_error {
            extra.insert("distinguish_error".into(), e.clone().into());
        }
    }
    extra
}

/// Up to `n` rows spread evenly over the cluster (deterministic).
fn sample_rows(rows: &[u64], n: usize) -> impl Iterator<Item = u64> + '_ {
    let take = n.min(rows.len());
    (0..take).map(move |k| rows[k * rows.len() / take.max(1)])
}
