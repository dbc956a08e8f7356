//! Dense `f32` matrices (embeddings, layouts) stored as Parquet: one row per
//! input row, one `FixedSizeList<Float32>` column, read back contiguously.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::store::Store;
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::Compression;
use parquet::data_type::FloatType;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;

use crate::store::AtomicWrite;
use crate::table::read_batches;

/// A row-major `rows × cols` matrix of `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// The values, row after row.
    pub data: Vec<f32>,
    /// The number of rows.
    pub rows: usize,
    /// The number of columns.
    pub cols: usize,
}

impl Matrix {
    /// One row's values.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// The Arrow schema of a matrix table with one vector column.
pub fn matrix_schema(column: &str, cols: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        column,
        DataType::FixedSizeList(
            Arc::new(Field::new_list_field(DataType::Float32, false)),
            cols as i32,
        ),
        false,
    )]))
}

/// A `FixedSizeList<Float32>` array of `rows` vectors of `cols` values.
pub fn vectors_array(data: &[f32], cols: usize) -> Result<ArrayRef> {
    let values = Arc::new(Float32Array::from(data.to_vec()));
    FixedSizeListArray::try_new(
        Arc::new(Field::new_list_field(DataType::Float32, false)),
        cols as i32,
        values,
        None,
    )
    .map(|a| Arc::new(a) as ArrayRef)
    .map_err(|e| Error::format("vectors", e))
}

/// Streams a matrix's rows into a Parquet table with one vector column,
/// atomically (nothing is visible at the key until [`MatrixWriter::finish`]).
///
/// Vectors are millions of distinct floats, so the column is written plain:
/// no dictionary, no statistics, no compression (none of them pays for its
/// time on such data). The column writer is fed directly with the
/// repetition levels of a fixed-size list, which is about four times faster
/// than Arrow's generic writer computing them value by value; the Arrow
/// schema is stored in the file as `ArrowWriter` stores it, so Arrow readers
/// (pyarrow, pandas, polars) see a `fixed_size_list<float>[cols]`.
pub struct MatrixWriter {
    key: String,
    writer: SerializedFileWriter<Box<dyn AtomicWrite>>,
    cols: usize,
    /// Rows per row group (about 64 MB of values).
    pub(crate) group_rows: usize,
    /// Rows waiting for a full row group.
    pending: Vec<f32>,
    /// The definition levels of a full row group (all present).
    definition: Vec<i16>,
    /// The repetition levels of a full row group (0 starts a vector).
    repetition: Vec<i16>,
    rows: u64,
}

impl std::fmt::Debug for MatrixWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixWriter")
            .field("key", &self.key)
            .field("cols", &self.cols)
            .field("rows", &self.rows)
            .finish()
    }
}

/// Values per row group written by [`MatrixWriter`] (64 MB of `f32`).
const GROUP_VALUES: usize = 16 << 20;

