//! A scope as a static site: the explorer and the scope's data as plain
//! files that any static host serves (`docs/site.md` describes them). The
//! data files are the answers of this server's own read routes, asked
//! in-process of a read-only server, so the explorer reads them as it reads
//! the API: the points in level-of-detail order, the labels, every column
//! as Arrow, the rows and the text in chunks of 1,000 (a browser loads only
//! the chunks it shows), and each row's nearest rows by the scope's
//! embedding ("rows like this row" without a server). Nothing else of the
//! data directory is read into it. The site is written into a temporary
//! folder beside `out` and renamed into place.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use latentscope_core::{Progress, ProgressEvent, ScopeId};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, ServeConfig};

/// Rows per chunk file (rows, text, neighbours).
pub const CHUNK_ROWS: u64 = 1000;

/// What to put in a site.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SiteOptions {
    /// Nearest rows kept per row (0: no similarity search).
    pub neighbors: usize,
    /// Replace `out` if it exists (else it must be missing or empty).
    pub replace: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        Self {
            neighbors: 16,
            replace: false,
        }
    }
}

/// What a site holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SiteSummary {
    /// Its folder.
    pub dir: PathBuf,
    /// Its rows.
    pub rows: u64,
    /// Its files.
    pub files: u64,
    /// Their size in bytes.
    pub bytes: u64,
}

/// Percent-encodes a path segment (a column name).
fn segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The read-only server the site's data is asked of.
struct Source {
    app: axum::Router,
    state: Arc<AppState>,
}

impl Source {
    async fn call(&self, request: Request<Body>) -> ApiResult<Vec<u8>> {
        let uri = request.uri().to_string();
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| ApiError::new("internal", format!("{uri}: {e}")))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| ApiError::new("io", format!("{uri}: {e}")))?;
        if status != StatusCode::OK {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = match body["code"].as_str() {
                Some("not_found") => "not_found",
                Some("invalid_parameter") => "invalid_parameter",
                _ => "internal",
            };
            return Err(ApiError::new(
                code,
                body["error"]
                    .as_str()
                    .map_or_else(|| format!("{uri}: {status}"), str::to_string),
            ));
        }
        Ok(bytes.to_vec())
    }

    async fn get(&self, uri: &str) -> ApiResult<Vec<u8>> {
        let request = Request::get(uri)
            .header(header::HOST, "127.0.0.1")
            .body(Body::empty())
            .map_err(|e| ApiError::new("internal", e.to_string()))?;
        self.call(request).await
    }

    async fn post(&self, uri: &str, body: &Value) -> ApiResult<Vec<u8>> {
        let request = Request::post(uri)
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .map_err(|e| ApiError::new("internal", e.to_string()))?;
        self.call(request).await
    }
}

/// Files written so far.
struct Writer {
    root: PathBuf,
    files: u64,
    bytes: u64,
}

