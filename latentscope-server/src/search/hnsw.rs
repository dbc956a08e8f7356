//! An HNSW graph over an embedding's unit vectors (hnsw_rs): built in
//! memory on first use by the server, or ahead of time by
//! `latentscope index <dataset> <embedding>`, which writes it under
//! `<dataset>/indexes/` beside a record naming the embedding file it was
//! built from (so a changed embedding is not answered by a stale graph).

use std::path::{Path, PathBuf};
use std::time::Instant;

use hnsw_rs::api::AnnT;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{Distance, Hnsw};
use serde::{Deserialize, Serialize};

use super::dot;

/// The folder of a dataset where `latentscope index` writes graphs.
pub const INDEX_FOLDER: &str = "indexes";

/// Cosine distance between unit vectors, never below zero (hnsw_rs's own
/// `DistDot` asserts on the rounding error of a vector with itself).
#[derive(Debug, Default, Clone, Copy)]
pub struct UnitCosine;

impl Distance<f32> for UnitCosine {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

/// Reads a graph through a reader that lives as long as the process.
fn load_static(reader: &'static mut HnswIo) -> Result<Hnsw<'static, f32, UnitCosine>, String> {
    reader
        .load_hnsw::<f32, UnitCosine>()
        .map_err(|e| e.to_string())
}

/// How the graph is built and searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnswParams {
    /// Neighbours kept per node and layer (M).
    pub connections: usize,
    /// Candidates explored while inserting.
    pub ef_construction: usize,
    /// Candidates explored while searching (at least k).
    pub ef_search: usize,
}

impl Default for HnswParams {
    /// Measured on the 703k PyPI static embedding: recall@10 ≥ 0.95
    /// (docs/benchmarks.md).
    fn default() -> Self {
        Self {
            connections: 16,
            ef_construction: 100,
            ef_search: 96,
        }
    }
}

/// What an index file on disk was built from and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexRecord {
    /// The embedding (`embedding-001`).
    pub embedding: String,
    /// Its rows and dimensions.
    pub rows: usize,
    /// Dimensions of each vector.
    pub dimensions: usize,
    /// The size in bytes of the embedding's parquet file when built.
    pub embedding_bytes: u64,
    /// The parameters.
    pub params: HnswParams,
    /// Seconds the build took.
    pub build_seconds: f64,
}

/// An HNSW graph ready to search.
pub struct HnswIndex {
    graph: Hnsw<'static, f32, UnitCosine>,
    params: HnswParams,
    rows: usize,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("rows", &self.rows)
            .field("params", &self.params)
            .finish()
    }
}

/// An index searched with another `ef_search` (for measuring).
#[derive(Debug)]
pub struct HnswView<'a> {
    index: &'a HnswIndex,
    ef_search: usize,
}

impl HnswView<'_> {
    /// As [`HnswIndex::search`], with this view's `ef_search`.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        self.index.search_ef(query, k, self.ef_search)
    }
}

