//! Comparing two runs over the same rows: two clusterings by the adjusted
//! Rand index, normalised mutual information and their overlap table; two
//! 2-D layouts by each row's displacement once the second is aligned to the
//! first (Procrustes: shift, scale, rotation and, when it fits better, a
//! mirror, as UMAP layouts often differ by one).

use std::collections::HashMap;

/// The overlap table of two labelings: `counts[i][j]` rows have the i-th
/// label of `left` and the j-th of `right` (labels in increasing order).
#[derive(Debug, Clone, PartialEq)]
pub struct Contingency {
    /// The distinct labels of `left`, increasing.
    pub left: Vec<i64>,
    /// The distinct labels of `right`, increasing.
    pub right: Vec<i64>,
    /// Rows per (left label, right label).
    pub counts: Vec<Vec<u64>>,
}

/// The overlap table of two labelings of the same rows (`None` when their
/// lengths differ).
pub fn contingency(left: &[i64], right: &[i64]) -> Option<Contingency> {
    if left.len() != right.len() {
        return None;
    }
    let index = |labels: &[i64]| {
        let mut distinct: Vec<i64> = labels.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let at: HashMap<i64, usize> = distinct.iter().enumerate().map(|(i, &l)| (l, i)).collect();
        (distinct, at)
    };
    let (l, li) = index(left);
    let (r, ri) = index(right);
    let mut counts = vec![vec![0u64; r.len()]; l.len()];
    for (a, b) in left.iter().zip(right) {
        counts[li[a]][ri[b]] += 1;
    }
    Some(Contingency {
        left: l,
        right: r,
        counts,
    })
}

fn pairs(n: u64) -> f64 {
    let n = n as f64;
    n * (n - 1.0) / 2.0
}

impl Contingency {
    fn rows(&self) -> Vec<u64> {
        self.counts.iter().map(|r| r.iter().sum()).collect()
    }

    fn columns(&self) -> Vec<u64> {
        (0..self.right.len())
            .map(|j| self.counts.iter().map(|r| r[j]).sum())
            .collect()
    }

    /// The adjusted Rand index (1: the same partition; about 0: chance).
    pub fn adjusted_rand_index(&self) -> f64 {
        let n: u64 = self.rows().iter().sum();
        let index: f64 = self.counts.iter().flatten().map(|&c| pairs(c)).sum();
        let a: f64 = self.rows().iter().map(|&c| pairs(c)).sum();
        let b: f64 = self.columns().iter().map(|&c| pairs(c)).sum();
        let total = pairs(n);
        if total == 0.0 {
            return 1.0;
        }
        let expected = a * b / total;
        let max = (a + b) / 2.0;
        if max == expected {
            // Both partitions trivial (one cluster, or all singletons).
            return 1.0;
        }
        (index - expected) / (max - expected)
    }

    /// The mutual information normalised by the mean of the two entropies
    /// (scikit-learn's default): 1 for the same partition, 0 for independent.
    pub fn normalized_mutual_info(&self) -> f64 {
        let n: u64 = self.rows().iter().sum();
        if n == 0 {
            return 1.0;
        }
        let n = n as f64;
        let entropy = |sizes: &[u64]| -> f64 {
            sizes
                .iter()
                .filter(|&&c| c > 0)
                .map(|&c| {
                    let p = c as f64 / n;
                    -p * p.ln()
                })
                .sum()
        };
        let (rows, columns) = (self.rows(), self.columns());
        let (hl, hr) = (entropy(&rows), entropy(&columns));
        let mut mi = 0.0;
        for (i, row) in self.counts.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                if c > 0 {
                    let c = c as f64;
                    mi += c / n * ((c * n) / (rows[i] as f64 * columns[j] as f64)).ln();
                }
            }
        }
        let mean = (hl + hr) / 2.0;
        if mean == 0.0 {
            return 1.0;
        }
        (mi / mean).clamp(0.0, 1.0)
    }
}

