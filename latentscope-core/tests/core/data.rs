//! Synthetic test data.
#![allow(dead_code)]

use ndarray::Array2;

/// Deterministic pseudo-random values in [-1, 1).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// `n` points in `d` dims around `centers` random centres (spread `noise`), round-robin.
pub fn blobs(n: usize, d: usize, centers: usize, noise: f32, seed: u64) -> Array2<f32> {
    let mut r = Lcg(seed);
    let c: Vec<Vec<f32>> = (0..centers)
        .map(|_| (0..d).map(|_| r.next() * 5.0).collect())
        .collect();
    Array2::from_shape_fn((n, d), |(i, j)| c[i % centers][j] + noise * r.next())
}
