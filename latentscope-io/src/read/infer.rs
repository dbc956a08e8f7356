//! Column type inference and Arrow array building for text formats (CSV, TSV, JSON Lines).

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_schema::DataType;

/// One cell as a text format presents it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    /// Empty or null.
    Null,
    /// A boolean literal.
    Bool(bool),
    /// An integer, with its original text.
    Int(i64, &'a str),
    /// A floating-point number, with its original text.
    Float(f64, &'a str),
    /// Any other text.
    Str(&'a str),
}

impl<'a> Cell<'a> {
    /// Classifies a CSV field: integers, decimals (with at least one digit,
    /// so `nan` or `inf` stay text), `true`/`false`, else text. Empty is null.
    pub(crate) fn from_text(s: &'a str) -> Self {
        if s.is_empty() {
            return Cell::Null;
        }
        if let Ok(i) = s.parse::<i64>() {
            return Cell::Int(i, s);
        }
        if s.bytes().any(|b| b.is_ascii_digit())
            && let Ok(f) = s.parse::<f64>()
        {
            return Cell::Float(f, s);
        }
        if s.eq_ignore_ascii_case("true") {
            return Cell::Bool(true);
        }
        if s.eq_ignore_ascii_case("false") {
            return Cell::Bool(false);
        }
        Cell::Str(s)
    }

    fn text(&self) -> &'a str {
        match *self {
            Cell::Null => "",
            Cell::Bool(true) => "true",
            Cell::Bool(false) => "false",
            Cell::Int(_, s) | Cell::Float(_, s) | Cell::Str(s) => s,
        }
    }
}

/// The inferred type of a column, widened as cells are seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Inferred {
    /// Only nulls seen so far.
    #[default]
    Null,
    /// Booleans.
    Bool,
    /// 64-bit integers.
    Int,
    /// 64-bit floats (integers widen to this).
    Float,
    /// Text (everything widens to this).
    Str,
}

impl Inferred {
    /// Widens the type to hold `cell` too.
    pub(crate) fn observe(&mut self, cell: &Cell<'_>) {
        use Inferred::*;
        *self = match (*self, cell) {
            (t, Cell::Null) => t,
            (Str, _) | (_, Cell::Str(_)) => Str,
            (Null | Bool, Cell::Bool(_)) => Bool,
            (Null | Int, Cell::Int(..)) => Int,
            (Null | Int | Float, Cell::Int(..) | Cell::Float(..)) => Float,
            _ => Str,
        };
    }

    /// The Arrow type of the column (all-null columns become text).
    pub(crate) fn data_type(self) -> DataType {
        match self {
            Inferred::Bool => DataType::Boolean,
            Inferred::Int => DataType::Int64,
            Inferred::Float => DataType::Float64,
            Inferred::Null | Inferred::Str => DataType::Utf8,
        }
    }
}

/// Builds one Arrow column from cells of a known inferred type.
#[derive(Debug)]
pub(crate) enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Str(StringBuilder),
}

impl ColumnBuilder {
    pub(crate) fn new(t: Inferred, capacity: usize) -> Self {
        match t {
            Inferred::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            Inferred::Int => ColumnBuilder::Int(Int64Builder::with_capacity(capacity)),
            Inferred::Float => ColumnBuilder::Float(Float64Builder::with_capacity(capacity)),
            Inferred::Null | Inferred::Str => {
                ColumnBuilder::Str(StringBuilder::with_capacity(capacity, capacity * 32))
            }
        }
    }

    /// Appends a cell; `Err` carries a message when the cell does not fit the
    /// type inferred in the first pass (the file changed between passes).
    pub(crate) fn append(&mut self, cell: Cell<'_>) -> Result<(), String> {
        match (self, cell) {
            (ColumnBuilder::Bool(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Int(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Float(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Str(b), Cell::Null) => b.append_null(),
            (ColumnBuilder::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (ColumnBuilder::Int(b), Cell::Int(v, _)) => b.append_value(v),
            (ColumnBuilder::Float(b), Cell::Int(v, _)) => b.append_value(v as f64),
            (ColumnBuilder::Float(b), Cell::Float(v, _)) => b.append_value(v),
            (ColumnBuilder::Str(b), c) => b.append_value(c.text()),
            (_, c) => {
                return Err(format!(
                    "value {:?} changed type since the file was first read",
                    c.text()
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Str(b) => Arc::new(b.finish()),
        }
    }
}

/// Names columns as pandas does for empty header cells, and refuses duplicates.
pub(crate) fn normalise_header(names: Vec<String>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let name = if name.trim().is_empty() {
            format!("Unnamed: {i}")
        } else {
            name
        };
        if out.contains(&name) {
            return Err(format!("column {name:?} appears twice in the header"));
        }
        out.push(name);
    }
    Ok(out)
}
