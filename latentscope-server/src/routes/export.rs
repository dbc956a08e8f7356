//! `POST /api/datasets/{ds}/scopes/{s}/export` (and `GET` with `tag=`): the
//! chosen rows of a scope as Parquet, CSV or JSON Lines, with `ls_index`
//! (the input row), every input column, `x`, `y`, `cluster`, `label`,
//! `deleted` and one boolean `tag_<name>` column per tag. A read: allowed on
//! a read-only server.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow_schema::{Field, Schema};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use latentscope_core::latentscope_io::{MemoryStore, Store as _, table};
use latentscope_core::{Dataset, LabelsId, ScopeId};
use serde::Deserialize;

use super::columns::{Filter, matching};
use super::rows::cell;
use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, blocking};

/// The file formats of an export.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// Apache Parquet.
    #[default]
    Parquet,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }
}

/// The body of `POST …/export`: which rows (all of them when nothing is
/// said; what is said is AND-ed) and the format.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct ExportBody {
    /// Input rows (a selection).
    #[serde(default, deserialize_with = "crate::whole::opt_vec_u64")]
    #[schema(max_items = 10000000)]
    indices: Option<Vec<u64>>,
    /// The rows of a tag.
    #[serde(default)]
    #[schema(pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,128}$")]
    tag: Option<String>,
    /// Rows passing these filters (as `…/filter` takes them).
    #[serde(default)]
    filters: Option<Vec<Filter>>,
    /// parquet (default), csv or jsonl.
    #[serde(default)]
    format: Format,
}

/// The query of `GET …/export`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// parquet (default), csv or jsonl.
    #[serde(default)]
    format: Format,
    /// Only the rows of this tag.
    #[param(pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,128}$")]
    tag: Option<String>,
}

#[utoipa::path(post, path = "/api/datasets/{ds}/scopes/{s}/export", tag = "export", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("s" = String, Path, description = "The scope id (`scopes-001`)", pattern = r"^scopes-[0-9]{3,9}$")), request_body = ExportBody, responses((status = 200, description = "The chosen rows as a file (Content-Disposition: attachment): ls_index, the input columns, x, y, cluster, label, deleted and a boolean tag_<name> per tag", content((String = "application/vnd.apache.parquet"), (String = "text/csv"), (String = "application/x-ndjson")))))]
/// The chosen rows of a scope as a file.
pub(crate) async fn export_post(
    State(state): State<Arc<AppState>>,
    Path((ds, s)): Path<(String, String)>,
    JsonObject(body): JsonObject<ExportBody>,
) -> ApiResult<Response> {
    export(state, ds, s, body).await
}

#[utoipa::path(get, path = "/api/datasets/{ds}/scopes/{s}/export", tag = "export", params(("ds" = String, Path, description = "The dataset id", pattern = r"^[A-Za-z0-9_-]{1,128}$"), ("s" = String, Path, description = "The scope id (`scopes-001`)", pattern = r"^scopes-[0-9]{3,9}$"), ExportQuery), responses((status = 200, description = "The scope's rows (or a tag's) as a file", content((String = "application/vnd.apache.parquet"), (String = "text/csv"), (String = "application/x-ndjson")))))]
/// The rows of a scope, or of one tag, as a file.
pub(crate) async fn export_get(
    State(state): State<Arc<AppState>>,
    Path((ds, s)): Path<(String, String)>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let body = ExportBody {
        tag: q.tag,
        format: q.format,
        ..ExportBody::default()
    };
    export(state, ds, s, body).await
}

