//! Principal component analysis: covariance by blocked matrix products, symmetric eigendecomposition.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;

const CHUNK: usize = 2048;

/// A fitted PCA.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Pca {
    /// Principal axes, k x d, by decreasing variance; each axis' largest-magnitude entry is positive.
    pub components: Array2<f32>,
    /// Column means of the input, length d.
    pub mean: Array1<f32>,
    /// Variance along each axis (eigenvalues of the covariance, divided by n - 1), length k.
    pub explained_variance: Array1<f32>,
    /// The centred input projected on the axes, n x k.
    pub projected: Array2<f32>,
}

/// What went wrong in [`pca`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PcaError {
    /// `k` is zero or larger than the number of columns or rows allow.
    #[error("invalid number of components {k}: must be between 1 and {max}")]
    InvalidComponents {
        /// Requested components.
        k: usize,
        /// Largest allowed.
        max: usize,
    },
    /// Fewer than two rows.
    #[error("too few rows: got {rows}, need at least {needed}")]
    TooFewRows {
        /// Rows in the input.
        rows: usize,
        /// Rows needed.
        needed: usize,
    },
    /// The input holds a NaN or an infinity.
    #[error("non-finite value at row {row}, column {column}")]
    NonFinite {
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        column: usize,
    },
    /// The eigen-solver failed to converge.
    #[error("eigendecomposition did not converge")]
    NoConvergence,
}

/// Projects `x` (n x d) on its first `k` principal components.
pub fn pca(x: ArrayView2<'_, f32>, k: usize) -> Result<Pca, PcaError> {
    let (n, d) = x.dim();
    if n < 2 {
        return Err(PcaError::TooFewRows { rows: n, needed: 2 });
    }
    if k == 0 || k > d {
        return Err(PcaError::InvalidComponents { k, max: d });
    }
    for (r, row) in x.rows().into_iter().enumerate() {
        if let Some(c) = row.iter().position(|v| !v.is_finite()) {
            return Err(PcaError::NonFinite { row: r, column: c });
        }
    }
    // Mean (f64) and centred copy (f32, row-major).
    let mut mean = vec![0.0f64; d];
    for row in x.rows() {
        for (m, &v) in mean.iter_mut().zip(row.iter()) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut xc: Vec<f32> = Vec::with_capacity(n * d);
    for row in x.rows() {
        xc.extend(
            row.iter()
                .zip(&mean)
                .map(|(&v, &m)| (f64::from(v) - m) as f32),
        );
    }
    // Covariance: sum over row chunks of X_c^T X_c, in a fixed order.
    let partials: Vec<Vec<f32>> = xc
        .par_chunks(CHUNK * d)
        .map(|ch| {
            let rows = ch.len() / d;
            let a = MatRef::from_row_major_slice(ch, rows, d);
            let mut out = vec![0.0f32; d * d];
            let dst = MatMut::from_row_major_slice_mut(&mut out, d, d);
            matmul(dst, Accum::Replace, a.transpose(), a, 1.0f32, Par::Seq);
            out
        })
        .collect();
    let mut cov = vec![0.0f64; d * d];
    for p in &partials {
        for (c, &v) in cov.iter_mut().zip(p) {
            *c += f64::from(v);
        }
    }
    let denom = (n - 1) as f64;
    let c = Mat::<f64>::from_fn(d, d, |i, j| cov[i * d + j] / denom);
    let evd = c
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| PcaError::NoConvergence)?;
    let u = evd.U();
    let s = evd.S().column_vector();
    let mut components = Array2::<f32>::zeros((k, d));
    let mut explained = Array1::<f32>::zeros(k);
    for t in 0..k {
        let col = d - 1 - t;
        explained[t] = s[col].max(0.0) as f32;
        let mut best = 0usize;
        for i in 0..d {
            if u[(i, col)].abs() > u[(best, col)].abs() {
                best = i;
            }
        }
        let sign = if u[(best, col)] < 0.0 { -1.0 } else { 1.0 };
        for i in 0..d {
            components[[t, i]] = (sign * u[(i, col)]) as f32;
        }
    }
    // Projection.
    let comp_t: Vec<f32> = (0..d)
        .flat_map(|i| (0..k).map(move |t| (i, t)))
        .map(|(i, t)| components[[t, i]])
        .collect();
    let mut proj = vec![0.0f32; n * k];
    proj.par_chunks_mut(CHUNK * k)
        .zip(xc.par_chunks(CHUNK * d))
        .for_each(|(out, ch)| {
            let rows = ch.len() / d;
            let a = MatRef::from_row_major_slice(ch, rows, d);
            let b = MatRef::from_row_major_slice(&comp_t, d, k);
            let dst = MatMut::from_row_major_slice_mut(out, rows, k);
            matmul(dst, Accum::Replace, a, b, 1.0f32, Par::Seq);
        });
    Ok(Pca {
        components,
        mean: Array1::from_iter(mean.iter().map(|&m| m as f32)),
        explained_variance: explained,
        projected: Array2::from_shape_vec((n, k), proj).map_err(|_| PcaError::NoConvergence)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_finds_main_axis() {
        // Points along (1, 1, 0) with small noise in z.
        let n = 200;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            let t = i as f32 / n as f32 - 0.5;
            match j {
                0 | 1 => t,
                _ => 0.01 * ((i * 7919) % 13) as f32 / 13.0,
            }
        });
        let p = pca(x.view(), 2).unwrap();
        let c = p.components.row(0);
        assert!((c[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
        assert!((c[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
        assert!(p.explained_variance[0] > 100.0 * p.explained_variance[1]);
        assert_eq!(p.projected.dim(), (n, 2));
        assert!(pca(x.view(), 4).is_err());
    }
}
