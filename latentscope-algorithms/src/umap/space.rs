//! The rows NN-descent searches: f32 rows ([`Prepared`]) or, for cosine at
//! scale, int8 rows ([`Quantized`]: a quarter of the memory traffic, which is
//! what bounds NN-descent once the rows no longer fit in cache).

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::distance::{IntDotFn, IntDotsFn, int_dot_fn, int_dots_fn};
use super::knn::Prepared;
use super::pages::huge_vec;
use super::params::Metric;

/// Rows with a distance between any two and hyperplanes that split them.
pub(crate) trait Space: Sync + Sized {
    /// A hyperplane between two rows.
    type Plane: Sync;

    /// The number of rows.
    fn n(&self) -> usize;

    /// The internal distance between rows `i` and `j` (monotone in the reported one).
    fn dist(&self, i: u32, j: u32) -> f32;

    /// The reported distance for an internal one.
    fn finish(&self, d: f32) -> f32;

    /// The hyperplane halfway between rows `a` and `b`, normal to their difference.
    fn plane(&self, a: u32, b: u32) -> Self::Plane;

    /// The signed distance (up to a positive factor) of row `i` from `plane`.
    fn margin(&self, plane: &Self::Plane, i: u32) -> f32;

    /// The internal distances from row `i` to each of `others` (`out[t]` for
    /// `others[t]`), the same values as [`Space::dist`].
    fn dists_from(&self, i: u32, others: &[u32], out: &mut [f32]) {
        for (o, &j) in out.iter_mut().zip(others) {
            *o = self.dist(i, j);
        }
    }

    /// The margins of `rows` from `plane` (`out[t]` for `rows[t]`), the same
    /// values as [`Space::margin`].
    fn margins(&self, plane: &Self::Plane, rows: &[u32], out: &mut [f32]) {
        for (o, &i) in out.iter_mut().zip(rows) {
            *o = self.margin(plane, i);
        }
    }

    /// The same rows in `order` (row `t` of the result is row `order[t]`).
    fn permuted(&self, order: &[u32]) -> Self;

    /// Asks the CPU to start loading row `i` (a hint: no effect on results).
    #[inline]
    fn prefetch(&self, _i: u32) {}
}

/// The bytes of a cache line.
const LINE: usize = 64;

