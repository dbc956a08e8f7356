//! Embedding artifacts: `embeddings/embedding-NNN.parquet` (one column
//! `embedding`, `FixedSizeList<Float32>`, one row per input row) and
//! `embedding-NNN.json`, written last. Also the import of precomputed vectors
//! (`.npy`, Parquet, or a vector column of the input) as an embedding.

use std::path::Path;
use std::time::Instant;

use latentscope_io::matrix::{MatrixWriter, append_vectors, read_matrix};
use latentscope_io::npy::read_npy;
use latentscope_io::table::read_batches;
use latentscope_io::{LocalStore, Matrix};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dataset::{Dataset, RunSpec};
use crate::error::{Error, Result};
use crate::ids::{EmbeddingId, NumberedId};
use crate::meta::LATENTSCOPE_VERSION;
use crate::progress::{Progress, check};

/// The vector column of an embedding Parquet file.
pub const EMBEDDING_COLUMN: &str = "embedding";

/// The record of an embedding run, `embeddings/embedding-NNN.json`. Field
/// names follow the Python latent-scope; ours add the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingMeta {
    /// The id.
    pub id: EmbeddingId,
    /// The model (`static:minilm`, `candle:…`, or `imported`).
    pub model_id: String,
    /// The dataset.
    pub dataset_id: String,
    /// The column embedded.
    pub text_column: String,
    /// Vector length.
    pub dimensions: usize,
    /// Tokens per text the model reads (longer texts are truncated).
    #[serde(default)]
    pub max_seq_length: Option<usize>,
    /// Text put before every row.
    #[serde(default)]
    pub prefix: String,
    /// What was embedded (`"text"`; the Python tool also knows images).
    #[serde(default = "text")]
    pub input_type: String,
    /// The model's task prompt, where it has one (the Python tool's field).
    #[serde(default)]
    pub task: Option<String>,
    /// Whether the model keeps one vector per token (never, here).
    #[serde(default)]
    pub late_interaction: bool,
    /// Per-dimension minimum.
    #[serde(default)]
    pub min_values: Vec<f32>,
    /// Per-dimension maximum.
    #[serde(default)]
    pub max_values: Vec<f32>,
    /// Where the vectors came from (`candle`, `static`, `import`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// For imports: the file or column the vectors were read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Rows embedded (the dataset's row count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Rows whose text was null, embedded as empty text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_count: Option<u64>,
    /// Texts per batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Wall-clock seconds of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The latentscope version that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latentscope_version: Option<String>,
    /// When it was made (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Fields we do not know (the Python tool's `token_stats`, …), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Per-column minimum and maximum of a matrix.
pub(crate) fn column_extent(m: &Matrix) -> (Vec<f32>, Vec<f32>) {
    let mut min = vec![f32::INFINITY; m.cols];
    let mut max = vec![f32::NEG_INFINITY; m.cols];
    for row in m.data.chunks_exact(m.cols.max(1)) {
        for ((v, lo), hi) in row.iter().zip(&mut min).zip(&mut max) {
            *lo = lo.min(*v);
            *hi = hi.max(*v);
        }
    }
    (min, max)
}

/// The first non-finite value of a matrix, as an error naming its row and column.
pub(crate) fn check_finite(m: &Matrix, source_name: &str) -> Result<()> {
    match m.data.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::bad_input(
            source_name.to_string(),
            format!(
                "row {} column {} is {} (every value must be finite)",
                i / m.cols.max(1),
                i % m.cols.max(1),
                m.data[i]
            ),
        )),
        None => Ok(()),
    }
}

impl Dataset {
    /// The record of an embedding.
    pub fn embedding_meta(&self, id: EmbeddingId) -> Result<EmbeddingMeta> {
        self.record(id)
    }

    /// The vectors of an embedding, one row per input row.
    pub fn read_embedding(&self, id: EmbeddingId) -> Result<Matrix> {
        self.embedding_meta(id)?;
        let folder = EmbeddingId::FOLDER;
        let parquet = self.key(&format!("{folder}/{id}.parquet"));
        if self.store().exists(&parquet)? {
            let m = read_matrix(self.store().as_ref(), &parquet, EMBEDDING_COLUMN)?;
            if m.rows as u64 != self.rows() {
                return Err(Error::bad_input(
                    parquet,
                    format!("{} vectors for a dataset of {} rows", m.rows, self.rows()),
                ));
            }
            return Ok(m);
        }
        let h5 = self.key(&format!("{folder}/{id}.h5"));
        if self.store().exists(&h5)? {
            return self.read_h5_embedding(&h5);
        }
        Err(Error::Unsupported {
            file: format!("{}/{folder}/{id}", self.id()),
            reason: "the vectors are missing (a Python latent-scope 1.0 directory keeps them in LanceDB, which we cannot read)".to_string(),
        })
    }

