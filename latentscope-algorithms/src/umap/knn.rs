//! k-nearest-neighbour graphs: exact blocked search (matrix products) and NN-descent.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::distance::{DistFn, dot_fn, sqdist_fn};
use super::error::UmapError;
use super::nndescent::{self, Effort, Ordered};
use super::params::Metric;
use super::space::{Quantized, prefetch_bytes};
use crate::progress::{Progress, ProgressEvent};

/// Up to this many rows the exact search is used; above, NN-descent.
pub const EXACT_MAX_ROWS: usize = 8_192;

/// The k nearest neighbours of every row, excluding the row itself, nearest first.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KnnGraph {
    /// Neighbour row indices, n x k.
    pub indices: Array2<u32>,
    /// Distances to those neighbours (cosine distance `1 - cos`, or Euclidean), n x k.
    pub distances: Array2<f32>,
}

/// Rows prepared for search: normalised for cosine, with squared norms for Euclidean.
pub(crate) struct Prepared {
    pub(crate) data: Vec<f32>,
    pub(crate) n: usize,
    pub(crate) d: usize,
    pub(crate) metric: Metric,
    pub(crate) sq_norms: Vec<f32>,
    /// The distance kernel: dot product for cosine, squared distance for Euclidean.
    pub(crate) kernel: DistFn,
    /// The dot-product kernel (for random-projection splits).
    pub(crate) dot: DistFn,
}

impl Prepared {
    pub(crate) fn new(x: ArrayView2<'_, f32>, metric: Metric) -> Self {
        let (n, d) = x.dim();
        let mut data: Vec<f32> = Vec::with_capacity(n * d);
        for row in x.rows() {
            data.extend(row.iter().copied());
        }
        let mut sq_norms = vec![0.0f32; n];
        if d > 0 {
            data.par_chunks_mut(d)
                .zip(sq_norms.par_iter_mut())
                .for_each(|(row, sn)| {
                    let s: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
                    if metric == Metric::Cosine {
                        if s > 0.0 {
                            let inv = (1.0 / s.sqrt()) as f32;
                            row.iter_mut().for_each(|v| *v *= inv);
                            *sn = 1.0;
                        }
                    } else {
                        *sn = s as f32;
                    }
                });
        }
        Self {
            data,
            n,
            d,
            metric,
            sq_norms,
            kernel: match metric {
                Metric::Cosine => dot_fn(),
                Metric::Euclidean => sqdist_fn(),
            },
            dot: dot_fn(),
        }
    }

    #[inline]
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Converts an internal distance (1 - dot, or squared Euclidean) to the reported one.
    #[inline]
    pub(crate) fn finish(&self, d: f32) -> f32 {
        match self.metric {
            Metric::Cosine => d.max(0.0),
            Metric::Euclidean => d.max(0.0).sqrt(),
        }
    }
}

/// A bounded list of the k smallest (distance, index) pairs, kept sorted.
pub(crate) struct TopK<'a> {
    pub(crate) idx: &'a mut [u32],
    pub(crate) dist: &'a mut [f32],
}

impl TopK<'_> {
    #[inline]
    pub(crate) fn worst(&self) -> f32 {
        self.dist[self.dist.len() - 1]
    }

    #[inline]
    pub(crate) fn insert(&mut self, j: u32, d: f32) {
        let k = self.dist.len();
        let mut pos = k - 1;
        while pos > 0 && self.dist[pos - 1] > d {
            self.dist[pos] = self.dist[pos - 1];
            self.idx[pos] = self.idx[pos - 1];
            pos -= 1;
        }
        self.dist[pos] = d;
        self.idx[pos] = j;
    }
}

pub(crate) fn report(
    progress: &dyn Progress,
    stage: &str,
    done: usize,
    total: usize,
) -> Result<(), UmapError> {
    match progress.update(ProgressEvent::new(stage, done as u64, Some(total as u64))) {
        std::ops::ControlFlow::Continue(()) => Ok(()),
        std::ops::ControlFlow::Break(()) => Err(UmapError::Cancelled),
    }
}

pub(crate) fn check_input(x: ArrayView2<'_, f32>, k: usize) -> Result<(), UmapError> {
    let (n, d) = x.dim();
    if k == 0 {
        return Err(UmapError::InvalidParameter {
            name: "k",
            value: "0".into(),
            reason: "must be at least 1",
        });
    }
    if n <= k {
        return Err(UmapError::TooFewRows {
            rows: n,
            needed: k.saturating_add(1),
        });
    }
    if n >= u32::MAX as usize {
        return Err(UmapError::InvalidParameter {
            name: "x",
            value: format!("{n} rows"),
            reason: "at most 2^32 - 2 rows are supported",
        });
    }
    if d == 0 {
        return Err(UmapError::InvalidParameter {
            name: "x",
            value: "0 columns".into(),
            reason: "input needs at least one column",
        });
    }
    check_finite(x)
}

