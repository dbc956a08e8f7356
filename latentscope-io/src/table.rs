//! Parquet tables in a [`Store`]: streaming atomic writes and batch reads.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::store::{AtomicWrite, Store};

/// Rows per Parquet row group: bounds the writer's memory on large tables.
pub const ROW_GROUP_ROWS: usize = 131_072;

/// Schema metadata written by other tools (pandas, polars) that describes
/// their in-memory layout, not the data; dropped on read so it is not copied
/// into files we write.
const FOREIGN_METADATA_KEYS: &[&str] = &["pandas", "ARROW:schema", "polars"];

/// The schema without other tools' layout metadata.
pub fn strip_foreign_metadata(schema: &SchemaRef) -> SchemaRef {
    let metadata: HashMap<String, String> = schema
        .metadata()
        .iter()
        .filter(|(k, _)| !FOREIGN_METADATA_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata))
}

/// Writes record batches to a Parquet object, atomically: nothing is visible
/// at the key until [`ParquetWriter::finish`] succeeds. Snappy compression,
/// which every Parquet reader supports.
pub struct ParquetWriter {
    key: String,
    writer: ArrowWriter<Box<dyn AtomicWrite>>,
    rows: u64,
}

impl ParquetWriter {
    /// Starts a table at `key` with the given schema.
    pub fn create(store: &dyn Store, key: &str, schema: SchemaRef) -> Result<Self> {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        Self::create_with(store, key, schema, props)
    }

    fn create_with(
        store: &dyn Store,
        key: &str,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self> {
        let out = store.writer(key)?;
        let writer =
            ArrowWriter::try_new(out, schema, Some(props)).map_err(|e| Error::format(key, e))?;
        Ok(Self {
            key: key.to_string(),
            writer,
            rows: 0,
        })
    }

    /// Appends a batch (its schema must be the table's).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| Error::format(&self.key, e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the footer and makes the table visible at its key.
    pub fn finish(self) -> Result<u64> {
        let out = self
            .writer
            .into_inner()
            .map_err(|e| Error::format(&self.key, e))?;
        out.commit()?;
        Ok(self.rows)
    }
}

impl std::fmt::Debug for ParquetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("key", &self.key)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// Writes one batch as a whole Parquet object, atomically.
pub fn write_batch(store: &dyn Store, key: &str, batch: &RecordBatch) -> Result<()> {
    let mut writer = ParquetWriter::create(store, key, batch.schema())?;
    writer.write(batch)?;
    writer.finish().map(|_| ())
}

thread_local! {
    /// Set while this thread reads pages inside a [`BatchReader`].
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while this thread reads Parquet pages inside a [`BatchReader`],
/// where a panic of the parquet or arrow crates is caught and reported as
/// an error naming the file. A program's panic hook can stay quiet then.
pub fn in_guarded_read() -> bool {
    GUARDED.with(|g| g.get())
}

/// Runs `read` (which reads Parquet pages) with the parquet crate's panics
/// caught, and [`in_guarded_read`] true meanwhile.
pub(crate) fn guarded<R>(read: impl FnOnce() -> R) -> std::thread::Result<R> {
    GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(false));
    result
}

/// Batches of a Parquet file, with the parquet crate's panics on corrupt
/// pages (a data page that names a dictionary the chunk lacks, …) turned
/// into errors: a file can make a read fail, never the program. The first
/// such failure ends the stream.
pub struct BatchReader {
    inner: ParquetRecordBatchReader,
    failed: bool,
    declared_rows: Option<usize>,
}

impl std::fmt::Debug for BatchReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchReader").finish_non_exhaustive()
    }
}

impl BatchReader {
    /// Wraps a reader.
    pub fn new(inner: ParquetRecordBatchReader) -> Self {
        Self {
            inner,
            failed: false,
            declared_rows: None,
        }
    }

    /// The number of rows the file's metadata declares (a hint for reserving
    /// memory: the batches are what counts), when known.
    pub fn declared_rows(&self) -> Option<usize> {
        self.declared_rows
    }

