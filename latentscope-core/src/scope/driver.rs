//! The scope step's driver: checks that the four parts belong together and
//! writes the scope's files.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float32Array, Int64Array, RecordBatch, StringArray};
use latentscope_io::table;
use serde_json::{Map, Value, json};

use super::ScopeParts;
use super::artifact::{ScopeLabel, ScopeMeta, json_of, tile_index};
use crate::cluster::ClusterAssignment;
use crate::dataset::{Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{ClusterId, EmbeddingId, NumberedId, ScopeId, UmapId};
use crate::meta::{LATENTSCOPE_VERSION, PYTHON_FORMAT_VERSION};

/// What a scope derived by curation carries instead of its clustering's
/// assignment.
#[derive(Debug, Clone)]
pub(crate) struct Curated {
    /// Each row's cluster.
    pub(crate) clusters: Vec<i64>,
    /// Each row's deleted flag.
    pub(crate) deleted: Vec<bool>,
    /// The edits, as `scopes-NNN-transactions.json` lists them.
    pub(crate) transactions: Value,
    /// The scope the edits were made on.
    pub(crate) derived_from: ScopeId,
}

impl Dataset {
    /// Checks that the four ids exist and belong together: the umap was made
    /// from the embedding, the clustering from the umap, the labels from the
    /// clustering.
    pub fn check_scope_parts(&self, parts: &ScopeParts) -> Result<()> {
        self.require(parts.embedding)?;
        self.require(parts.umap)?;
        self.require(parts.cluster)?;
        let mismatch = |message: String| Error::Mismatch { message };
        let umap = self.umap_meta(parts.umap)?;
        if let Some(e) = umap.embedding_id
            && e != parts.embedding
        {
            return Err(mismatch(format!(
                "{} was made from {e}, not {}",
                parts.umap, parts.embedding
            )));
        }
        let cluster = self.cluster_meta(parts.cluster)?;
        if cluster.umap_id != parts.umap {
            return Err(mismatch(format!(
                "{} was made from {}, not {}",
                parts.cluster, cluster.umap_id, parts.umap
            )));
        }
        if parts.labels.cluster() != parts.cluster {
            return Err(mismatch(format!(
                "{} labels {}, not {}",
                parts.labels,
                parts.labels.cluster(),
                parts.cluster
            )));
        }
        let labels = self.labels_ids(parts.cluster)?;
        if !labels.contains(&parts.labels) {
            return Err(Error::ArtifactNotFound {
                dataset: self.id().to_string(),
                id: parts.labels.to_string(),
                available: labels.iter().map(|l| l.to_string()).collect(),
            });
        }
        Ok(())
    }

    /// Writes a new scope combining `parts`, named `label`.
    pub fn create_scope(
        &self,
        parts: &ScopeParts,
        label: &str,
        description: &str,
    ) -> Result<ScopeId> {
        self.write_scope(parts, label, description, None)
    }

    /// Writes a scope; `curated` carries the rows' clusters and deleted
    /// flags of a scope derived by curation, and its edits.
    pub(crate) fn write_scope(
        &self,
        parts: &ScopeParts,
        label: &str,
        description: &str,
        curated: Option<Curated>,
    ) -> Result<ScopeId> {
        self.check_scope_parts(parts)?;
        let layout = self.read_umap(parts.umap)?;
        let ClusterAssignment { clusters, raw } = self.read_cluster(parts.cluster)?;
        let n_rows = clusters.len();
        let (clusters, deleted, transactions, derived_from) = match curated {
            Some(c) if c.clusters.len() == n_rows && c.deleted.len() == n_rows => {
                (c.clusters, c.deleted, c.transactions, Some(c.derived_from))
            }
            Some(c) => {
                return Err(Error::Mismatch {
                    message: format!(
                        "curating {}: {} clusters and {} deleted flags for {n_rows} rows",
                        c.derived_from,
                        c.clusters.len(),
                        c.deleted.len()
                    ),
                });
            }
            None => (
                clusters,
                vec![false; n_rows],
                Value::Array(Vec::new()),
                None,
            ),
        };
        let label_rows = self.read_labels(parts.labels)?;
        let n = self.rows() as usize;
        if layout.len() != n || clusters.len() != n {
            return Err(Error::Mismatch {
                message: format!(
                    "{} has {} points and {} {} labels for the {n} rows of dataset {:?}",
                    parts.umap,
                    layout.len(),
                    parts.cluster,
                    clusters.len(),
                    self.id()
                ),
            });
        }
        let names: Vec<&str> = label_rows.iter().map(|r| r.label.as_str()).collect();
        let label_of = |c: i64| names.get(c as usize).copied().unwrap_or("");
        let xs: Vec<f32> = layout.xy.iter().step_by(2).copied().collect();
        let ys: Vec<f32> = layout.xy.iter().skip(1).step_by(2).copied().collect();
        let point_columns = |with_index: bool| -> Vec<(String, ArrayRef)> {
            let mut cols: Vec<(String, ArrayRef)> = vec![
                ("x".into(), Arc::new(Float32Array::from(xs.clone()))),
                ("y".into(), Arc::new(Float32Array::from(ys.clone()))),
                (
                    "tile_index_64".into(),
                    Arc::new(Int64Array::from_iter_values(
                        xs.iter().zip(&ys).map(|(&x, &y)| tile_index(x, y, 64)),
                    )),
                ),
                (
                    "tile_index_128".into(),
                    Arc::new(Int64Array::from_iter_values(
                        xs.iter().zip(&ys).map(|(&x, &y)| tile_index(x, y, 128)),
                    )),
                ),
                (
                    "cluster".into(),
                    Arc::new(Int64Array::from(clusters.clone())),
                ),
                (
                    "raw_cluster".into(),
                    Arc::new(Int64Array::from(raw.clone())),
                ),
                (
                    "label".into(),
                    Arc::new(StringArray::from_iter_values(
                        clusters.iter().map(|&c| label_of(c)),
                    )),
                ),
                (
                    "deleted".into(),
                    Arc::new(BooleanArray::from(deleted.clone())),
                ),
            ];
            if with_index {
                cols.push((
                    "ls_index".into(),
                    Arc::new(Int64Array::from_iter_values(0..n as i64)),
                ));
            }
            cols
        };
        let format_error = |e| latentscope_io::Error::format("scope", e);
        let points = RecordBatch::try_from_iter(point_columns(true)).map_err(format_error)?;
        let input = self.read_input(None)?;
        let mut input_columns: Vec<(String, ArrayRef)> = vec![(
            "index".into(),
            Arc::new(Int64Array::from_iter_values(0..n as i64)),
        )];
        for (field, column) in input.schema().fields().iter().zip(input.columns()) {
            let name = field.name();
            if ![
                "index",
                "x",
                "y",
                "tile_index_64",
                "tile_index_128",
                "cluster",
                "raw_cluster",
                "label",
                "deleted",
            ]
            .contains(&name.as_str())
            {
                input_columns.push((name.clone(), column.clone()));
            }
        }
        input_columns.extend(point_columns(false));
        let with_input = RecordBatch::try_from_iter(input_columns).map_err(format_error)?;

        let claim = serde_json::json!({
            "parts": parts,
            "label": label,
            "description": description,
            "derived_from": derived_from.map(|d| d.to_string()),
        });
        let mut reads = vec![
            parts.embedding.to_string(),
            parts.umap.to_string(),
            parts.cluster.to_string(),
            parts.labels.to_string(),
        ];
        reads.extend(derived_from.map(|d| d.to_string()));
        let mut spec = RunSpec::new("scope", &claim).reading(reads);
        if derived_from.is_some() {
            // Each curation is a new scope, even when its edits repeat.
            spec = spec.fresh();
        }
        let artifact = self.begin::<ScopeId, _>(&spec)?;
        let id = artifact.id();
        let store = self.store().as_ref();
        let points_key = artifact.key(".parquet");
        table::write_batch(store, &points_key, &points)?;
        table::write_batch(store, &artifact.key("-input.parquet"), &with_input)?;
        let transactions = serde_json::to_vec_pretty(&transactions)
            .map_err(|e| Error::invalid_parameter("transactions", "edits", e.to_string()))?;
        artifact.put("-transactions.json", &transactions)?;
        let size = store.get(&points_key).map(|b| b.len()).unwrap_or(0);
        let cluster_labels_lookup = label_rows
            .iter()
            .enumerate()
            .map(|(c, r)| ScopeLabel {
                label: r.label.clone(),
                description: r.description.clone(),
                hull: r.hull.clone(),
                cluster: c as i64,
            })
            .collect();
        let labels_json = if parts.labels.number().is_some() {
            json_of(
                self,
                &format!("{}/{}.json", ClusterId::FOLDER, parts.labels),
            )
            .unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        let mut cluster_labels =
            json!({"id": parts.labels.to_string(), "cluster_id": parts.cluster.to_string()});
        if let (Value::Object(m), Value::Object(extra)) = (&mut cluster_labels, labels_json) {
            for (k, v) in extra {
                m.entry(k).or_insert(v);
            }
        }
        let record = ScopeMeta {
            ls_version: PYTHON_FORMAT_VERSION.into(),
            id,
            embedding_id: parts.embedding,
            umap_id: parts.umap,
            cluster_id: parts.cluster,
            cluster_labels_id: parts.labels.scope_form(),
            label: label.into(),
            description: description.into(),
            dataset: json_of(self, "meta.json")?,
            embedding: json_of(
                self,
                &format!("{}/{}.json", EmbeddingId::FOLDER, parts.embedding),
            )?,
            umap: json_of(self, &format!("{}/{}.json", UmapId::FOLDER, parts.umap))?,
            cluster: json_of(
                self,
                &format!("{}/{}.json", ClusterId::FOLDER, parts.cluster),
            )?,
            granularity: Some("rows".into()),
            cluster_labels,
            cluster_labels_lookup,
            rows: n as u64,
            columns: points
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
            dimensions: Some(2),
            size: Some(size as u64),
            timestamp: Some(crate::time::now_python()),
            latentscope_version: Some(LATENTSCOPE_VERSION.into()),
            created_at: Some(crate::time::now_rfc3339()),
            extra: derived_from
                .map(|d| {
                    let mut m = Map::new();
                    m.insert("derived_from".into(), Value::String(d.to_string()));
                    m
                })
                .unwrap_or_default(),
        };
        artifact.commit(&record)
    }
}
