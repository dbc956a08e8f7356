//! Stochastic gradient descent of the layout with negative sampling (umap-learn's
//! `optimize_layout_euclidean`), Hogwild-style in parallel over fixed chunks of edges.
//!
//! Each chunk draws its negative samples from its own generator seeded by (seed, epoch, chunk),
//! so a one-thread run is bit-reproducible.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::error::UmapError;
use super::fuzzy::Graph;
use super::knn::report;
use super::rng::{Rng, mix};
use crate::progress::Progress;

const CHUNK: usize = 4096;

/// Settings of the optimisation.
pub(crate) struct SgdParams {
    pub(crate) a: f32,
    pub(crate) b: f32,
    pub(crate) gamma: f32,
    pub(crate) alpha0: f32,
    pub(crate) negative_sample_rate: usize,
    pub(crate) n_epochs: usize,
    pub(crate) seed: u64,
    /// Use the portable code path even where AVX2 is available (for tests).
    pub(crate) portable: bool,
}

/// `log2(x)` for positive normal `x`, relative error about 1e-7 (branch-free).
#[inline(always)]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let adj = m > std::f32::consts::SQRT_2;
    let m = if adj { m * 0.5 } else { m };
    let e = e + i32::from(adj);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let ln_m =
        2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    e as f32 + ln_m * std::f32::consts::LOG2_E
}

/// `2^y`, relative error about 1e-7 (clamped to the normal range).
#[inline(always)]
fn fast_exp2(y: f32) -> f32 {
    let y = y.clamp(-125.0, 125.0);
    let t = y + 0.5;
    let i = t as i32;
    let i = i - i32::from((i as f32) > t);
    let f = (y - i as f32) * std::f32::consts::LN_2;
    // e^f for f in [-0.347, 0.347].
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0
                    + f * (1.0 / 24.0
                        + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))));
    p * f32::from_bits(((i + 127) as u32) << 23)
}

/// `x^b` for `x > 0`.
#[inline(always)]
pub(crate) fn fast_pow(x: f32, b: f32) -> f32 {
    fast_exp2(b * fast_log2(x.max(f32::MIN_POSITIVE)))
}

#[inline(always)]
fn clip(v: f32) -> f32 {
    v.clamp(-4.0, 4.0)
}

/// One point's coordinates packed into one word (x in the low half), so that
/// a point is read and written with one atomic access.
#[inline(always)]
fn pack(x: f32, y: f32) -> u64 {
    u64::from(x.to_bits()) | (u64::from(y.to_bits()) << 32)
}

/// Point `i`'s coordinates.
#[inline(always)]
fn ld(e: &[AtomicU64], i: usize) -> (f32, f32) {
    let v = e[i].load(Ordering::Relaxed);
    (f32::from_bits(v as u32), f32::from_bits((v >> 32) as u32))
}

/// Sets point `i`'s coordinates.
#[inline(always)]
fn st(e: &[AtomicU64], i: usize, x: f32, y: f32) {
    e[i].store(pack(x, y), Ordering::Relaxed);
}

struct Consts {
    a: f32,
    b: f32,
    two_ab: f32,
    two_gb: f32,
    neg_rate: f32,
    neg_on: bool,
    n: usize,
}

struct Chunk<'a> {
    head: &'a [u32],
    tail: &'a [u32],
    eps: &'a [f32],
    ns: &'a mut [f32],
    nn: &'a mut [f32],
    emb: &'a [AtomicU64],
    rng: Rng,
    ep: f32,
    alpha: f32,
}

const LANES: usize = 8;

