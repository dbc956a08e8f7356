//! Layout quality measures as in /work/shared/bench/layout_quality.py: trustworthiness (sklearn's
//! formula, cosine in the input space) and kNN recall@k (cosine input vs Euclidean layout).
#![allow(dead_code)]

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// A fixed subsample of `m` of `n` rows (sorted), from a SplitMix64 Fisher-Yates with seed 0.
pub fn subsample(n: usize, m: usize) -> Vec<usize> {
    let mut s = 0u64;
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut idx: Vec<usize> = (0..n).collect();
    let m = m.min(n);
    for i in 0..m {
        let j = i + (next() % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut out = idx[..m].to_vec();
    out.sort_unstable();
    out
}

fn normalise(x: ArrayView2<'_, f32>) -> Array2<f32> {
    let mut y = x.to_owned();
    for mut r in y.rows_mut() {
        let s = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= s);
    }
    y
}

fn layout_knn(y: ArrayView2<'_, f32>, k: usize) -> Vec<Vec<usize>> {
    let n = y.nrows();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let (xi, yi) = (y[[i, 0]], y[[i, 1]]);
            let mut d: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    let (dx, dy) = (y[[j, 0]] - xi, y[[j, 1]] - yi);
                    (dx * dx + dy * dy, j)
                })
                .collect();
            d.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            d[..k].iter().map(|p| p.1).collect()
        })
        .collect()
}

/// sklearn.manifold.trustworthiness(X, Y, n_neighbors=k, metric="cosine").
pub fn trustworthiness(x: ArrayView2<'_, f32>, y: ArrayView2<'_, f32>, k: usize) -> f64 {
    let n = x.nrows();
    let xn = normalise(x);
    let emb = layout_knn(y, k);
    let t: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let xi = xn.row(i);
            let dist: Vec<f32> = (0..n).map(|j| 1.0 - xi.dot(&xn.row(j))).collect();
            // inverse rank of every row in i's input-space ordering (self excluded)
            let mut order: Vec<usize> = (0..n).filter(|&l| l != i).collect();
            order.sort_by(|&p, &q| dist[p].total_cmp(&dist[q]).then(p.cmp(&q)));
            let mut rank = vec![0usize; n];
            for (r, &l) in order.iter().enumerate() {
                rank[l] = r + 1;
            }
            let mut pen = 0.0f64;
            for &j in &emb[i] {
                if rank[j] > k {
                    pen += (rank[j] - k) as f64;
                }
            }
            pen
        })
        .sum();
    let (n, k) = (n as f64, k as f64);
    1.0 - t * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

/// Mean fraction of each row's exact k input neighbours (cosine) among its k layout neighbours.
pub fn knn_recall(x_neighbours: &[Vec<usize>], y: ArrayView2<'_, f32>, k: usize) -> f64 {
    let emb = layout_knn(y, k);
    let s: f64 = x_neighbours
        .iter()
        .zip(&emb)
        .map(|(a, b)| a.iter().filter(|j| b.contains(j)).count() as f64 / k as f64)
        .sum();
    s / x_neighbours.len() as f64
}

/// Trustworthiness on a fixed 5,000-row subsample and recall@10 on all rows.
pub fn score(x: ArrayView2<'_, f32>, y: ArrayView2<'_, f32>, x_nn: &[Vec<usize>]) -> (f64, f64) {
    let sub = subsample(x.nrows(), 5000);
    let xs = x.select(ndarray::Axis(0), &sub);
    let ys = y.select(ndarray::Axis(0), &sub);
    (
        trustworthiness(xs.view(), ys.view(), 10),
        knn_recall(x_nn, y, 10),
    )
}
