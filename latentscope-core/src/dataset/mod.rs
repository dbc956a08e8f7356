//! [`Dataset`]: a typed handle over `<data>/<dataset-id>/` in a [`Store`].

mod artifacts;
pub mod ids;
mod lifecycle;
pub mod meta;
mod names;
mod tags;

pub use artifacts::{ArtifactFile, ArtifactInfo, ArtifactKind, ArtifactState};
pub use lifecycle::{ArtifactRun, RunSpec};
pub use names::{NAMES_FILE, RunName};

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;
use latentscope_io::{Store, WriterLock, json, table};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{DatasetId, NumberedId, validate_dataset_id};
use crate::meta::DatasetMeta;

/// The file that holds a dataset's rows.
pub const INPUT_FILE: &str = "input.parquet";
/// The file whose presence makes a directory a dataset (written last).
pub const META_FILE: &str = "meta.json";
/// The lock file that serialises writers of one dataset.
pub const LOCK_FILE: &str = ".lock";

/// The text column of a dataset ([`Dataset::texts`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Texts {
    /// One text per row, in row order; a null is an empty string.
    pub texts: Vec<String>,
    /// How many rows were null.
    pub nulls: u64,
}

/// A dataset: the rows of `input.parquet`, their `meta.json`, and the
/// artifacts made from them (embeddings, umaps, clusters, labels, scopes).
///
/// Open one with [`Dataset::open`]; make one with
/// [`ingest`](crate::ingest::ingest).
#[derive(Debug, Clone)]
pub struct Dataset {
    store: Arc<dyn Store>,
    id: DatasetId,
    meta: DatasetMeta,
}

impl Dataset {
    /// Opens an existing dataset. A missing one is
    /// [`Error::DatasetNotFound`], which lists the datasets there are.
    pub fn open(store: Arc<dyn Store>, id: &str) -> Result<Self> {
        let typed: DatasetId = id.parse()?;
        let key = format!("{id}/{META_FILE}");
        let meta: DatasetMeta = match json::read_json(store.as_ref(), &key) {
            Ok(meta) => meta,
            Err(e) if e.is_not_found() => {
                return Err(Error::DatasetNotFound {
                    id: id.to_string(),
                    store: store.to_string(),
                    available: Self::ids(store.as_ref())?,
                });
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Self::from_parts(store, typed, meta))
    }

    pub(crate) fn from_parts(store: Arc<dyn Store>, id: DatasetId, meta: DatasetMeta) -> Self {
        Self { store, id, meta }
    }

    /// The ids of every dataset in the store (directories with a `meta.json`), sorted.
    pub fn ids(store: &dyn Store) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in store.list("")? {
            if entry.is_dir
                && validate_dataset_id(&entry.name).is_ok()
                && store.exists(&format!("{}/{META_FILE}", entry.name))?
            {
                ids.push(entry.name);
            }
        }
        Ok(ids)
    }

    /// The metadata of every dataset in the store, sorted by id. A dataset
    /// whose `meta.json` cannot be read is an error naming the file.
    pub fn list(store: &dyn Store) -> Result<Vec<DatasetMeta>> {
        Self::ids(store)?
            .into_iter()
            .map(|id| Ok(json::read_json(store, &format!("{id}/{META_FILE}"))?))
            .collect()
    }

    /// The dataset id.
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// The dataset id, typed.
    pub fn dataset_id(&self) -> &DatasetId {
        &self.id
    }

    /// The store the dataset lives in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The data directory on this machine, when the store is a local one.
    pub fn data_dir(&self) -> Option<std::path::PathBuf> {
        self.store
            .local_path(self.id())
            .and_then(|p| p.parent().map(std::path::Path::to_path_buf))
    }

    /// The contents of `meta.json`.
    pub fn meta(&self) -> &DatasetMeta {
        &self.meta
    }

    /// The number of rows.
    pub fn rows(&self) -> u64 {
        self.meta.length
    }

    /// The store key of a file inside the dataset (`"umaps/umap-001.json"`).
    pub fn key(&self, relative: &str) -> String {
        format!("{}/{relative}", self.id)
    }

    /// Takes the dataset's exclusive writer lock (see [`Store::lock`]).
    pub fn lock(&self) -> Result<WriterLock> {
        Ok(self.store.lock(&self.key(LOCK_FILE))?)
    }

    /// Reads the input rows, optionally only the named columns.
    pub fn read_input(&self, columns: Option<&[&str]>) -> Result<RecordBatch> {
        table::read_table(self.store.as_ref(), &self.key(INPUT_FILE), columns).map_err(
            |e| match e {
                latentscope_io::Error::ColumnNotFound {
                    column, available, ..
                } => Error::ColumnNotFound {
                    source_name: format!("dataset {:?}", self.id),
                    column,
                    available,
                },
                e => e.into(),
            },
        )
    }

    /// The text column's values in row order; nulls become empty strings
    /// (and are counted).
    pub fn texts(&self) -> Result<Texts> {
        let column = self.meta.text_column.clone();
        let batch = self.read_input(Some(&[column.as_str()]))?;
        let array = batch.column(0);
        let nulls = array.null_count() as u64;
        let texts = match array.data_type() {
            DataType::Utf8 => array
                .as_string::<i32>()
                .iter()
                .map(|s| s.unwrap_or("").to_string())
                .collect(),
            DataType::LargeUtf8 => array
                .as_string::<i64>()
                .iter()
                .map(|s| s.unwrap_or("").to_string())
                .collect(),
            DataType::Utf8View => array
                .as_string_view()
                .iter()
                .map(|s| s.unwrap_or("").to_string())
                .collect(),
            other => {
                return Err(Error::ColumnType {
                    column,
                    found: other.to_string(),
                    expected: "the text column must hold strings",
                });
            }
        };
        Ok(Texts { texts, nulls })
    }

    /// The finished artifacts of one kind (those whose `.json` exists), in order.
    pub fn artifact_ids<I: NumberedId>(&self) -> Result<Vec<I>> {
        let mut ids: Vec<I> = self
            .store
            .list(&self.key(I::FOLDER))?
            .into_iter()
            .filter_map(|e| e.name.strip_suffix(".json")?.parse().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The record (`<id>.json`) of a finished artifact, read as `T`; a
    /// missing artifact names the ones that exist.
    pub fn record<I: NumberedId, T: serde::de::DeserializeOwned>(&self, id: I) -> Result<T> {
        self.require(id)?;
        Ok(json::read_json(
            self.store.as_ref(),
            &self.key(&format!("{}/{id}.json", I::FOLDER)),
        )?)
    }

    /// Checks that an artifact exists, or names the ones that do.
    pub fn require<I: NumberedId>(&self, id: I) -> Result<()> {
        let ids = self.artifact_ids::<I>()?;
        if ids.contains(&id) {
            Ok(())
        } else {
            Err(Error::ArtifactNotFound {
                dataset: self.id.to_string(),
                id: id.to_string(),
                available: ids.iter().map(|i| i.to_string()).collect(),
            })
        }
    }

    /// Allocates the next id of a kind and claims it, recording `params` in
    /// the claim. Numbers are never reused: claims (`.<id>.claim`) stay when
    /// an artifact is deleted, and the next number is one past the highest
    /// artifact or claim ever made. Two concurrent callers never get the same id.
    pub fn allocate<I: NumberedId + ids::ArtifactId, P: Serialize>(&self, params: &P) -> Result<I> {
        // A run that is begun and dropped at once leaves its claim.
        Ok(self
            .begin::<I, _>(&RunSpec::new("allocate", params).fresh())?
            .id())
    }
}