/// The second layout aligned to the first (both interleaved x, y of the same
/// rows): centred, scaled to the first's spread (root mean square distance
/// from the centre, as `scipy.spatial.procrustes` standardises both; a
/// least-squares scale would shrink a layout that fits loosely), and
/// rotated (mirrored when that fits better) onto it by least squares;
/// returns the aligned points (in the first layout's frame) and each row's
/// distance from its place in the first.
pub fn procrustes(left: &[f32], right: &[f32]) -> Option<(Vec<f32>, Vec<f32>)> {
    if left.len() != right.len() || !left.len().is_multiple_of(2) || left.is_empty() {
        return None;
    }
    let n = left.len() / 2;
    let mean = |xy: &[f32]| {
        let (mut x, mut y) = (0f64, 0f64);
        for p in xy.chunks_exact(2) {
            x += f64::from(p[0]);
            y += f64::from(p[1]);
        }
        (x / n as f64, y / n as f64)
    };
    let (lx, ly) = mean(left);
    let (rx, ry) = mean(right);
    let a: Vec<(f64, f64)> = left
        .chunks_exact(2)
        .map(|p| (f64::from(p[0]) - lx, f64::from(p[1]) - ly))
        .collect();
    let spread: f64 = a.iter().map(|p| p.0 * p.0 + p.1 * p.1).sum();
    let fit = |mirror: bool| {
        let b: Vec<(f64, f64)> = right
            .chunks_exact(2)
            .map(|p| {
                let (x, y) = (f64::from(p[0]) - rx, f64::from(p[1]) - ry);
                if mirror { (x, -y) } else { (x, y) }
            })
            .collect();
        // The rotation θ maximising Σ a·R(θ)b.
        let (mut dot, mut cross, mut norm) = (0f64, 0f64, 0f64);
        for (p, q) in a.iter().zip(&b) {
            dot += p.0 * q.0 + p.1 * q.1;
            cross += q.0 * p.1 - q.1 * p.0;
            norm += q.0 * q.0 + q.1 * q.1;
        }
        let theta = cross.atan2(dot);
        let (s, c) = theta.sin_cos();
        let scale = if norm > 0.0 {
            (spread / norm).sqrt()
        } else {
            0.0
        };
        let aligned: Vec<(f64, f64)> = b
            .iter()
            .map(|q| (scale * (c * q.0 - s * q.1), scale * (s * q.0 + c * q.1)))
            .collect();
        let residual: f64 = a
            .iter()
            .zip(&aligned)
            .map(|(p, q)| (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2))
            .sum();
        (residual, aligned)
    };
    let (straight, mirrored) = (fit(false), fit(true));
    let aligned = if mirrored.0 < straight.0 {
        mirrored.1
    } else {
        straight.1
    };
    let points: Vec<f32> = aligned
        .iter()
        .flat_map(|q| [(q.0 + lx) as f32, (q.1 + ly) as f32])
        .collect();
    let displacement = a
        .iter()
        .zip(&aligned)
        .map(|(p, q)| ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt() as f32)
        .collect();
    Some((points, displacement))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ari_and_nmi_match_scikit_learn() {
        // sklearn.metrics: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715,
        // normalized_mutual_info_score(...) = 0.8
        let t = contingency(&[0, 0, 1, 1], &[0, 0, 1, 2]).unwrap();
        assert!((t.adjusted_rand_index() - 0.571_428_571_428_571_5).abs() < 1e-12);
        assert!(
            (t.normalized_mutual_info() - 0.8).abs() < 1e-9,
            "{}",
            t.normalized_mutual_info()
        );
        // Renaming the labels changes nothing.
        let same = contingency(&[0, 0, 1, 1, 2], &[7, 7, 3, 3, -1]).unwrap();
        assert_eq!(same.adjusted_rand_index(), 1.0);
        assert!((same.normalized_mutual_info() - 1.0).abs() < 1e-12);
        assert_eq!(
            same.counts,
            vec![vec![0, 0, 2], vec![0, 2, 0], vec![1, 0, 0]]
        );
        // By hand: 2 agreeing pairs, 2.4 expected, at most 6: (2 − 2.4) / (6 − 2.4).
        let apart = contingency(&[0, 0, 0, 1, 1, 1], &[0, 1, 0, 1, 0, 1]).unwrap();
        assert!((apart.adjusted_rand_index() + 1.0 / 9.0).abs() < 1e-12);
        assert!(contingency(&[0], &[0, 1]).is_none());
    }

    #[test]
    fn procrustes_undoes_a_shift_scale_rotation_and_mirror() {
        let left: Vec<f32> = (0..50)
            .flat_map(|i| {
                let t = i as f32 * 0.37;
                [t.cos() * (1.0 + 0.1 * i as f32), (2.0 * t).sin()]
            })
            .collect();
        let (s, c) = 0.8f32.sin_cos();
        let right: Vec<f32> = left
            .chunks_exact(2)
            .flat_map(|p| {
                let (x, y) = (p[0], -p[1]); // mirrored
                [0.5 * (c * x - s * y) + 3.0, 0.5 * (s * x + c * y) - 1.0]
            })
            .collect();
        let (aligned, moved) = procrustes(&left, &right).unwrap();
        assert!(moved.iter().all(|&d| d < 1e-4), "{moved:?}");
        for (a, b) in aligned.iter().zip(&left) {
            assert!((a - b).abs() < 1e-4);
        }
        // A row moved elsewhere stands out.
        let mut shifted = left.clone();
        shifted[20] += 1.0;
        let (_, moved) = procrustes(&left, &shifted).unwrap();
        let top = moved
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(top, 10);
        assert!(procrustes(&left, &left[..10]).is_none());
        // A layout that fits loosely keeps the first's spread (a
        // least-squares scale would shrink it towards the centre).
        let loose: Vec<f32> = right
            .iter()
            .enumerate()
            .map(|(i, v)| v + ((i * 7919 % 13) as f32 - 6.0) * 0.2)
            .collect();
        let (aligned, _) = procrustes(&left, &loose).unwrap();
        let rms = |xy: &[f32]| {
            let n = (xy.len() / 2) as f32;
            let (mx, my) = xy
                .chunks_exact(2)
                .fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
            (xy.chunks_exact(2)
                .map(|p| (p[0] - mx).powi(2) + (p[1] - my).powi(2))
                .sum::<f32>()
                / n)
                .sqrt()
        };
        assert!((rms(&aligned) - rms(&left)).abs() < 1e-4 * rms(&left));
    }
}
