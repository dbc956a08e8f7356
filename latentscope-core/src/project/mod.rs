//! The project step: a [`Reducer`] maps an embedding's vectors to 2-D, and
//! the layout is written as a umap artifact (`umaps/umap-NNN.*`: a
//! [`Layout`] and its [`UmapMeta`]). Built in: UMAP ([`UmapParams`]) and PCA ([`PcaReducer`]).

pub(crate) mod artifact;
pub(crate) mod driver;

pub use artifact::{Extent, Layout, UmapMeta, read_layout_file};

use ndarray::{Array2, ArrayView2};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::ids::UmapId;
use crate::pca::pca;
use crate::progress::{Progress, check};
use crate::umap::{Init, UmapParams, UmapResult, umap, umap_owned};

/// A dimensionality reduction to 2-D. Sync and CPU-bound: the caller runs it
/// inside a rayon pool it sized (never the global pool).
pub trait Reducer: Send + Sync + std::fmt::Debug {
    /// The method recorded in the artifact (`"umap"`, `"pca"`).
    fn method(&self) -> &str;
    /// Every parameter, recorded in the artifact's JSON.
    fn params(&self) -> Map<String, Value>;
    /// Reduces `x` (rows × dims) to rows × 2.
    fn reduce(&self, x: ArrayView2<'_, f32>, progress: &dyn Progress) -> Result<Reduction>;

    /// [`Reducer::reduce`] taking the rows by value, so that a reducer can
    /// free them once it no longer reads them (the project step's way in).
    fn reduce_owned(&self, x: Array2<f32>, progress: &dyn Progress) -> Result<Reduction> {
        self.reduce(x.view(), progress)
    }
}

/// What a [`Reducer`] made.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reduction {
    /// The layout, rows × 2, raw (not rescaled).
    pub points: Array2<f32>,
    /// Facts of the run recorded with the parameters (epochs run, init used, …).
    pub details: Map<String, Value>,
}

impl Reducer for UmapParams {
    fn method(&self) -> &str {
        "umap"
    }

    fn params(&self) -> Map<String, Value> {
        crate::params_map(self)
    }

    fn reduce(&self, x: ArrayView2<'_, f32>, progress: &dyn Progress) -> Result<Reduction> {
        Ok(umap_reduction(umap(x, self, progress)?))
    }

    /// Frees the rows before the epochs ([`umap_owned`]).
    fn reduce_owned(&self, x: Array2<f32>, progress: &dyn Progress) -> Result<Reduction> {
        Ok(umap_reduction(umap_owned(x, self, progress)?))
    }
}

/// A UMAP run's layout and the facts recorded beside it.
fn umap_reduction(r: UmapResult) -> Reduction {
    let mut details = Map::new();
    details.insert("n_epochs_run".into(), r.n_epochs.into());
    details.insert("a".into(), r.a.into());
    details.insert("b".into(), r.b.into());
    details.insert("init_used".into(), r.init_used.into());
    details.insert("n_neighbors_used".into(), r.n_neighbors.into());
    details.insert("graph_components".into(), r.n_components.into());
    details.insert("seed".into(), r.seed.into());
    Reduction {
        points: r.embedding,
        details,
    }
}

/// PCA to 2-D: the cheap alternative to UMAP (deterministic, linear).
#[derive(Debug, Clone, Copy, Default)]
pub struct PcaReducer;

impl Reducer for PcaReducer {
    fn method(&self) -> &str {
        "pca"
    }

    fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("components".into(), 2.into());
        m
    }

    fn reduce(&self, x: ArrayView2<'_, f32>, progress: &dyn Progress) -> Result<Reduction> {
        check(progress, "pca", 0, Some(1))?;
        let p = pca(x, 2)?;
        check(progress, "pca", 1, Some(1))?;
        let mut details = Map::new();
        details.insert(
            "explained_variance".into(),
            p.explained_variance
                .iter()
                .map(|&v| Value::from(v))
                .collect::<Vec<_>>()
                .into(),
        );
        Ok(Reduction {
            points: p.projected,
            details,
        })
    }
}

/// A UMAP start as a user names it ([`Dataset::umap_start`](crate::Dataset::umap_start)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UmapStart {
    /// The initialisation to put in [`UmapParams::init`].
    pub init: Init,
    /// The earlier umap it copies, to record as [`ProjectOptions::init_from`].
    pub from: Option<UmapId>,
}

/// How the project step runs.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ProjectOptions {
    /// Threads for the algorithm (`None`: all cores).
    pub threads: Option<usize>,
    /// The earlier layout the run was initialised from, recorded as `init_from`.
    pub init_from: Option<UmapId>,
}
