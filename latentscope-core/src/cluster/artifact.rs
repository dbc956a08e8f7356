//! The clustering artifact's files: `cluster-NNN.parquet`, the default labels
//! (`cluster-NNN-labels-default.parquet`) and `cluster-NNN.json`, read and written.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::{Int64Builder, ListBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray};
use latentscope_io::table;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dataset::{ArtifactRun, Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::hull::convex_hull;
use crate::ids::{ClusterId, ClusterIndex, NumberedId, UmapId};
use crate::meta::LATENTSCOPE_VERSION;
use crate::thumbnail;

/// The record of a clustering, `clusters/cluster-NNN.json`. Field names
/// follow the Python latent-scope; ours add the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClusterMeta {
    /// The id.
    pub id: ClusterId,
    /// The layout clustered.
    pub umap_id: UmapId,
    /// `hdbscan`, …
    pub method: String,
    /// `rows` (one point per input row).
    #[serde(default = "rows")]
    pub granularity: String,
    /// `umap`: the 2-D points were clustered.
    #[serde(default = "umap")]
    pub cluster_on: String,
    /// HDBSCAN `min_cluster_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// HDBSCAN `min_samples`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_samples: Option<u64>,
    /// HDBSCAN `cluster_selection_epsilon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selection_epsilon: Option<f64>,
    /// Clusters found (noise not counted).
    pub n_clusters: u64,
    /// Points labelled noise by the algorithm.
    pub n_noise: u64,
    /// True when noise was assigned to the nearest cluster.
    #[serde(default)]
    pub assign_noise: bool,
    /// The id of the "Unclustered" cluster that holds the noise, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unclustered_cluster: Option<i64>,
    /// Every parameter of the algorithm.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// Rows clustered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Seconds spent in the algorithm (no file I/O).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_seconds: Option<f64>,
    /// Seconds for the whole step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The latentscope version that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latentscope_version: Option<String>,
    /// When it was made (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Fields we do not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

pub(super) fn rows() -> String {
    "rows".to_string()
}

pub(super) fn umap() -> String {
    "umap".to_string()
}

/// The cluster of every row of a clustering ([`Dataset::read_cluster`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterAssignment {
    /// The final cluster of each row: noise is the unclustered cluster (one
    /// past the others) or, with `assign_noise`, the nearest cluster.
    pub clusters: Vec<ClusterIndex>,
    /// HDBSCAN's cluster of each row, `-1` for noise.
    pub raw: Vec<ClusterIndex>,
}

/// One cluster's row of a labels file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClusterLabelRow {
    /// The short label.
    pub label: String,
    /// A longer description.
    pub description: String,
    /// The rows in the cluster.
    pub indices: Vec<i64>,
    /// Rows on the convex hull of the cluster's points, counter-clockwise.
    pub hull: Vec<i64>,
    /// The mean of the cluster's points.
    pub centroid: [f32; 2],
}

/// The default labels: one row per final cluster, "Cluster N" and, for the
/// unclustered one (last), "Unclustered" with no hull. Hulls use each
/// cluster's raw members (reassigned noise would stretch them).
pub(crate) fn default_label_rows(
    raw: &[i64],
    final_labels: &[i64],
    unclustered: Option<i64>,
    xy: &[f32],
) -> Vec<ClusterLabelRow> {
    let n = final_labels
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m + 1)
        .max(0) as usize;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut raw_members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, (&f, &r)) in final_labels.iter().zip(raw).enumerate() {
        members[f as usize].push(i);
        if r >= 0 {
            raw_members[r as usize].push(i);
        }
    }
    let cents = centroids(final_labels, xy, n);
    (0..n)
        .map(|c| {
            let count = members[c].len();
            let (label, description, hull) = if Some(c as i64) == unclustered {
                (
                    "Unclustered".to_string(),
                    format!("{count} noise points the clustering algorithm did not assign to any cluster."),
                    Vec::new(),
                )
            } else {
                (
                    format!("Cluster {c}"),
                    format!("This is cluster {c} with {count} items."),
                    convex_hull(xy, &raw_members[c]).into_iter().map(|i| i as i64).collect(),
                )
            };
            ClusterLabelRow {
                label,
                description,
                indices: members[c].iter().map(|&i| i as i64).collect(),
                hull,
                centroid: cents[c],
            }
        })
        .collect()
}