/// Why an index could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The embedding could not be read.
    #[error(transparent)]
    Read(#[from] latentscope_core::Error),
    /// The files are not an index of this embedding (or are damaged).
    #[error("{path}: {reason}")]
    Invalid {
        /// The index's record or graph.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

impl HnswIndex {
    /// Builds the graph over `rows` unit vectors of `cols` dimensions
    /// (row-major), on every core. `progress` sees the rows inserted so far.
    pub fn build(
        vectors: &[f32],
        cols: usize,
        params: HnswParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Self {
        let rows = if cols == 0 { 0 } else { vectors.len() / cols };
        let layers = 16;
        let graph = Hnsw::new(
            params.connections.clamp(2, 255),
            rows.max(1),
            layers,
            params.ef_construction.max(params.connections),
            UnitCosine,
        );
        // Insert in chunks, so progress can be reported between them.
        const CHUNK: usize = 16_384;
        let all: Vec<(&[f32], usize)> = vectors.chunks_exact(cols.max(1)).zip(0..).collect();
        for (i, chunk) in all.chunks(CHUNK).enumerate() {
            graph.parallel_insert_slice(&chunk.to_vec());
            progress(((i + 1) * CHUNK).min(rows));
        }
        let mut graph = graph;
        graph.set_searching_mode(true);
        Self {
            graph,
            params,
            rows,
        }
    }

    /// The same graph searched with `ef_search` candidates.
    pub fn with_ef_search(&self, ef_search: usize) -> HnswView<'_> {
        HnswView { index: self, ef_search }
    }

    /// The rows in the graph.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The `k` rows nearest `query` (unit length), nearest first, as (row,
    /// cosine similarity).
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        self.search_ef(query, k, self.params.ef_search)
    }

    fn search_ef(&self, query: &[f32], k: usize, ef_search: usize) -> Vec<(usize, f32)> {
        let ef = ef_search.max(k);
        let mut found: Vec<(usize, f32)> = self
            .graph
            .search(query, k, ef)
            .into_iter()
            .map(|n| (n.d_id, 1.0 - n.distance))
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        found
    }

    /// Writes the graph as `<dir>/<basename>.hnsw.graph`, `.hnsw.data` and
    /// `<basename>.json` (the record, last), each under a temporary name
    /// first.
    pub fn save(&self, dir: &Path, basename: &str, record: &IndexRecord) -> Result<(), IndexError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IndexError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let staging = dir.join(format!(".{basename}.tmp"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let written = self
            .graph
            .file_dump(&staging, basename)
            .map_err(|e| IndexError::Invalid {
                path: staging.clone(),
                reason: e.to_string(),
            })?;
        for ext in ["hnsw.graph", "hnsw.data"] {
            let from = staging.join(format!("{written}.{ext}"));
            let to = dir.join(format!("{basename}.{ext}"));
            std::fs::rename(&from, &to).map_err(io(&to))?;
        }
        let _ = std::fs::remove_dir_all(&staging);
        let json = serde_json::to_vec_pretty(record).map_err(|e| IndexError::Invalid {
            path: dir.join(basename),
            reason: e.to_string(),
        })?;
        let tmp = dir.join(format!(".{basename}.json.tmp"));
        let to = dir.join(format!("{basename}.json"));
        std::fs::write(&tmp, json).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &to).map_err(io(&to))?;
        Ok(())
    }

    /// Reads the record `<dir>/<basename>.json`, if there is one.
    pub fn record(dir: &Path, basename: &str) -> Result<Option<IndexRecord>, IndexError> {
        let path = dir.join(format!("{basename}.json"));
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| IndexError::Invalid {
                    path,
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IndexError::Io { path, source }),
        }
    }

    /// Loads a graph written by [`save`](Self::save). A damaged file is an
    /// error, not a panic (hnsw_rs asserts on what it reads).
    pub fn load(dir: &Path, basename: &str, record: &IndexRecord) -> Result<Self, IndexError> {
        let started = Instant::now();
        let graph_path = dir.join(format!("{basename}.hnsw.graph"));
        let invalid = |reason: String| IndexError::Invalid {
            path: graph_path.clone(),
            reason,
        };
        // The reader must outlive the graph it yields: it is small, and kept
        // for the life of the process.
        let reader = HnswIo::new(dir, basename);
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            load_static(Box::leak(Box::new(reader)))
        }));
        let mut graph = match loaded {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return Err(invalid(e)),
            Err(_) => return Err(invalid("the file is damaged (it could not be read)".into())),
        };
        if graph.get_nb_point() != record.rows {
            return Err(invalid(format!(
                "it holds {} rows; its record says {}",
                graph.get_nb_point(),
                record.rows
            )));
        }
        graph.set_searching_mode(true);
        let _ = started;
        Ok(Self {
            graph,
            params: record.params,
            rows: record.rows,
        })
    }
}

/// Builds the graph of an embedding and writes it under
/// `<data_dir>/<dataset>/indexes/` (what `latentscope index` does), so a
/// server answers from it at once. `progress` sees rows inserted of all.
pub fn write_index(
    data_dir: &Path,
    ds: &latentscope_core::Dataset,
    id: latentscope_core::EmbeddingId,
    params: HnswParams,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<IndexRecord, IndexError> {
    use latentscope_core::NumberedId as _;
    let file = data_dir.join(ds.key(&format!(
        "{}/{id}.parquet",
        latentscope_core::EmbeddingId::FOLDER
    )));
    let embedding_bytes = std::fs::metadata(&file)
        .map_err(|source| IndexError::Io {
            path: file.clone(),
            source,
        })?
        .len();
    let mut m = ds.read_embedding(id)?;
    super::unit_rows(&mut m.data, m.cols);
    let started = Instant::now();
    let rows = m.rows;
    let index = HnswIndex::build(&m.data, m.cols, params, &|done| progress(done, rows));
    let record = IndexRecord {
        embedding: id.to_string(),
        rows,
        dimensions: m.cols,
        embedding_bytes,
        params,
        build_seconds: started.elapsed().as_secs_f64(),
    };
    let dir = data_dir.join(ds.key(INDEX_FOLDER));
    index.save(&dir, &id.to_string(), &record)?;
    Ok(record)
}
