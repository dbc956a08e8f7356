//! Native UMAP (McInnes et al. 2018), following umap-learn's semantics.
//!
//! Pipeline: kNN graph ([`knn_graph`]: exact blocked search up to [`EXACT_MAX_ROWS`] rows,
//! NN-descent above), fuzzy simplicial set (smooth kNN distances, fuzzy union), initialisation
//! (spectral, PCA, random or given coordinates), then SGD with negative sampling.

mod curve;
mod distance;
mod error;
mod fuzzy;
mod knn;
mod nndescent;
mod params;
mod rng;
mod sgd;
mod spectral;

use ndarray::{Array2, ArrayView2};

pub use curve::find_ab_params;
pub use error::UmapError;
pub use knn::{EXACT_MAX_ROWS, KnnGraph, approx_knn, exact_knn, knn_graph, recall};
pub use params::{Init, Metric, UmapParams};

use crate::progress::Progress;
use knn::report;
use rng::{Rng, mix};
use spectral::SpectralFailure;

/// The output of [`umap`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UmapResult {
    /// The layout, n x 2, raw (not rescaled).
    pub embedding: Array2<f32>,
    /// Epochs run.
    pub n_epochs: usize,
    /// Fitted curve parameter `a`.
    pub a: f32,
    /// Fitted curve parameter `b`.
    pub b: f32,
    /// The initialisation used, e.g. `"spectral"` or `"pca (fallback: disconnected graph)"`.
    pub init_used: &'static str,
    /// The seed the run used: [`UmapParams::seed`], or the one drawn from the
    /// clock when that was `None` (below 2³¹, so that any JSON reader keeps
    /// it exactly). Running again with it repeats the run.
    pub seed: u64,
}

fn clock_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    mix(&[t, std::process::id() as u64]) >> 33
}

/// Scales coordinates so the largest magnitude is 10, then adds N(0, 1e-4) noise (umap-learn's
/// `noisy_scale_coords`).
fn noisy_scale(coords: &mut [f32], rng: &mut Rng) {
    let max = coords.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let expansion = if max > 0.0 && max.is_finite() {
        10.0 / max
    } else {
        1.0
    };
    for c in coords.iter_mut() {
        *c = *c * expansion + (rng.normal() * 1e-4) as f32;
    }
}

/// Rescales each column to [0, 10] (a constant column gets random values in [0, 10]).
fn minmax_scale(coords: &mut [f32], rng: &mut Rng) {
    for dim in 0..2 {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for c in coords.iter().skip(dim).step_by(2) {
            lo = lo.min(*c);
            hi = hi.max(*c);
        }
        let range = hi - lo;
        for c in coords.iter_mut().skip(dim).step_by(2) {
            *c = if range > 0.0 && range.is_finite() {
                10.0 * (*c - lo) / range
            } else {
                (rng.uniform() * 10.0) as f32
            };
        }
    }
}

fn pca_init(x: ArrayView2<'_, f32>, rng: &mut Rng) -> Option<Vec<f32>> {
    let p = crate::pca::pca(x, 2).ok()?;
    let mut c: Vec<f32> = p.projected.iter().copied().collect();
    if c.iter().all(|v| *v == 0.0) {
        return None;
    }
    noisy_scale(&mut c, rng);
    Some(c)
}

fn random_init(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..2 * n)
        .map(|_| (rng.uniform() * 20.0 - 10.0) as f32)
        .collect()
}

