//! `meta.json`: what a dataset holds, and what the explorer needs to offer
//! each column as a filter. Field names follow the Python latent-scope
//! (`id`, `length`, `columns`, `text_column`, `column_metadata`,
//! `ls_version`); ours add `latentscope_version`, `created_at` and per-column
//! `null_count` and `data_type`. Unknown fields of files written by other
//! versions are kept.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version of the Python latent-scope data format our files follow.
pub const PYTHON_FORMAT_VERSION: &str = "1.0.0";

/// The version of this crate, recorded in every file it writes.
pub const LATENTSCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Columns with at most this many distinct values get `categories` and `counts`.
pub const MAX_CATEGORIES: usize = 100;

/// The contents of a dataset's `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DatasetMeta {
    /// The dataset id (its directory name).
    pub id: String,
    /// The number of rows.
    pub length: u64,
    /// The column names, in order.
    pub columns: Vec<String>,
    /// The column that holds the text to embed.
    pub text_column: String,
    /// Per-column facts for filters and display.
    #[serde(default)]
    pub column_metadata: BTreeMap<String, ColumnMeta>,
    /// Columns that already hold vectors (the Python tool's field).
    #[serde(default)]
    pub potential_embeddings: Vec<String>,
    /// The Python latent-scope format version these files follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ls_version: Option<String>,
    /// The latentscope (Rust) version that wrote this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latentscope_version: Option<String>,
    /// When the dataset was created (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Fields we do not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Facts about one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ColumnMeta {
    /// `string`, `number`, `boolean`, `date` or `array` (the Python tool's names).
    #[serde(rename = "type")]
    pub kind: String,
    /// Distinct non-null values.
    #[serde(default)]
    pub unique_values_count: i64,
    /// For text columns with few distinct values: the values, most frequent first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<Value>>,
    /// For text columns with few distinct values: value → row count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Map<String, Value>>,
    /// For numbers: `[min, max]` over non-null values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<Vec<Value>>,
    /// True when every non-null value is a link (starts with `http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<bool>,
    /// True when every link ends in an image extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<bool>,
    /// `"url"` for image links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_kind: Option<String>,
    /// Null cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_count: Option<u64>,
    /// The Arrow type of the column in `input.parquet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Fields we do not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

const IMAGE_ENDINGS: &[&str] = &["png", "jpg", "jpeg", "webp", "svg", "gif"];

/// Accumulates column facts batch by batch, in bounded memory: distinct
/// values are counted by 64-bit hash, and exact values are kept only while
/// there are at most [`MAX_CATEGORIES`] of them.
#[derive(Debug)]
pub(crate) struct ColumnStats {
    data_type: DataType,
    nulls: u64,
    non_null: u64,
    distinct: HashSet<u64>,
    categories: Option<HashMap<String, u64>>,
    all_links: bool,
    all_images: bool,
    min: f64,
    max: f64,
}

fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

