//! The ingest step: a table (a file or Arrow batches from library code)
//! becomes a dataset directory with `input.parquet` and `meta.json`.
//!
//! The rows stream through: one batch in memory at a time. `input.parquet` is
//! written under a temporary name and renamed into place, and `meta.json` is
//! written last: a directory without it is not a dataset, so an interrupted
//! ingest leaves the dataset absent, and ingesting again starts clean.

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use latentscope_io::read::{TableReader, open_table};
use latentscope_io::table::ParquetWriter;
use latentscope_io::{Store, json};

use crate::dataset::{Dataset, INPUT_FILE, LOCK_FILE, META_FILE};
use crate::error::{Error, Result};
use crate::ids::validate_dataset_id;
use crate::meta::{DatasetMeta, LATENTSCOPE_VERSION, PYTHON_FORMAT_VERSION, TableStats};
use crate::progress::{Progress, check};

/// A dataset id named after a file: its stem, with characters outside
/// `[A-Za-z0-9_-]` as `-` (`my data.csv` → `my-data`).
pub fn dataset_id_for(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let id: String = stem
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() {
        "dataset".to_string()
    } else {
        id
    }
}

/// What the ingest step needs besides the rows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IngestOptions {
    /// The column that holds the text to embed (must hold strings).
    pub text_column: String,
}

impl IngestOptions {
    /// Options with the given text column.
    pub fn new(text_column: impl Into<String>) -> Self {
        Self {
            text_column: text_column.into(),
        }
    }
}

/// Ingests a file (CSV, TSV, Parquet or JSON Lines, chosen by extension)
/// as dataset `id`.
pub fn ingest_file(
    store: Arc<dyn Store>,
    id: &str,
    path: &Path,
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<Dataset> {
    validate_dataset_id(id)?;
    refuse_existing(store.as_ref(), id)?;
    let table = open_table(path)?;
    ingest(store, id, table, options, progress)
}

/// Ingests Arrow batches given by library code as dataset `id`.
pub fn ingest_batches(
    store: Arc<dyn Store>,
    id: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<Dataset> {
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    let table = TableReader::new(
        "record batches",
        schema,
        Some(rows),
        Box::new(batches.into_iter().map(Ok)),
    );
    ingest(store, id, table, options, progress)
}

fn refuse_existing(store: &dyn Store, id: &str) -> Result<()> {
    if store.exists(&format!("{id}/{META_FILE}"))? {
        return Err(Error::DatasetExists {
            id: id.to_string(),
            store: store.to_string(),
        });
    }
    Ok(())
}

/// Ingests an open table as dataset `id`. Refuses an id that exists (the
/// existing dataset is untouched) and a text column that is missing (the
/// error lists the columns) or does not hold strings.
pub fn ingest(
    store: Arc<dyn Store>,
    id: &str,
    table: TableReader,
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<Dataset> {
    validate_dataset_id(id)?;
    refuse_existing(store.as_ref(), id)?;
    let schema = table.schema();
    let text_field =
        schema
            .field_with_name(&options.text_column)
            .map_err(|_| Error::ColumnNotFound {
                source_name: table.path().to_string(),
                column: options.text_column.clone(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            })?;
    if !matches!(
        text_field.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        return Err(Error::ColumnType {
            column: options.text_column.clone(),
            found: text_field.data_type().to_string(),
            expected: "the text column must hold strings",
        });
    }

    let lock_key = format!("{id}/{LOCK_FILE}");
    let lock = store.lock(&lock_key)?;
    let result = write_dataset(store.as_ref(), id, table, options, progress);
    drop(lock);
    match result {
        Ok(meta) => Ok(Dataset::from_parts(store, id.parse()?, meta)),
        Err(e) => {
            // Leave nothing behind: the lock file was the only thing made
            // visible, unless another ingest finished meanwhile.
            if !store.exists(&format!("{id}/{META_FILE}")).unwrap_or(true) {
                let _ = store.delete(&format!("{id}/{INPUT_FILE}"));
                let _ = store.delete(&lock_key);
            }
            Err(e)
        }
    }
}

fn write_dataset(
    store: &dyn Store,
    id: &str,
    table: TableReader,
    options: &IngestOptions,
    progress: &dyn Progress,
) -> Result<DatasetMeta> {
    // Checked again under the lock: another ingest may have won the race.
    refuse_existing(store, id)?;
    let schema = table.schema();
    let total = table.rows();
    let source = table.path().to_string();
    let mut stats = TableStats::new(&schema);
    let mut writer = ParquetWriter::create(store, &format!("{id}/{INPUT_FILE}"), schema.clone())?;
    check(progress, "ingest", 0, total)?;
    for batch in table {
        let batch = batch?;
        stats.update(&batch);
        writer.write(&batch)?;
        check(progress, "ingest", stats.rows, total)?;
    }
    if stats.rows == 0 {
        return Err(latentscope_io::Error::NoRows { path: source }.into());
    }
    writer.finish()?;
    let potential_embeddings = schema
        .fields()
        .iter()
        .filter(|f| {
            matches!(
                f.data_type(),
                DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
            )
        })
        .map(|f| f.name().clone())
        .collect();
    let meta = DatasetMeta {
        id: id.to_string(),
        length: stats.rows,
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        text_column: options.text_column.clone(),
        column_metadata: stats.finish(),
        potential_embeddings,
        ls_version: Some(PYTHON_FORMAT_VERSION.to_string()),
        latentscope_version: Some(LATENTSCOPE_VERSION.to_string()),
        created_at: Some(crate::time::now_rfc3339()),
        extra: Default::default(),
    };
    json::write_json(store, &format!("{id}/{META_FILE}"), &meta)?;
    Ok(meta)
}
