//! An HNSW graph over an embedding's unit vectors (hnsw_rs): built in
//! memory on first use by the server, or ahead of time by
//! `latentscope index <dataset> <embedding>`, which writes it under
//! `<dataset>/indexes/` beside a record naming the embedding file it was
//! built from (so a changed embedding is not answered by a stale graph).
//!
//! hnsw_rs's reader trusts its files (it exits the process or reads out of
//! bounds on a damaged one), so the record also holds each file's size and
//! CRC-32, and a graph is handed to it only when both match.

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
    /// Measured on the 703k PyPI static embedding (docs/benchmarks.md):
    /// built in 1,350 s on 2 busy cores; searching 512 candidates gives
    /// recall@10 0.965 at 3.7 ms p50 (96: 0.914; 384: 0.959; 768: 0.975).
    fn default() -> Self {
        Self {
            connections: 16,
            ef_construction: 100,
            ef_search: 512,
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
    /// The size and CRC-32 of `<basename>.hnsw.graph` as written.
    #[serde(default)]
    pub graph_file: FileCheck,
    /// The size and CRC-32 of `<basename>.hnsw.data` as written.
    #[serde(default)]
    pub data_file: FileCheck,
}

/// A file's size and CRC-32, to know it is the file that was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheck {
    /// Bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the contents.
    pub crc32: u32,
}

impl FileCheck {
    /// The check of the file at `path`.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path)?;
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(Self {
            bytes,
            crc32: hasher.finalize(),
        })
    }
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
        let rows = vectors.len().checked_div(cols).unwrap_or(0);
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
        HnswView {
            index: self,
            ef_search,
        }
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
    pub fn save(
        &self,
        dir: &Path,
        basename: &str,
        record: &IndexRecord,
    ) -> Result<IndexRecord, IndexError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| IndexError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let staging = dir.join(format!(".{basename}.tmp"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        let written =
            self.graph
                .file_dump(&staging, basename)
                .map_err(|e| IndexError::Invalid {
                    path: staging.clone(),
                    reason: e.to_string(),
                })?;
        let mut record = record.clone();
        for (ext, check) in [
            ("hnsw.graph", &mut record.graph_file),
            ("hnsw.data", &mut record.data_file),
        ] {
            let from = staging.join(format!("{written}.{ext}"));
            *check = FileCheck::of(&from).map_err(io(&from))?;
            let to = dir.join(format!("{basename}.{ext}"));
            std::fs::rename(&from, &to).map_err(io(&to))?;
        }
        let _ = std::fs::remove_dir_all(&staging);
        let json = serde_json::to_vec_pretty(&record).map_err(|e| IndexError::Invalid {
            path: dir.join(basename),
            reason: e.to_string(),
        })?;
        let tmp = dir.join(format!(".{basename}.json.tmp"));
        let to = dir.join(format!("{basename}.json"));
        std::fs::write(&tmp, json).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &to).map_err(io(&to))?;
        Ok(record)
    }

    /// Reads the record `<dir>/<basename>.json`, if there is one.
    pub fn record(dir: &Path, basename: &str) -> Result<Option<IndexRecord>, IndexError> {
        let path = dir.join(format!("{basename}.json"));
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| IndexError::Invalid {
                        path,
                        reason: e.to_string(),
                    })
            }
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
        for (ext, want) in [
            ("hnsw.graph", record.graph_file),
            ("hnsw.data", record.data_file),
        ] {
            let path = dir.join(format!("{basename}.{ext}"));
            let got = FileCheck::of(&path).map_err(|source| IndexError::Io {
                path: path.clone(),
                source,
            })?;
            if got != want || want.bytes == 0 {
                return Err(IndexError::Invalid {
                    path,
                    reason: "the file is not the one `latentscope index` wrote (its size or checksum differs): run `latentscope index` again".into(),
                });
            }
        }
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

