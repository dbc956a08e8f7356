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
use latentscope_core::{DataDir, Dataset, EmbedConfig, Embedder, EmbeddingId};

use crate::error::{ApiError, ApiResult};
use crate::lod::Lod;
use crate::search::hnsw::{HnswIndex, HnswParams, INDEX_FOLDER, embedding_file};

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
    /// Serve the explorer from this directory (a `web/dist` being developed)
    /// instead of the copy built into the binary.
    pub web_dir: Option<PathBuf>,
    /// Similarity search scans every row up to this many rows, and uses the
    /// HNSW graph above ([`crate::search::EXACT_UP_TO`] by default).
    pub exact_up_to: usize,
    /// The largest upload in bytes ([`crate::uploads::MAX_UPLOAD_BYTES`] by default).
    pub max_upload_bytes: u64,
    /// Where API keys and endpoints are saved (`POST /api/settings`):
    /// `$XDG_CONFIG_HOME/latentscope/.env` by default, never the data directory.
    pub settings_file: Option<PathBuf>,
}

impl ServeConfig {
    /// Whether the address bound is this machine's loopback only.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Loopback, port 5001, writable: the defaults of `latentscope serve`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            host: "127.0.0.1".into(),
            port: 5001,
            read_only: false,
            cors: None,
            web_dir: None,
            exact_up_to: crate::search::EXACT_UP_TO,
            max_upload_bytes: crate::uploads::MAX_UPLOAD_BYTES,
            settings_file: latentscope_models::settings::config_file(),
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
/// Two requests for the same missing value make it once: the second waits
/// for the first (per file; other files go on).
#[derive(Debug)]
struct FileCache<T> {
    entries: Mutex<HashMap<PathBuf, (Stamp, Arc<T>)>>,
    making: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

impl<T> Default for FileCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            making: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> FileCache<T> {
    fn cached(&self, path: &Path, now: Option<Stamp>) -> Option<Arc<T>> {
        let now = now?;
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(path) {
            Some((s, v)) if *s == now => Some(v.clone()),
            _ => None,
        }
    }

    fn get_or_make(&self, path: &Path, make: impl FnOnce() -> ApiResult<T>) -> ApiResult<Arc<T>> {
        let now = stamp(path);
        if let Some(v) = self.cached(path, now) {
            return Ok(v);
        }
        let turn = self
            .making
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(path.to_path_buf())
            .or_default()
            .clone();
        let _turn = turn.lock().unwrap_or_else(|p| p.into_inner());
        let now = stamp(path);
        if let Some(v) = self.cached(path, now) {
            return Ok(v);
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
    graphs: Arc<Mutex<HashMap<PathBuf, GraphSlot>>>,
    /// The jobs this server started.
    pub jobs: crate::jobs::Jobs,
    /// One turn per dataset for small writes (tags, names), so that
    /// concurrent requests wait for each other instead of failing on the
    /// dataset's file lock.
    turns: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

/// The HNSW graph of one embedding file, by that file's stamp.
#[derive(Debug, Clone)]
enum GraphSlot {
    /// Being read from `<dataset>/indexes/` or built, on another thread.
    Making(Stamp),
    /// Ready to search.
    Ready(Stamp, Arc<HnswIndex>),
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
            graphs: Arc::default(),
            jobs: crate::jobs::Jobs::default(),
            turns: Mutex::new(HashMap::new()),
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
        let file = embedding_file(&self.config.data_dir, ds, id);
        self.vectors.get_or_make(&file, || {
            let mut m = ds.read_embedding(id)?;
            crate::search::unit_rows(&mut m.data, m.cols);
            Ok(m)
        })
    }

    /// The HNSW graph of an embedding, when it is ready. The first call for
    /// an embedding (or for one whose file changed) starts making it on
    /// another thread and answers `None` meanwhile: read from
    /// `<dataset>/indexes/` when `latentscope index` wrote one for this very
    /// file, else built in memory (nothing is written under the data
    /// directory).
    pub fn graph(
        &self,
        ds: &Dataset,
        id: EmbeddingId,
        vectors: Arc<Matrix>,
    ) -> Option<Arc<HnswIndex>> {
        let file = embedding_file(&self.config.data_dir, ds, id);
        let now = stamp(&file)?;
        let mut graphs = self.graphs.lock().unwrap_or_else(|p| p.into_inner());
        match graphs.get(&file) {
            Some(GraphSlot::Ready(s, g)) if *s == now => return Some(g.clone()),
            Some(GraphSlot::Making(s)) if *s == now => return None,
            _ => {}
        }
        graphs.insert(file.clone(), GraphSlot::Making(now));
        drop(graphs);
        let dir = self.path_of(&ds.key(INDEX_FOLDER));
        let basename = id.to_string();
        let graphs = Arc::clone(&self.graphs);
        std::thread::spawn(move || {
            let on_disk = HnswIndex::record(&dir, &basename)
                .ok()
                .flatten()
                .filter(|r| {
                    r.rows == vectors.rows
                        && r.dimensions == vectors.cols
                        && r.embedding_bytes == now.0
                })
                .and_then(|r| HnswIndex::load(&dir, &basename, &r).ok());
            let graph = on_disk.unwrap_or_else(|| {
                HnswIndex::build(&vectors.data, vectors.cols, HnswParams::default(), &|_| {})
            });
            let mut graphs = graphs.lock().unwrap_or_else(|p| p.into_inner());
            // Only if the file has not changed again meanwhile.
            if matches!(graphs.get(&file), Some(GraphSlot::Making(s)) if *s == now) {
                graphs.insert(file, GraphSlot::Ready(now, Arc::new(graph)));
            }
        });
        None
    }

    /// The embedder a spec names (with `config`'s dimensions), loaded
    /// once and kept warm.
    pub fn embedder(&self, spec: &str, config: &EmbedConfig) -> ApiResult<Arc<dyn Embedder>> {
        let key = match config.dimensions {
            Some(d) => format!("{spec}#{d}"),
            None => spec.to_string(),
        };
        if let Some(e) = self
            .embedders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(e.clone());
        }
        let loaded: Arc<dyn Embedder> = latentscope_models::registry()
            .resolve(spec, config)
            .map_err(latentscope_core::Error::from)?;
        self.embedders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, loaded.clone());
        Ok(loaded)
    }

    /// A dataset's input table, read on a blocking thread the first time.
    pub async fn load_input(self: &Arc<Self>, ds: &Dataset) -> ApiResult<Arc<RecordBatch>> {
        let (state, ds) = (self.clone(), ds.clone());
        blocking(move || state.input(&ds)).await
    }

    /// Runs a small write to dataset `ds` (on a blocking thread) after the
    /// writes this server is already making to it; while another process
    /// holds the dataset's lock (a CLI `tag`), tries again for up to 2 s.
    pub(crate) async fn write_in_turn<T: Send + 'static>(
        self: &Arc<Self>,
        ds: &str,
        work: impl Fn() -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let turn = self
            .turns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(ds.to_string())
            .or_default()
            .clone();
        blocking(move || {
            let _turn = turn.lock().unwrap_or_else(|p| p.into_inner());
            let started = std::time::Instant::now();
            loop {
                match work() {
                    Err(e) if e.code == "artifact_busy" && started.elapsed().as_secs() < 2 => {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    result => return result,
                }
            }
        })
        .await
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

/// Runs `work` on Tokio's blocking threads (reading and indexing files must
/// not stall the threads that answer other requests).
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new("internal", format!("a background task failed: {e}")))?
}
