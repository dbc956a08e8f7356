//! Uploaded tables, kept under `<data>/.uploads/<id>/` until they are
//! ingested: each folder holds the file (under a safe name) and
//! `preview.json`, made when it arrives by reading the whole table (so a
//! file that is not a table is refused at once and nothing is kept): its
//! row count, columns and their types, the first rows, and a guess at the
//! text column.

use std::path::{Path, PathBuf};

use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use latentscope_core::latentscope_io::read::{Format, open_table};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// The folder of uploads in the data directory (hidden: not a dataset).
pub const UPLOADS_FOLDER: &str = ".uploads";
/// The largest upload unless the server is told otherwise (1 GiB).
pub const MAX_UPLOAD_BYTES: u64 = 1 << 30;
/// Rows shown in a preview.
const PREVIEW_ROWS: usize = 20;
/// Rows read to guess the text column.
const GUESS_ROWS: usize = 1000;

/// A column of an uploaded table.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreviewColumn {
    /// Its name.
    pub name: String,
    /// `string`, `integer`, `float`, `boolean`, `date` or `other`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What an upload holds, as the setup page shows it before ingesting.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Preview {
    /// The upload's id (`upload-<ms>-<n>`).
    pub upload: String,
    /// The file's name as sent.
    pub name: String,
    /// A dataset id for it that is not taken.
    pub dataset: String,
    /// Its size in bytes.
    pub size: u64,
    /// `csv`, `tsv`, `parquet` or `jsonl`.
    pub format: String,
    /// Its rows.
    pub rows_total: Option<u64>,
    /// Its columns and their types.
    pub columns: Vec<PreviewColumn>,
    /// The first rows, as objects.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Value>,
    /// The columns that hold strings (any can be the text column).
    pub text_columns: Vec<String>,
    /// The column that looks most like prose: the string column whose
    /// values are longest on average, counting only values with spaces.
    pub text_column: Option<String>,
}

/// A new upload id.
pub fn new_id() -> String {
    crate::stamp::new_id("upload")
}

/// Whether `id` is an upload id (so it can name a folder).
pub fn valid_id(id: &str) -> bool {
    crate::stamp::is_id(id, "upload")
}

/// Removes the folders of uploads that never finished arriving (a server
/// stopped, or a client went away, mid-upload).
pub fn discard_abandoned(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir.join(UPLOADS_FOLDER)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The folder of upload `id` (checked), which must exist.
pub fn folder(data_dir: &Path, id: &str) -> ApiResult<PathBuf> {
    let dir = data_dir.join(UPLOADS_FOLDER).join(id);
    if !valid_id(id) || !dir.join("preview.json").is_file() {
        return Err(ApiError::new(
            "not_found",
            format!("no upload {id:?} (uploads are removed once ingested)"),
        ));
    }
    Ok(dir)
}

/// A file name safe to keep: the sent name's last part, with characters
/// outside `[A-Za-z0-9._-]` as `_` and the extension in lower case.
/// Refuses an extension that is not a table's.
pub fn safe_name(sent: &str) -> ApiResult<(String, Format)> {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let format = Format::from_path(Path::new(last)).map_err(|_| {
        ApiError::new(
            "bad_upload",
            format!(
                "{last:?}: not a table file; send a .csv, .tsv, .parquet, .jsonl or .ndjson file"
            ),
        )
    })?;
    let (stem, ext) = last.rsplit_once('.').unwrap_or((last, ""));
    let stem: String = stem
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = if stem.is_empty() {
        "table".into()
    } else {
        stem
    };
    Ok((format!("{stem}.{}", ext.to_ascii_lowercase()), format))
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Tsv => "tsv",
        Format::Parquet => "parquet",
        Format::JsonLines => "jsonl",
        _ => "other",
    }
}

fn kind_of(t: &DataType) -> &'static str {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
        t if t.is_integer() => "integer",
        t if t.is_floating() => "float",
        DataType::Boolean => "boolean",
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => "date",
        _ => "other",
    }
}

