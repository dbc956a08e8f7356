//! Curation: a new labels artifact derived from an existing one with some
//! labels or descriptions changed, and a new scope derived from an existing
//! one with rows moved to another cluster or marked deleted. Artifacts are
//! never edited in place: each curation writes new ones, and the scope's
//! `scopes-NNN-transactions.json` lists the edits that made it.

use std::time::Instant;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_schema::DataType;
use latentscope_io::table;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::ScopeParts;
use super::driver::Curated;
use crate::cluster::artifact::label_rows_batch;
use crate::dataset::{Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{LabelsId, NumberedId, RowIndex, ScopeId};
use crate::label::LabelsMeta;
use crate::meta::LATENTSCOPE_VERSION;

/// A cluster's new label or description (what is absent stays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelEdit {
    /// The cluster (its row in the labels).
    pub cluster: u32,
    /// The new short label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Rows moved to another cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowMove {
    /// The rows.
    pub indices: Vec<RowIndex>,
    /// The cluster they now belong to.
    pub cluster: u32,
}

/// Everything one curation of a scope changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScopeEdits {
    /// Labels and descriptions changed (a new labels artifact).
    #[serde(default)]
    pub labels: Vec<LabelEdit>,
    /// Rows moved to another cluster.
    #[serde(default)]
    pub moves: Vec<RowMove>,
    /// Rows marked deleted.
    #[serde(default)]
    pub deleted: Vec<RowIndex>,
    /// Rows no longer deleted.
    #[serde(default)]
    pub restored: Vec<RowIndex>,
    /// The new scope's name (default: the old one's, "(curated)").
    #[serde(default)]
    pub label: Option<String>,
    /// The new scope's description (default: the old one's).
    #[serde(default)]
    pub description: Option<String>,
}

/// What a curation wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Curation {
    /// The new scope.
    pub scope: ScopeId,
    /// The new labels artifact, when labels changed.
    pub labels: Option<LabelsId>,
}

/// An integer column of a scope as i64 (the Python tool writes int64; a
/// file from elsewhere may hold int32).
fn i64_column(batch: &arrow_array::RecordBatch, name: &str, key: &str) -> Result<Vec<i64>> {
    let column = batch.column_by_name(name).ok_or_else(|| Error::Mismatch {
        message: format!("{key} has no column {name:?}"),
    })?;
    match column.data_type() {
        DataType::Int64 => Ok(column
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.unwrap_or(-1))
            .collect()),
        DataType::Int32 => Ok(column
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map_or(-1, i64::from))
            .collect()),
        other => Err(Error::Mismatch {
            message: format!("{key}: column {name:?} has type {other}, expected integers"),
        }),
    }
}

impl Dataset {
    /// A new labels artifact of the same clustering as `from`, with the
    /// labels and descriptions of `edits` changed (the rest, hulls and
    /// members included, copied).
    pub fn derive_labels(&self, from: LabelsId, edits: &[LabelEdit]) -> Result<LabelsId> {
        let started = Instant::now();
        let mut rows = self.read_labels(from)?;
        for e in edits {
            let n = rows.len();
            let row = rows.get_mut(e.cluster as usize).ok_or_else(|| {
                Error::invalid_parameter(
                    "cluster",
                    e.cluster,
                    format!("{from} has clusters 0–{}", n.saturating_sub(1)),
                )
            })?;
            if let Some(label) = &e.label {
                row.label = label.clone();
            }
            if let Some(description) = &e.description {
                row.description = description.clone();
            }
        }
        let cluster = from.cluster();
        let params = json!({"step": "curate-labels", "from": from.to_string(), "edits": edits});
        let artifact = self.begin_labels(
            cluster,
            &RunSpec::new("label", &params)
                .reading([from.to_string()])
                .fresh(),
        )?;
        let id = artifact.id();
        table::write_batch(
            self.store().as_ref(),
            &artifact.key(".parquet"),
            &label_rows_batch(&rows)?,
        )?;
        let mut recorded = Map::new();
        recorded.insert("derived_from".into(), Value::String(from.to_string()));
        recorded.insert(
            "edits".into(),
            serde_json::to_value(edits).unwrap_or(Value::Null),
        );
        let record = LabelsMeta {
            id,
            cluster_id: cluster,
            labeler: "curated".into(),
            params: recorded,
            n_labels: rows.len() as u64,
            resumed_labels: 0,
            seconds: started.elapsed().as_secs_f64(),
            latentscope_version: LATENTSCOPE_VERSION.to_string(),
            created_at: crate::time::now_rfc3339(),
            extra: Map::new(),
        };
        artifact.commit(&record)
    }

