//! What every handler shares: the data directory, the server's settings and
//! the in-memory caches (never written under the data directory). A cache
//! entry is keyed by its file's size and modification time, so an artifact
//! that changes while the server runs is read again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arrow_array::RecordBatch;
use latentscope_core::latentscope_io::Matrix;
use latentscope_core::{DataDir, Dataset, EmbedConfig, Embedder, EmbeddingId, NumberedId};

use crate::error::{ApiError, ApiResult};
use crate::lod::Lod;

/// How the server was started.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The data directory served.
    pub data_dir: PathBuf,
    /// The address bound (`127.0.0.1` unless `--host` says otherwise).
    pub host: String,
    /// The port.
    pub port: u16,
    /// Refuse every write (403 `read_only`) and write nothing.
    pub read_only: bool,
    /// The one origin allowed to call the API from another site (`--cors`).
    pub cors: Option<String>,
}

impl ServeConfig {
    /// Loopback, port 5001, writable: the defaults of `latentscope serve`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            host: "127.0.0.1".into(),
            port: 5001,
            read_only: false,
            cors: None,
        }
    }
}

/// The identity of a file's contents: its size and modification time.
type Stamp = (u64, Option<SystemTime>);

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()))
}

/// A cache of values made from one file, remade when the file changes.
#[derive(Debug)]
struct FileCache<T> {
    entries: Mutex<HashMap<PathBuf, (Stamp, Arc<T>)>>,
}

impl<T> Default for FileCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> FileCache<T> {
    fn get_or_make(&self, path: &Path, make: impl FnOnce() -> ApiResult<T>) -> ApiResult<Arc<T>> {
        let now = stamp(path);
        if let Some(now) = now {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((s, v)) = entries.get(path)
                && *s == now
            {
                return Ok(v.clone());
            }
        }
        let value = Arc::new(make()?);
        if let Some(now) = now {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.insert(path.to_path_buf(), (now, value.clone()));
        }
        Ok(value)
    }
}

/// A scope's points, read once: coordinates, clusters, deleted flags and
/// their LOD order.
#[derive(Debug)]
pub struct ScopePoints {
    /// The input row of each point (`ls_index`).
    pub ls_index: Vec<u32>,
    /// Interleaved x, y in [-1, 1].
    pub xy: Vec<f32>,
    /// The cluster of each point.
    pub cluster: Vec<u32>,
    /// Whether each point was deleted by curation.
    pub deleted: Vec<bool>,
    /// The LOD order and node table.
    pub lod: Lod,
}

/// The shared state of the server.
#[derive(Debug)]
pub struct AppState {
    /// How it was started.
    pub config: ServeConfig,
    /// The data directory.
    pub data: DataDir,
    points: FileCache<ScopePoints>,
    inputs: FileCache<RecordBatch>,
    vectors: FileCache<Matrix>,
    embedders: Mutex<HashMap<String, Arc<dyn Embedder>>>,
}

impl AppState {
    /// The state of a server started with `config`.
    pub fn new(config: ServeConfig) -> Self {
        Self {
            data: DataDir::open(&config.data_dir),
            config,
            points: FileCache::default(),
            inputs: FileCache::default(),
            vectors: FileCache::default(),
            embedders: Mutex::new(HashMap::new()),
        }
    }

    /// Opens a dataset named in a path (its id is checked first).
    pub fn dataset(&self, id: &str) -> ApiResult<Dataset> {
        Ok(self.data.dataset(id)?)
    }

    /// The file of a store key on disk.
    pub fn path_of(&self, key: &str) -> PathBuf {
        self.config.data_dir.join(key)
    }

    /// A scope's points, from the cache or read now.
    pub fn scope_points(
        &self,
        key: &str,
        make: impl FnOnce() -> ApiResult<ScopePoints>,
    ) -> ApiResult<Arc<ScopePoints>> {
        self.points.get_or_make(&self.path_of(key), make)
    }

    /// A dataset's whole input table, from the cache or read now.
    pub fn input(&self, ds: &Dataset) -> ApiResult<Arc<RecordBatch>> {
        let key = ds.key(latentscope_core::dataset::INPUT_FILE);
        self.inputs
            .get_or_make(&self.path_of(&key), || Ok(ds.read_input(None)?))
    }

    /// An embedding's vectors, each row scaled to unit length (for cosine),
    /// from the cache or read now.
    pub fn vectors(&self, ds: &Dataset, id: EmbeddingId) -> ApiResult<Arc<Matrix>> {
        let key = ds.key(&format!("{}/{id}.parquet", EmbeddingId::FOLDER));
        self.vectors.get_or_make(&self.path_of(&key), || {
            let mut m = ds.read_embedding(id)?;
            let cols = m.cols.max(1);
            for row in m.data.chunks_exact_mut(cols) {
                let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
                if norm > 0.0 {
                    row.iter_mut().for_each(|v| *v /= norm);
                }
            }
            Ok(m)
        })
    }

    /// The embedder a spec names, loaded once and kept warm.
    pub fn embedder(&self, spec: &str, config: &EmbedConfig) -> ApiResult<Arc<dyn Embedder>> {
        if let Some(e) = self
            .embedders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(spec)
        {
            return Ok(e.clone());
        }
        let loaded: Arc<dyn Embedder> = latentscope_models::registry()
            .resolve(spec, config)
            .map_err(latentscope_core::Error::from)?;
        self.embedders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(spec.to_string(), loaded.clone());
        Ok(loaded)
    }

    /// Refuses a write on a read-only server.
    pub fn require_writable(&self) -> ApiResult<()> {
        if self.config.read_only {
            Err(ApiError::read_only())
        } else {
            Ok(())
        }
    }
}
