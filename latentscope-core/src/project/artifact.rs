//! 2-D layout artifacts: `umaps/umap-NNN.parquet` (`x`, `y`: float32, each
//! axis scaled to [-1, 1] as the Python tool does), `umap-NNN.png` (a
//! thumbnail) and `umap-NNN.json` (written last, with the raw extent). Also
//! the import of a layout made elsewhere (`.npy` n × 2, or Parquet with `x`
//! and `y` columns) as a umap artifact.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use latentscope_io::npy::read_npy;
use latentscope_io::{LocalStore, table};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dataset::{ArtifactRun, Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{EmbeddingId, NumberedId, UmapId};
use crate::meta::LATENTSCOPE_VERSION;
use crate::progress::{Progress, check};
use crate::thumbnail;

/// The record of a layout, `umaps/umap-NNN.json`. Field names follow the
/// Python latent-scope; ours add the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UmapMeta {
    /// The id.
    pub id: UmapId,
    /// The embedding it was made from (`None` for an imported layout).
    #[serde(default)]
    pub embedding_id: Option<EmbeddingId>,
    /// UMAP `n_neighbors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbors: Option<usize>,
    /// UMAP `min_dist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_dist: Option<f32>,
    /// Always 2.
    #[serde(default = "two")]
    pub dimensions: usize,
    /// The seed the run used (also when none was given), so it can be repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The raw minimum of x and y before scaling.
    pub min_values: [f64; 2],
    /// The raw maximum of x and y before scaling.
    pub max_values: [f64; 2],
    /// How the layout was made (`umap`, `pca`, `import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// For imports: the file it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Rows (the dataset's row count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// The algorithm's parameters (seed, metric, init, epochs, …).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// Wall-clock seconds of the run.
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

fn two() -> usize {
    2
}

impl UmapMeta {
    /// A record for a new layout; the dataset fills in id, extent and rows.
    pub fn new(method: &str, embedding_id: Option<EmbeddingId>) -> Self {
        Self {
            id: UmapId::new(0),
            embedding_id,
            neighbors: None,
            min_dist: None,
            dimensions: 2,
            seed: None,
            min_values: [0.0; 2],
            max_values: [0.0; 2],
            method: Some(method.to_string()),
            source: None,
            rows: None,
            params: Map::new(),
            seconds: None,
            latentscope_version: None,
            created_at: None,
            extra: Map::new(),
        }
    }
}

/// A 2-D layout: `xy[2 * i]`, `xy[2 * i + 1]` are row `i`'s coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Interleaved x, y per row.
    pub xy: Vec<f32>,
}

impl Layout {
    /// The number of points.
    pub fn len(&self) -> usize {
        self.xy.len() / 2
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.xy.is_empty()
    }

    /// Scales each axis to [-1, 1] as the Python tool does; returns the raw
    /// range of each axis. A flat axis maps to 0.
    pub fn scale_to_unit(&mut self) -> Extent {
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for p in self.xy.chunks_exact(2) {
            for a in 0..2 {
                min[a] = min[a].min(p[a] as f64);
                max[a] = max[a].max(p[a] as f64);
            }
        }
        for p in self.xy.chunks_exact_mut(2) {
            for a in 0..2 {
                let range = max[a] - min[a];
                p[a] = if range > 0.0 {
                    (2.0 * (p[a] as f64 - min[a]) / range - 1.0) as f32
                } else {
                    0.0
                };
            }
        }
        Extent { min, max }
    }
}

/// The range of a layout's raw coordinates, per axis (x, y).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Extent {
    /// The smallest x and y.
    pub min: [f64; 2],
    /// The largest x and y.
    pub max: [f64; 2],
}

fn xy_batch(layout: &Layout) -> Result<RecordBatch> {
    let x: Float32Array = layout.xy.iter().step_by(2).copied().collect();
    let y: Float32Array = layout.xy.iter().skip(1).step_by(2).copied().collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float32, false),
        Field::new("y", DataType::Float32, false),
    ]));
    RecordBatch::try_new(schema, vec![Arc::new(x) as ArrayRef, Arc::new(y)])
        .map_err(|e| latentscope_io::Error::format("layout", e).into())
}

fn float_values(array: &dyn Array, source_name: &str, column: &str) -> Result<Vec<f32>> {
    let values: Vec<f32> = match array.data_type() {
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.unwrap_or(f32::NAN))
            .collect(),
        DataType::Float64 => array
            .as_primitive::<Float64Type>()
            .iter()
            .map(|v| v.map_or(f32::NAN, |v| v as f32))
            .collect(),
        other => {
            return Err(Error::bad_input(
                source_name.to_string(),
                format!("column {column:?} has type {other}, expected float32 or float64"),
            ));
        }
    };
    Ok(values)
}

