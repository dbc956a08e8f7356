//! Dense `f32` matrices (embeddings, layouts) stored as Parquet: one row per
//! input row, one `FixedSizeList<Float32>` column, read back contiguously.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::store::Store;
use crate::table::{ParquetWriter, read_batches};

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

/// Streams a matrix's rows into a Parquet table with one vector column.
#[derive(Debug)]
pub struct MatrixWriter {
    writer: ParquetWriter,
    schema: SchemaRef,
    cols: usize,
}

impl MatrixWriter {
    /// Starts a table at `key` whose column `column` holds `cols`-long vectors.
    pub fn create(store: &dyn Store, key: &str, column: &str, cols: usize) -> Result<Self> {
        let schema = matrix_schema(column, cols);
        Ok(Self {
            writer: ParquetWriter::create_dense(store, key, schema.clone())?,
            schema,
            cols,
        })
    }

    /// Appends rows (`data.len()` must be a multiple of the vector length).
    pub fn write_rows(&mut self, data: &[f32]) -> Result<()> {
        for chunk in data.chunks(self.cols * 65_536) {
            let batch =
                RecordBatch::try_new(self.schema.clone(), vec![vectors_array(chunk, self.cols)?])
                    .map_err(|e| Error::format("vectors", e))?;
            self.writer.write(&batch)?;
        }
        Ok(())
    }

    /// Commits the table.
    pub fn finish(self) -> Result<u64> {
        self.writer.finish()
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
    let (_, reader) = read_batches(store, key, Some(&[column]), 65_536)?;
    let mut data = Vec::new();
    let mut rows = 0usize;
    let mut cols = None;
    for batch in reader {
        let batch = batch.map_err(|e| Error::format(key, e))?;
        let c = append_vectors(key, column, batch.column(0).as_ref(), rows, cols, &mut data)?;
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