    #[cfg(feature = "hdf5")]
    fn read_h5_embedding(&self, key: &str) -> Result<Matrix> {
        let path = self
            .store()
            .local_path(key)
            .ok_or_else(|| Error::Unsupported {
                file: key.to_string(),
                reason: "HDF5 embeddings are read from a data directory on this machine"
                    .to_string(),
            })?;
        let m = latentscope_io::h5::read_h5_matrix(&path, None)?;
        if m.rows as u64 != self.rows() {
            return Err(Error::bad_input(
                key.to_string(),
                format!("{} vectors for a dataset of {} rows", m.rows, self.rows()),
            ));
        }
        Ok(m)
    }

    #[cfg(not(feature = "hdf5"))]
    fn read_h5_embedding(&self, key: &str) -> Result<Matrix> {
        Err(Error::Unsupported {
            file: key.to_string(),
            reason: "HDF5 embeddings need the `hdf5` cargo feature, which this build does not have"
                .to_string(),
        })
    }

    /// Keeps embedding `id` as `embedding-NNN.h5` (a contiguous float32
    /// dataset named `embeddings`, as the Python tool 0.x writes it) in place
    /// of its Parquet file: the `.h5` is written under a temporary name and
    /// renamed, then the Parquet file removed.
    #[cfg(feature = "hdf5")]
    pub fn store_embedding_as_h5(&self, id: EmbeddingId) -> Result<()> {
        let folder = EmbeddingId::FOLDER;
        let parquet = self.key(&format!("{folder}/{id}.parquet"));
        let h5 = self.key(&format!("{folder}/{id}.h5"));
        let path = self
            .store()
            .local_path(&h5)
            .ok_or_else(|| Error::Unsupported {
                file: h5.clone(),
                reason: "HDF5 embeddings are written to a data directory on this machine"
                    .to_string(),
            })?;
        let m = self.read_embedding(id)?;
        latentscope_io::h5::write_h5_matrix(&path, &m)?;
        self.store().delete(&parquet)?;
        Ok(())
    }

    /// Writes `vectors` as a new embedding artifact (the `.json` last) and
    /// returns its id. `meta` supplies the model fields; id, dataset, row
    /// count, dimensions and extents are filled in here.
    pub fn write_embedding(
        &self,
        vectors: &Matrix,
        mut meta: EmbeddingMeta,
    ) -> Result<EmbeddingId> {
        if vectors.rows as u64 != self.rows() {
            return Err(Error::bad_input(
                meta.source.clone().unwrap_or_else(|| "vectors".into()),
                format!(
                    "{} rows of vectors for a dataset of {} rows",
                    vectors.rows,
                    self.rows()
                ),
            ));
        }
        check_finite(vectors, meta.source.as_deref().unwrap_or("vectors"))?;
        let artifact =
            self.begin::<EmbeddingId, _>(&RunSpec::new("embed", &meta.model_id).fresh())?;
        let id = artifact.id();
        let mut w = MatrixWriter::create(
            self.store().as_ref(),
            &artifact.key(".parquet"),
            EMBEDDING_COLUMN,
            vectors.cols,
        )?;
        w.write_rows(&vectors.data)?;
        w.finish()?;
        let (min, max) = column_extent(vectors);
        meta.id = id;
        meta.dataset_id = self.id().to_string();
        meta.dimensions = vectors.cols;
        meta.rows = Some(vectors.rows as u64);
        meta.min_values = min;
        meta.max_values = max;
        meta.latentscope_version = Some(LATENTSCOPE_VERSION.to_string());
        meta.created_at = Some(crate::time::now_rfc3339());
        artifact.commit(&meta)
    }