/// Processes up to LANES sampled edges together (portable version of `lanes::batch`): each lane
/// runs its edge's positive step, then its negative samples one after another.
fn batch_portable(ch: &mut Chunk<'_>, k: &Consts, ts: &[usize]) {
    let emb = ch.emb;
    let (a, b, alpha) = (k.a, k.b, ch.alpha);
    let m = ts.len();
    let mut hj = [0usize; LANES];
    let mut cx = [0.0f32; LANES];
    let mut cy = [0.0f32; LANES];
    let mut n_neg = [0usize; LANES];
    let mut epn = [0.0f32; LANES];
    let mut max_neg = 0;
    for (l, &t) in ts.iter().enumerate() {
        let j = ch.head[t] as usize;
        let o = ch.tail[t] as usize;
        hj[l] = j;
        let (mut x, mut y) = ld(emb, j);
        let (ox, oy) = ld(emb, o);
        let (dx, dy) = (x - ox, y - oy);
        let d2 = dx * dx + dy * dy;
        if d2 > 0.0 {
            let pb = fast_pow(d2, b);
            let gc = -k.two_ab * pb / (d2 * (a * pb + 1.0));
            let gx = clip(gc * dx) * alpha;
            let gy = clip(gc * dy) * alpha;
            x += gx;
            y += gy;
            st(emb, o, ox - gx, oy - gy);
        }
        st(emb, j, x, y);
        cx[l] = x;
        cy[l] = y;
        let eps = ch.eps[t];
        ch.ns[t] += eps;
        if k.neg_on {
            epn[l] = eps / k.neg_rate;
            n_neg[l] = ((ch.ep - ch.nn[t]) / epn[l]).max(0.0) as usize;
            max_neg = max_neg.max(n_neg[l]);
        }
    }
    for s in 0..max_neg {
        for l in 0..m {
            if s < n_neg[l] {
                let kk = ch.rng.below(k.n);
                let (px, py) = ld(emb, kk);
                let (dx, dy) = (cx[l] - px, cy[l] - py);
                let d2 = dx * dx + dy * dy;
                if d2 > 0.0 {
                    let pb = fast_pow(d2, b);
                    let gc = k.two_gb / ((0.001 + d2) * (a * pb + 1.0));
                    cx[l] += clip(gc * dx) * alpha;
                    cy[l] += clip(gc * dy) * alpha;
                }
            }
        }
    }
    if max_neg > 0 {
        for (l, &t) in ts.iter().enumerate() {
            st(emb, hj[l], cx[l], cy[l]);
            ch.nn[t] += n_neg[l] as f32 * epn[l];
        }
    }
}

