//! Fuzzy simplicial set: smooth kNN distances, membership strengths and fuzzy union.

use rayon::prelude::*;

use super::knn::KnnGraph;

/// A symmetric weighted graph in COO form, sorted by (head, tail), both directions stored.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub(crate) n: usize,
    pub(crate) head: Vec<u32>,
    pub(crate) tail: Vec<u32>,
    pub(crate) weight: Vec<f32>,
}

const SMOOTH_K_TOLERANCE: f64 = 1e-5;
const MIN_K_DIST_SCALE: f64 = 1e-3;

/// umap-learn's `smooth_knn_dist` with `local_connectivity = 1`, `bandwidth = 1`.
///
/// `dist` rows exclude the point itself; `n_neighbors` counts it (as umap-learn does).
pub(crate) fn smooth_knn_dist(knn: &KnnGraph, n_neighbors: usize) -> (Vec<f32>, Vec<f32>) {
    let dist = &knn.distances;
    let n = dist.nrows();
    let kk = dist.ncols();
    let target = (n_neighbors as f64).log2();
    let mean_all: f64 = if n * kk > 0 {
        dist.iter().map(|&v| f64::from(v)).sum::<f64>() / (n * (kk + 1)) as f64
    } else {
        0.0
    };
    let out: Vec<(f32, f32)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let row = dist.row(i);
            let mut rho = 0.0f64;
            if let Some(&first) = row.iter().find(|&&v| v > 0.0) {
                // local_connectivity 1: the nearest non-zero distance.
                rho = f64::from(first);
            }
            let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
            for _ in 0..64 {
                let mut psum = 0.0f64;
                for &dv in row.iter() {
                    let d = f64::from(dv) - rho;
                    psum += if d > 0.0 { (-d / mid).exp() } else { 1.0 };
                }
                if (psum - target).abs() < SMOOTH_K_TOLERANCE {
                    break;
                }
                if psum > target {
                    hi = mid;
                    mid = (lo + hi) / 2.0;
                } else {
                    lo = mid;
                    if hi == f64::INFINITY {
                        mid *= 2.0;
                    } else {
                        mid = (lo + hi) / 2.0;
                    }
                }
            }
            let mut sigma = mid;
            if rho > 0.0 {
                let mean_i = row.iter().map(|&v| f64::from(v)).sum::<f64>() / (kk + 1) as f64;
                if sigma < MIN_K_DIST_SCALE * mean_i {
                    sigma = MIN_K_DIST_SCALE * mean_i;
                }
            } else if sigma < MIN_K_DIST_SCALE * mean_all {
                sigma = MIN_K_DIST_SCALE * mean_all;
            }
            (sigma as f32, rho as f32)
        })
        .collect();
    out.into_iter().unzip()
}

/// Membership strengths and their fuzzy union `a + b - a b`.
pub(crate) fn fuzzy_simplicial_set(knn: &KnnGraph, n_neighbors: usize) -> Graph {
    let n = knn.indices.nrows();
    let kk = knn.indices.ncols();
    let (sigmas, rhos) = smooth_knn_dist(knn, n_neighbors);
    // (key = row << 32 | col, weight), both directions.
    let mut entries: Vec<(u64, f32)> = Vec::with_capacity(2 * n * kk);
    for i in 0..n {
        for t in 0..kk {
            let j = knn.indices[[i, t]];
            if j as usize == i || j as usize >= n {
                continue;
            }
            let d = knn.distances[[i, t]];
            let w = if d - rhos[i] <= 0.0 || sigmas[i] == 0.0 {
                1.0
            } else {
                (-((d - rhos[i]) / sigmas[i])).exp()
            };
            if w > 0.0 {
                entries.push(((i as u64) << 32 | u64::from(j), w));
                entries.push(((u64::from(j)) << 32 | i as u64, w));
            }
        }
    }
    entries.par_sort_unstable_by_key(|e| e.0);
    let mut head = Vec::with_capacity(entries.len());
    let mut tail = Vec::with_capacity(entries.len());
    let mut weight = Vec::with_capacity(entries.len());
    let mut t = 0;
    while t < entries.len() {
        let (key, a) = entries[t];
        let w = if t + 1 < entries.len() && entries[t + 1].0 == key {
            let b = entries[t + 1].1;
            t += 2;
            a + b - a * b
        } else {
            t += 1;
            a
        };
        if w > 0.0 {
            head.push((key >> 32) as u32);
            tail.push((key & 0xffff_ffff) as u32);
            weight.push(w);
        }
    }
    Graph {
        n,
        head,
        tail,
        weight,
    }
}

impl Graph {
    /// Drops edges lighter than `max / n_epochs`, as umap-learn does before the layout.
    pub(crate) fn prune(&mut self, n_epochs: usize) {
        let max = self.weight.iter().copied().fold(0.0f32, f32::max);
        let thr = max / n_epochs as f32;
        let keep: Vec<bool> = self.weight.iter().map(|&w| w >= thr && w > 0.0).collect();
        let mut t = 0;
        self.head.retain(|_| {
            t += 1;
            keep[t - 1]
        });
        t = 0;
        self.tail.retain(|_| {
            t += 1;
            keep[t - 1]
        });
        self.weight.retain(|&w| w >= thr && w > 0.0);
    }
}