/// Embeds the rows of `x` (n x d) in 2-D.
///
/// Progress stages: `"umap:knn"`, `"umap:graph"`, `"umap:init"`, `"umap:epochs"`; a `Break` from
/// `progress` ends the run with [`UmapError::Cancelled`]. With a seed and a one-thread pool the
/// result is bit-for-bit reproducible; with more threads the SGD is Hogwild-style and varies slightly.
pub fn umap(
    x: ArrayView2<'_, f32>,
    params: &UmapParams,
    progress: &dyn Progress,
) -> Result<UmapResult, UmapError> {
    params.validate()?;
    let (n, d) = x.dim();
    let needed = params.n_neighbors.saturating_add(1);
    if n < needed {
        return Err(UmapError::TooFewRows { rows: n, needed });
    }
    if d == 0 {
        return Err(UmapError::InvalidParameter {
            name: "x",
            value: "0 columns".into(),
            reason: "input needs at least one column",
        });
    }
    if n >= u32::MAX as usize {
        return Err(UmapError::InvalidParameter {
            name: "x",
            value: format!("{n} rows"),
            reason: "at most 2^32 - 2 rows are supported",
        });
    }
    knn::check_finite(x)?;
    if let Init::Coordinates(c) = &params.init
        && c.nrows() != n
    {
        return Err(UmapError::InvalidParameter {
            name: "init",
            value: format!("{} rows", c.nrows()),
            reason: "coordinates must have one row per input row",
        });
    }
    let seed = params.seed.unwrap_or_else(clock_seed);

    // kNN graph (the point itself counts as one of n_neighbors, as in umap-learn).
    let knn = knn_graph(
        x,
        params.n_neighbors - 1,
        params.metric,
        mix(&[seed, 1]),
        progress,
    )?;

    // Fuzzy simplicial set.
    report(progress, "umap:graph", 0, 1)?;
    let mut graph = fuzzy::fuzzy_simplicial_set(&knn, params.n_neighbors);
    drop(knn);
    let n_epochs = params.epochs_for(n);
    graph.prune(n_epochs);
    report(progress, "umap:graph", 1, 1)?;

    // Initialisation.
    let mut rng = Rng::new(mix(&[seed, 2]));
    report(progress, "umap:init", 0, 1)?;
    let (mut coords, init_used): (Vec<f32>, &'static str) = match &params.init {
        Init::Spectral => match spectral::spectral_layout(&graph, mix(&[seed, 3]), progress)? {
            Ok(y) => {
                let mut c: Vec<f32> = y.iter().map(|&v| v as f32).collect();
                noisy_scale(&mut c, &mut rng);
                (c, "spectral")
            }
            Err(why) => {
                let (with_pca, with_random) = match why {
                    SpectralFailure::Disconnected => (
                        "pca (fallback: disconnected graph)",
                        "random (fallback: disconnected graph, pca failed)",
                    ),
                    SpectralFailure::NotConverged => (
                        "pca (fallback: spectral did not converge)",
                        "random (fallback: spectral did not converge, pca failed)",
                    ),
                };
                match pca_init(x, &mut rng) {
                    Some(c) => (c, with_pca),
                    None => (random_init(n, &mut rng), with_random),
                }
            }
        },
        Init::Pca => match pca_init(x, &mut rng) {
            Some(c) => (c, "pca"),
            None => (random_init(n, &mut rng), "random (fallback: pca failed)"),
        },
        Init::Random => (random_init(n, &mut rng), "random"),
        Init::Coordinates(c) => (c.iter().copied().collect(), "coordinates"),
    };
    minmax_scale(&mut coords, &mut rng);
    report(progress, "umap:init", 1, 1)?;

    // Layout.
    let (a, b) = find_ab_params(params.spread, params.min_dist);
    let sp = sgd::SgdParams {
        a,
        b,
        gamma: params.repulsion_strength,
        alpha0: params.learning_rate,
        negative_sample_rate: params.negative_sample_rate,
        n_epochs,
        seed: mix(&[seed, 4]),
        portable: false,
    };
    sgd::optimize(&mut coords, &graph, &sp, progress)?;
    let embedding =
        Array2::from_shape_vec((n, 2), coords).expect("n × 2 coordinates by construction");
    Ok(UmapResult {
        embedding,
        n_epochs,
        a,
        b,
        init_used,
        seed,
    })
}