fn list_array(lists: impl Iterator<Item = Vec<i64>>) -> ArrayRef {
    // "element" is the item name pyarrow writes (the Python tool's files).
    let mut b = ListBuilder::new(Int64Builder::new()).with_field(Arc::new(
        arrow_schema::Field::new("element", arrow_schema::DataType::Int64, true),
    ));
    for l in lists {
        b.values().append_slice(&l);
        b.append(true);
    }
    Arc::new(b.finish())
}

/// The Arrow table of a labels file.
pub(crate) fn label_rows_batch(rows: &[ClusterLabelRow]) -> Result<RecordBatch> {
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "label",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.label.as_str()),
            )),
        ),
        (
            "description",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.description.as_str()),
            )),
        ),
        (
            "indices",
            list_array(rows.iter().map(|r| r.indices.clone())),
        ),
        ("hull", list_array(rows.iter().map(|r| r.hull.clone()))),
        (
            "centroid_x",
            Arc::new(Float32Array::from_iter_values(
                rows.iter().map(|r| r.centroid[0]),
            )),
        ),
        (
            "centroid_y",
            Arc::new(Float32Array::from_iter_values(
                rows.iter().map(|r| r.centroid[1]),
            )),
        ),
        (
            "count",
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.indices.len() as i64),
            )),
        ),
    ];
    RecordBatch::try_from_iter(columns)
        .map_err(|e| latentscope_io::Error::format("labels", e).into())
}

/// Reads the rows of a labels file (ours, or the Python tool's, which has
/// no centroid columns: those read as 0).
pub(crate) fn label_rows_from_batch(
    batch: &RecordBatch,
    source: &str,
) -> Result<Vec<ClusterLabelRow>> {
    let bad = |message: String| Error::bad_input(source, message);
    let strings = |name: &str| -> Result<Vec<String>> {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| bad(format!("no column {name:?}")))?;
        let col = arrow_cast::cast(col, &arrow_schema::DataType::Utf8)
            .map_err(|e| bad(format!("column {name:?}: {e}")))?;
        Ok(col
            .as_string::<i32>()
            .iter()
            .map(|s| s.unwrap_or("").to_string())
            .collect())
    };
    let lists = |name: &str| -> Result<Vec<Vec<i64>>> {
        let Some(col) = batch.column_by_name(name) else {
            return Ok(vec![Vec::new(); batch.num_rows()]);
        };
        let target = arrow_schema::DataType::List(Arc::new(arrow_schema::Field::new(
            "element",
            arrow_schema::DataType::Int64,
            true,
        )));
        let col =
            arrow_cast::cast(col, &target).map_err(|e| bad(format!("column {name:?}: {e}")))?;
        Ok(col
            .as_list::<i32>()
            .iter()
            .map(|l| {
                l.map(|a| a.as_primitive::<Int64Type>().iter().flatten().collect())
                    .unwrap_or_default()
            })
            .collect())
    };
    let floats = |name: &str| -> Result<Vec<f32>> {
        let Some(col) = batch.column_by_name(name) else {
            return Ok(vec![0.0; batch.num_rows()]);
        };
        let col = arrow_cast::cast(col, &arrow_schema::DataType::Float32)
            .map_err(|e| bad(format!("column {name:?}: {e}")))?;
        Ok(col
            .as_primitive::<arrow_array::types::Float32Type>()
            .iter()
            .map(|v| v.unwrap_or(0.0))
            .collect())
    };
    let (labels, descriptions) = (strings("label")?, strings("description")?);
    let (indices, hulls) = (lists("indices")?, lists("hull")?);
    let (cx, cy) = (floats("centroid_x")?, floats("centroid_y")?);
    Ok((0..batch.num_rows())
        .map(|i| ClusterLabelRow {
            label: labels[i].clone(),
            description: descriptions[i].clone(),
            indices: indices[i].clone(),
            hull: hulls[i].clone(),
            centroid: [cx[i], cy[i]],
        })
        .collect())
}

