//! The scope step: a named combination of an embedding, a umap, a
//! clustering and its labels, written in the Python latent-scope's format so
//! its explorer and ours both open it: `scopes/scopes-NNN.json`,
//! `scopes-NNN.parquet` (one row per input row: `x`, `y`,
//! `tile_index_64`, `tile_index_128`, `cluster`, `raw_cluster`, `label`,
//! `deleted`, `ls_index`), `scopes-NNN-input.parquet` (`index`, every input
//! column, then the same columns but `ls_index`) and
//! `scopes-NNN-transactions.json` (`[]`, or the edits of a scope derived by
//! [`curate`]). The `.json` is written last.

pub(crate) mod artifact;
pub mod curate;
pub(crate) mod driver;

pub use artifact::{ScopeLabel, ScopeMeta};
pub use curate::{Curation, LabelEdit, RowMove, ScopeEdits};

use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, EmbeddingId, LabelsId, UmapId};

/// The ids a scope combines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScopeParts {
    /// The embedding.
    pub embedding: EmbeddingId,
    /// The 2-D layout of that embedding.
    pub umap: UmapId,
    /// A clustering of that layout.
    pub cluster: ClusterId,
    /// Labels of that clustering.
    pub labels: LabelsId,
}

impl ScopeParts {
    /// The four ids.
    pub fn new(embedding: EmbeddingId, umap: UmapId, cluster: ClusterId, labels: LabelsId) -> Self {
        Self {
            embedding,
            umap,
            cluster,
            labels,
        }
    }
}