/// The file of an embedding's vectors under `data_dir`.
pub fn embedding_file(
    data_dir: &Path,
    ds: &latentscope_core::Dataset,
    id: latentscope_core::EmbeddingId,
) -> PathBuf {
    use latentscope_core::NumberedId as _;
    let file = |ext: &str| {
        data_dir.join(ds.key(&format!(
            "{}/{id}.{ext}",
            latentscope_core::EmbeddingId::FOLDER
        )))
    };
    let parquet = file("parquet");
    let h5 = file("h5");
    // The file read_embedding reads: the Parquet one first.
    if !parquet.exists() && h5.exists() {
        h5
    } else {
        parquet
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
    // An embedding that does not exist is named with those that do.
    ds.require(id)?;
    let file = embedding_file(data_dir, ds, id);
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
        graph_file: FileCheck::default(),
        data_file: FileCheck::default(),
    };
    let dir = data_dir.join(ds.key(INDEX_FOLDER));
    index.save(&dir, &id.to_string(), &record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{exact, unit_rows};

    /// Clustered points: 20 centres, each with noisy neighbours.
    fn clustered(n: usize, cols: usize) -> Vec<f32> {
        let mut s = 42u64;
        let mut rnd = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let centres: Vec<f32> = (0..20 * cols).map(|_| rnd()).collect();
        let mut v = Vec::with_capacity(n * cols);
        for i in 0..n {
            let c = &centres[(i % 20) * cols..(i % 20 + 1) * cols];
            v.extend(c.iter().map(|x| x + 0.3 * rnd()));
        }
        unit_rows(&mut v, cols);
        v
    }

    #[test]
    fn the_graph_finds_the_exact_neighbours_and_survives_a_round_trip() {
        let (n, cols, k) = (3000, 24, 10);
        let v = clustered(n, cols);
        let index = HnswIndex::build(&v, cols, HnswParams::default(), &|_| {});
        assert_eq!(index.rows(), n);
        let recall = |index: &HnswIndex| {
            let mut hits = 0;
            for q in (0..n).step_by(30) {
                let query = &v[q * cols..(q + 1) * cols];
                let want: Vec<usize> = exact(&v, cols, query, k).iter().map(|f| f.0).collect();
                let got = index.search(query, k);
                assert_eq!(got.len(), k);
                assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "nearest first");
                hits += got.iter().filter(|g| want.contains(&g.0)).count();
            }
            hits as f64 / (k * n.div_ceil(30)) as f64
        };
        let before = recall(&index);
        assert!(before >= 0.95, "recall@10 {before}");

        let dir = tempfile::tempdir().unwrap();
        let record = IndexRecord {
            embedding: "embedding-001".into(),
            rows: n,
            dimensions: cols,
            embedding_bytes: 1,
            params: HnswParams::default(),
            build_seconds: 0.0,
            graph_file: FileCheck::default(),
            data_file: FileCheck::default(),
        };
        let record = index.save(dir.path(), "embedding-001", &record).unwrap();
        assert!(record.graph_file.bytes > 0 && record.data_file.bytes > 0);
        assert_eq!(
            HnswIndex::record(dir.path(), "embedding-001").unwrap(),
            Some(record.clone())
        );
        let back = HnswIndex::load(dir.path(), "embedding-001", &record).unwrap();
        assert_eq!(recall(&back), before);
        // Nothing but the three files is left behind.
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "embedding-001.hnsw.data",
                "embedding-001.hnsw.graph",
                "embedding-001.json"
            ]
        );
    }

    #[test]
    fn a_damaged_or_mismatched_graph_is_an_error_not_a_panic() {
        let (n, cols) = (500, 8);
        let v = clustered(n, cols);
        let index = HnswIndex::build(&v, cols, HnswParams::default(), &|_| {});
        let dir = tempfile::tempdir().unwrap();
        let record = IndexRecord {
            embedding: "embedding-001".into(),
            rows: n,
            dimensions: cols,
            embedding_bytes: 1,
            params: HnswParams::default(),
            build_seconds: 0.0,
            graph_file: FileCheck::default(),
            data_file: FileCheck::default(),
        };
        let mut record = index.save(dir.path(), "embedding-001", &record).unwrap();
        record.rows = n + 1;
        assert!(HnswIndex::load(dir.path(), "embedding-001", &record).is_err());
        record.rows = n;
        for file in ["embedding-001.hnsw.graph", "embedding-001.hnsw.data"] {
            let path = dir.path().join(file);
            let good = std::fs::read(&path).unwrap();
            std::fs::write(&path, &good[..good.len() / 3]).unwrap();
            assert!(HnswIndex::load(dir.path(), "embedding-001", &record).is_err());
            std::fs::write(&path, b"not a graph at all").unwrap();
            assert!(HnswIndex::load(dir.path(), "embedding-001", &record).is_err());
            std::fs::write(&path, good).unwrap();
        }
        assert!(HnswIndex::load(dir.path(), "embedding-001", &record).is_ok());
    }
}
