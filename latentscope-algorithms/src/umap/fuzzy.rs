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
                    psum += if d > 0.0 {
                        exp_nonpositive(-d / mid)
                    } else {
                        1.0
                    };
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

/// `e^x` for `x ≤ 0`, within an ulp or so of `f64::exp` (0 below -708,
/// where `e^x` is under 1e-307).
///
/// The sigma search evaluates about 30 exponentials for each of a row's k
/// distances, half a billion at 703k rows: libm's call, its table and its
/// special cases were a tenth of the time from the kNN to the epochs. This is
/// a reduction by `ln 2` and a Taylor series to degree 13 (truncation below
/// 5e-18 for `|r| ≤ ln 2 / 2`), inlined.
#[inline]
fn exp_nonpositive(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < -708.0 {
        return 0.0;
    }
    // fdlibm's split of ln 2: `k * LN2_HI` is exact for |k| < 2^11.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // Adding 1.5·2^52 rounds to the nearest integer, without a libm call.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let k = (x * std::f64::consts::LOG2_E + SHIFTER) - SHIFTER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // 1/13!, 1/12!, …, 1/1!, 1/0!, for Horner's rule.
    const INV_FACTORIALS: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        1.0 / 2.0,
        1.0,
        1.0,
    ];
    let mut p = INV_FACTORIALS[0];
    for c in &INV_FACTORIALS[1..] {
        p = p * r + c;
    }
    // 2^k for -1022 ≤ k ≤ 0, as the exponent field.
    p * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// Calls `f(row, other, strength)` for each edge of the kNN graph (`n` rows of
/// `kk` entries, `strength` of row and entry) whose row lies in `rows`, and for
/// the reverse of each edge whose other end does, in the order of the listing
/// rows.
fn part_edges(
    n: usize,
    kk: usize,
    strength: &impl Fn(usize, usize) -> Option<(u32, f32)>,
    rows: std::ops::Range<usize>,
    mut f: impl FnMut(usize, u32, f32),
) {
    for i in 0..n {
        for t in 0..kk {
            if let Some((j, w)) = strength(i, t) {
                if rows.contains(&i) {
                    f(i, j, w);
                }
                if rows.contains(&(j as usize)) {
                    f(j as usize, i as u32, w);
                }
            }
        }
    }
}