impl Dataset {
    /// The record of a clustering.
    pub fn cluster_meta(&self, id: ClusterId) -> Result<ClusterMeta> {
        self.record(id)
    }

    /// A clustering's final and raw cluster of every row, checked against
    /// its record.
    pub fn read_cluster(&self, id: ClusterId) -> Result<ClusterAssignment> {
        self.require(id)?;
        let key = self.key(&format!("{}/{id}.parquet", ClusterId::FOLDER));
        let batch = table::read_table(
            self.store().as_ref(),
            &key,
            Some(&["cluster", "raw_cluster"]),
        )?;
        let col = |i: usize| -> Result<Vec<i64>> {
            batch
                .column(i)
                .as_primitive_opt::<Int64Type>()
                .map(|a| a.values().to_vec())
                .ok_or_else(|| Error::BadInput {
                    file: key.clone(),
                    row: None,
                    column: Some(["cluster", "raw_cluster"][i].to_string()),
                    message: "must be int64".into(),
                })
        };
        let (clusters, raw) = (col(0)?, col(1)?);
        self.check_cluster_values(id, &key, &clusters, &raw)?;
        Ok(ClusterAssignment { clusters, raw })
    }

    /// Refuses a cluster file whose row count differs from the dataset's or
    /// whose values fall outside what its `.json` declares: `raw_cluster` in
    /// `-1..n_clusters`, `cluster` in `0..n_clusters` (plus the unclustered
    /// cluster when noise is kept).
    fn check_cluster_values(
        &self,
        id: ClusterId,
        key: &str,
        clusters: &[i64],
        raw: &[i64],
    ) -> Result<()> {
        let rows = self.rows();
        if clusters.len() as u64 != rows {
            return Err(Error::bad_input(
                key,
                format!("{} rows for a dataset of {rows} rows", clusters.len()),
            ));
        }
        let meta = self.cluster_meta(id)?;
        let n = i64::try_from(meta.n_clusters).unwrap_or(i64::MAX);
        let final_end = match meta.unclustered_cluster {
            Some(u) => n.max(u.saturating_add(1)),
            None => n,
        };
        let bad = |column: &str, row: usize, value: i64, range: String| Error::BadInput {
            file: key.to_string(),
            row: Some(row as u64),
            column: Some(column.to_string()),
            message: format!("{value} is outside {range} (n_clusters {n} in {id}.json)"),
        };
        if let Some(row) = raw.iter().position(|&r| r < -1 || r >= n) {
            return Err(bad("raw_cluster", row, raw[row], format!("-1..{n}")));
        }
        if let Some(row) = clusters.iter().position(|&c| c < 0 || c >= final_end) {
            return Err(bad(
                "cluster",
                row,
                clusters[row],
                format!("0..{final_end}"),
            ));
        }
        Ok(())
    }

    /// Writes raw labels (-1 noise) of a umap's points as a new clustering
    /// artifact; `meta` supplies the method and parameters.
    pub fn write_cluster(
        &self,
        xy: &[f32],
        raw: &[i64],
        meta: &mut ClusterMeta,
        started: Instant,
    ) -> Result<ClusterId> {
        let spec = RunSpec::new("cluster", &meta.params)
            .reading([meta.umap_id])
            .fresh();
        let artifact = self.begin::<ClusterId, _>(&spec)?;
        self.commit_cluster(artifact, xy, raw, meta, started)
    }