/// The string column that looks most like prose in `sample`.
fn guess_text_column(sample: &RecordBatch, strings: &[String]) -> Option<String> {
    let mut best: Option<(f64, &String)> = None;
    for name in strings {
        let Some(column) = sample.column_by_name(name) else {
            continue;
        };
        let (mut chars, mut n) = (0usize, 0usize);
        for row in 0..column.len() {
            if let serde_json::Value::String(text) = crate::routes::cell(column.as_ref(), row) {
                n += 1;
                if text.trim().contains(char::is_whitespace) {
                    chars += text.chars().count();
                }
            }
        }
        let score = if n == 0 { 0.0 } else { chars as f64 / n as f64 };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, name));
        }
    }
    best.map(|(_, name)| name.clone())
}

/// Reads the whole table at `file` and describes it. Any error (not a
/// table, no rows, a malformed row) is a 400 `bad_upload` naming the file.
pub fn preview(file: &Path, upload: &str, sent_name: &str, dataset: String) -> ApiResult<Preview> {
    // The message names the file as sent, not where it is kept.
    let kept = file.display().to_string();
    let bad = |e: &dyn std::fmt::Display| {
        let e = e.to_string().replace(&format!("{kept}: "), "");
        ApiError::new(
            "bad_upload",
            format!("{sent_name:?} is not a table we can read: {e}"),
        )
    };
    let format = Format::from_path(file).map_err(|e| bad(&e))?;
    let table = open_table(file).map_err(|e| bad(&e))?;
    let schema = table.schema();
    let mut sample: Option<RecordBatch> = None;
    let mut rows = 0u64;
    for batch in table {
        let batch = batch.map_err(|e| bad(&e))?;
        rows += batch.num_rows() as u64;
        if sample.is_none() && batch.num_rows() > 0 {
            sample = Some(batch.slice(0, batch.num_rows().min(GUESS_ROWS)));
        }
    }
    let Some(sample) = sample else {
        return Err(ApiError::new(
            "bad_upload",
            format!("{sent_name:?} has no rows"),
        ));
    };
    if schema.fields().is_empty() {
        return Err(ApiError::new(
            "bad_upload",
            format!("{sent_name:?} has no columns"),
        ));
    }
    let columns: Vec<PreviewColumn> = schema
        .fields()
        .iter()
        .map(|f| PreviewColumn {
            name: f.name().clone(),
            kind: kind_of(f.data_type()).into(),
        })
        .collect();
    let text_columns: Vec<String> = columns
        .iter()
        .filter(|c| c.kind == "string")
        .map(|c| c.name.clone())
        .collect();
    let shown = sample.num_rows().min(PREVIEW_ROWS);
    let records = (0..shown)
        .map(|row| {
            let mut record = serde_json::Map::new();
            for (field, column) in schema.fields().iter().zip(sample.columns()) {
                record.insert(
                    field.name().clone(),
                    crate::routes::cell(column.as_ref(), row),
                );
            }
            serde_json::Value::Object(record)
        })
        .collect();
    Ok(Preview {
        upload: upload.to_string(),
        name: sent_name.to_string(),
        dataset,
        size: std::fs::metadata(file).map_or(0, |m| m.len()),
        format: format_name(format).into(),
        rows_total: Some(rows),
        text_column: guess_text_column(&sample, &text_columns),
        columns,
        rows: records,
        text_columns,
    })
}

/// A dataset id for a file name that no dataset has yet (`name`, `name-2`, …).
pub fn free_dataset_id(data_dir: &Path, sent_name: &str) -> String {
    let base = latentscope_core::ingest::dataset_id_for(Path::new(sent_name));
    let base: String = base.chars().take(120).collect();
    let taken = |id: &str| data_dir.join(id).join("meta.json").exists();
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken(id))
        .unwrap_or(base)
}

/// The upload's file (the one file in its folder besides `preview.json`).
pub fn file_of(dir: &Path) -> ApiResult<PathBuf> {
    std::fs::read_dir(dir)
        .map_err(|e| ApiError::new("io", format!("{}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n != "preview.json"))
        .ok_or_else(|| ApiError::new("not_found", format!("{}: no file", dir.display())))
}

/// The stored preview of an upload.
pub fn read_preview(dir: &Path) -> ApiResult<Preview> {
    let bytes = std::fs::read(dir.join("preview.json"))
        .map_err(|e| ApiError::new("io", format!("{}: {e}", dir.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new("internal", format!("{}: {e}", dir.display())))
}