impl MatrixWriter {
    /// Starts a table at `key` whose column `column` holds `cols`-long vectors.
    pub fn create(store: &dyn Store, key: &str, column: &str, cols: usize) -> Result<Self> {
        if cols == 0 {
            return Err(Error::format(key, "vectors must have at least one value"));
        }
        let schema = matrix_schema(column, cols);
        let parquet_schema = ArrowSchemaConverter::new()
            .convert(&schema)
            .map_err(|e| Error::format(key, e))?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::None)
            .build();
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let writer = SerializedFileWriter::new(
            store.writer(key)?,
            parquet_schema.root_schema_ptr(),
            Arc::new(props),
        )
        .map_err(|e| Error::format(key, e))?;
        let group_rows = (GROUP_VALUES / cols).clamp(1, crate::table::ROW_GROUP_ROWS);
        Ok(Self {
            key: key.to_string(),
            writer,
            cols,
            group_rows,
            pending: Vec::new(),
            definition: Vec::new(),
            repetition: Vec::new(),
            rows: 0,
        })
    }

    /// Appends rows (`data.len()` must be a multiple of the vector length).
    pub fn write_rows(&mut self, mut data: &[f32]) -> Result<()> {
        if !data.len().is_multiple_of(self.cols) {
            return Err(Error::format(
                &self.key,
                format!("{} values are not whole rows of {}", data.len(), self.cols),
            ));
        }
        let group = self.group_rows * self.cols;
        // Top up a started group first; whole groups then go straight
        // from the caller's slice, and the rest waits.
        if !self.pending.is_empty() {
            let take = (group - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == group {
                let pending = std::mem::take(&mut self.pending);
                self.write_group(&pending)?;
                self.pending = pending;
                self.pending.clear();
            }
        }
        while data.len() >= group {
            self.write_group(&data[..group])?;
            data = &data[group..];
        }
        self.pending.extend_from_slice(data);
        Ok(())
    }

    /// Writes one row group.
    fn write_group(&mut self, values: &[f32]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        if self.repetition.len() < values.len() {
            self.definition = vec![1; values.len()];
            self.repetition = (0..values.len())
                .map(|i| i16::from(i % self.cols != 0))
                .collect();
        }
        let key = &self.key;
        let err = |e: parquet::errors::ParquetError| Error::format(key, e);
        let mut group = self.writer.next_row_group().map_err(err)?;
        let Some(mut column) = group.next_column().map_err(err)? else {
            return Err(Error::format(key, "the table has no column"));
        };
        column
            .typed::<FloatType>()
            .write_batch(
                values,
                Some(&self.definition[..values.len()]),
                Some(&self.repetition[..values.len()]),
            )
            .map_err(err)?;
        column.close().map_err(err)?;
        group.close().map_err(err)?;
        self.rows += (values.len() / self.cols) as u64;
        Ok(())
    }

    /// Commits the table; returns the rows written.
    pub fn finish(mut self) -> Result<u64> {
        let pending = std::mem::take(&mut self.pending);
        self.write_group(&pending)?;
        let out = self
            .writer
            .into_inner()
            .map_err(|e| Error::format(&self.key, e))?;
        out.commit()?;
        Ok(self.rows)
    }
}

/// Writes a whole matrix as a Parquet table with one vector column, atomically.
pub fn write_matrix(store: &dyn Store, key: &str, column: &str, m: &Matrix) -> Result<()> {
    let mut w = MatrixWriter::create(store, key, column, m.cols)?;
    w.write_rows(&m.data)?;
    w.finish().map(|_| ())
}

/// Appends a vector column's values to `out`; accepts fixed-size or variable
/// lists of `f32`/`f64`; every row must have `cols` values and none be null.
/// Returns the vector length.
pub fn append_vectors(
    key: &str,
    column: &str,
    array: &dyn Array,
    first_row: usize,
    cols: Option<usize>,
    out: &mut Vec<f32>,
) -> Result<usize> {
    let bad_type = || Error::ColumnType {
        path: key.to_string(),
        column: column.to_string(),
        expected: "a list of float32 or float64".to_string(),
        found: array.data_type().to_string(),
    };
    if array.null_count() > 0 {
        let row = (0..array.len()).find(|&i| array.is_null(i)).unwrap_or(0);
        return Err(Error::Malformed {
            path: key.to_string(),
            line: 0,
            message: format!("column {column:?}: row {} has no vector", first_row + row),
        });
    }
    let (values, offsets): (ArrayRef, Vec<usize>) = match array.data_type() {
        DataType::FixedSizeList(_, n) => {
            let list = array.as_fixed_size_list();
            let n = *n as usize;
            let start = list.offset() * n;
            (
                list.values().slice(start, list.len() * n),
                (0..=list.len()).map(|i| i * n).collect(),
            )
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let base = list.value_offsets()[0] as usize;
            let offsets: Vec<usize> = list
                .value_offsets()
                .iter()
                .map(|&o| o as usize - base)
                .collect();
            let len = offsets.last().copied().unwrap_or(0);
            (list.values().slice(base, len), offsets)
        }
        DataType::LargeList(_) => {
            let list = array.as_list::<i64>();
            let base = list.value_offsets()[0] as usize;
            let offsets: Vec<usize> = list
                .value_offsets()
                .iter()
                .map(|&o| o as usize - base)
                .collect();
            let len = offsets.last().copied().unwrap_or(0);
            (list.values().slice(base, len), offsets)
        }
        _ => return Err(bad_type()),
    };
    let mut width = cols;
    for (i, w) in offsets.windows(2).enumerate() {
        let n = w[1] - w[0];
        match width {
            None => width = Some(n),
            Some(c) if c != n => {
                return Err(Error::Malformed {
                    path: key.to_string(),
                    line: 0,
                    message: format!(
                        "column {column:?}: row {} has {n} values, expected {c}",
                        first_row + i
                    ),
                });
            }
            _ => {}
        }
    }
    match values.data_type() {
        DataType::Float32 => out.extend_from_slice(values.as_primitive::<Float32Type>().values()),
        DataType::Float64 => out.extend(
            values
                .as_primitive::<Float64Type>()
                .values()
                .iter()
                .map(|&v| v as f32),
        ),
        _ => return Err(bad_type()),
    }
    Ok(width.unwrap_or(0))
}

