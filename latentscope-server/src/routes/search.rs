//! `GET /api/datasets/{ds}/search/nn?embedding=<id>|scope=<id>&query=<text>|row=<index>&k=<n>`:
//! the rows nearest a free-text query (embedded by the embedding's own
//! model, loaded once and kept) or a row, by cosine, exactly; and
//! `GET …/search/text?query=&column=&limit=`: a case-insensitive substring
//! scan of a text column.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;
use axum::Json;
use axum::extract::{Path, Query, State};
use latentscope_core::{EmbedConfig, EmbeddingId, ScopeId};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::openapi::{NnResult, TextResult};
use crate::search::{self, SearchMode};
use crate::state::AppState;

/// The most neighbours one request may ask for.
const MAX_K: usize = 1_000;

/// The query of `search/nn`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NnQuery {
    /// The embedding searched (default: the scope's, else the dataset's latest).
    #[param(pattern = r"^embedding-[0-9]{3,9}$")]
    embedding: Option<String>,
    /// A scope whose embedding is searched.
    #[param(pattern = r"^scopes-[0-9]{3,9}$")]
    scope: Option<String>,
    /// A text, embedded by the embedding's own model.
    query: Option<String>,
    /// A row whose vector is the query.
    #[param(maximum = 4294967295_u64)]
    row: Option<u64>,
    /// How many neighbours (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    k: Option<usize>,
}

/// Rows nearest a query text or a row, by cosine distance.
#[utoipa::path(get, path = "/api/datasets/{ds}/search/nn", tag = "search", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), NnQuery), responses((status = 200, description = "The nearest rows by cosine, nearest first", body = crate::openapi::NnResult)))]
pub(crate) async fn nn(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    Query(q): Query<NnQuery>,
) -> ApiResult<Json<NnResult>> {
    let started = Instant::now();
    let ds = state.dataset(&ds)?;
    let embedding: EmbeddingId = match (&q.embedding, &q.scope) {
        (Some(e), _) => e.parse()?,
        (None, Some(s)) => ds.scope_meta(s.parse::<ScopeId>()?)?.embedding_id,
        (None, None) => ds
            .artifact_ids::<EmbeddingId>()?
            .pop()
            .ok_or_else(|| ApiError::new("not_found", format!("{} has no embedding", ds.id())))?,
    };
    let k = crate::whole::at_most(q.k, 100, MAX_K, "k")?.max(1);
    let vectors = state.vectors(&ds, embedding)?;
    let query: Vec<f32> = match (&q.query, q.row) {
        (_, Some(row)) => {
            let r = usize::try_from(row).unwrap_or(usize::MAX);
            if r >= vectors.rows {
                return Err(ApiError::new(
                    "not_found",
                    format!(
                        "row {row} is out of range: the dataset has {} rows",
                        vectors.rows
                    ),
                ));
            }
            vectors.data[r * vectors.cols..(r + 1) * vectors.cols].to_vec()
        }
        (Some(text), None) => {
            let meta = ds.embedding_meta(embedding)?;
            let spec = meta
                .extra
                .get("model_spec")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::new(
                        "unsupported",
                        format!("{embedding} was imported (no model recorded): search it with row=<index>"),
                    )
                })?;
            // An API model is asked for the embedding's own length (it
            // may have been made with `--dimensions`).
            let api = latentscope_models::providers::Provider::parse_spec(&spec).is_some();
            let config = EmbedConfig::default()
                .with_dimensions(api.then_some(meta.dimensions))
                .with_data_dir(Some(state.config.data_dir.clone()));
            let embedder = state.embedder(&spec, &config)?;
            let text = format!("{}{text}", meta.prefix);
            let mut out = embedder
                .embed(&[text])
                .await
                .map_err(latentscope_core::Error::from)?;
            let v = out.pop().unwrap_or_default();
            if v.len() != vectors.cols {
                return Err(ApiError::new(
                    "mismatched_parts",
                    format!(
                        "{spec} now gives {} dimensions; {embedding} has {}",
                        v.len(),
                        vectors.cols
                    ),
                ));
            }
            v
        }
        (None, None) => return Err(ApiError::bad_request("give query=<text> or row=<index>")),
    };
    let mut query = query;
    search::unit_rows(&mut query, vectors.cols);
    let vectors2 = vectors.clone();
    // Exact up to `exact_up_to` rows; above, the HNSW graph once it is ready
    // (exact meanwhile).
    let graph = (vectors.rows > state.config.exact_up_to)
        .then(|| state.graph(&ds, embedding, vectors.clone()))
        .flatten();
    let mode = if graph.is_some() {
        SearchMode::Hnsw
    } else {
        SearchMode::Exact
    };
    let best = tokio::task::spawn_blocking(move || match graph {
        Some(g) => g.search(&query, k),
        None => search::exact(&vectors2.data, vectors2.cols, &query, k),
    })
    .await
    .map_err(|e| ApiError::new("internal", e.to_string()))?;
    Ok(Json(NnResult {
        indices: best.iter().map(|&(i, _)| i as u64).collect(),
        distances: best.iter().map(|&(_, s)| 1.0 - s).collect(),
        mode: mode.as_str().into(),
        embedding: embedding.to_string(),
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
    }))
}

/// The query of `search/text`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TextQuery {
    /// The text to find (case ignored).
    query: String,
    /// The column searched (default: the text column).
    column: Option<String>,
    /// The most indices returned (default 1000).
    #[param(minimum = 0, maximum = 100000)]
    limit: Option<usize>,
}

/// Rows whose text column (or `column`) contains `query`, ignoring case.
#[utoipa::path(get, path = "/api/datasets/{ds}/search/text", tag = "search", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), TextQuery), responses((status = 200, description = "Rows whose text contains the query (case ignored)", body = crate::openapi::TextResult)))]
pub(crate) async fn text(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    Query(q): Query<TextQuery>,
) -> ApiResult<Json<TextResult>> {
    let ds = state.dataset(&ds)?;
    let column = q
        .column
        .clone()
        .unwrap_or_else(|| ds.meta().text_column.clone());
    let input = state.load_input(&ds).await?;
    let array = input.column_by_name(&column).ok_or_else(|| {
        ApiError::new("not_found", format!("no column {column:?} in {}", ds.id()))
    })?;
    let needle = q.query.to_lowercase();
    let limit = crate::whole::at_most(q.limit, 1_000, 100_000, "limit")?;
    let mut indices = Vec::new();
    let mut total = 0u64;
    let mut visit = |i: usize, s: &str| {
        if !needle.is_empty() && s.to_lowercase().contains(&needle) {
            total += 1;
            if indices.len() < limit {
                indices.push(i);
            }
        }
    };
    match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .enumerate()
            .for_each(|(i, s)| visit(i, s.unwrap_or(""))),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .enumerate()
            .for_each(|(i, s)| visit(i, s.unwrap_or(""))),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .enumerate()
            .for_each(|(i, s)| visit(i, s.unwrap_or(""))),
        other => {
            return Err(ApiError::bad_request(format!(
                "column {column:?} has type {other}: search/text scans text columns"
            )));
        }
    }
    Ok(Json(TextResult {
        indices: indices.into_iter().map(|i| i as u64).collect(),
        total,
        column,
    }))
}
