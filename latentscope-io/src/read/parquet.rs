//! Parquet input files, read in batches.

use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::{BATCH_ROWS, TableReader};
use crate::error::{Error, Result};
use crate::table::strip_foreign_metadata;

/// Opens a Parquet file as a stream of batches.
pub(crate) fn open(path: &Path) -> Result<TableReader> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if file_len == 0 {
        return Err(Error::EmptyFile { path: name });
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::format(&name, e))?
        .with_batch_size(BATCH_ROWS);
    crate::table::check_chunks(builder.metadata(), file_len, &name)?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    if rows == 0 {
        return Err(Error::NoRows { path: name });
    }
    let schema = strip_foreign_metadata(builder.schema());
    let reader =
        crate::table::BatchReader::new(builder.build().map_err(|e| Error::format(&name, e))?);
    let path_for_errors = name.clone();
    let schema_for_batches = schema.clone();
    let batches = reader.map(move |batch| {
        batch
            .and_then(|b| {
                arrow_array::RecordBatch::try_new(schema_for_batches.clone(), b.columns().to_vec())
            })
            .map_err(|e| Error::format(&path_for_errors, e))
    });
    Ok(TableReader::new(
        name,
        schema,
        Some(rows),
        Box::new(batches),
    ))
}