    /// Writes the files of a clustering claimed as `artifact`, its `.json` last.
    pub(crate) fn commit_cluster(
        &self,
        artifact: ArtifactRun<'_, ClusterId>,
        xy: &[f32],
        raw: &[i64],
        meta: &mut ClusterMeta,
        started: Instant,
    ) -> Result<ClusterId> {
        if raw.len() as u64 != self.rows() || xy.len() != 2 * raw.len() {
            return Err(Error::bad_input(
                meta.method.clone(),
                format!("{} labels for a dataset of {} rows", raw.len(), self.rows()),
            ));
        }
        let (final_labels, unclustered) = resolve_noise(raw, xy, meta.assign_noise);
        let label_rows = default_label_rows(raw, &final_labels, unclustered, xy);
        let id = artifact.id();
        let batch = RecordBatch::try_from_iter([
            (
                "cluster",
                Arc::new(Int64Array::from(final_labels.clone())) as ArrayRef,
            ),
            (
                "raw_cluster",
                Arc::new(Int64Array::from(raw.to_vec())) as ArrayRef,
            ),
        ])
        .map_err(|e| latentscope_io::Error::format("clusters", e))?;
        let store = self.store().as_ref();
        table::write_batch(store, &artifact.key(".parquet"), &batch)?;
        table::write_batch(
            store,
            &artifact.key("-labels-default.parquet"),
            &label_rows_batch(&label_rows)?,
        )?;
        artifact.put(".png", &thumbnail::scatter_png(xy, Some(raw)))?;
        meta.id = id;
        meta.n_clusters = raw.iter().copied().max().map_or(0, |m| (m + 1).max(0)) as u64;
        meta.n_noise = raw.iter().filter(|&&l| l < 0).count() as u64;
        meta.unclustered_cluster = unclustered;
        meta.rows = Some(raw.len() as u64);
        meta.seconds = Some(started.elapsed().as_secs_f64());
        meta.latentscope_version = Some(LATENTSCOPE_VERSION.to_string());
        meta.created_at = Some(crate::time::now_rfc3339());
        artifact.commit(meta)
    }
}

/// Final cluster ids from raw labels: noise becomes the unclustered id (one
/// past the highest cluster) or, with `assign_noise`, the cluster whose
/// centroid is nearest. Returns the final labels and the unclustered id.
pub(crate) fn resolve_noise(
    raw: &[i64],
    xy: &[f32],
    assign_noise: bool,
) -> (Vec<i64>, Option<i64>) {
    let n_clusters = raw.iter().copied().max().map_or(0, |m| (m + 1).max(0)) as usize;
    let has_noise = raw.iter().any(|&l| l < 0);
    if !has_noise {
        return (raw.to_vec(), None);
    }
    if assign_noise && n_clusters > 0 {
        let centroids = centroids(raw, xy, n_clusters);
        let labels = raw
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                if l >= 0 {
                    return l;
                }
                let (x, y) = (xy[2 * i], xy[2 * i + 1]);
                let mut best = (f32::INFINITY, 0usize);
                for (c, cen) in centroids.iter().enumerate() {
                    let d = (cen[0] - x).powi(2) + (cen[1] - y).powi(2);
                    if d < best.0 {
                        best = (d, c);
                    }
                }
                best.1 as i64
            })
            .collect();
        return (labels, None);
    }
    let unclustered = n_clusters as i64;
    (
        raw.iter()
            .map(|&l| if l < 0 { unclustered } else { l })
            .collect(),
        Some(unclustered),
    )
}

fn centroids(labels: &[i64], xy: &[f32], n: usize) -> Vec<[f32; 2]> {
    let mut sum = vec![[0f64; 3]; n];
    for (i, &l) in labels.iter().enumerate() {
        if l >= 0 && (l as usize) < n {
            let s = &mut sum[l as usize];
            s[0] += xy[2 * i] as f64;
            s[1] += xy[2 * i + 1] as f64;
            s[2] += 1.0;
        }
    }
    sum.iter()
        .map(|s| {
            if s[2] > 0.0 {
                [(s[0] / s[2]) as f32, (s[1] / s[2]) as f32]
            } else {
                [0.0, 0.0]
            }
        })
        .collect()
}
