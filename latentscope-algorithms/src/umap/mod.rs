//! Native UMAP (McInnes et al. 2018), following umap-learn's semantics.
//!
//! Pipeline: kNN graph ([`knn_graph`]: exact blocked search up to [`EXACT_MAX_ROWS`] rows,
//! NN-descent above), fuzzy simplicial set (smooth kNN distances, fuzzy union), initialisation
//! (spectral, PCA, random or given coordinates), then SGD with negative sampling.

mod components;
mod curve;
mod distance;
mod error;
mod fuzzy;
mod knn;
mod nndescent;
mod pages;
mod params;
mod rng;
mod sgd;
mod space;
mod spectral;

use ndarray::{Array2, ArrayBase, ArrayView2, Data, Ix2};

pub use curve::find_ab_params;
pub use error::UmapError;
pub use knn::{
    EXACT_MAX_ROWS, KnnGraph, QUANTIZED_MIN_ROWS, approx_knn, exact_knn, knn_graph, recall,
};
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
    /// The initialisation used, e.g. `"spectral"`, `"spectral (each connected component, placed apart)"`
    /// or `"pca (too few rows for UMAP)"`.
    pub init_used: &'static str,
    /// Connected components of the kNN graph (each laid out on its own and
    /// placed apart when there are several and the init is spectral).
    pub n_components: usize,
    /// The neighbourhood size used: [`UmapParams::n_neighbors`], or `n - 1`
    /// when there are fewer rows than that (as umap-learn does); 0 when the
    /// rows were too few for UMAP and were laid out otherwise.
    pub n_neighbors: usize,
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

/// Below this many rows a UMAP layout means little: the rows are laid out
/// by PCA instead (three or more), or on a circle (one or two).
pub const MIN_ROWS: usize = 8;

/// The layout of fewer than [`MIN_ROWS`] rows: PCA to 2-D, or (for one or
/// two rows, or rows PCA cannot spread) evenly on a circle.
fn small_layout(x: ArrayView2<'_, f32>, params: &UmapParams, seed: u64) -> UmapResult {
    let n = x.nrows();
    let pca = (n >= 3)
        .then(|| crate::pca::pca(x, 2).ok())
        .flatten()
        .map(|p| p.projected.iter().copied().collect::<Vec<f32>>())
        .filter(|c| c.iter().all(|v| v.is_finite()) && c.iter().any(|v| *v != 0.0));
    let (coords, init_used) = match pca {
        Some(c) => (c, "pca (too few rows for UMAP)"),
        None => {
            let circle = (0..n)
                .flat_map(|i| {
                    let angle = std::f32::consts::TAU * i as f32 / n.max(1) as f32;
                    if n == 1 {
                        [0.0, 0.0]
                    } else {
                        [angle.cos(), angle.sin()]
                    }
                })
                .collect();
            (circle, "circle (too few rows for UMAP or PCA)")
        }
    };
    let (a, b) = find_ab_params(params.spread, params.min_dist);
    UmapResult {
        embedding: Array2::from_shape_vec((n, 2), coords)
            .expect("n × 2 coordinates by construction"),
        n_epochs: 0,
        a,
        b,
        init_used,
        n_components: n,
        n_neighbors: 0,
        seed,
    }
}

/// Embeds the rows of `x` (n x d) in 2-D.
///
/// Fewer rows than `n_neighbors + 1`: the neighbourhood shrinks to `n - 1`
/// (as in umap-learn; [`UmapResult::n_neighbors`] says so). Fewer than
/// [`MIN_ROWS`]: laid out by PCA, or on a circle for one or two rows
/// ([`UmapResult::init_used`] says which).
///
/// Progress stages: `"umap:knn"`, `"umap:graph"`, `"umap:init"`, `"umap:epochs"`; a `Break` from
/// `progress` ends the run with [`UmapError::Cancelled`]. With a seed and a one-thread pool the
/// result is bit-for-bit reproducible; with more threads the SGD is Hogwild-style and varies slightly.
pub fn umap(
    x: ArrayView2<'_, f32>,
    params: &UmapParams,
    progress: &dyn Progress,
) -> Result<UmapResult, UmapError> {
    umap_rows(x, params, progress)
}