    /// A new scope derived from `from` with `edits` applied: labels changed
    /// (through a new labels artifact), rows moved, deleted or restored. The
    /// new scope's transactions file lists the edits after `from`'s own.
    pub fn curate_scope(&self, from: ScopeId, edits: &ScopeEdits) -> Result<Curation> {
        let meta = self.scope_meta(from)?;
        let from_labels = LabelsId::parse_for(meta.cluster_id, &meta.cluster_labels_id)?;
        let n_labels = self.read_labels(from_labels)?.len() as u32;
        let key = self.key(&format!("{}/{from}.parquet", ScopeId::FOLDER));
        let batch = table::read_table(self.store().as_ref(), &key, None)?;
        let mut clusters = i64_column(&batch, "cluster", &key)?;
        let mut deleted: Vec<bool> = match batch.column_by_name("deleted") {
            Some(c) if c.data_type() == &DataType::Boolean => {
                c.as_boolean().iter().map(|v| v.unwrap_or(false)).collect()
            }
            _ => vec![false; clusters.len()],
        };
        let n = clusters.len() as u64;
        let check_rows = |what: &str, rows: &[RowIndex]| -> Result<()> {
            match rows.iter().find(|&&r| r >= n) {
                Some(r) => Err(Error::invalid_parameter(
                    what,
                    r,
                    format!("{from} has {n} rows"),
                )),
                None => Ok(()),
            }
        };
        let now = crate::time::now_rfc3339();
        let mut transactions: Vec<Value> = self
            .store()
            .get(&self.key(&format!("{}/{from}-transactions.json", ScopeId::FOLDER)))
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<Value>>(&b).ok())
            .unwrap_or_default();
        for m in &edits.moves {
            check_rows("moves.indices", &m.indices)?;
            if m.cluster >= n_labels {
                return Err(Error::invalid_parameter(
                    "moves.cluster",
                    m.cluster,
                    format!(
                        "{from_labels} has clusters 0–{}",
                        n_labels.saturating_sub(1)
                    ),
                ));
            }
            for &r in &m.indices {
                clusters[r as usize] = i64::from(m.cluster);
            }
            transactions.push(json!({"action": "move", "indices": m.indices, "cluster": m.cluster, "timestamp": now}));
        }
        check_rows("deleted", &edits.deleted)?;
        check_rows("restored", &edits.restored)?;
        for &r in &edits.deleted {
            deleted[r as usize] = true;
        }
        for &r in &edits.restored {
            deleted[r as usize] = false;
        }
        if !edits.deleted.is_empty() {
            transactions
                .push(json!({"action": "delete", "indices": edits.deleted, "timestamp": now}));
        }
        if !edits.restored.is_empty() {
            transactions
                .push(json!({"action": "restore", "indices": edits.restored, "timestamp": now}));
        }
        let labels = if edits.labels.is_empty() {
            None
        } else {
            let id = self.derive_labels(from_labels, &edits.labels)?;
            transactions.push(json!({"action": "relabel", "labels": id.to_string(), "edits": edits.labels, "timestamp": now}));
            Some(id)
        };
        let parts = ScopeParts::new(
            meta.embedding_id,
            meta.umap_id,
            meta.cluster_id,
            labels.unwrap_or(from_labels),
        );
        let label = edits
            .label
            .clone()
            .unwrap_or_else(|| format!("{} (curated)", meta.label.trim_end_matches(" (curated)")));
        let description = edits.description.clone().unwrap_or(meta.description);
        let scope = self.write_scope(
            &parts,
            &label,
            &description,
            Some(Curated {
                clusters,
                deleted,
                transactions: Value::Array(transactions),
                derived_from: from,
            }),
        )?;
        Ok(Curation { scope, labels })
    }
}