/// Reads a layout from `.npy` (n × 2) or Parquet (`x` and `y` columns).
pub fn read_layout_file(path: &Path) -> Result<Layout> {
    let name = path.display().to_string();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let xy = match ext.as_str() {
        "npy" => {
            let array = read_npy(path)?;
            if array.shape.len() != 2 || array.shape[1] != 2 {
                return Err(Error::bad_input(
                    name,
                    format!("expected an n × 2 array, found shape {:?}", array.shape),
                ));
            }
            array.into_f32()
        }
        "parquet" | "pq" => {
            let (store, file) = LocalStore::for_file(path);
            let batch = table::read_table(&store, &file, Some(&["x", "y"]))?;
            let x = float_values(batch.column(0).as_ref(), &name, "x")?;
            let y = float_values(batch.column(1).as_ref(), &name, "y")?;
            x.into_iter().zip(y).flat_map(|(x, y)| [x, y]).collect()
        }
        _ => {
            return Err(Error::bad_input(
                name,
                format!("cannot read a layout from a .{ext} file; use .npy or .parquet"),
            ));
        }
    };
    // Non-finite values are refused by `Dataset::write_umap`, naming the row.
    Ok(Layout { xy })
}

impl Dataset {
    /// The record of a layout.
    pub fn umap_meta(&self, id: UmapId) -> Result<UmapMeta> {
        self.record(id)
    }

    /// A layout's points, scaled to [-1, 1].
    pub fn read_umap(&self, id: UmapId) -> Result<Layout> {
        // Its record must be readable too: a garbage `.json` is an error here,
        // not later.
        self.umap_meta(id)?;
        let key = self.key(&format!("{}/{id}.parquet", UmapId::FOLDER));
        let batch = table::read_table(self.store().as_ref(), &key, Some(&["x", "y"]))?;
        let x = float_values(batch.column(0).as_ref(), &key, "x")?;
        let y = float_values(batch.column(1).as_ref(), &key, "y")?;
        if x.len() as u64 != self.rows() {
            return Err(Error::bad_input(
                &key,
                format!("{} points for a dataset of {} rows", x.len(), self.rows()),
            ));
        }
        for (name, values) in [("x", &x), ("y", &y)] {
            if let Some(row) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::BadInput {
                    file: key.clone(),
                    row: Some(row as u64),
                    column: Some(name.to_string()),
                    message: format!("{} is not a finite coordinate", values[row]),
                });
            }
        }
        Ok(Layout {
            xy: x.into_iter().zip(y).flat_map(|(x, y)| [x, y]).collect(),
        })
    }

    /// Writes a raw layout as a new umap artifact: scales it to [-1, 1],
    /// writes the Parquet, the thumbnail and the `.json` (last).
    pub fn write_umap(&self, layout: Layout, meta: UmapMeta) -> Result<UmapId> {
        self.check_layout(&layout, &meta)?;
        let mut spec = RunSpec::new("umap", &meta.method).fresh();
        if let Some(e) = meta.embedding_id {
            spec = spec.reading([e]);
        }
        let artifact = self.begin::<UmapId, _>(&spec)?;
        self.commit_umap(artifact, layout, meta)
    }

    /// Refuses a layout with the wrong number of points or a non-finite coordinate.
    fn check_layout(&self, layout: &Layout, meta: &UmapMeta) -> Result<()> {
        if layout.len() as u64 != self.rows() {
            return Err(Error::bad_input(
                meta.source.clone().unwrap_or_else(|| "layout".into()),
                format!(
                    "{} points for a dataset of {} rows",
                    layout.len(),
                    self.rows()
                ),
            ));
        }
        if let Some(i) = layout.xy.iter().position(|v| !v.is_finite()) {
            return Err(Error::BadInput {
                file: meta.source.clone().unwrap_or_else(|| "layout".into()),
                row: Some((i / 2) as u64),
                column: None,
                message: format!("non-finite coordinate ({})", layout.xy[i]),
            });
        }
        Ok(())
    }

    /// Writes the files of a layout claimed as `artifact`, its `.json` last.
    pub(crate) fn commit_umap(
        &self,
        artifact: ArtifactRun<'_, UmapId>,
        mut layout: Layout,
        mut meta: UmapMeta,
    ) -> Result<UmapId> {
        self.check_layout(&layout, &meta)?;
        let Extent { min, max } = layout.scale_to_unit();
        table::write_batch(
            self.store().as_ref(),
            &artifact.key(".parquet"),
            &xy_batch(&layout)?,
        )?;
        artifact.put(".png", &thumbnail::scatter_png(&layout.xy, None))?;
        meta.id = artifact.id();
        meta.min_values = min;
        meta.max_values = max;
        meta.rows = Some(layout.len() as u64);
        meta.latentscope_version = Some(LATENTSCOPE_VERSION.to_string());
        meta.created_at = Some(crate::time::now_rfc3339());
        artifact.commit(&meta)
    }

    /// Imports a 2-D layout made elsewhere (`.npy` n × 2, or Parquet with `x`
    /// and `y`), one point per input row, as a new umap artifact.
    pub fn import_umap(&self, path: &Path, progress: &dyn Progress) -> Result<UmapId> {
        let started = Instant::now();
        check(progress, "import", 0, None)?;
        let layout = read_layout_file(path)?;
        check(
            progress,
            "import",
            layout.len() as u64,
            Some(layout.len() as u64),
        )?;
        let mut meta = UmapMeta::new("import", None);
        meta.source = Some(path.display().to_string());
        meta.seconds = Some(started.elapsed().as_secs_f64());
        self.write_umap(layout, meta)
    }
}
