//! `GET /api/datasets/{ds}/rows?indices=1,2,3[&columns=a,b]` and the same as
//! a POST with a JSON body `{indices, columns?}`: input rows as JSON records,
//! each with its `ls_index` (the hover card, the detail panel, the table).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The most rows one request may ask for.
pub(crate) const MAX_ROWS: usize = 10_000;

/// The query of `GET …/rows`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RowsQuery {
    /// Row indices, comma-separated.
    #[param(pattern = r"^[0-9]{1,10}(,[0-9]{1,10}){0,9999}$")]
    indices: String,
    /// Columns, comma-separated (default: every column).
    columns: Option<String>,
}

/// The body of `POST …/rows`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RowsBody {
    /// Row indices (at most 10,000).
    #[serde(deserialize_with = "crate::whole::vec_u64")]
    #[schema(max_items = 10000)]
    indices: Vec<u64>,
    /// Columns (default: every column).
    columns: Option<Vec<String>>,
}

/// One cell as JSON.
pub(crate) fn cell(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(array.as_primitive::<$t>().value(row))
        };
    }
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).into(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).into(),
        DataType::Utf8View => array.as_string_view().value(row).into(),
        DataType::Boolean => array.as_boolean().value(row).into(),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => {
            let v = array.as_primitive::<Float32Type>().value(row);
            serde_json::Number::from_f64(v as f64).map_or(Value::Null, Value::Number)
        }
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        _ => {
            let options = arrow_cast::display::FormatOptions::default();
            match arrow_cast::display::ArrayFormatter::try_new(array, &options) {
                Ok(f) => f.value(row).to_string().into(),
                Err(_) => Value::Null,
            }
        }
    }
}

/// A 404 naming the first of `rows` past the dataset's end.
pub(crate) fn check_rows<'a>(rows: impl IntoIterator<Item = &'a u64>, n: u64) -> ApiResult<()> {
    match rows.into_iter().find(|&&r| r >= n) {
        Some(r) => Err(ApiError::new(
            "not_found",
            format!("row {r} is out of range: the dataset has {n} rows"),
        )),
        None => Ok(()),
    }
}

/// The records of `indices` (in the order asked), with the chosen columns.
pub(crate) fn records(
    batch: &RecordBatch,
    indices: &[u64],
    columns: Option<&[String]>,
) -> ApiResult<Vec<Value>> {
    if indices.len() > MAX_ROWS {
        return Err(ApiError::bad_request(format!(
            "{} rows asked for; at most {MAX_ROWS} per request",
            indices.len()
        )));
    }
    let schema = batch.schema();
    let chosen: Vec<usize> = match columns {
        None => (0..schema.fields().len()).collect(),
        Some(names) => names
            .iter()
            .filter(|n| n.as_str() != "ls_index")
            .map(|n| {
                schema.index_of(n).map_err(|_| {
                    ApiError::new(
                        "not_found",
                        format!(
                            "no column {n:?}; the columns are: {}",
                            schema
                                .fields()
                                .iter()
                                .map(|f| f.name().as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })
            })
            .collect::<ApiResult<_>>()?,
    };
    let rows = batch.num_rows() as u64;
    indices
        .iter()
        .map(|&i| {
            if i >= rows {
                return Err(ApiError::new(
                    "not_found",
                    format!("row {i} is out of range: the dataset has {rows} rows"),
                ));
            }
            let mut m = Map::new();
            m.insert("ls_index".into(), i.into());
            for &c in &chosen {
                m.insert(
                    schema.field(c).name().clone(),
                    cell(batch.column(c).as_ref(), i as usize),
                );
            }
            Ok(Value::Object(m))
        })
        .collect()
}

fn parse_list<T: std::str::FromStr>(text: &str, what: &str) -> ApiResult<Vec<T>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| ApiError::bad_request(format!("{what}: {s:?} is not valid")))
        })
        .collect()
}

/// `GET …/rows?indices=…&columns=…`.
#[utoipa::path(get, path = "/api/datasets/{ds}/rows", tag = "rows", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), RowsQuery), responses((status = 200, description = "The rows as JSON records with `ls_index`", body = Vec<Object>)))]
pub(crate) async fn rows_get(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    Query(q): Query<RowsQuery>,
) -> ApiResult<Json<Vec<Value>>> {
    let indices: Vec<u64> = parse_list(&q.indices, "indices")?;
    if indices.is_empty() {
        return Err(ApiError::bad_request(
            "indices: give row indices, comma-separated (indices=1,2,3)",
        ));
    }
    let columns: Option<Vec<String>> = q.columns.as_deref().map(|c| {
        c.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let ds = state.dataset(&ds)?;
    let input = state.load_input(&ds).await?;
    Ok(Json(records(&input, &indices, columns.as_deref())?))
}

/// `POST …/rows` with `{indices, columns?}` (a read: allowed on a read-only server).
#[utoipa::path(post, path = "/api/datasets/{ds}/rows", tag = "rows", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$")), request_body = RowsBody, responses((status = 200, description = "The rows as JSON records with `ls_index`", body = Vec<Object>)))]
pub(crate) async fn rows_post(
    State(state): State<Arc<AppState>>,
    Path(ds): Path<String>,
    JsonObject(body): JsonObject<RowsBody>,
) -> ApiResult<Json<Vec<Value>>> {
    let ds = state.dataset(&ds)?;
    let input = state.load_input(&ds).await?;
    Ok(Json(records(
        &input,
        &body.indices,
        body.columns.as_deref(),
    )?))
}