async fn export(
    state: Arc<AppState>,
    ds: String,
    s: String,
    body: ExportBody,
) -> ApiResult<Response> {
    let ds = state.dataset(&ds)?;
    let id: ScopeId = s.parse()?;
    let format = body.format;
    let name = format!("{}-{id}.{}", ds.id(), format.extension());
    let st = state.clone();
    let bytes = blocking(move || {
        let batch = export_batch(&st, &ds, id, &body)?;
        encode(&batch, format)
    })
    .await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The rows chosen by `body`, in row order.
fn chosen_rows(state: &AppState, ds: &Dataset, body: &ExportBody, n: u64) -> ApiResult<Vec<u64>> {
    let mut rows: Option<Vec<u64>> = None;
    let mut and = |next: Vec<u64>| {
        rows = Some(match rows.take() {
            None => next,
            Some(prev) => {
                let keep: std::collections::HashSet<u64> = next.into_iter().collect();
                prev.into_iter().filter(|r| keep.contains(r)).collect()
            }
        });
    };
    if let Some(indices) = &body.indices {
        super::rows::check_rows(indices, n)?;
        let mut v = indices.clone();
        v.sort_unstable();
        v.dedup();
        and(v);
    }
    if let Some(tag) = &body.tag {
        and(ds.tag_rows(tag)?);
    }
    if let Some(filters) = &body.filters {
        let input = state.input(ds)?;
        and(matching(&input, filters, ds.id())?);
    }
    Ok(rows.unwrap_or_else(|| (0..n).collect()))
}

fn export_batch(
    state: &AppState,
    ds: &Dataset,
    id: ScopeId,
    body: &ExportBody,
) -> ApiResult<RecordBatch> {
    let meta = ds.scope_meta(id)?;
    let points = super::scopes::points(state, ds, id)?;
    let input = state.input(ds)?;
    let n = input.num_rows() as u64;
    let rows = chosen_rows(state, ds, body, n)?;
    // The scope's position of each input row (the identity, normally).
    let at: HashMap<u32, usize> = points
        .ls_index
        .iter()
        .enumerate()
        .map(|(i, &r)| (r, i))
        .collect();
    let position = |r: u64| at.get(&(r as u32)).copied();
    let labels_id = LabelsId::parse_for(meta.cluster_id, &meta.cluster_labels_id)
        .unwrap_or_else(|_| LabelsId::default_for(meta.cluster_id));
    let label_names: Vec<String> = ds
        .read_labels(labels_id)?
        .into_iter()
        .map(|r| r.label)
        .collect();

    let take = UInt32Array::from_iter_values(rows.iter().map(|&r| r as u32));
    let mut fields: Vec<Field> = vec![Field::new("ls_index", arrow_schema::DataType::Int64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(
        rows.iter().map(|&r| r as i64),
    ))];
    let internal = |e: arrow_schema::ArrowError| ApiError::new("internal", e.to_string());
    for (field, column) in input.schema().fields().iter().zip(input.columns()) {
        if field.name() == "ls_index" {
            continue;
        }
        fields.push(Field::new(field.name(), field.data_type().clone(), true));
        columns.push(arrow_select::take::take(column.as_ref(), &take, None).map_err(internal)?);
    }
    let point = |r: &u64| position(*r);
    fields.push(Field::new("x", arrow_schema::DataType::Float32, true));
    columns.push(Arc::new(Float32Array::from_iter(
        rows.iter().map(|r| point(r).map(|p| points.xy[2 * p])),
    )));
    fields.push(Field::new("y", arrow_schema::DataType::Float32, true));
    columns.push(Arc::new(Float32Array::from_iter(
        rows.iter().map(|r| point(r).map(|p| points.xy[2 * p + 1])),
    )));
    fields.push(Field::new("cluster", arrow_schema::DataType::Int64, true));
    columns.push(Arc::new(Int64Array::from_iter(
        rows.iter()
            .map(|r| point(r).map(|p| i64::from(points.cluster[p]))),
    )));
    fields.push(Field::new("label", arrow_schema::DataType::Utf8, true));
    columns.push(Arc::new(StringArray::from_iter(rows.iter().map(|r| {
        point(r).and_then(|p| label_names.get(points.cluster[p] as usize).cloned())
    }))));
    fields.push(Field::new("deleted", arrow_schema::DataType::Boolean, true));
    columns.push(Arc::new(BooleanArray::from_iter(
        rows.iter().map(|r| point(r).map(|p| points.deleted[p])),
    )));
    for tag in ds.tags()? {
        let members: std::collections::HashSet<u64> = ds.tag_rows(&tag)?.into_iter().collect();
        fields.push(Field::new(
            format!("tag_{tag}"),
            arrow_schema::DataType::Boolean,
            false,
        ));
        columns.push(Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| Some(members.contains(r))),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(internal)
}

/// A CSV field: quoted when it holds a comma, quote or line break.
fn csv_field(value: &serde_json::Value, out: &mut String) {
    let text = match value {
        serde_json::Value::Null => return,
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&text);
    }
}

fn encode(batch: &RecordBatch, format: Format) -> ApiResult<Vec<u8>> {
    match format {
        Format::Parquet => {
            let store = MemoryStore::new();
            table::write_batch(&store, "export.parquet", batch)?;
            Ok(store.get("export.parquet")?.to_vec())
        }
        Format::Csv => {
            let schema = batch.schema();
            let mut out = String::new();
            for (i, f) in schema.fields().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                csv_field(&serde_json::Value::String(f.name().clone()), &mut out);
            }
            out.push('\n');
            for row in 0..batch.num_rows() {
                for (i, column) in batch.columns().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    csv_field(&cell(column.as_ref(), row), &mut out);
                }
                out.push('\n');
            }
            Ok(out.into_bytes())
        }
        Format::Jsonl => {
            let schema = batch.schema();
            let mut out = Vec::new();
            for row in 0..batch.num_rows() {
                let record: serde_json::Map<String, serde_json::Value> = schema
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| (f.name().clone(), cell(c.as_ref(), row)))
                    .collect();
                serde_json::to_writer(&mut out, &record)
                    .map_err(|e| ApiError::new("internal", e.to_string()))?;
                out.push(b'\n');
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;
    use serde_json::json;

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        let mut out = String::new();
        for v in [
            json!("plain"),
            json!("a, b"),
            json!("say \"hi\""),
            json!(3),
            json!(null),
        ] {
            csv_field(&v, &mut out);
            out.push('|');
        }
        assert_eq!(out, "plain|\"a, b\"|\"say \"\"hi\"\"\"|3||");
    }
}
