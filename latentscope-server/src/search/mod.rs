//! Nearest rows by cosine: an exact scan (blocked over rows, one block per
//! thread, the dot product written so the compiler vectorises it) up to
//! [`EXACT_UP_TO`] rows, and an HNSW graph ([`hnsw`], hnsw_rs) above it.
//! Vectors are scaled to unit length first, so cosine similarity is the dot
//! product and the distance is `1 − dot`.

pub mod hnsw;

use rayon::prelude::*;

/// Up to this many rows an exact scan answers (measured: 2 threads scan
/// 100k × 256 in about 5 ms, 703k in about 40 ms; docs/benchmarks.md);
/// above it, the HNSW graph, once built.
pub const EXACT_UP_TO: usize = 150_000;

/// Which search answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// Every row compared: the true top-k.
    Exact,
    /// The HNSW graph: approximate.
    Hnsw,
}

impl SearchMode {
    /// `exact` or `hnsw`, as the API says it.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Exact => "exact",
            SearchMode::Hnsw => "hnsw",
        }
    }
}

/// Scales each row of `vectors` (`cols` wide) to unit length; a row of
/// zeros stays zeros.
pub fn unit_rows(vectors: &mut [f32], cols: usize) {
    for row in vectors.chunks_exact_mut(cols.max(1)) {
        let norm = dot(row, row).sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// The dot product, in eight independent lanes (so it vectorises).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// Keeps the k best (highest score; ties by lower row) of what it is shown.
#[derive(Debug, Clone)]
struct TopK {
    k: usize,
    best: Vec<(usize, f32)>,
    /// The worst score kept once `best` holds k.
    floor: f32,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            best: Vec::with_capacity(2 * k),
            floor: f32::NEG_INFINITY,
        }
    }

    #[inline]
    fn offer(&mut self, row: usize, score: f32) {
        if self.best.len() >= self.k && score < self.floor {
            return;
        }
        self.best.push((row, score));
        if self.best.len() >= 2 * self.k.max(1) {
            self.shrink();
        }
    }

    fn shrink(&mut self) {
        let k = self.k.min(self.best.len());
        if k == 0 {
            self.best.clear();
            return;
        }
        self.best
            .select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        self.best.truncate(k);
        if self.best.len() == self.k {
            self.floor = self.best.iter().map(|b| b.1).fold(f32::INFINITY, f32::min);
        }
    }

    fn merge(mut self, other: TopK) -> TopK {
        for (r, s) in other.best {
            self.offer(r, s);
        }
        self
    }

    fn finish(mut self) -> Vec<(usize, f32)> {
        self.shrink();
        self.best
            .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        self.best
    }
}

/// The `k` rows of `vectors` (row-major, `cols` wide, unit length) nearest
/// `query` (unit length), nearest first, as (row, cosine similarity); ties
/// go to the lower row. Every row is compared, in blocks across threads.
pub fn exact(vectors: &[f32], cols: usize, query: &[f32], k: usize) -> Vec<(usize, f32)> {
    if cols == 0 || k == 0 {
        return Vec::new();
    }
    const BLOCK: usize = 4096;
    vectors
        .par_chunks(BLOCK * cols)
        .enumerate()
        .fold(
            || TopK::new(k),
            |mut top, (b, block)| {
                for (i, row) in block.chunks_exact(cols).enumerate() {
                    top.offer(b * BLOCK + i, dot(row, query));
                }
                top
            },
        )
        .reduce(|| TopK::new(k), TopK::merge)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top-k by sorting every score: the definition.
    fn brute(vectors: &[f32], cols: usize, query: &[f32], k: usize) -> Vec<(usize, f32)> {
        let mut all: Vec<(usize, f32)> = vectors
            .chunks_exact(cols)
            .map(|r| r.iter().zip(query).map(|(a, b)| a * b).sum::<f32>())
            .enumerate()
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    fn unit_rows(n: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut v: Vec<f32> = (0..n * cols)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect();
        for row in v.chunks_exact_mut(cols) {
            let n = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            row.iter_mut().for_each(|x| *x /= n);
        }
        v
    }

    #[test]
    fn exact_is_the_true_top_k_across_blocks() {
        let cols = 37; // not a multiple of 8: the tail lanes count too
        let v = unit_rows(10_000, cols, 7);
        let q = &v[5 * cols..6 * cols];
        for k in [1, 10, 100] {
            let got = exact(&v, cols, q, k);
            let want = brute(&v, cols, q, k);
            assert_eq!(got.len(), k);
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0, w.0);
                assert!((g.1 - w.1).abs() < 1e-5);
            }
        }
        assert_eq!(exact(&v, cols, q, 1)[0].0, 5);
    }

    #[test]
    fn ties_go_to_the_lower_row_and_k_may_exceed_the_rows() {
        let v = vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
        let got = exact(&v, 2, &[1.0, 0.0], 10);
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            vec![0, 2, 3, 1]
        );
    }
}
