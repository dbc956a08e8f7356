//! JSON Lines: one object per line. A first streaming pass validates each
//! line and infers column types (columns in order of first appearance;
//! nested values are kept as JSON text); a second pass builds Arrow batches.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema, SchemaRef};
use serde_json::{Map, Value};

use super::infer::{Cell, ColumnBuilder, Inferred};
use super::{BATCH_ROWS, BatchSource, Batches, TableReader};
use crate::error::{Error, Result};

struct Lines {
    reader: BufReader<File>,
    buf: Vec<u8>,
    line: u64,
    path: String,
}

impl Lines {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(Self {
            reader: BufReader::with_capacity(1 << 20, file),
            buf: Vec::new(),
            line: 0,
            path: path.display().to_string(),
        })
    }

    /// The next non-blank line parsed as an object, with its line number.
    fn next_object(&mut self) -> Result<Option<(u64, Map<String, Value>)>> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Error::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let text = std::str::from_utf8(&self.buf).map_err(|_| Error::InvalidUtf8 {
                path: self.path.clone(),
                line: self.line,
                column: "(whole line)".to_string(),
            })?;
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(text).map_err(|e| Error::Malformed {
                path: self.path.clone(),
                line: self.line,
                message: format!("not valid JSON: {e}"),
            })?;
            match value {
                Value::Object(map) => return Ok(Some((self.line, map))),
                _ => {
                    return Err(Error::Malformed {
                        path: self.path.clone(),
                        line: self.line,
                        message: "expected a JSON object on each line".to_string(),
                    });
                }
            }
        }
    }
}

fn with_cell<R>(value: Option<&Value>, f: impl FnOnce(Cell<'_>) -> R) -> R {
    match value {
        None | Some(Value::Null) => f(Cell::Null),
        Some(Value::Bool(b)) => f(Cell::Bool(*b)),
        Some(Value::Number(n)) => {
            let text = n.to_string();
            match n.as_i64() {
                Some(i) => f(Cell::Int(i, &text)),
                None => f(Cell::Float(n.as_f64().unwrap_or(f64::NAN), &text)),
            }
        }
        Some(Value::String(s)) => f(Cell::Str(s)),
        Some(nested) => {
            let text = nested.to_string();
            f(Cell::Str(&text))
        }
    }
}

/// Opens a JSON Lines file.
pub(crate) fn open(path: &Path) -> Result<TableReader> {
    let name = path.display().to_string();
    let mut lines = Lines::open(path)?;
    let mut columns: Vec<String> = Vec::new();
    let mut types: Vec<Inferred> = Vec::new();
    let mut rows = 0u64;
    while let Some((_, object)) = lines.next_object()? {
        for (key, value) in &object {
            let i = match columns.iter().position(|c| c == key) {
                Some(i) => i,
                None => {
                    columns.push(key.clone());
                    types.push(Inferred::default());
                    columns.len() - 1
                }
            };
            with_cell(Some(value), |cell| types[i].observe(&cell));
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(Error::EmptyFile { path: name });
    }
    let schema: SchemaRef = Arc::new(Schema::new(
        columns
            .iter()
            .zip(&types)
            .map(|(n, t)| Field::new(n, t.data_type(), true))
            .collect::<Vec<_>>(),
    ));
    let batches = JsonBatches {
        lines: Lines::open(path)?,
        columns,
        types,
        schema: Arc::clone(&schema),
        done: false,
    };
    Ok(TableReader::new(
        name,
        schema,
        Some(rows),
        Box::new(Batches::new(batches)),
    ))
}

struct JsonBatches {
    lines: Lines,
    columns: Vec<String>,
    types: Vec<Inferred>,
    schema: SchemaRef,
    done: bool,
}

impl BatchSource for JsonBatches {
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut builders: Vec<ColumnBuilder> = self
            .types
            .iter()
            .map(|t| ColumnBuilder::new(*t, BATCH_ROWS))
            .collect();
        let mut n = 0;
        while n < BATCH_ROWS {
            let Some((line, object)) = self.lines.next_object()? else {
                self.done = true;
                break;
            };
            for (i, column) in self.columns.iter().enumerate() {
                with_cell(object.get(column), |cell| builders[i].append(cell)).map_err(
                    |message| Error::Malformed {
                        path: self.lines.path.clone(),
                        line,
                        message,
                    },
                )?;
            }
            n += 1;
        }
        if n == 0 {
            return Ok(None);
        }
        let columns = builders.iter_mut().map(|b| b.finish()).collect();
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map(Some)
            .map_err(|e| Error::format(&self.lines.path, e))
    }
}
