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
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The most neighbours one request may ask for.
const MAX_K: usize = 1_000;

/// The query of `search/nn`.
#[derive(Debug, Deserialize)]
pub(crate) struct NnQuery {
    embedding: Option<String>,
    scope: Option<String>,
    query: Option<String>,
    row: Option<u64>,
    k: Option<usize>,
}

/// The k best of `scores` (higher is nearer), best first, ties by row.
fn top_k(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    let k = k.min(best.len());
    if k == 0 {
        return Vec::new();
    }
    best.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best.truncate(k);
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best
}

/// Rows nearest a query text or a row, by cosine distance.
pub(crate) async fn nn(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    Query(q): Query<NnQuery>,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let ds = state.dataset(&ds)?;
    let embedding: EmbeddingId = match (&q.embedding, &q.scope) {
        (Some(e), _) => e.parse()?,
        (None, Some(s)) => ds.scope_meta(s.parse::<ScopeId>()?)?.embedding_id,
        (None, None) => {
            return Err(ApiError::bad_request("give embedding=<id> or scope=<id>"));
        }
    };
    let k = q.k.unwrap_or(100).clamp(1, MAX_K);
    let vectors = state.vectors(&ds, embedding)?;
    let query: Vec<f32> = match (&q.query, q.row) {
        (_, Some(row)) => {
            let r = usize::try_from(row).unwrap_or(usize::MAX);
            if r >= vectors.rows {
                return Err(ApiError::bad_request(format!(
                    "row {row} is out of range: the dataset has {} rows",
                    vectors.rows
                )));
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
            let embedder = state.embedder(&spec, &EmbedConfig::default())?;
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
    let norm = query
        .iter()
        .map(|v| v * v)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    let query: Vec<f32> = query.iter().map(|v| v / norm).collect();
    let vectors2 = vectors.clone();
    let best = tokio::task::spawn_blocking(move || {
        let scores: Vec<f32> = vectors2
            .data
            .chunks_exact(vectors2.cols)
            .map(|row| row.iter().zip(&query).map(|(a, b)| a * b).sum())
            .collect();
        top_k(&scores, k)
    })
    .await
    .map_err(|e| ApiError::new("internal", e.to_string()))?;
    Ok(Json(json!({
        "indices": best.iter().map(|&(i, _)| i).collect::<Vec<_>>(),
        "distances": best.iter().map(|&(_, s)| 1.0 - s).collect::<Vec<_>>(),
        "mode": "exact",
        "embedding": embedding.to_string(),
        "took_ms": started.elapsed().as_secs_f64() * 1000.0,
    })))
}

/// The query of `search/text`.
#[derive(Debug, Deserialize)]
pub(crate) struct TextQuery {
    query: String,
    column: Option<String>,
    limit: Option<usize>,
}

/// Rows whose text column (or `column`) contains `query`, ignoring case.
pub(crate) async fn text(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    Query(q): Query<TextQuery>,
) -> ApiResult<Json<Value>> {
    let ds = state.dataset(&ds)?;
    let column = q
        .column
        .clone()
        .unwrap_or_else(|| ds.meta().text_column.clone());
    let input = state.input(&ds)?;
    let array = input.column_by_name(&column).ok_or_else(|| {
        ApiError::new("not_found", format!("no column {column:?} in {}", ds.id()))
    })?;
    let needle = q.query.to_lowercase();
    let limit = q.limit.unwrap_or(1_000).min(100_000);
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
    let _ = array.len();
    Ok(Json(json!({"indices": indices, "total": total})))
}

#[cfg(test)]
mod tests {
    use super::top_k;

    #[test]
    fn top_k_is_the_true_top_by_score_then_row() {
        let scores = [0.1, 0.9, 0.5, 0.9, -1.0, 0.7];
        assert_eq!(top_k(&scores, 3), vec![(1, 0.9), (3, 0.9), (5, 0.7)]);
        assert_eq!(top_k(&scores, 10).len(), 6);
    }
}
