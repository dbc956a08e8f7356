//! Test helpers shared by the test modules: fixture paths, `.npy` loading and the adjusted Rand index.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

/// The repository's test fixtures (`tests/fixtures`).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Reads an `(n, d)` array as float32.
pub fn read_f32_2d(path: &std::path::Path) -> ndarray::Array2<f32> {
    let a = latentscope_io::npy::read_npy(path).unwrap();
    ndarray::Array2::from_shape_vec((a.shape[0], a.shape[1]), a.to_f32()).unwrap()
}

/// Reads a label vector stored as int64 or float64.
pub fn read_labels(path: &std::path::Path) -> Vec<i64> {
    latentscope_io::npy::read_npy(path).unwrap().to_i64()
}

/// Adjusted Rand index (noise `-1` counts as one label, as sklearn does).
pub fn ari(a: &[i64], b: &[i64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() as f64;
    let mut pairs: HashMap<(i64, i64), f64> = HashMap::new();
    let mut ca: HashMap<i64, f64> = HashMap::new();
    let mut cb: HashMap<i64, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *pairs.entry((x, y)).or_default() += 1.0;
        *ca.entry(x).or_default() += 1.0;
        *cb.entry(y).or_default() += 1.0;
    }
    let c2 = |v: f64| v * (v - 1.0) / 2.0;
    let index: f64 = pairs.values().map(|&v| c2(v)).sum();
    let sa: f64 = ca.values().map(|&v| c2(v)).sum();
    let sb: f64 = cb.values().map(|&v| c2(v)).sum();
    let expected = sa * sb / c2(n);
    let max = (sa + sb) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Number of distinct non-noise labels.
pub fn n_clusters(labels: &[i64]) -> usize {
    let mut s: Vec<i64> = labels.iter().copied().filter(|&l| l >= 0).collect();
    s.sort_unstable();
    s.dedup();
    s.len()
}