impl ColumnStats {
    pub(crate) fn new(data_type: DataType) -> Self {
        Self {
            data_type,
            nulls: 0,
            non_null: 0,
            distinct: HashSet::new(),
            categories: Some(HashMap::new()),
            all_links: true,
            all_images: true,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn observe_text(&mut self, s: &str) {
        self.distinct.insert(hash_of(s));
        if let Some(c) = &mut self.categories {
            if let Some(n) = c.get_mut(s) {
                *n += 1;
            } else if c.len() < MAX_CATEGORIES {
                c.insert(s.to_string(), 1);
            } else {
                self.categories = None;
            }
        }
        if self.all_links {
            self.all_links = s.starts_with("http");
            if self.all_images {
                let lower = s.to_ascii_lowercase();
                self.all_images = IMAGE_ENDINGS.iter().any(|e| lower.ends_with(e));
            }
        }
    }

    fn observe_number(&mut self, v: f64) {
        self.distinct.insert(v.to_bits());
        if v.is_finite() {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    pub(crate) fn update(&mut self, array: &ArrayRef) {
        self.nulls += array.null_count() as u64;
        self.non_null += (array.len() - array.null_count()) as u64;
        macro_rules! numbers {
            ($t:ty) => {
                for v in array.as_primitive::<$t>().iter().flatten() {
                    self.observe_number(v as f64);
                }
            };
        }
        match array.data_type() {
            DataType::Utf8 => array
                .as_string::<i32>()
                .iter()
                .flatten()
                .for_each(|s| self.observe_text(s)),
            DataType::LargeUtf8 => array
                .as_string::<i64>()
                .iter()
                .flatten()
                .for_each(|s| self.observe_text(s)),
            DataType::Utf8View => array
                .as_string_view()
                .iter()
                .flatten()
                .for_each(|s| self.observe_text(s)),
            DataType::Boolean => {
                for v in array.as_boolean().iter().flatten() {
                    self.observe_text(if v { "true" } else { "false" });
                }
            }
            DataType::Int8 => numbers!(Int8Type),
            DataType::Int16 => numbers!(Int16Type),
            DataType::Int32 => numbers!(Int32Type),
            DataType::Int64 => numbers!(Int64Type),
            DataType::UInt8 => numbers!(UInt8Type),
            DataType::UInt16 => numbers!(UInt16Type),
            DataType::UInt32 => numbers!(UInt32Type),
            DataType::UInt64 => numbers!(UInt64Type),
            DataType::Float32 => numbers!(Float32Type),
            DataType::Float64 => numbers!(Float64Type),
            _ => {
                // Dates, lists and others: count distinct values by their debug text.
                let formatter = arrow_cast_display(array);
                for i in 0..array.len() {
                    if array.is_valid(i) {
                        self.distinct.insert(hash_of(&formatter(i)));
                    }
                }
            }
        }
    }

    pub(crate) fn finish(self) -> ColumnMeta {
        let kind = match &self.data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
            DataType::Boolean => "boolean",
            t if t.is_numeric() => "number",
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => "date",
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => "array",
            _ => "string",
        };
        let mut meta = ColumnMeta {
            kind: kind.to_string(),
            unique_values_count: self.distinct.len() as i64,
            null_count: Some(self.nulls),
            data_type: Some(self.data_type.to_string()),
            ..ColumnMeta::default()
        };
        if matches!(kind, "string" | "boolean")
            && let Some(categories) = self.categories
            && !(kind == "string" && categories.is_empty())
        {
            let mut sorted: Vec<(String, u64)> = categories.into_iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            meta.categories = Some(sorted.iter().map(|(k, _)| Value::from(k.clone())).collect());
            meta.counts = Some(
                sorted
                    .into_iter()
                    .map(|(k, n)| (k, Value::from(n)))
                    .collect(),
            );
        }
        if kind == "string" && self.non_null > 0 && self.all_links {
            meta.url = Some(true);
            if self.all_images {
                meta.image = Some(true);
                meta.image_kind = Some("url".to_string());
            }
        }
        if kind == "number" && self.min <= self.max {
            let num = |v: f64| {
                if v.fract() == 0.0 && v.abs() < 9e15 {
                    Value::from(v as i64)
                } else {
                    Value::from(v)
                }
            };
            meta.extent = Some(vec![num(self.min), num(self.max)]);
        }
        meta
    }
}

fn arrow_cast_display(array: &ArrayRef) -> impl Fn(usize) -> String + '_ {
    move |i| format!("{:?}", array.slice(i, 1))
}

/// Column facts for a whole table, fed batch by batch.
#[derive(Debug)]
pub(crate) struct TableStats {
    columns: Vec<(String, ColumnStats)>,
    pub(crate) rows: u64,
}

impl TableStats {
    pub(crate) fn new(schema: &SchemaRef) -> Self {
        Self {
            columns: schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), ColumnStats::new(f.data_type().clone())))
                .collect(),
            rows: 0,
        }
    }

    pub(crate) fn update(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as u64;
        for ((_, stats), array) in self.columns.iter_mut().zip(batch.columns()) {
            stats.update(array);
        }
    }

    pub(crate) fn finish(self) -> BTreeMap<String, ColumnMeta> {
        self.columns
            .into_iter()
            .map(|(name, stats)| (name, stats.finish()))
            .collect()
    }
}