    /// Imports precomputed vectors from a `.npy` file (float32/float64, rows ×
    /// dims) or a Parquet file (a column named `embedding`, else the first
    /// list column), one row per input row, as a new embedding.
    pub fn import_embedding(&self, path: &Path, progress: &dyn Progress) -> Result<EmbeddingId> {
        let started = Instant::now();
        check(progress, "import", 0, None)?;
        let matrix = read_vectors_file(path)?;
        check(
            progress,
            "import",
            matrix.rows as u64,
            Some(matrix.rows as u64),
        )?;
        let meta = imported_meta(self, "import", path.display().to_string(), started);
        self.write_embedding(&matrix, meta)
    }

    /// Imports a vector column of the input (list of floats) as a new embedding.
    pub fn import_embedding_column(
        &self,
        column: &str,
        progress: &dyn Progress,
    ) -> Result<EmbeddingId> {
        let started = Instant::now();
        check(progress, "import", 0, None)?;
        let batch = self.read_input(Some(&[column]))?;
        let mut data = Vec::new();
        let cols = append_vectors(column, column, batch.column(0).as_ref(), 0, None, &mut data)
            .map_err(|e| Error::bad_input(format!("input column {column:?}"), e.to_string()))?;
        let matrix = Matrix {
            data,
            rows: batch.num_rows(),
            cols,
        };
        let meta = imported_meta(self, "column", format!("input column {column}"), started);
        self.write_embedding(&matrix, meta)
    }
}

fn text() -> String {
    "text".to_string()
}

impl EmbeddingMeta {
    /// A record for vectors made outside the embed step (`model_id`
    /// `"imported"`); [`Dataset::write_embedding`] fills in the rest.
    pub fn imported(source: &str, ds: &Dataset) -> Self {
        imported_meta(ds, "import", source.to_string(), Instant::now())
    }
}

fn imported_meta(ds: &Dataset, provider: &str, source: String, started: Instant) -> EmbeddingMeta {
    EmbeddingMeta {
        id: EmbeddingId::new(0),
        model_id: "imported".to_string(),
        dataset_id: ds.id().to_string(),
        text_column: ds.meta().text_column.clone(),
        dimensions: 0,
        max_seq_length: None,
        prefix: String::new(),
        input_type: "text".to_string(),
        task: None,
        late_interaction: false,
        min_values: Vec::new(),
        max_values: Vec::new(),
        provider: Some(provider.to_string()),
        source: Some(source),
        rows: None,
        null_count: None,
        batch_size: None,
        seconds: Some(started.elapsed().as_secs_f64()),
        latentscope_version: None,
        created_at: None,
        extra: Map::new(),
    }
}

/// Reads a matrix of vectors from `.npy` (2-D) or Parquet (a column named
/// `embedding`, else the first list column).
pub fn read_vectors_file(path: &Path) -> Result<Matrix> {
    let name = path.display().to_string();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "npy" => {
            let array = read_npy(path)?;
            if array.shape.len() != 2 {
                return Err(Error::bad_input(
                    name,
                    format!(
                        "expected a 2-D array (rows × dims), found shape {:?}",
                        array.shape
                    ),
                ));
            }
            let (rows, cols) = (array.shape[0], array.shape[1]);
            Ok(Matrix {
                data: array.into_f32(),
                rows,
                cols,
            })
        }
        "parquet" | "pq" => {
            let (store, file) = LocalStore::for_file(path);
            let (schema, _) = read_batches(&store, &file, None, 1)?;
            let column = schema
                .fields()
                .iter()
                .find(|f| f.name() == "embedding")
                .or_else(|| schema.fields().iter().find(|f| f.data_type().is_nested()))
                .map(|f| f.name().clone())
                .ok_or_else(|| {
                    Error::bad_input(
                        name.clone(),
                        "no vector column: expected a column named \"embedding\" or a list column",
                    )
                })?;
            Ok(read_matrix(&store, &file, &column)?)
        }
        #[cfg(feature = "hdf5")]
        "h5" | "hdf5" => Ok(latentscope_io::h5::read_h5_matrix(path, None)?),
        #[cfg(not(feature = "hdf5"))]
        "h5" | "hdf5" => Err(Error::Unsupported {
            file: name,
            reason: "HDF5 files need the `hdf5` cargo feature, which this build does not have"
                .to_string(),
        }),
        _ => Err(Error::bad_input(
            name,
            format!("cannot read vectors from a .{ext} file; use .npy, .parquet or .h5"),
        )),
    }
}