/// Membership strengths and their fuzzy union `a + b - a b`, sorted by (head, tail).
///
/// Built in place in compressed rows (each row's own edges and the edges that point at
/// it, then each row sorted and its pairs merged), so it needs two arrays of 2·n·k
/// entries rather than a sorted list of keyed entries and a copy of it.
pub(crate) fn fuzzy_simplicial_set(knn: &KnnGraph, n_neighbors: usize) -> Graph {
    let n = knn.indices.nrows();
    let kk = knn.indices.ncols();
    let (sigmas, rhos) = smooth_knn_dist(knn, n_neighbors);
    let strength = |i: usize, t: usize| -> Option<(u32, f32)> {
        let j = knn.indices[[i, t]];
        if j as usize == i || j as usize >= n {
            return None;
        }
        let d = knn.distances[[i, t]];
        let w = if d - rhos[i] <= 0.0 || sigmas[i] == 0.0 {
            1.0
        } else {
            (-((d - rhos[i]) / sigmas[i])).exp()
        };
        (w > 0.0).then_some((j, w))
    };
    // Each kNN edge's strength, computed once in parallel (0: no edge).
    let strengths: Vec<f32> = (0..n * kk)
        .into_par_iter()
        .map(|e| strength(e / kk, e % kk).map_or(0.0, |(_, w)| w))
        .collect();
    let strength = |i: usize, t: usize| -> Option<(u32, f32)> {
        let w = strengths[i * kk + t];
        (w > 0.0).then(|| (knn.indices[[i, t]], w))
    };
    // Rows: i's own edges and the reversed edges of every row that lists i,
    // both in the order of the listing rows. Each part of the rows is counted
    // and filled by its own task, which scans every edge for those that touch
    // its rows (the writes fall anywhere; scanning twice is cheaper than one
    // task writing them all).
    let parts = rayon::current_num_threads().clamp(1, 16);
    let part_rows = n.div_ceil(parts).max(1);
    let mut start = vec![0usize; n + 1];
    start[1..]
        .par_chunks_mut(part_rows)
        .enumerate()
        .for_each(|(p, lens)| {
            let lo = p * part_rows;
            part_edges(n, kk, &strength, lo..lo + lens.len(), |row, _, _| {
                lens[row - lo] += 1;
            });
        });
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let total = start[n];
    let mut tail = vec![0u32; total];
    let mut weight = vec![0f32; total];
    {
        // Each part's stretch of the edge arrays.
        let mut stretches = Vec::with_capacity(parts);
        let (mut t_rest, mut w_rest) = (&mut tail[..], &mut weight[..]);
        for lo in (0..n).step_by(part_rows) {
            let hi = (lo + part_rows).min(n);
            let (t_part, t_next) = t_rest.split_at_mut(start[hi] - start[lo]);
            let (w_part, w_next) = w_rest.split_at_mut(start[hi] - start[lo]);
            stretches.push((lo, hi, t_part, w_part));
            t_rest = t_next;
            w_rest = w_next;
        }
        stretches
            .into_par_iter()
            .for_each(|(lo, hi, t_part, w_part)| {
                let mut fill: Vec<usize> = start[lo..hi].iter().map(|s| s - start[lo]).collect();
                part_edges(n, kk, &strength, lo..hi, |row, other, w| {
                    let at = &mut fill[row - lo];
                    t_part[*at] = other;
                    w_part[*at] = w;
                    *at += 1;
                });
            });
    }
    drop(strengths);
    // Sort each row by tail and merge each pair of equal tails (one edge listed from
    // both ends) into their union; `kept` is the row's length afterwards.
    let mut rows: Vec<(&mut [u32], &mut [f32])> = Vec::with_capacity(n);
    {
        let (mut t_rest, mut w_rest) = (&mut tail[..], &mut weight[..]);
        for i in 0..n {
            let len = start[i + 1] - start[i];
            let (t_row, t_next) = t_rest.split_at_mut(len);
            let (w_row, w_next) = w_rest.split_at_mut(len);
            rows.push((t_row, w_row));
            t_rest = t_next;
            w_rest = w_next;
        }
    }
    let kept: Vec<usize> = rows
        .into_par_iter()
        .map(|(t_row, w_row)| {
            let mut pairs: Vec<(u32, f32)> =
                t_row.iter().copied().zip(w_row.iter().copied()).collect();
            pairs.sort_unstable_by_key(|p| p.0);
            let mut out = 0;
            let mut s = 0;
            while s < pairs.len() {
                let (j, a) = pairs[s];
                let w = if s + 1 < pairs.len() && pairs[s + 1].0 == j {
                    let b = pairs[s + 1].1;
                    s += 2;
                    a + b - a * b
                } else {
                    s += 1;
                    a
                };
                if w > 0.0 {
                    t_row[out] = j;
                    w_row[out] = w;
                    out += 1;
                }
            }
            out
        })
        .collect();
    // Close the gaps the merges left, front to back.
    let edges: usize = kept.iter().sum();
    let mut head = Vec::with_capacity(edges);
    let mut to = 0;
    for i in 0..n {
        let from = start[i];
        tail.copy_within(from..from + kept[i], to);
        weight.copy_within(from..from + kept[i], to);
        head.extend(std::iter::repeat_n(i as u32, kept[i]));
        to += kept[i];
    }
    tail.truncate(edges);
    weight.truncate(edges);
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

#[cfg(test)]
mod tests {
    use super::exp_nonpositive;

    #[test]
    fn exp_nonpositive_is_within_an_ulp_or_two_of_libm() {
        let mut x = 0.0f64;
        let mut worst = 0.0f64;
        while x > -708.0 {
            let (a, e) = (exp_nonpositive(x), x.exp());
            worst = worst.max(((a - e) / e).abs());
            x -= 0.000_731;
        }
        assert!(worst < 4.5e-16, "relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-0.0), 1.0);
        assert_eq!(exp_nonpositive(-709.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(f64::NAN).is_nan());
    }
}