/// Reads a vector column of a Parquet object into a contiguous matrix.
pub fn read_matrix(store: &dyn Store, key: &str, column: &str) -> Result<Matrix> {
    match crate::plain_vectors::read_plain_matrix(store.open(key)?, column) {
        Some(m) => Ok(m),
        None => read_matrix_by_batches(store, key, column),
    }
}

/// [`read_matrix`] through Arrow's reader, for any layout of the column (and
/// the errors that name what is wrong with a file).
pub(crate) fn read_matrix_by_batches(store: &dyn Store, key: &str, column: &str) -> Result<Matrix> {
    let (_, reader) = read_batches(store, key, Some(&[column]), 65_536)?;
    let declared_rows = reader.declared_rows();
    let mut data = Vec::new();
    let mut rows = 0usize;
    let mut cols = None;
    for batch in reader {
        let batch = batch.map_err(|e| Error::format(key, e))?;
        let c = append_vectors(key, column, batch.column(0).as_ref(), rows, cols, &mut data)?;
        if batch.num_rows() > 0 && cols.is_none() {
            // Room for every declared row at once, so the vectors are not copied
            // while the buffer grows (a peak of 1.5–2× their size). A wrong
            // declaration only costs the hint: the batches decide.
            let wanted = declared_rows.and_then(|r| r.checked_mul(c));
            if let Some(extra) = wanted.and_then(|w| w.checked_sub(data.len())) {
                let _ = data.try_reserve_exact(extra);
            }
        }
        if batch.num_rows() > 0 {
            cols = Some(c);
        }
        rows += batch.num_rows();
    }
    Ok(Matrix {
        data,
        rows,
        cols: cols.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn rows_written_in_uneven_pieces_across_row_groups_read_back_in_order() {
        let store = MemoryStore::new();
        let cols = 3;
        let data: Vec<f32> = (0..41 * cols).map(|v| v as f32 * 0.5 - 7.0).collect();
        let mut w = MatrixWriter::create(&store, "m.parquet", "embedding", cols).unwrap();
        w.group_rows = 4; // small groups, so pieces start and end inside them
        w.write_rows(&data[..5 * cols]).unwrap();
        let mut written = 0;
        let mut w2 = MatrixWriter::create(&store, "n.parquet", "embedding", cols).unwrap();
        w2.group_rows = 4;
        for piece in [1usize, 2, 7, 4, 9, 18] {
            w2.write_rows(&data[written * cols..(written + piece) * cols])
                .unwrap();
            written += piece;
        }
        assert_eq!(written, 41);
        assert_eq!(w2.finish().unwrap(), 41);
        drop(w);
        assert!(
            !store.exists("m.parquet").unwrap(),
            "an unfinished table is not visible"
        );
        let m = read_matrix(&store, "n.parquet", "embedding").unwrap();
        assert_eq!((m.rows, m.cols), (41, cols));
        assert_eq!(m.data, data);
        let err = MatrixWriter::create(&store, "o.parquet", "embedding", cols)
            .unwrap()
            .write_rows(&data[..4])
            .unwrap_err();
        assert!(err.to_string().contains("not whole rows of 3"), "{err}");
    }

    #[test]
    fn an_empty_table_reads_back_empty() {
        let store = MemoryStore::new();
        let w = MatrixWriter::create(&store, "e.parquet", "embedding", 5).unwrap();
        assert_eq!(w.finish().unwrap(), 0);
        let m = read_matrix(&store, "e.parquet", "embedding").unwrap();
        assert_eq!(m.rows, 0);
    }
}
