//! Input columns for colouring and filtering the map:
//! `GET /api/datasets/{ds}/columns/{col}` (one column in row order as Arrow:
//! numbers as `float32` with their extent in the schema metadata, anything
//! else dictionary-encoded), `GET …/columns/{col}/values?limit=` (distinct
//! values with counts), `POST …/filter` (rows matching every filter, as
//! Arrow `index`) and `POST …/rows/page` (a page of rows under a filter and
//! a sort).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::openapi::{PageResult, ValueCount, ValuesResult};

use super::rows::{cell, records};
use super::scopes::ARROW_STREAM;
use super::tags::index_stream;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn column<'a>(input: &'a RecordBatch, name: &str, ds: &str) -> ApiResult<&'a ArrayRef> {
    input.column_by_name(name).ok_or_else(|| {
        ApiError::new(
            "not_found",
            format!(
                "no column {name:?} in {ds}; the columns are: {}",
                input
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

fn numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating()
}

/// One column of the input, in row order, as an Arrow stream.
#[utoipa::path(get, path = "/api/datasets/{ds}/columns/{col}", tag = "rows", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("col" = String, Path, description = "An input column", min_length = 1)), responses((status = 200, description = "The column in row order as Arrow IPC: numbers as f64 with their extent in the schema metadata, text as dictionary-encoded categories", content_type = "application/vnd.apache.arrow.stream")))]
pub(crate) async fn one(
    State(state): State<Arc<AppState>>,
    Path((ds, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let ds = state.dataset(&ds)?;
    let input = state.load_input(&ds).await?;
    let array = column(&input, &name, ds.id())?;
    let n = array.len();
    let (values, mut metadata): (ArrayRef, HashMap<String, String>) = if numeric(array.data_type())
    {
        let v: Vec<Option<f32>> = (0..n)
            .map(|i| cell(array.as_ref(), i).as_f64().map(|f| f as f32))
            .collect();
        let finite = v.iter().flatten().filter(|f| f.is_finite());
        let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &f| {
            (lo.min(f), hi.max(f))
        });
        let mut m = HashMap::new();
        if lo <= hi {
            m.insert("min".to_string(), lo.to_string());
            m.insert("max".to_string(), hi.to_string());
        }
        (Arc::new(Float32Array::from(v)), m)
    } else {
        let v: Vec<Option<String>> = (0..n)
            .map(|i| match cell(array.as_ref(), i) {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            })
            .collect();
        let dict: DictionaryArray<Int32Type> = v.iter().map(|s| s.as_deref()).collect();
        let mut m = HashMap::new();
        m.insert("categories".to_string(), dict.values().len().to_string());
        (Arc::new(dict), m)
    };
    metadata.insert("column".to_string(), name.clone());
    let schema = Arc::new(
        Schema::new(vec![Field::new(&name, values.data_type().clone(), true)])
            .with_metadata(metadata),
    );
    let batch = RecordBatch::try_new(schema.clone(), vec![values])
        .map_err(|e| ApiError::new("internal", e.to_string()))?;
    let mut out = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &schema)
            .map_err(|e| ApiError::new("internal", e.to_string()))?;
        w.write(&batch)
            .and_then(|_| w.finish())
            .map_err(|e| ApiError::new("internal", e.to_string()))?;
    }
    Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], out).into_response())
}

/// The query of `…/values`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ValuesQuery {
    /// The most values returned (default 100).
    #[param(minimum = 0, maximum = 10000)]
    limit: Option<usize>,
}

/// A column's distinct values with their counts, most frequent first.
#[utoipa::path(get, path = "/api/datasets/{ds}/columns/{col}/values", tag = "rows", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("col" = String, Path, description = "An input column", min_length = 1), ValuesQuery), responses((status = 200, description = "Distinct values with their counts, most frequent first", body = crate::openapi::ValuesResult)))]
pub(crate) async fn values(
    State(state): State<Arc<AppState>>,
    Path((ds, name)): Path<(String, String)>,
    Query(q): Query<ValuesQuery>,
) -> ApiResult<Json<ValuesResult>> {
    let ds = state.dataset(&ds)?;
    let input = state.load_input(&ds).await?;
    let array = column(&input, &name, ds.id())?;
    let mut counts: HashMap<String, (Value, u64)> = HashMap::new();
    for i in 0..array.len() {
        let v = cell(array.as_ref(), i);
        counts.entry(v.to_string()).or_insert((v, 0)).1 += 1;
    }
    let mut all: Vec<(Value, u64)> = counts.into_values().collect();
    all.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
    });
    let distinct = all.len();
    all.truncate(crate::whole::at_most(q.limit, 100, 10_000, "limit")?);
    Ok(Json(ValuesResult {
        column: name,
        distinct: distinct as u64,
        values: all
            .into_iter()
            .map(|(value, count)| ValueCount { value, count })
            .collect(),
    }))
}

/// One filter: `{column, op, value}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub(crate) struct Filter {
    /// An input column.
    column: String,
    /// eq, ne, in, contains, gt, gte, lt, lte, between or is_null.
    op: String,
    /// The operand: a value, a list (`in`), `[low, high]` (`between`).
    #[serde(default)]
    #[schema(value_type = Value)]
    value: Value,
}

