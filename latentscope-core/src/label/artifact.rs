//! The labels artifact's files: `cluster-NNN-labels-MMM.parquet` and its
//! `.json`, read back.

use latentscope_io::{json, table};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cluster::ClusterLabelRow;
use crate::cluster::artifact::label_rows_from_batch;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::ids::{ClusterId, LabelsId, NumberedId};

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
        let rows = label_rows_from_batch(&batch, &key)?;
        let n = self.rows();
        for (i, r) in rows.iter().enumerate() {
            for (column, values) in [("indices", &r.indices), ("hull", &r.hull)] {
                if let Some(&bad) = values.iter().find(|&&v| v < 0 || v as u64 >= n) {
                    return Err(Error::BadInput {
                        file: key.clone(),
                        row: Some(i as u64),
                        column: Some(column.to_string()),
                        message: format!("row index {bad} is outside the dataset's 0..{n}"),
                    });
                }
            }
        }
        Ok(rows)
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
}
