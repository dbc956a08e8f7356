//! CSV and TSV: a first streaming pass validates every row (UTF-8, field
//! count) and infers each column's type from all rows; a second pass builds
//! Arrow batches. Memory holds one batch, never the file.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema, SchemaRef};

use super::infer::{Cell, ColumnBuilder, Inferred, normalise_header};
use super::{BATCH_ROWS, BatchSource, Batches, TableReader};
use crate::error::{Error, Result};

fn csv_reader(path: &Path, delimiter: u8) -> Result<csv::Reader<BufReader<File>>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, file)))
}

fn map_csv_error(path: &str, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::io(path, source),
        other => Error::Malformed {
            path: path.to_string(),
            line,
            message: format!("{other:?}"),
        },
    }
}

/// Opens a delimited text file (`,` for CSV, `\t` for TSV).
pub(crate) fn open(path: &Path, delimiter: u8) -> Result<TableReader> {
    let name = path.display().to_string();
    let mut reader = csv_reader(path, delimiter)?;
    let mut record = csv::ByteRecord::new();

    // Header.
    if !reader
        .read_byte_record(&mut record)
        .map_err(|e| map_csv_error(&name, e))?
    {
        return Err(Error::EmptyFile { path: name });
    }
    let mut header = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let field = if i == 0 {
            field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
        } else {
            field
        };
        let text = std::str::from_utf8(field).map_err(|_| Error::InvalidUtf8 {
            path: name.clone(),
            line: 1,
            column: format!("header field {}", i + 1),
        })?;
        header.push(text.to_string());
    }
    let header = normalise_header(header).map_err(|message| Error::Malformed {
        path: name.clone(),
        line: 1,
        message,
    })?;

    // Pass 1: validate and infer.
    let mut types = vec![Inferred::default(); header.len()];
    let mut rows = 0u64;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| map_csv_error(&name, e))?
    {
        let line = record.position().map(|p| p.line()).unwrap_or(rows + 2);
        if record.len() == 1 && record[0].is_empty() && header.len() > 1 {
            continue; // a blank line
        }
        if record.len() != header.len() {
            return Err(Error::RaggedRow {
                path: name,
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        for (i, field) in record.iter().enumerate() {
            let text = std::str::from_utf8(field).map_err(|_| Error::InvalidUtf8 {
                path: name.clone(),
                line,
                column: header[i].clone(),
            })?;
            types[i].observe(&Cell::from_text(text));
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(Error::NoRows { path: name });
    }

    let schema: SchemaRef = Arc::new(Schema::new(
        header
            .iter()
            .zip(&types)
            .map(|(n, t)| Field::new(n, t.data_type(), true))
            .collect::<Vec<_>>(),
    ));

    // Pass 2: a fresh reader past the header.
    let mut reader = csv_reader(path, delimiter)?;
    reader
        .read_byte_record(&mut record)
        .map_err(|e| map_csv_error(&name, e))?;
    let batches = CsvBatches {
        reader,
        record,
        types,
        schema: Arc::clone(&schema),
        path: name.clone(),
        done: false,
    };
    Ok(TableReader::new(
        name,
        schema,
        Some(rows),
        Box::new(Batches::new(batches)),
    ))
}

struct CsvBatches {
    reader: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
    types: Vec<Inferred>,
    schema: SchemaRef,
    path: String,
    done: bool,
}

impl BatchSource for CsvBatches {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut builders: Vec<ColumnBuilder> = self
            .types
            .iter()
            .map(|t| ColumnBuilder::new(*t, BATCH_ROWS))
            .collect();
        let mut n = 0;
        while n < BATCH_ROWS {
            let more = self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| map_csv_error(&self.path, e))?;
            if !more {
                self.done = true;
                break;
            }
            if self.record.len() == 1 && self.record[0].is_empty() && self.types.len() > 1 {
                continue;
            }
            let line = self.record.position().map(|p| p.line()).unwrap_or(0);
            if self.record.len() != self.types.len() {
                return Err(Error::RaggedRow {
                    path: self.path.clone(),
                    line,
                    expected: self.types.len(),
                    found: self.record.len(),
                });
            }
            for (i, field) in self.record.iter().enumerate() {
                let text = std::str::from_utf8(field).map_err(|_| Error::InvalidUtf8 {
                    path: self.path.clone(),
                    line,
                    column: self.schema.field(i).name().clone(),
                })?;
                builders[i]
                    .append(Cell::from_text(text))
                    .map_err(|message| Error::Malformed {
                        path: self.path.clone(),
                        line,
                        message,
                    })?;
            }
            n += 1;
        }
        if n == 0 {
            return Ok(None);
        }
        let columns = builders.iter_mut().map(|b| b.finish()).collect();
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map(Some)
            .map_err(|e| Error::format(&self.path, e))
    }
}