/// Starts loading the cache lines of `row` into L2 (x86-64; elsewhere nothing).
///
/// L2, not L1: NN-descent prefetches the next node's candidates (about 48 rows
/// and their heaps, more than L1 holds) while it joins this node's, and loading
/// them into L1 evicted the rows being joined (kNN at 703k: 48.6 → 43.2 s).
#[inline]
pub(crate) fn prefetch_bytes<T>(row: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        let start = row.as_ptr() as usize;
        let end = start + std::mem::size_of_val(row);
        // Every line the slice touches, the last one too when it starts mid-line.
        let mut line = start & !(LINE - 1);
        while line < end {
            // SAFETY: a prefetch never faults; `line` lies in a cache line of `row`.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(line as *const i8) };
            line += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// The rows (of `d` values each) of `data` in `order`.
fn permute_rows<T: Copy + Default + Send + Sync>(data: &[T], d: usize, order: &[u32]) -> Vec<T> {
    let mut out = vec![T::default(); order.len() * d];
    permute_rows_into(data, d, order, &mut out);
    out
}

/// Writes the rows (of `d` values each) of `data` in `order` into `out`.
fn permute_rows_into<T: Copy + Send + Sync>(data: &[T], d: usize, order: &[u32], out: &mut [T]) {
    out.par_chunks_mut(d.max(1))
        .zip(order.par_iter())
        .for_each(|(row, &o)| {
            let o = o as usize;
            row.copy_from_slice(&data[o * d..(o + 1) * d]);
        });
}

/// Int8 values that start on a cache-line boundary, so that a row of 256
/// values fills four lines instead of straddling five (a fifth fewer lines
/// loaded per row in NN-descent's joins).
struct LineAligned {
    buf: Vec<i8>,
    start: usize,
    len: usize,
}

impl LineAligned {
    fn zeroed(len: usize) -> Self {
        let buf = huge_vec(len + LINE - 1, 0i8);
        // (`align_offset` may decline; the values are then merely unaligned.)
        let start = buf.as_ptr().align_offset(LINE).min(LINE - 1);
        Self { buf, start, len }
    }

    #[inline]
    fn values(&self) -> &[i8] {
        &self.buf[self.start..self.start + self.len]
    }

    fn values_mut(&mut self) -> &mut [i8] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

impl Space for Prepared {
    type Plane = (Vec<f32>, f32);

    #[inline]
    fn prefetch(&self, i: u32) {
        prefetch_bytes(self.row(i as usize));
    }

    fn n(&self) -> usize {
        self.n
    }

    #[inline]
    fn dist(&self, i: u32, j: u32) -> f32 {
        let (a, b) = (self.row(i as usize), self.row(j as usize));
        match self.metric {
            Metric::Cosine => 1.0 - (self.kernel)(a, b),
            Metric::Euclidean => (self.kernel)(a, b),
        }
    }

    fn finish(&self, d: f32) -> f32 {
        Prepared::finish(self, d)
    }

    fn plane(&self, a: u32, b: u32) -> Self::Plane {
        let (ra, rb) = (self.row(a as usize), self.row(b as usize));
        let mut normal = vec![0.0f32; self.d];
        let mut offset = 0.0f32;
        for t in 0..self.d {
            normal[t] = ra[t] - rb[t];
            offset += normal[t] * (ra[t] + rb[t]) * 0.5;
        }
        (normal, offset)
    }

    #[inline]
    fn margin(&self, plane: &Self::Plane, i: u32) -> f32 {
        (self.dot)(&plane.0, self.row(i as usize)) - plane.1
    }

    fn permuted(&self, order: &[u32]) -> Self {
        let d = self.d;
        Prepared {
            data: permute_rows(&self.data, d, order),
            n: self.n,
            d,
            metric: self.metric,
            sq_norms: order.iter().map(|&o| self.sq_norms[o as usize]).collect(),
            kernel: self.kernel,
            dot: self.dot,
        }
    }
}

/// Unit-normalised rows rounded to int8, each with its own scale (its
/// largest magnitude maps to 127): cosine distances to about 1e-3, from a
/// quarter of the bytes of f32 rows.
pub(crate) struct Quantized {
    data: LineAligned,
    /// 1 / scale of each row (0 for a zero row).
    inv: Vec<f32>,
    n: usize,
    d: usize,
    kernel: IntDotFn,
    /// The same products, one row against many.
    dots: IntDotsFn,
}

/// Rows a one-against-many call of [`Quantized`] takes at a time (its
/// products wait on the stack).
const DOTS_BLOCK: usize = 64;

/// Rounds `v` to int8 with `scale` (within -127..=127, as the kernel needs),
/// half away from zero as `f32::round`, but in instructions that vectorise:
/// `round` is a call into libm without SSE4.1 (a tenth of the time before
/// the kNN at 703k rows). Exact: the clamped value's fraction, `y - trunc(y)`,
/// is a representable `f32`.
#[inline]
fn quantize(v: f32, scale: f32) -> i8 {
    let y = (v * scale).clamp(-127.0, 127.0);
    let t = y as i32; // toward zero; NaN gives 0, as `round` then `as` did
    let frac = y - t as f32;
    let r = if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    };
    r as i8
}

/// `row / |row|` rounded to int8 with its own scale; returns 1 / scale, or 0
/// for a zero row (whose values stay 0).
fn quantize_row(row: impl Iterator<Item = f32> + Clone, out: &mut [i8]) -> f32 {
    let norm = row
        .clone()
        .map(|v| f64::from(v) * f64::from(v))
        .sum::<f64>()
        .sqrt() as f32;
    let max = row.clone().fold(0.0f32, |m, v| m.max(v.abs())) / norm;
    if !(norm > 0.0 && max > 0.0 && max.is_finite()) {
        out.iter_mut().for_each(|q| *q = 0);
        return 0.0;
    }
    let scale = 127.0 / max;
    for (q, v) in out.iter_mut().zip(row) {
        *q = quantize(v / norm, scale);
    }
    1.0 / scale
}

impl Quantized {
    /// The rows of `x`, unit-normalised, in int8.
    pub(crate) fn cosine(x: ArrayView2<'_, f32>) -> Self {
        let (n, d) = x.dim();
        let mut data = LineAligned::zeroed(n * d);
        let mut inv = vec![0.0f32; n];
        data.values_mut()
            .par_chunks_mut(d.max(1))
            .zip(inv.par_iter_mut())
            .enumerate()
            .for_each(|(i, (out, s))| *s = quantize_row(x.row(i).iter().copied(), out));
        Self {
            data,
            inv,
            n,
            d,
            kernel: int_dot_fn(),
            dots: int_dots_fn(d),
        }
    }

    /// `out[t] = value(a · row rows[t], rows[t])`, the products taken one
    /// row against many, [`DOTS_BLOCK`] rows a call.
    fn dots_into(
        &self,
        a: &[i8],
        rows: &[u32],
        out: &mut [f32],
        value: impl Fn(i32, usize) -> f32,
    ) {
        let mut dots = [0i32; DOTS_BLOCK];
        for (rs, os) in rows.chunks(DOTS_BLOCK).zip(out.chunks_mut(DOTS_BLOCK)) {
            let dots = &mut dots[..rs.len()];
            (self.dots)(a, self.data.values(), rs, dots);
            for ((o, &dot), &r) in os.iter_mut().zip(dots.iter()).zip(rs) {
                *o = value(dot, r as usize);
            }
        }
    }

    #[inline]
    fn row(&self, i: usize) -> &[i8] {
        &self.data.values()[i * self.d..(i + 1) * self.d]
    }
}

impl Space for Quantized {
    /// The normal in int8 (its scale does not matter: only signs are used) and the offset.
    type Plane = (Vec<i8>, f32);

    #[inline]
    fn prefetch(&self, i: u32) {
        let i = i as usize;
        prefetch_bytes(self.row(i));
        prefetch_bytes(&self.inv[i..=i]);
    }

    fn n(&self) -> usize {
        self.n
    }

    #[inline]
    fn dist(&self, i: u32, j: u32) -> f32 {
        let (i, j) = (i as usize, j as usize);
        let dot = (self.kernel)(self.row(i), self.row(j)) as f32 * self.inv[i] * self.inv[j];
        1.0 - dot
    }

    fn finish(&self, d: f32) -> f32 {
        d.max(0.0)
    }

    fn plane(&self, a: u32, b: u32) -> Self::Plane {
        let (a, b) = (a as usize, b as usize);
        let (ia, ib) = (self.inv[a], self.inv[b]);
        let normal: Vec<f32> = self
            .row(a)
            .iter()
            .zip(self.row(b))
            .map(|(&p, &q)| f32::from(p) * ia - f32::from(q) * ib)
            .collect();
        let max = normal.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { 127.0 / max } else { 0.0 };
        let nq: Vec<i8> = normal.iter().map(|&v| quantize(v, scale)).collect();
        let side = |r: usize| (self.kernel)(&nq, self.row(r)) as f32 * self.inv[r];
        let offset = (side(a) + side(b)) * 0.5;
        (nq, offset)
    }

    #[inline]
    fn margin(&self, plane: &Self::Plane, i: u32) -> f32 {
        let i = i as usize;
        (self.kernel)(&plane.0, self.row(i)) as f32 * self.inv[i] - plane.1
    }

    fn dists_from(&self, i: u32, others: &[u32], out: &mut [f32]) {
        let i = i as usize;
        self.dots_into(self.row(i), others, out, |dot, j| {
            1.0 - dot as f32 * self.inv[i] * self.inv[j]
        });
    }

    fn margins(&self, plane: &Self::Plane, rows: &[u32], out: &mut [f32]) {
        self.dots_into(&plane.0, rows, out, |dot, i| {
            dot as f32 * self.inv[i] - plane.1
        });
    }

    fn permuted(&self, order: &[u32]) -> Self {
        let d = self.d;
        let mut data = LineAligned::zeroed(order.len() * d);
        permute_rows_into(self.data.values(), d, order, data.values_mut());
        Self {
            data,
            inv: order.iter().map(|&o| self.inv[o as usize]).collect(),
            n: self.n,
            d,
            kernel: self.kernel,
            dots: self.dots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn quantized_cosine_distances_are_close_to_exact() {
        let (n, d) = (50, 256);
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            ((i * 31 + j * 17) as f32 * 0.013).sin() + if j == i % d { 0.5 } else { 0.0 }
        });
        let q = Quantized::cosine(x.view());
        let p = Prepared::new(x.view(), Metric::Cosine);
        for i in 0..n as u32 {
            for j in 0..n as u32 {
                let (a, e) = (q.dist(i, j), p.dist(i, j));
                assert!((a - e).abs() < 2e-3, "{i} {j}: {a} vs {e}");
            }
        }
        // A zero row is at distance 1 from everything, as in f32.
        let mut z = x.clone();
        z.row_mut(3).fill(0.0);
        let q = Quantized::cosine(z.view());
        assert_eq!(q.dist(3, 7), 1.0);
        assert!(q.row(3).iter().all(|&v| v == 0));
    }

    #[test]
    fn quantize_rounds_as_f32_round_does() {
        let by_round = |v: f32, scale: f32| (v * scale).round().clamp(-127.0, 127.0) as i8;
        let mut values: Vec<f32> = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            126.5,
            -126.5,
            127.5,
            -127.5,
            128.0,
            -300.0,
            0.49999997,
            -0.49999997,
            1e-30,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        // A fine stride from -130 to 130, every half and its two neighbours.
        values.extend((0..200_000).map(|i| -130.0 + i as f32 * 0.0013));
        for h in (-260..=260).map(|h| h as f32 * 0.5) {
            let b = h.to_bits();
            values.extend([
                h,
                f32::from_bits(b + 1),
                f32::from_bits(b.saturating_sub(1)),
            ]);
        }
        for &v in &values {
            for scale in [1.0f32, 127.0, 0.37] {
                let (a, e) = (quantize(v, scale), by_round(v, scale));
                assert_eq!(a, e, "{v} × {scale}");
            }
        }
    }

    #[test]
    fn planes_split_the_two_rows_they_are_made_from() {
        let x = Array2::from_shape_fn((20, 64), |(i, j)| ((i * 7 + j * 3) as f32 * 0.1).cos());
        let q = Quantized::cosine(x.view());
        for (a, b) in [(0u32, 1u32), (3, 17), (5, 6)] {
            let pl = q.plane(a, b);
            assert!(q.margin(&pl, a) > 0.0 && q.margin(&pl, b) < 0.0);
        }
        let order: Vec<u32> = (0..20).rev().collect();
        let r = q.permuted(&order);
        assert_eq!(r.row(0), q.row(19));
        assert_eq!(r.dist(0, 1), q.dist(19, 18));
    }

    #[test]
    fn one_row_against_many_gives_the_pairwise_values() {
        // Widths with a kernel of their own (256, 384) and without (100);
        // more rows than one call of the kernel takes.
        for d in [100usize, 256, 384] {
            let n = 150;
            let x = Array2::from_shape_fn((n, d), |(i, j)| ((i * 13 + j * 7) as f32 * 0.37).sin());
            let q = Quantized::cosine(x.view());
            let others: Vec<u32> = (0..n as u32).rev().collect();
            let mut out = vec![0.0f32; n];
            q.dists_from(3, &others, &mut out);
            for (&j, &d) in others.iter().zip(&out) {
                assert_eq!(d.to_bits(), q.dist(3, j).to_bits());
            }
            let pl = q.plane(10, 20);
            q.margins(&pl, &others, &mut out);
            for (&i, &m) in others.iter().zip(&out) {
                assert_eq!(m.to_bits(), q.margin(&pl, i).to_bits());
            }
        }
    }
}