    /// The schema of the batches.
    pub fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

impl Iterator for BatchReader {
    type Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let inner = &mut self.inner;
        match guarded(|| inner.next()) {
            Ok(item) => item,
            Err(panic) => {
                self.failed = true;
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "corrupt data".to_string());
                Some(Err(arrow_schema::ArrowError::ParquetError(format!(
                    "the file is corrupt (the Parquet reader stopped: {what})"
                ))))
            }
        }
    }
}

/// Checks a Parquet footer's column chunks against the file before any page
/// is read: offsets and sizes that are negative or point past the end are an
/// error naming the file (the parquet crate would panic on some of them).
pub(crate) fn check_chunks(meta: &ParquetMetaData, file_len: u64, name: &str) -> Result<()> {
    for (g, group) in meta.row_groups().iter().enumerate() {
        if group.num_rows() < 0 {
            return Err(Error::Malformed {
                path: name.to_string(),
                line: 0,
                message: format!("row group {g} has a negative row count"),
            });
        }
        for (c, column) in group.columns().iter().enumerate() {
            let start = column
                .dictionary_page_offset()
                .unwrap_or_else(|| column.data_page_offset());
            let (data, size) = (column.data_page_offset(), column.compressed_size());
            let end = start.checked_add(size);
            let fits = start >= 0
                && data >= 0
                && size >= 0
                && end.is_some_and(|e| (e as u64) <= file_len)
                && column
                    .dictionary_page_offset()
                    .is_none_or(|d| d >= 0 && d <= data);
            if !fits {
                return Err(Error::Malformed {
                    path: name.to_string(),
                    line: 0,
                    message: format!("row group {g}, column {c}: its pages lie outside the file"),
                });
            }
        }
    }
    Ok(())
}

/// Opens a Parquet object for reading in batches, optionally only the named
/// columns (an unknown name is [`Error::ColumnNotFound`]).
pub fn read_batches(
    store: &dyn Store,
    key: &str,
    columns: Option<&[&str]>,
    batch_rows: usize,
) -> Result<(SchemaRef, BatchReader)> {
    let blob = store.open(key)?;
    let file_len = blob.len();
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(blob)
        .map_err(|e| Error::format(key, e))?
        .with_batch_size(batch_rows);
    check_chunks(builder.metadata(), file_len, key)?;
    if let Some(columns) = columns {
        let arrow_schema = builder.schema().clone();
        let mut indices = Vec::with_capacity(columns.len());
        for c in columns {
            let i = arrow_schema
                .index_of(c)
                .map_err(|_| Error::ColumnNotFound {
                    path: key.to_string(),
                    column: c.to_string(),
                    available: arrow_schema
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect(),
                })?;
            indices.push(i);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        builder = builder.with_projection(mask);
    }
    let declared_rows = usize::try_from(builder.metadata().file_metadata().num_rows()).ok();
    let reader = builder.build().map_err(|e| Error::format(key, e))?;
    let schema = strip_foreign_metadata(&reader.schema());
    let mut reader = BatchReader::new(reader);
    reader.declared_rows = declared_rows;
    Ok((schema, reader))
}

/// Reads a whole Parquet object (optionally only some columns) into one batch.
pub fn read_table(store: &dyn Store, key: &str, columns: Option<&[&str]>) -> Result<RecordBatch> {
    let (schema, reader) = read_batches(store, key, columns, 1 << 20)?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|e| Error::format(key, e))?);
    }
    let batch = arrow_select_concat(&schema, &batches).map_err(|e| Error::format(key, e))?;
    Ok(batch)
}

fn arrow_select_concat(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let columns = (0..schema.fields().len())
        .map(|i| {
            let arrays: Vec<&dyn arrow_array::Array> =
                batches.iter().map(|b| b.column(i).as_ref()).collect();
            if arrays.is_empty() {
                Ok(arrow_array::new_empty_array(schema.field(i).data_type()))
            } else {
                arrow_select::concat::concat(&arrays)
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(SchemaRef::clone(schema), columns)
}

/// The number of rows of a Parquet object, from its footer alone.
pub fn row_count(store: &dyn Store, key: &str) -> Result<u64> {
    let blob = store.open(key)?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(blob).map_err(|e| Error::format(key, e))?;
    Ok(builder.metadata().file_metadata().num_rows().max(0) as u64)
}