impl Writer {
    fn put(&mut self, relative: &str, bytes: &[u8]) -> ApiResult<()> {
        let path = self.root.join(relative);
        let io = |e: std::io::Error| ApiError::new("io", format!("{}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, bytes).map_err(io)?;
        self.files += 1;
        self.bytes += bytes.len() as u64;
        Ok(())
    }
}

fn report(progress: &dyn Progress, stage: &str, done: u64, total: Option<u64>) -> ApiResult<()> {
    match progress.update(ProgressEvent::new(stage, done, total)) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(ApiError::new("cancelled", "cancelled")),
    }
}

/// Where the site is made before it is renamed to `out`; the folders that
/// killed exports left there are removed.
fn temporary_for(out: &Path) -> ApiResult<PathBuf> {
    let name = out
        .file_name()
        .ok_or_else(|| ApiError::bad_request(format!("{}: not a folder name", out.display())))?
        .to_string_lossy()
        .into_owned();
    let prefix = format!(".{name}.tmp-");
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(out.with_file_name(format!("{prefix}{}", std::process::id())))
}

/// Refuses an `out` that holds files (unless `replace`).
fn check_out(out: &Path, replace: bool) -> ApiResult<()> {
    match std::fs::read_dir(out).map(|mut entries| entries.next().is_some()) {
        Ok(true) if !replace => Err(ApiError::new(
            "already_exists",
            format!(
                "{} is not empty; choose another folder or replace it (--force)",
                out.display()
            ),
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if out.is_file() => Err(ApiError::new(
            "already_exists",
            format!("{} is a file", out.display()),
        )),
        Err(e) => Err(ApiError::new("io", format!("{}: {e}", out.display()))),
    }
}

/// Writes scope `scope` of dataset `dataset` in `data_dir` as a static site
/// in `out`.
pub async fn export_site(
    data_dir: &Path,
    dataset: &str,
    scope: &str,
    out: &Path,
    options: &SiteOptions,
    progress: &dyn Progress,
) -> ApiResult<SiteSummary> {
    let scope_id: ScopeId = scope.parse()?;
    check_out(out, options.replace)?;
    let mut config = ServeConfig::new(data_dir);
    config.read_only = true;
    let state = Arc::new(AppState::new(config));
    let ds = state.dataset(dataset)?;
    let source = Source {
        app: crate::routes::router(state.clone()),
        state,
    };
    let tmp = temporary_for(out)?;
    let mut writer = Writer {
        root: tmp.clone(),
        files: 0,
        bytes: 0,
    };
    let result = write_site(&source, &ds, scope_id, &mut writer, options, progress).await;
    let finish = result.and_then(|rows| {
        if out.exists() {
            std::fs::remove_dir_all(out)
                .map_err(|e| ApiError::new("io", format!("{}: {e}", out.display())))?;
        }
        std::fs::rename(&tmp, out)
            .map_err(|e| ApiError::new("io", format!("{}: {e}", out.display())))?;
        Ok(rows)
    });
    match finish {
        Ok(rows) => Ok(SiteSummary {
            dir: out.to_path_buf(),
            rows,
            files: writer.files,
            bytes: writer.bytes,
        }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

async fn write_site(
    source: &Source,
    ds: &latentscope_core::Dataset,
    scope: ScopeId,
    writer: &mut Writer,
    options: &SiteOptions,
    progress: &dyn Progress,
) -> ApiResult<u64> {
    let base = format!("/api/datasets/{}", ds.id());
    report(progress, "pages", 0, None)?;
    writer.put("data/version.json", &source.get("/api/version").await?)?;
    let scope_json = source.get(&format!("{base}/scopes/{scope}")).await?;
    writer.put("data/scope.json", &scope_json)?;
    let scope_value: Value = serde_json::from_slice(&scope_json)
        .map_err(|e| ApiError::new("internal", format!("scope JSON: {e}")))?;
    let dataset = only_this_scope(&source.get(&base).await?, &scope_value, scope)?;
    writer.put("data/dataset.json", &dataset)?;
    writer.put(
        "data/points.arrow",
        &source.get(&format!("{base}/scopes/{scope}/points")).await?,
    )?;
    let scope_json = scope_value;
    let rows = ds.rows();
    let meta = ds.meta();
    let mut columns = Vec::new();
    for (i, name) in meta.columns.iter().enumerate() {
        let file = format!("c{i}");
        let column = source
            .get(&format!("{base}/columns/{}?scope={scope}", segment(name)))
            .await;
        let values = source
            .get(&format!(
                "{base}/columns/{}/values?limit=1000",
                segment(name)
            ))
            .await;
        match (column, values) {
            (Ok(column), Ok(values)) => {
                writer.put(&format!("data/columns/{file}.arrow"), &column)?;
                writer.put(&format!("data/columns/{file}.values.json"), &values)?;
                columns.push(json!({"name": name, "file": file}));
            }
            // A column the API cannot serve (a nested type): left out.
            _ => columns.push(json!({"name": name, "file": null})),
        }
    }
    let text_column = meta.text_column.clone();
    let chunks = rows.div_ceil(CHUNK_ROWS);
    for n in 0..chunks {
        report(progress, "rows", n * CHUNK_ROWS, Some(rows))?;
        let indices: Vec<u64> = (n * CHUNK_ROWS..((n + 1) * CHUNK_ROWS).min(rows)).collect();
        let body = source
            .post(&format!("{base}/rows"), &json!({"indices": indices}))
            .await?;
        let records: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new("internal", format!("rows: {e}")))?;
        let texts: Vec<Value> = records
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| match &r[&text_column] {
                        Value::String(s) => Value::String(s.clone()),
                        _ => Value::String(String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        writer.put(&format!("data/rows/{n}.json"), &body)?;
        writer.put(
            &format!("data/text/{n}.json"),
            serde_json::to_string(&texts)
                .map_err(|e| ApiError::new("internal", e.to_string()))?
                .as_bytes(),
        )?;
    }
    report(progress, "rows", rows, Some(rows))?;
    let k = options.neighbors.min(rows.saturating_sub(1) as usize);
    if k > 0 {
        write_neighbors(source, ds, &scope_json, writer, k, progress).await?;
    }
    let site = json!({
        "format": 1,
        "dataset": ds.id(),
        "scope": scope.to_string(),
        "rows": rows,
        "chunk_rows": CHUNK_ROWS,
        "neighbors_k": k,
        "text_column": text_column,
        "columns": columns,
        "generated_by": format!("latentscope {}", env!("CARGO_PKG_VERSION")),
    });
    writer.put(
        "site.json",
        &serde_json::to_vec_pretty(&site).map_err(|e| ApiError::new("internal", e.to_string()))?,
    )?;
    write_app(&source.state, writer)?;
    Ok(rows)
}

/// The dataset's record as `GET /api/datasets/{ds}` answers it, keeping of
/// its artifacts and scopes only the scope's own chain (its embedding,
/// umap, clustering, labels and itself): a site shows nothing of the other
/// runs.
fn only_this_scope(dataset: &[u8], scope_json: &Value, scope: ScopeId) -> ApiResult<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(dataset)
        .map_err(|e| ApiError::new("internal", format!("dataset JSON: {e}")))?;
    let record = &scope_json["scope"];
    let field = |k: &str| record[k].as_str().map(str::to_string);
    let cluster = field("cluster_id");
    let labels = match (field("cluster_labels_id"), &cluster) {
        (Some(l), Some(c)) if l == "default" => Some(format!("{c}-labels-default")),
        (l, _) => l,
    };
    let chain: Vec<String> = [
        field("embedding_id"),
        field("umap_id"),
        cluster,
        labels,
        Some(scope.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let keep = |v: &Value, key: &str| {
        v[key]
            .as_str()
            .is_some_and(|id| chain.iter().any(|c| c == id))
    };
    if let Some(artifacts) = value["artifacts"].as_array_mut() {
        artifacts.retain(|a| keep(a, "id"));
    }
    if let Some(scopes) = value["scopes"].as_array_mut() {
        scopes.retain(|s| keep(s, "id"));
    }
    // Tags are the dataset's, not the scope's.
    value["tags"] = Value::Array(Vec::new());
    serde_json::to_vec(&value).map_err(|e| ApiError::new("internal", e.to_string()))
}

/// Each row's `k` nearest rows by cosine over the scope's embedding (exact
/// up to 8,192 rows, NN-descent above), in chunk files.
async fn write_neighbors(
    source: &Source,
    ds: &latentscope_core::Dataset,
    scope_json: &Value,
    writer: &mut Writer,
    k: usize,
    progress: &dyn Progress,
) -> ApiResult<()> {
    let embedding = scope_json["scope"]["embedding_id"]
        .as_str()
        .ok_or_else(|| ApiError::new("internal", "the scope names no embedding"))?
        .parse()?;
    let vectors = source.state.vectors(ds, embedding)?;
    let rows = vectors.rows;
    // The step runs on this thread: the caller's progress cannot cross threads.
    let view = latentscope_core::ndarray::ArrayView2::from_shape(
        (vectors.rows, vectors.cols),
        &vectors.data,
    )
    .map_err(|e| ApiError::new("internal", e.to_string()))?;
    let graph = latentscope_core::umap::knn_graph(
        view,
        k,
        latentscope_core::umap::Metric::Cosine,
        42,
        progress,
    )
    .map_err(|e| ApiError::from(latentscope_core::Error::from(e)))?;
    let chunks = (rows as u64).div_ceil(CHUNK_ROWS);
    for n in 0..chunks {
        let from = (n * CHUNK_ROWS) as usize;
        let to = (from + CHUNK_ROWS as usize).min(rows);
        let mut indices = Vec::with_capacity((to - from) * k * 4);
        let mut distances = Vec::with_capacity((to - from) * k * 4);
        for row in from..to {
            for j in 0..k {
                indices.extend_from_slice(&graph.indices[[row, j]].to_le_bytes());
                distances.extend_from_slice(&graph.distances[[row, j]].to_le_bytes());
            }
        }
        writer.put(&format!("data/neighbors/{n}.bin"), &indices)?;
        writer.put(&format!("data/neighbors/{n}.dist.bin"), &distances)?;
    }
    Ok(())
}

/// The explorer: its files, and `index.html` told where the site's root is.
fn write_app(state: &AppState, writer: &mut Writer) -> ApiResult<()> {
    for (relative, bytes) in crate::routes::built_files(state)? {
        if relative == "index.html" {
            let html = String::from_utf8_lossy(&bytes);
            let marker = "<script>window.__LS_SITE__ = \"./\"</script>";
            let html = match html.find("</head>") {
                Some(at) => format!("{}{marker}\n{}", &html[..at], &html[at..]),
                None => format!("{marker}\n{html}"),
            };
            writer.put("index.html", html.as_bytes())?;
        } else {
            writer.put(&relative, &bytes)?;
        }
    }
    Ok(())
}