pub(crate) fn check_finite(x: ArrayView2<'_, f32>) -> Result<(), UmapError> {
    // The common case, all finite, in parallel and in a form that
    // vectorises (an exponent of all ones is an infinity or a NaN); the
    // search for the first bad value below runs only when there is one.
    if let Some(data) = x.as_slice() {
        let bad = |v: &f32| v.to_bits() & 0x7f80_0000 == 0x7f80_0000;
        let any_bad = data
            .par_chunks(1 << 16)
            .any(|c| c.iter().fold(false, |acc, v| acc | bad(v)));
        if !any_bad {
            return Ok(());
        }
    }
    for (r, row) in x.rows().into_iter().enumerate() {
        if let Some(c) = row.iter().position(|v| !v.is_finite()) {
            return Err(UmapError::NonFinite { row: r, column: c });
        }
    }
    Ok(())
}

/// Exact k nearest neighbours (excluding self) by blocked matrix products; O(n^2 d).
pub fn exact_knn(x: ArrayView2<'_, f32>, k: usize, metric: Metric) -> Result<KnnGraph, UmapError> {
    check_input(x, k)?;
    let p = Prepared::new(x, metric);
    exact_prepared(&p, k, &crate::progress::NoProgress)
}

pub(crate) fn exact_prepared(
    p: &Prepared,
    k: usize,
    progress: &dyn Progress,
) -> Result<KnnGraph, UmapError> {
    const RB: usize = 128;
    const CB: usize = 2048;
    let (n, d) = (p.n, p.d);
    let mut idx = vec![u32::MAX; n * k];
    let mut dist = vec![f32::INFINITY; n * k];
    let done = AtomicUsize::new(0);
    let cancelled = AtomicBool::new(false);
    let euclid = p.metric == Metric::Euclidean;
    idx.par_chunks_mut(RB * k)
        .zip(dist.par_chunks_mut(RB * k))
        .enumerate()
        .for_each(|(b, (bidx, bdist))| {
            if cancelled.load(Ordering::Relaxed) {
                return;
            }
            let r0 = b * RB;
            let rows = bidx.len() / k;
            let mut tile = vec![0.0f32; RB * CB];
            let lhs = MatRef::from_row_major_slice(&p.data[r0 * d..(r0 + rows) * d], rows, d);
            let mut c0 = 0;
            while c0 < n {
                let cols = CB.min(n - c0);
                let rhs = MatRef::from_row_major_slice(&p.data[c0 * d..(c0 + cols) * d], cols, d);
                let dst = MatMut::from_row_major_slice_mut(&mut tile[..rows * cols], rows, cols);
                matmul(dst, Accum::Replace, lhs, rhs.transpose(), 1.0f32, Par::Seq);
                for r in 0..rows {
                    let i = r0 + r;
                    let mut top = TopK {
                        idx: &mut bidx[r * k..(r + 1) * k],
                        dist: &mut bdist[r * k..(r + 1) * k],
                    };
                    let trow = &tile[r * cols..(r + 1) * cols];
                    let ni = p.sq_norms[i];
                    let mut worst = top.worst();
                    for (c, &dot) in trow.iter().enumerate() {
                        let j = c0 + c;
                        let dd = if euclid {
                            ni + p.sq_norms[j] - 2.0 * dot
                        } else {
                            1.0 - dot
                        };
                        if dd < worst && j != i {
                            top.insert(j as u32, dd);
                            worst = top.worst();
                        }
                    }
                }
                c0 += cols;
            }
            let now = done.fetch_add(rows, Ordering::Relaxed) + rows;
            if report(progress, "umap:knn", now, n).is_err() {
                cancelled.store(true, Ordering::Relaxed);
            }
        });
    if cancelled.load(Ordering::Relaxed) {
        return Err(UmapError::Cancelled);
    }
    let dist: Vec<f32> = dist.into_iter().map(|v| p.finish(v)).collect();
    Ok(KnnGraph {
        indices: Array2::from_shape_vec((n, k), idx)
            .expect("n × k neighbour indices by construction"),
        distances: Array2::from_shape_vec((n, k), dist)
            .expect("n × k neighbour distances by construction"),
    })
}

/// From this many rows, cosine NN-descent searches int8 copies of the rows and
/// re-ranks the neighbours it finds with exact f32 distances.
pub const QUANTIZED_MIN_ROWS: usize = 100_000;

/// NN-descent over f32 rows: it stops when an iteration improves fewer than
/// 0.1 % of the n × k neighbour entries (pynndescent's default), and starts
/// from at most 12 trees.
const EFFORT: Effort = Effort {
    stop: 0.001,
    max_trees: 12,
};

/// NN-descent over int8 rows, whose distances are good to about 1e-3 anyway,
/// stops at 1 % improvements: at 703k rows the iterations past that took 5 s
/// of 36 and raised recall@24 from 0.905 to 0.908 (1,000 rows, counted by
/// distance). Stopping earlier, it starts from more trees: at 703k rows 16
/// trees against 12 took 0.6 s more and raised recall@24 (on 3,000 other
/// rows) from 0.898 to 0.902.
const QUANTIZED_EFFORT: Effort = Effort {
    stop: 0.01,
    max_trees: 16,
};