/// The body of `…/filter`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct FilterBody {
    #[serde(default)]
    filters: Vec<Filter>,
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// Whether `cell` passes `f` (strings compare as text, numbers as numbers).
fn passes(cell: &Value, f: &Filter) -> ApiResult<bool> {
    let bad = |why: &str| ApiError::bad_request(format!("filter on {:?}: {why}", f.column));
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let cmp = |want: &Value| -> Option<std::cmp::Ordering> {
        match (number(cell), number(want)) {
            (Some(a), Some(b)) if !cell.is_string() || want.is_number() => a.partial_cmp(&b),
            _ => Some(text(cell).cmp(&text(want))),
        }
    };
    Ok(match f.op.as_str() {
        "is_null" => cell.is_null() == f.value.as_bool().unwrap_or(true),
        _ if cell.is_null() => false,
        "eq" => cmp(&f.value) == Some(std::cmp::Ordering::Equal),
        "ne" => cmp(&f.value) != Some(std::cmp::Ordering::Equal),
        "in" => f
            .value
            .as_array()
            .ok_or_else(|| bad("`in` takes a list"))?
            .iter()
            .any(|w| cmp(w) == Some(std::cmp::Ordering::Equal)),
        "contains" => text(cell)
            .to_lowercase()
            .contains(&text(&f.value).to_lowercase()),
        "gt" => cmp(&f.value) == Some(std::cmp::Ordering::Greater),
        "gte" => matches!(
            cmp(&f.value),
            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
        ),
        "lt" => cmp(&f.value) == Some(std::cmp::Ordering::Less),
        "lte" => matches!(
            cmp(&f.value),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        ),
        "between" => {
            let range = f
                .value
                .as_array()
                .filter(|r| r.len() == 2)
                .ok_or_else(|| bad("`between` takes [low, high]"))?;
            matches!(
                cmp(&range[0]),
                Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
            ) && matches!(
                cmp(&range[1]),
                Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
            )
        }
        other => {
            return Err(bad(&format!(
                "unknown op {other:?}; use eq, ne, in, contains, gt, gte, lt, lte, between or is_null"
            )));
        }
    })
}

/// The rows that pass every filter, in row order.
pub(crate) fn matching(input: &RecordBatch, filters: &[Filter], ds: &str) -> ApiResult<Vec<u64>> {
    let columns: Vec<&ArrayRef> = filters
        .iter()
        .map(|f| column(input, &f.column, ds))
        .collect::<ApiResult<_>>()?;
    let mut out = Vec::new();
    'rows: for i in 0..input.num_rows() {
        for (f, c) in filters.iter().zip(&columns) {
            if !passes(&cell(c.as_ref(), i), f)? {
                continue 'rows;
            }
        }
        out.push(i as u64);
    }
    Ok(out)
}

/// `POST …/filter`: the rows passing every filter, as Arrow `index`.
#[utoipa::path(post, path = "/api/datasets/{ds}/filter", tag = "rows", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), request_body = FilterBody, responses((status = 200, description = "The rows passing every filter, as an Arrow IPC stream with one column `index`", content_type = "application/vnd.apache.arrow.stream")))]
pub(crate) async fn filter(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    JsonObject(body): JsonObject<FilterBody>,
) -> ApiResult<Response> {
    let ds = state.dataset(&ds)?;
    let input = state.load_input(&ds).await?;
    index_stream(matching(&input, &body.filters, ds.id())?)
}

/// The sort of a page: a column and a direction.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct Sort {
    column: String,
    #[serde(default)]
    descending: bool,
}

/// The body of `…/rows/page`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct PageBody {
    #[serde(default)]
    filter: Vec<Filter>,
    sort: Option<Sort>,
    #[serde(default, deserialize_with = "crate::whole::usize")]
    offset: usize,
    #[serde(default, deserialize_with = "crate::whole::opt_usize")]
    #[schema(maximum = 10000)]
    limit: Option<usize>,
    columns: Option<Vec<String>>,
}

/// `POST …/rows/page`: `{total, rows}` of the rows passing the filter,
/// sorted, from `offset`.
#[utoipa::path(post, path = "/api/datasets/{ds}/rows/page", tag = "rows", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), request_body = PageBody, responses((status = 200, description = "A page of the rows passing the filter, sorted", body = crate::openapi::PageResult)))]
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    JsonObject(body): JsonObject<PageBody>,
) -> ApiResult<Json<PageResult>> {
    let ds = state.dataset(&ds)?;
    let input = state.load_input(&ds).await?;
    let mut rows = matching(&input, &body.filter, ds.id())?;
    if let Some(sort) = &body.sort {
        let c = column(&input, &sort.column, ds.id())?;
        let keys: Vec<Value> = rows.iter().map(|&r| cell(c.as_ref(), r as usize)).collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| {
            let o = match (number(&keys[a]), number(&keys[b])) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => keys[a].to_string().cmp(&keys[b].to_string()),
            };
            if sort.descending { o.reverse() } else { o }
        });
        rows = order.into_iter().map(|i| rows[i]).collect();
    }
    let total = rows.len();
    let limit = crate::whole::at_most(body.limit, 100, super::rows::MAX_ROWS, "limit")?;
    let page: Vec<u64> = rows.into_iter().skip(body.offset).take(limit).collect();
    Ok(Json(PageResult {
        total: total as u64,
        rows: records(&input, &page, body.columns.as_deref())?,
    }))
}