/// [`umap`] taking the rows by value: they are freed as soon as the start no
/// longer reads them (before the components' layouts when the graph falls
/// apart, else once the start is made), so the epochs run beside the graph
/// alone (at 703k × 256 the rows are 720 MB of a run's 1.4 GB). The same
/// layout as [`umap`].
///
/// ```
/// use latentscope_algorithms::umap::{UmapParams, umap_owned};
/// use latentscope_algorithms::NoProgress;
///
/// let x = ndarray::Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f32);
/// let mut params = UmapParams::default();
/// (params.n_neighbors, params.n_epochs, params.seed) = (5, Some(20), Some(1));
/// let r = umap_owned(x, &params, &NoProgress)?;
/// assert_eq!(r.embedding.dim(), (40, 2));
/// # Ok::<(), latentscope_algorithms::umap::UmapError>(())
/// ```
pub fn umap_owned(
    x: Array2<f32>,
    params: &UmapParams,
    progress: &dyn Progress,
) -> Result<UmapResult, UmapError> {
    umap_rows(x, params, progress)
}

/// The pipeline of [`umap`] and [`umap_owned`]; `rows` is dropped (freed,
/// when owned) before the epochs.
fn umap_rows<S: Data<Elem = f32>>(
    rows: ArrayBase<S, Ix2>,
    params: &UmapParams,
    progress: &dyn Progress,
) -> Result<UmapResult, UmapError> {
    let x = rows.view();
    params.validate()?;
    let (n, d) = x.dim();
    if n == 0 {
        return Err(UmapError::TooFewRows { rows: 0, needed: 1 });
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
    if n < MIN_ROWS {
        return Ok(small_layout(x, params, seed));
    }
    let n_neighbors = params.n_neighbors.min(n - 1);

    // kNN graph (the point itself counts as one of n_neighbors, as in umap-learn).
    let knn = knn_graph(x, n_neighbors - 1, params.metric, mix(&[seed, 1]), progress)?;

    // Fuzzy simplicial set.
    report(progress, "umap:graph", 0, 1)?;
    let mut graph = fuzzy::fuzzy_simplicial_set(&knn, n_neighbors);
    drop(knn);
    let n_epochs = params.epochs_for(n);
    graph.prune(n_epochs);
    report(progress, "umap:graph", 1, 1)?;

    // Initialisation.
    let mut rng = Rng::new(mix(&[seed, 2]));
    report(progress, "umap:init", 0, 1)?;
    let (component, n_components) = components::components(&graph);
    let (mut coords, init_used): (Vec<f32>, &'static str) =
        if matches!(params.init, Init::Spectral) && n_components > 1 {
            // Only the components' places read the rows: they are freed
            // (when owned) before the components' spectral layouts.
            let places = components::places(x, &component, n_components);
            drop(rows);
            let (y, _) = components::component_layout(
                &graph,
                &component,
                n_components,
                places,
                mix(&[seed, 3]),
                progress,
            )?;
            let mut c: Vec<f32> = y.iter().map(|&v| v as f32).collect();
            noisy_scale(&mut c, &mut rng);
            (c, "spectral (each connected component, placed apart)")
        } else {
            let start = match &params.init {
                Init::Spectral => {
                    match spectral::spectral_layout(&graph, None, mix(&[seed, 3]), progress)? {
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
                    }
                }
                Init::Pca => match pca_init(x, &mut rng) {
                    Some(c) => (c, "pca"),
                    None => (random_init(n, &mut rng), "random (fallback: pca failed)"),
                },
                Init::Random => (random_init(n, &mut rng), "random"),
                Init::Coordinates(c) => (c.iter().copied().collect(), "coordinates"),
            };
            // The epochs read only the graph and the start.
            drop(rows);
            start
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
    sgd::optimize(&mut coords, graph, &sp, progress)?;
    let embedding =
        Array2::from_shape_vec((n, 2), coords).expect("n × 2 coordinates by construction");
    Ok(UmapResult {
        embedding,
        n_epochs,
        a,
        b,
        init_used,
        n_components,
        n_neighbors,
        seed,
    })
}