/// One epoch over a chunk of edges, LANES sampled edges at a time (portable version).
fn run_chunk(ch: &mut Chunk<'_>, k: &Consts) {
    let mut ts = [0usize; LANES];
    let mut m = 0;
    for t in 0..ch.ns.len() {
        if ch.ns[t] > ch.ep {
            continue;
        }
        ts[m] = t;
        m += 1;
        if m == LANES {
            batch_portable(ch, k, &ts);
            m = 0;
        }
    }
    if m > 0 {
        batch_portable(ch, k, &ts[..m]);
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_chunk_avx2(ch: &mut Chunk<'_>, k: &Consts) {
    // SAFETY: same requirement as this function's.
    unsafe { lanes::run_chunk(ch, k) };
}

/// Optimises `embedding` (n x 2, row-major) in place. The graph is consumed: its
/// arrays are replaced one at a time by the edge arrays of the optimisation, so
/// that the two are never held in full together.
pub(crate) fn optimize(
    embedding: &mut [f32],
    g: Graph,
    sp: &SgdParams,
    progress: &dyn Progress,
) -> Result<(), UmapError> {
    let n = g.n;
    let n_edges = g.weight.len();
    let n_epochs = sp.n_epochs;
    if n_edges == 0 || n == 0 {
        for e in 0..n_epochs {
            report(progress, "umap:epochs", e + 1, n_epochs)?;
        }
        return Ok(());
    }
    let wmax = g.weight.iter().copied().fold(0.0f32, f32::max);
    // Inside each chunk, interleave the edges of different heads (first edges of every head,
    // then second edges, ...) so consecutive updates are independent and can overlap.
    let mut rank = vec![0u32; n_edges];
    for e in 1..n_edges {
        if g.head[e] == g.head[e - 1] {
            rank[e] = rank[e - 1] + 1;
        }
    }
    let mut perm: Vec<u32> = (0..n_edges as u32).collect();
    perm.sort_unstable_by_key(|&e| (e as usize / CHUNK, rank[e as usize], e));
    drop(rank);
    let Graph {
        head: g_head,
        tail: g_tail,
        weight: g_weight,
        ..
    } = g;
    let head: Vec<u32> = perm.iter().map(|&e| g_head[e as usize]).collect();
    drop(g_head);
    let tail: Vec<u32> = perm.iter().map(|&e| g_tail[e as usize]).collect();
    drop(g_tail);
    // Per edge: epochs per sample, next sample epoch, next negative-sample epoch.
    let eps: Vec<f32> = perm
        .iter()
        .map(|&e| {
            let ns = n_epochs as f32 * (g_weight[e as usize] / wmax);
            if ns > 0.0 {
                n_epochs as f32 / ns
            } else {
                f32::INFINITY
            }
        })
        .collect();
    drop((g_weight, perm));
    let neg_rate = sp.negative_sample_rate as f32;
    let mut next_s = eps.clone();
    let mut next_n: Vec<f32> = eps.iter().map(|&e| e / neg_rate.max(1e-30)).collect();
    let emb: Vec<AtomicU64> = embedding
        .chunks_exact(2)
        .map(|p| AtomicU64::new(pack(p[0], p[1])))
        .collect();
    let (a, b) = (sp.a, sp.b);
    let two_ab = 2.0 * a * b;
    let two_gb = 2.0 * sp.gamma * b;
    let neg_on = sp.negative_sample_rate > 0;
    #[cfg(target_arch = "x86_64")]
    let avx2 = !sp.portable
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = {
        let _ = sp.portable;
        false
    };
    let consts = Consts {
        a,
        b,
        two_ab,
        two_gb,
        neg_rate,
        neg_on,
        n,
    };
    for epoch in 0..n_epochs {
        let alpha = sp.alpha0 * (1.0 - (epoch.saturating_sub(1) as f32 / n_epochs as f32));
        let emb = &emb[..];
        next_s
            .par_chunks_mut(CHUNK)
            .zip(next_n.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, (ns, nn))| {
                let off = c * CHUNK;
                let len = ns.len();
                let mut chunk = Chunk {
                    head: &head[off..off + len],
                    tail: &tail[off..off + len],
                    eps: &eps[off..off + len],
                    ns,
                    nn,
                    emb,
                    rng: Rng::new(mix(&[sp.seed, epoch as u64, c as u64])),
                    ep: epoch as f32,
                    alpha,
                };
                #[cfg(target_arch = "x86_64")]
                {
                    if avx2 {
                        // SAFETY: the features were detected above.
                        unsafe { run_chunk_avx2(&mut chunk, &consts) };
                        return;
                    }
                }
                run_chunk(&mut chunk, &consts);
            });
        report(progress, "umap:epochs", epoch + 1, n_epochs)?;
    }
    for (o, v) in embedding.chunks_exact_mut(2).zip(&emb) {
        let v = v.load(Ordering::Relaxed);
        o[0] = f32::from_bits(v as u32);
        o[1] = f32::from_bits((v >> 32) as u32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both code paths pull graph neighbours together relative to random pairs.
    #[test]
    fn both_paths_contract_edges() {
        use crate::progress::NoProgress;
        // A ring of 400 points, each linked to 3 neighbours on each side.
        let n = 400usize;
        let mut edges = Vec::new();
        for i in 0..n {
            for o in 1..=3 {
                edges.push((i as u32, ((i + o) % n) as u32));
                edges.push((i as u32, ((i + n - o) % n) as u32));
            }
        }
        edges.sort_unstable();
        let g = Graph {
            n,
            head: edges.iter().map(|e| e.0).collect(),
            tail: edges.iter().map(|e| e.1).collect(),
            weight: vec![1.0; edges.len()],
        };
        for portable in [false, true] {
            let mut rng = Rng::new(3);
            let mut emb: Vec<f32> = (0..2 * n).map(|_| (rng.uniform() * 10.0) as f32).collect();
            let sp = SgdParams {
                a: 1.577,
                b: 0.895,
                gamma: 1.0,
                alpha0: 1.0,
                negative_sample_rate: 5,
                n_epochs: 200,
                seed: 1,
                portable,
            };
            optimize(&mut emb, g.clone(), &sp, &NoProgress).unwrap();
            assert!(emb.iter().all(|v| v.is_finite()));
            let d = |i: usize, j: usize| {
                ((emb[2 * i] - emb[2 * j]).powi(2) + (emb[2 * i + 1] - emb[2 * j + 1]).powi(2))
                    .sqrt()
            };
            let near: f32 = (0..n).map(|i| d(i, (i + 1) % n)).sum::<f32>() / n as f32;
            let far: f32 = (0..n).map(|i| d(i, (i + n / 2) % n)).sum::<f32>() / n as f32;
            assert!(
                near * 5.0 < far,
                "portable {portable}: near {near} far {far}"
            );
        }
    }

    #[test]
    fn fast_pow_is_accurate() {
        for &b in &[0.79f32, 0.895, 1.0, 1.58] {
            let mut x = 1e-6f32;
            while x < 1e5 {
                let (f, e) = (fast_pow(x, b), x.powf(b));
                assert!(((f - e) / e).abs() < 5e-6, "x={x} b={b} {f} {e}");
                x *= 1.37;
            }
        }
    }
}

/// Edge-parallel AVX2 epoch: eight sampled edges at a time, one per lane, each lane running
/// its own positive step and then its negative samples one after another (umap-learn's
/// sequential semantics within an edge).
#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::{Chunk, Consts, LANES};
    use std::arch::x86_64::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// `x^b` on 8 lanes (fast log2/exp2, as `fast_pow`).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn pow8(d2: __m256, b: __m256) -> __m256 {
        let x = _mm256_max_ps(d2, _mm256_set1_ps(f32::MIN_POSITIVE));
        let bits = _mm256_castps_si256(x);
        let e = _mm256_sub_epi32(
            _mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xff)),
            _mm256_set1_epi32(127),
        );
        let m = _mm256_castsi256_ps(_mm256_or_si256(
            _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
            _mm256_set1_epi32(0x3f80_0000),
        ));
        let adj = _mm256_cmp_ps(m, _mm256_set1_ps(std::f32::consts::SQRT_2), _CMP_GT_OQ);
        let m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5)), adj);
        let e = _mm256_sub_epi32(e, _mm256_castps_si256(adj));
        let one = _mm256_set1_ps(1.0);
        let s = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
        let s2 = _mm256_mul_ps(s, s);
        let mut poly = _mm256_set1_ps(1.0 / 9.0);
        poly = _mm256_fmadd_ps(poly, s2, _mm256_set1_ps(1.0 / 7.0));
        poly = _mm256_fmadd_ps(poly, s2, _mm256_set1_ps(0.2));
        poly = _mm256_fmadd_ps(poly, s2, _mm256_set1_ps(1.0 / 3.0));
        poly = _mm256_fmadd_ps(poly, s2, one);
        let ln_m = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2.0), s), poly);
        let l2 = _mm256_fmadd_ps(
            ln_m,
            _mm256_set1_ps(std::f32::consts::LOG2_E),
            _mm256_cvtepi32_ps(e),
        );
        let y = _mm256_mul_ps(b, l2);
        let y = _mm256_min_ps(
            _mm256_max_ps(y, _mm256_set1_ps(-125.0)),
            _mm256_set1_ps(125.0),
        );
        let fi = _mm256_floor_ps(_mm256_add_ps(y, _mm256_set1_ps(0.5)));
        let f = _mm256_mul_ps(_mm256_sub_ps(y, fi), _mm256_set1_ps(std::f32::consts::LN_2));
        let mut p = _mm256_set1_ps(1.0 / 5040.0);
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0 / 720.0));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0 / 120.0));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0 / 24.0));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0 / 6.0));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.5));
        p = _mm256_fmadd_ps(p, f, one);
        p = _mm256_fmadd_ps(p, f, one);
        let scale = _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_add_epi32(_mm256_cvtps_epi32(fi), _mm256_set1_epi32(127)),
            23,
        ));
        _mm256_mul_ps(p, scale)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn clip8(v: __m256) -> __m256 {
        _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-4.0)), _mm256_set1_ps(4.0))
    }

    /// The coordinates of 8 points (`idx`), as an x vector and a y vector:
    /// one 8-byte atomic read per point, no round trip through memory.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn gather8(emb: &[AtomicU64], idx: &[u32; LANES]) -> (__m256, __m256) {
        let p = |l: usize| emb[idx[l] as usize].load(Ordering::Relaxed) as i64;
        // 128-bit halves: [p0 p1 | p4 p5] and [p2 p3 | p6 p7].
        let lo = _mm256_castsi256_ps(_mm256_set_epi64x(p(5), p(4), p(1), p(0)));
        let hi = _mm256_castsi256_ps(_mm256_set_epi64x(p(7), p(6), p(3), p(2)));
        (
            _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi),
            _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi),
        )
    }

    /// The 8 points of an x and a y vector, packed as `pack` does, in lane order.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn pairs8(x: __m256, y: __m256) -> [u64; LANES] {
        let lo = _mm256_unpacklo_ps(x, y);
        let hi = _mm256_unpackhi_ps(x, y);
        let mut out = [0u64; LANES];
        // SAFETY: writes exactly 8 u64 (two 32-byte stores).
        unsafe {
            _mm256_storeu_ps(
                out.as_mut_ptr().cast(),
                _mm256_permute2f128_ps::<0x20>(lo, hi),
            );
            _mm256_storeu_ps(
                out.as_mut_ptr().add(4).cast(),
                _mm256_permute2f128_ps::<0x31>(lo, hi),
            );
        }
        out
    }

    /// A batch of up to 8 sampled edges, prepared ahead of its updates: its
    /// points, its negative samples (drawn in the generator's order) and their
    /// coordinates prefetched while the batch before it is computed.
    struct Batch {
        /// Lanes in use.
        m: usize,
        hj: [u32; LANES],
        tl: [u32; LANES],
        /// The negative samples of each step, and its active lanes as bits.
        drawn: Vec<[u32; LANES]>,
        active: Vec<i32>,
    }

    impl Batch {
        fn new() -> Self {
            Self {
                m: 0,
                hj: [0; LANES],
                tl: [0; LANES],
                drawn: Vec::new(),
                active: Vec::new(),
            }
        }
    }

    /// Prepares the sampled edges `ts` (indices into the chunk): reads their
    /// points, advances their schedules, draws their negative samples and
    /// prefetches every point the updates will read. Lanes beyond `ts.len()`
    /// read point 0 against itself and write nothing.
    #[target_feature(enable = "avx2,fma")]
    fn prepare(ch: &mut Chunk<'_>, k: &Consts, ts: &[usize], p: &mut Batch) {
        let emb = ch.emb;
        p.m = ts.len();
        p.hj = [0; LANES];
        p.tl = [0; LANES];
        let mut n_neg = [0usize; LANES];
        let mut max_neg = 0usize;
        for (l, &t) in ts.iter().enumerate() {
            p.hj[l] = ch.head[t];
            p.tl[l] = ch.tail[t];
            // SAFETY: prefetches of addresses inside `emb` (points < n).
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(emb.as_ptr().add(p.hj[l] as usize).cast());
                _mm_prefetch::<_MM_HINT_T0>(emb.as_ptr().add(p.tl[l] as usize).cast());
            }
            let eps = ch.eps[t];
            ch.ns[t] += eps;
            if k.neg_on {
                let epn = eps / k.neg_rate;
                n_neg[l] = ((ch.ep - ch.nn[t]) / epn).max(0.0) as usize;
                max_neg = max_neg.max(n_neg[l]);
                ch.nn[t] += n_neg[l] as f32 * epn;
            }
        }
        p.drawn.clear();
        p.active.clear();
        // Step s of every lane that has more than s samples, lane by lane.
        for s in 0..max_neg {
            let mut row = [0u32; LANES];
            let mut bits = 0i32;
            for (l, r) in row.iter_mut().enumerate().take(p.m) {
                if s < n_neg[l] {
                    bits |= 1 << l;
                    let kk = ch.rng.below(k.n);
                    *r = kk as u32;
                    // SAFETY: a prefetch of an address inside `emb` (kk < n).
                    unsafe {
                        _mm_prefetch::<_MM_HINT_T0>(emb.as_ptr().add(kk).cast());
                    }
                }
            }
            p.drawn.push(row);
            p.active.push(bits);
        }
    }

    /// The updates of a prepared batch: each lane's positive step, then its
    /// negative samples one after another.
    #[target_feature(enable = "avx2,fma")]
    fn compute(ch: &Chunk<'_>, k: &Consts, p: &Batch) {
        let emb = ch.emb;
        let a = _mm256_set1_ps(k.a);
        let b = _mm256_set1_ps(k.b);
        let one = _mm256_set1_ps(1.0);
        let alpha = _mm256_set1_ps(ch.alpha);
        let zero = _mm256_setzero_ps();
        // Positive step (unused lanes have d2 = 0 and do not move).
        let (mut vx, mut vy) = gather8(emb, &p.hj);
        let (wx, wy) = gather8(emb, &p.tl);
        let dx = _mm256_sub_ps(vx, wx);
        let dy = _mm256_sub_ps(vy, wy);
        let d2 = _mm256_fmadd_ps(dx, dx, _mm256_mul_ps(dy, dy));
        let pb = pow8(d2, b);
        let gc = _mm256_div_ps(
            _mm256_mul_ps(_mm256_set1_ps(-k.two_ab), pb),
            _mm256_mul_ps(d2, _mm256_fmadd_ps(a, pb, one)),
        );
        let gc = _mm256_and_ps(gc, _mm256_cmp_ps(d2, zero, _CMP_GT_OQ));
        let gx = _mm256_mul_ps(clip8(_mm256_mul_ps(gc, dx)), alpha);
        let gy = _mm256_mul_ps(clip8(_mm256_mul_ps(gc, dy)), alpha);
        vx = _mm256_add_ps(vx, gx);
        vy = _mm256_add_ps(vy, gy);
        let tails = pairs8(_mm256_sub_ps(wx, gx), _mm256_sub_ps(wy, gy));
        let heads = pairs8(vx, vy);
        for l in 0..p.m {
            emb[p.tl[l] as usize].store(tails[l], Ordering::Relaxed);
            emb[p.hj[l] as usize].store(heads[l], Ordering::Relaxed);
        }
        if p.drawn.is_empty() {
            return;
        }
        // Negative samples; each step's mask is built from its bits in registers.
        let two_gb = _mm256_set1_ps(k.two_gb);
        let small = _mm256_set1_ps(0.001);
        let lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        for (row, &bits) in p.drawn.iter().zip(&p.active) {
            let mask = _mm256_castsi256_ps(_mm256_cmpeq_epi32(
                _mm256_and_si256(_mm256_set1_epi32(bits), lane_bit),
                lane_bit,
            ));
            let (px, py) = gather8(emb, row);
            let dx = _mm256_sub_ps(vx, px);
            let dy = _mm256_sub_ps(vy, py);
            let d2 = _mm256_fmadd_ps(dx, dx, _mm256_mul_ps(dy, dy));
            let pb = pow8(d2, b);
            let gc = _mm256_div_ps(
                two_gb,
                _mm256_mul_ps(_mm256_add_ps(d2, small), _mm256_fmadd_ps(a, pb, one)),
            );
            let gc = _mm256_and_ps(gc, _mm256_and_ps(mask, _mm256_cmp_ps(d2, zero, _CMP_GT_OQ)));
            vx = _mm256_fmadd_ps(clip8(_mm256_mul_ps(gc, dx)), alpha, vx);
            vy = _mm256_fmadd_ps(clip8(_mm256_mul_ps(gc, dy)), alpha, vy);
        }
        let heads = pairs8(vx, vy);
        for l in 0..p.m {
            emb[p.hj[l] as usize].store(heads[l], Ordering::Relaxed);
        }
    }

    /// One epoch over a chunk, eight sampled edges at a time: each batch is
    /// prepared before the one ahead of it is computed, so that its reads are
    /// in flight meanwhile (the results are those of one batch after another).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_chunk(ch: &mut Chunk<'_>, k: &Consts) {
        let mut ts = [0usize; LANES];
        let mut m = 0;
        let len = ch.ns.len();
        let ep = _mm256_set1_ps(ch.ep);
        let mut ready = Batch::new();
        let mut next = Batch::new();
        let mut pending = false;
        let mut base = 0;
        while base < len {
            // Due edges among the next 8 (`ns <= ep`), found with one compare.
            let mut bits = if base + 8 <= len {
                // SAFETY: reads 8 floats at base..base + 8 < len.
                let v = unsafe { _mm256_loadu_ps(ch.ns.as_ptr().add(base)) };
                _mm256_movemask_ps(_mm256_cmp_ps(v, ep, _CMP_LE_OQ)) as u32
            } else {
                let mut b = 0u32;
                for t in base..len {
                    if ch.ns[t] <= ch.ep {
                        b |= 1 << (t - base);
                    }
                }
                b
            };
            while bits != 0 {
                let t = base + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                ts[m] = t;
                m += 1;
                if m == LANES {
                    prepare(ch, k, &ts, &mut next);
                    if pending {
                        compute(ch, k, &ready);
                    }
                    std::mem::swap(&mut ready, &mut next);
                    pending = true;
                    m = 0;
                }
            }
            base += 8;
        }
        if m > 0 {
            prepare(ch, k, &ts[..m], &mut next);
        }
        if pending {
            compute(ch, k, &ready);
        }
        if m > 0 {
            compute(ch, k, &next);
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod lane_tests {
    use super::lanes::{gather8, pairs8};
    use super::pack;
    use std::sync::atomic::AtomicU64;

    /// Points read into x and y vectors come back, lane by lane, as the same packed words.
    #[test]
    fn gathered_points_pack_back_in_lane_order() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return;
        }
        let emb: Vec<AtomicU64> = (0..20)
            .map(|i| AtomicU64::new(pack(i as f32 + 0.25, -(i as f32) - 0.5)))
            .collect();
        let idx = [3u32, 17, 0, 9, 9, 12, 1, 19];
        // SAFETY: the features were detected above.
        let words = unsafe {
            let (x, y) = gather8(&emb, &idx);
            pairs8(x, y)
        };
        for (l, &i) in idx.iter().enumerate() {
            assert_eq!(
                words[l],
                pack(i as f32 + 0.25, -(i as f32) - 0.5),
                "lane {l}"
            );
        }
    }
}