/// The k nearest neighbours (excluding self): exact up to [`EXACT_MAX_ROWS`] rows, NN-descent
/// above (for cosine from [`QUANTIZED_MIN_ROWS`] rows over int8 rows, with exact distances).
pub fn knn_graph(
    x: ArrayView2<'_, f32>,
    k: usize,
    metric: Metric,
    seed: u64,
    progress: &dyn Progress,
) -> Result<KnnGraph, UmapError> {
    check_input(x, k)?;
    let n = x.nrows();
    if n <= EXACT_MAX_ROWS {
        exact_prepared(&Prepared::new(x, metric), k, progress)
    } else if metric == Metric::Cosine && n >= QUANTIZED_MIN_ROWS {
        let q = Quantized::cosine(x);
        let mut g = nndescent::nn_descent(q, k, seed, QUANTIZED_EFFORT, progress)?;
        rerank_cosine(x, &mut g);
        Ok(g.into_original())
    } else {
        nndescent::nn_descent(Prepared::new(x, metric), k, seed, EFFORT, progress)
            .map(Ordered::into_original)
    }
}

/// Replaces each row's neighbour distances by exact cosine distances and
/// sorts the neighbours by them (nearest first, ties by first index), row by
/// row in NN-descent's search order.
fn rerank_cosine(x: ArrayView2<'_, f32>, o: &mut Ordered) {
    let dot = dot_fn();
    let owned;
    let data: &[f32] = match x.as_slice() {
        Some(s) => s,
        None => {
            owned = x.iter().copied().collect::<Vec<f32>>();
            &owned
        }
    };
    let d = x.ncols();
    let row = |i: usize| &data[i * d..(i + 1) * d];
    let norms: Vec<f32> = (0..x.nrows())
        .into_par_iter()
        .map(|i| {
            row(i)
                .iter()
                .map(|&v| f64::from(v) * f64::from(v))
                .sum::<f64>()
                .sqrt() as f32
        })
        .collect();
    let Ordered { graph: g, order } = o;
    let k = g.indices.ncols();
    let (Some(idx), Some(dist)) = (g.indices.as_slice_mut(), g.distances.as_slice_mut()) else {
        return;
    };
    // Blocks of rows, so that each row's neighbours start loading while the
    // row before is re-ranked (the rows lie anywhere in 720 MB at 703k).
    const BLOCK: usize = 64;
    idx.par_chunks_mut(k * BLOCK)
        .zip(dist.par_chunks_mut(k * BLOCK))
        .enumerate()
        .for_each(|(block, (bix, bdx))| {
            for t in 0..bix.len() / k {
                if let Some(next) = bix.get((t + 1) * k..(t + 2) * k) {
                    for &p in next {
                        prefetch_bytes(row(order[p as usize] as usize));
                    }
                }
                let i = order[block * BLOCK + t] as usize;
                let (ix, dx) = (&mut bix[t * k..(t + 1) * k], &mut bdx[t * k..(t + 1) * k]);
                // (distance, first index, position in search order)
                let mut pairs: Vec<(f32, u32, u32)> = ix
                    .iter()
                    .map(|&p| {
                        let j = order[p as usize] as usize;
                        let nn = norms[i] * norms[j];
                        let cos = if nn > 0.0 {
                            dot(row(i), row(j)) / nn
                        } else {
                            0.0
                        };
                        ((1.0 - cos).max(0.0), j as u32, p)
                    })
                    .collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (s, (dd, _, p)) in pairs.into_iter().enumerate() {
                    ix[s] = p;
                    dx[s] = dd;
                }
            }
        });
}

/// Approximate k nearest neighbours (excluding self) by NN-descent whatever the size.
pub fn approx_knn(
    x: ArrayView2<'_, f32>,
    k: usize,
    metric: Metric,
    seed: u64,
    progress: &dyn Progress,
) -> Result<KnnGraph, UmapError> {
    check_input(x, k)?;
    nndescent::nn_descent(Prepared::new(x, metric), k, seed, EFFORT, progress)
        .map(Ordered::into_original)
}

/// Fraction of the exact neighbours that `approx` found (mean over rows).
pub fn recall(approx: &KnnGraph, exact: &KnnGraph) -> f64 {
    let n = exact.indices.nrows();
    if n == 0 {
        return 1.0;
    }
    let mut hits = 0usize;
    let mut total = 0usize;
    for (a, e) in approx.indices.rows().into_iter().zip(exact.indices.rows()) {
        for j in e.iter() {
            total += 1;
            if a.iter().any(|x| x == j) {
                hits += 1;
            }
        }
    }
    hits as f64 / total.max(1) as f64
}
