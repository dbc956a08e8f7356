//! Stochastic gradient descent of the layout with negative sampling (umap-learn's
//! `optimize_layout_euclidean`), Hogwild-style in parallel over fixed chunks of edges.
//!
//! Each chunk draws its negative samples from its own generator seeded by (seed, epoch, chunk),
//! so a one-thread run is bit-reproducible.
//!
//! At scale ([`WINDOWED_FROM`] points) the points are renumbered in a random order and each
//! chunk's negative samples in an epoch come from one cached window of them
//! ([`NEGATIVE_WINDOW`]): each draw stays uniform over all points, but the reads hit the cache.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::error::UmapError;
use super::fuzzy::Graph;
use super::knn::report;
use super::pages::advise_huge_pages;
#[cfg(test)]
use super::rng::Rng;
use super::rng::mix;
use crate::progress::Progress;

/// Edges in a chunk (the unit of parallel work, of the interleave of heads
/// and of one generator's negative samples) below [`WINDOWED_FROM`] points.
const CHUNK: usize = 4096;

/// Edges in a chunk from [`WINDOWED_FROM`] points. One window of negative
/// samples is loaded per chunk, so larger chunks load fewer windows (at 703k
/// points and 4,096 edges a chunk, 1.4M windows of 32 KB over the 200
/// epochs). Larger chunks also hold more heads, so the interleaved groups of
/// one rank are longer and two batches computed side by side share a point
/// less often (at 703k points, 26M of 74M pairs of batches at 4,096 edges,
/// 11M at 16,384, 4.3M at 65,536). Each head still draws from one window of
/// [`NEGATIVE_WINDOW`] points an epoch; the window is shared by more heads
/// (about 1,600 instead of 100), which left the quality where it was
/// (trustworthiness at 703k 0.8106 / 0.8110 against 0.8085–0.8106).
const WINDOWED_CHUNK: usize = 65_536;

/// From this many points (whose coordinates no longer fit in a core's cache),
/// each chunk draws the negative samples of an epoch from a window of
/// [`NEGATIVE_WINDOW`] points at a random place (of the points in a random
/// order), not from all of them: each draw is still uniform over the points,
/// but a chunk's draws fall in 32 KB that stay cached, where draws over all
/// points each missed the caches (at 703k points, 5 of a step's 6 reads).
const WINDOWED_FROM: usize = 131_072;

/// The points a chunk's negative samples are drawn from at scale (about as
/// many as it draws in an epoch).
const NEGATIVE_WINDOW: usize = 4096;

/// The edges grouped by head, the heads in the order of their new numbers
/// `place`, each head's edges in their order: the graph's edges are sorted by
/// head, so head `h` owns `row_ptr[h]..row_ptr[h + 1]`, and the result is those
/// ranges one after another (filled in parallel, blocks of heads at a time).
fn by_new_head(row_ptr: &[usize], place: &[u32]) -> Vec<u32> {
    let n = place.len();
    let mut old = vec![0u32; n];
    for (h, &p) in place.iter().enumerate() {
        old[p as usize] = h as u32;
    }
    let len = |h: u32| row_ptr[h as usize + 1] - row_ptr[h as usize];
    let mut seq = vec![0u32; row_ptr[n]];
    let mut blocks: Vec<(&[u32], &mut [u32])> = Vec::new();
    let mut rest = &mut seq[..];
    for heads in old.chunks(CHUNK) {
        let (block, tail) = rest.split_at_mut(heads.iter().map(|&h| len(h)).sum());
        blocks.push((heads, block));
        rest = tail;
    }
    blocks.into_par_iter().for_each(|(heads, block)| {
        let mut at = 0;
        for &h in heads {
            let (lo, hi) = (row_ptr[h as usize], row_ptr[h as usize + 1]);
            for (slot, e) in block[at..at + hi - lo].iter_mut().zip(lo..hi) {
                *slot = e as u32;
            }
            at += hi - lo;
        }
    });
    seq
}

/// Inside each chunk (of `chunk_len` edges) of `edges`, interleaves the edges
/// of different heads (first edges of every head, then second edges, ...) so
/// that consecutive updates are independent and can overlap. An edge's rank
/// counts the edges of its head before it, also in earlier chunks (`edges`
/// holds each head's edges together). Chunks are ordered in parallel.
fn interleave_heads(edges: &mut [u32], head: &[u32], chunk_len: usize) {
    let head_of = |e: u32| head[e as usize];
    // The rank of each chunk's first edge: its head's edges just before it.
    let carried: Vec<u32> = (0..edges.len().div_ceil(chunk_len))
        .into_par_iter()
        .map(|c| {
            let first = head_of(edges[c * chunk_len]);
            let before = edges[..c * chunk_len].iter().rev();
            before.take_while(|&&e| head_of(e) == first).count() as u32
        })
        .collect();
    edges
        .par_chunks_mut(chunk_len)
        .zip(carried)
        .for_each(|(chunk, carried)| {
            let (mut prev, mut rank) = (head_of(chunk[0]), carried);
            let mut ranked: Vec<(u32, u32)> = Vec::with_capacity(chunk.len());
            for &e in chunk.iter() {
                let h = head_of(e);
                if h != prev {
                    (prev, rank) = (h, 0);
                }
                ranked.push((rank, e));
                rank += 1;
            }
            // Stable: edges of the same rank keep their order.
            ranked.sort_by_key(|&(r, _)| r);
            for (slot, &(_, e)) in chunk.iter_mut().zip(&ranked) {
                *slot = e;
            }
        });
}

/// `0..n` in a random order (Fisher–Yates).
fn shuffled(n: usize, seed: u64) -> Vec<u32> {
    let mut rng = super::rng::Rng::new(seed);
    let mut v: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        v.swap(i, rng.below(i + 1));
    }
    v
}

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

/// The bits of `sqrt(1/2)`: subtracted from a float's bits, the exponent
/// field of the result is the power of two that brings the float into
/// `[sqrt(1/2), sqrt(2))`.
const SQRT_HALF_BITS: u32 = 0x3f35_04f3;

/// `log2(1 + t) ≈ t · Σ LOG2_POLY[k] t^k` for `t = m - 1`, `m` in `[sqrt(1/2),
/// sqrt(2))`: a degree-5 fit (absolute error below 1.5e-5 in f32 arithmetic),
/// lowest degree first. No division: the series of `atanh` this replaced
/// needed `(m - 1)/(m + 1)`, the longest step of the SGD's chain of operations.
const LOG2_POLY: [f32; 5] = [
    1.442_580_2,
    -0.720_245_06,
    0.486_651_24,
    -0.394_542_43,
    0.252_754_63,
];

/// `2^f` for `f` in `[-1/2, 1/2]`: a degree-4 polynomial fitted for relative
/// error (below 3e-6 in f32 arithmetic), lowest degree first.
const EXP2_POLY: [f32; 5] = [
    0.999_999_3,
    0.693_121_8,
    0.240_247_13,
    0.055_917_98,
    0.009_571_389,
];

/// `log2(x)` for positive normal `x`, absolute error below 1.5e-5 (branch-free).
#[inline(always)]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = (bits.wrapping_sub(SQRT_HALF_BITS) as i32) >> 23;
    let t = f32::from_bits(bits.wrapping_sub((e << 23) as u32)) - 1.0;
    let p = LOG2_POLY.iter().rev().fold(0.0f32, |p, &c| p * t + c);
    t * p + e as f32
}

/// `2^y`, relative error below 3e-6 (clamped to the normal range).
#[inline(always)]
fn fast_exp2(y: f32) -> f32 {
    let y = y.clamp(-125.0, 125.0);
    let i = (y + 0.5).floor();
    let f = y - i;
    let p = EXP2_POLY.iter().rev().fold(0.0f32, |p, &c| p * f + c);
    // p is in [0.7, 1.5]: adding i to its exponent field scales it by 2^i.
    f32::from_bits(p.to_bits().wrapping_add(((i as i32) << 23) as u32))
}

/// `x^b` for `x > 0`, relative error below 3e-5 (for the `b` of UMAP's curves:
/// the gradients' own noise, from sampling, is far larger).
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
    /// `negative_sample_rate`.
    neg_rate: f32,
}

/// The edges of one chunk and the epoch being run over them.
struct Chunk<'a> {
    /// The point each edge moves (and repels from its negative samples).
    head: &'a [u32],
    /// The point it is pulled towards (and moved towards the head).
    tail: &'a [u32],
    /// Each edge's weight over the largest: the samples it gets per epoch.
    rate: &'a [f32],
    emb: &'a [AtomicU64],
    draws: Draws,
    /// This epoch, as a float (the schedule is computed from it).
    ep: f32,
    alpha: f32,
}

/// Whether an edge sampled `rate` times per epoch is due in epoch `ep`:
/// umap-learn's `epoch_of_next_sample` schedule, computed rather than stored
/// (its k-th sample falls in the first epoch at or after `k / rate`).
#[inline(always)]
fn due(rate: f32, ep: f32) -> bool {
    (ep * rate).floor() > ((ep - 1.0) * rate).floor()
}

/// Up to LANES due edges of a chunk (`ts`, indices into it), side by side.
struct Group {
    m: usize,
    heads: [u32; LANES],
    tails: [u32; LANES],
    rates: [f32; LANES],
}

impl Group {
    fn of(ch: &Chunk<'_>, ts: &[u32]) -> Self {
        let mut g = Group {
            m: ts.len(),
            heads: [0; LANES],
            tails: [0; LANES],
            rates: [0.0; LANES],
        };
        for (l, &t) in ts.iter().enumerate() {
            let t = t as usize;
            g.heads[l] = ch.head[t];
            g.tails[l] = ch.tail[t];
            g.rates[l] = ch.rate[t];
        }
        g
    }
}

/// The negative samples of an edge's step in epoch `ep`, counted as umap-learn
/// counts them: the edge's negative-sample clock (`epoch_of_next_negative_sample`)
/// runs at `rate · neg_rate` per epoch, and a step takes those that fell due
/// since the edge's previous step (about `neg_rate`: more after a longer wait,
/// one fewer on the first step).
#[inline(always)]
fn negatives(rate: f32, ep: f32, neg_rate: f32) -> usize {
    // In f64, as umap-learn keeps its clocks: products like 0.99 · 5 · 100
    // land on the integer there.
    let (rate, ep) = (f64::from(rate), f64::from(ep));
    let clock = |t: f64| (f64::from(neg_rate) * rate * t).floor() - 1.0;
    let step = (ep * rate).floor();
    let before = if step >= 2.0 {
        clock(((step - 1.0) / rate).ceil())
    } else {
        0.0
    };
    (clock(ep) - before).max(0.0) as usize
}

const LANES: usize = 8;

/// The golden ratio's 32-bit step (a Weyl sequence: every value once in 2³² steps).
const PHI: u32 = 0x9E37_79B9;

/// MurmurHash3's 32-bit finaliser (a bijection with full avalanche).
#[inline(always)]
fn fmix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x85EB_CA6B);
    x ^= x >> 13;
    x = x.wrapping_mul(0xC2B2_AE35);
    x ^ (x >> 16)
}

/// The negative samples of one chunk in one epoch, eight at a time (one per
/// lane): draw `i` is `fmix32(fmix32(key + i·PHI) ^ key2)` scaled to `0..n`
/// (two rounds: with one, the 703k layout's trustworthiness measured 0.813
/// against 0.816). Each draw is a function of its number, so the eight of a
/// step have no chain between them and vector code makes them at once
/// (`lanes::draw8`, the same values).
struct Draws {
    key: u32,
    key2: u32,
    /// The number of the next draw.
    next: u32,
    /// The window the draws fall in: `start..start + window`, wrapping at `n`.
    start: u32,
    window: u32,
    n: u32,
}

impl Draws {
    /// Draws over the window of `window` points (at most `n`, all of them
    /// when equal) that starts at a point chosen by `seed`.
    fn new(seed: u64, n: u32, window: u32) -> Self {
        let (key, key2) = (seed as u32, (seed >> 32) as u32);
        let start = if window < n {
            scale(fmix32(fmix32(key ^ 0x5BD1_E995) ^ key2), n)
        } else {
            0
        };
        Self {
            key,
            key2,
            next: 0,
            start,
            window: window.min(n),
            n,
        }
    }

    /// The next eight draws, each in the window.
    fn below8(&mut self) -> [u32; LANES] {
        let mut out = [0u32; LANES];
        for (l, o) in out.iter_mut().enumerate() {
            let x = fmix32(
                fmix32(
                    self.key
                        .wrapping_add(self.next.wrapping_add(l as u32).wrapping_mul(PHI)),
                ) ^ self.key2,
            );
            *o = self.point(scale(x, self.window));
        }
        self.next = self.next.wrapping_add(LANES as u32);
        out
    }

    /// The point `off` places into the window (`off < window`).
    #[inline(always)]
    fn point(&self, off: u32) -> u32 {
        let p = u64::from(self.start) + u64::from(off);
        if p >= u64::from(self.n) {
            (p - u64::from(self.n)) as u32
        } else {
            p as u32
        }
    }
}

/// `x` (uniform over the u32s) scaled to `0..n`.
#[inline(always)]
fn scale(x: u32, n: u32) -> u32 {
    ((u64::from(x) * u64::from(n)) >> 32) as u32
}

/// Processes up to LANES sampled steps together (portable version of `lanes::compute`): each lane
/// moves `heads[l]` and `tails[l]` together, then `heads[l]` away from its negative samples,
/// one after another.
fn batch_portable(ch: &mut Chunk<'_>, k: &Consts, heads: &[u32], tails: &[u32], rates: &[f32]) {
    let emb = ch.emb;
    let (a, b, alpha) = (k.a, k.b, ch.alpha);
    let m = heads.len();
    let mut cx = [0.0f32; LANES];
    let mut cy = [0.0f32; LANES];
    for l in 0..m {
        let (j, o) = (heads[l] as usize, tails[l] as usize);
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
    }
    let mut n_neg = [0usize; LANES];
    for (c, &r) in n_neg.iter_mut().zip(rates) {
        *c = negatives(r, ch.ep, k.neg_rate);
    }
    let max_neg = n_neg.iter().copied().max().unwrap_or(0);
    for s in 0..max_neg {
        let drawn = ch.draws.below8();
        for l in (0..m).filter(|&l| s < n_neg[l]) {
            let (px, py) = ld(emb, drawn[l] as usize);
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
    if max_neg > 0 {
        for l in 0..m {
            st(emb, heads[l] as usize, cx[l], cy[l]);
        }
    }
}

/// One epoch over a chunk of edges (portable version): the due edges LANES at a time.
fn run_chunk(ch: &mut Chunk<'_>, k: &Consts) {
    let due: Vec<u32> = (0..ch.rate.len() as u32)
        .filter(|&t| due(ch.rate[t as usize], ch.ep))
        .collect();
    for ts in due.chunks(LANES) {
        let g = Group::of(ch, ts);
        batch_portable(ch, k, &g.heads[..g.m], &g.tails[..g.m], &g.rates[..g.m]);
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

/// Optimises `embedding` (n x 2, row-major) in place. The graph is consumed,
/// so that it and the optimisation's edge arrays are never held in full
/// together.
pub(crate) fn optimize(
    embedding: &mut [f32],
    g: Graph,
    sp: &SgdParams,
    progress: &dyn Progress,
) -> Result<(), UmapError> {
    let n = g.n;
    let n_epochs = sp.n_epochs;
    let n_edges = g.weight.len();
    let wmax = g.weight.iter().copied().fold(0.0f32, f32::max);
    if n_edges == 0 || n == 0 || wmax <= 0.0 {
        for e in 0..n_epochs {
            report(progress, "umap:epochs", e + 1, n_epochs)?;
        }
        return Ok(());
    }
    // Negative samples come from a window of points (see [`NEGATIVE_WINDOW`]);
    // the points are numbered in a random order so that each window is a
    // uniform sample of them, whatever the input's order.
    let (window, chunk_len) = if (WINDOWED_FROM..1 << 31).contains(&n) {
        (NEGATIVE_WINDOW, WINDOWED_CHUNK)
    } else {
        (n, CHUNK)
    };
    let place: Vec<u32> = if window < n {
        shuffled(n, mix(&[sp.seed, 0x0070_6c61_6365]))
    } else {
        (0..n as u32).collect()
    };
    // The edges grouped by head, heads in their new order (so that a chunk's
    // heads are a random sample too, not neighbours in the input's order:
    // heads that share a window of negative samples share its noise).
    let mut perm: Vec<u32> = if window < n {
        by_new_head(&super::spectral::row_starts(&g), &place)
    } else {
        (0..n_edges as u32).collect()
    };
    interleave_heads(&mut perm, &g.head, chunk_len);
    let Graph {
        head: g_head,
        tail: g_tail,
        weight: g_weight,
        ..
    } = g;
    let head: Vec<u32> = perm
        .par_iter()
        .map(|&e| place[g_head[e as usize] as usize])
        .collect();
    drop(g_head);
    let tail: Vec<u32> = perm
        .par_iter()
        .map(|&e| place[g_tail[e as usize] as usize])
        .collect();
    drop(g_tail);
    // Each edge's samples per epoch; its schedule is computed from it ([`due`]).
    let rate: Vec<f32> = perm
        .par_iter()
        .map(|&e| g_weight[e as usize] / wmax)
        .collect();
    drop((g_weight, perm));
    // Read at random by every sample: huge pages keep it within the TLB.
    let mut emb: Vec<AtomicU64> = Vec::with_capacity(n);
    advise_huge_pages(emb.spare_capacity_mut());
    emb.extend((0..n).map(|_| AtomicU64::new(0)));
    for (p, &at) in embedding.chunks_exact(2).zip(&place) {
        emb[at as usize].store(pack(p[0], p[1]), Ordering::Relaxed);
    }
    let (n32, window) = (n as u32, window as u32);
    let (a, b) = (sp.a, sp.b);
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
        two_ab: 2.0 * a * b,
        two_gb: 2.0 * sp.gamma * b,
        neg_rate: sp.negative_sample_rate as f32,
    };
    // Epoch 0 samples nothing (every edge's first sample falls at or after epoch 1).
    if n_epochs > 0 {
        report(progress, "umap:epochs", 1, n_epochs)?;
    }
    for epoch in 1..n_epochs {
        let alpha = sp.alpha0 * (1.0 - ((epoch - 1) as f32 / n_epochs as f32));
        let emb = &emb[..];
        (0..n_edges.div_ceil(chunk_len))
            .into_par_iter()
            .for_each(|c| {
                let r = c * chunk_len..((c + 1) * chunk_len).min(n_edges);
                let mut chunk = Chunk {
                    head: &head[r.clone()],
                    tail: &tail[r.clone()],
                    rate: &rate[r],
                    emb,
                    draws: Draws::new(mix(&[sp.seed, epoch as u64, c as u64]), n32, window),
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
    for (o, &at) in embedding.chunks_exact_mut(2).zip(&place) {
        let v = emb[at as usize].load(Ordering::Relaxed);
        o[0] = f32::from_bits(v as u32);
        o[1] = f32::from_bits((v >> 32) as u32);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// umap-learn's settings for `min_dist = 0.1`, seed 1.
    fn params(n_epochs: usize, portable: bool) -> SgdParams {
        SgdParams {
            a: 1.577,
            b: 0.895,
            gamma: 1.0,
            alpha0: 1.0,
            negative_sample_rate: 5,
            n_epochs,
            seed: 1,
            portable,
        }
    }

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
            optimize(&mut emb, g.clone(), &params(200, portable), &NoProgress).unwrap();
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

    /// The computed schedule is umap-learn's bookkeeping: each edge is sampled
    /// in the same epochs, with the same negative-sample counts, as its
    /// `epoch_of_next_sample` and `epoch_of_next_negative_sample` arrays give
    /// (weights whose multiples land exactly on an epoch, like 0.7 · 10, fall
    /// either side there depending on rounding; these do not).
    #[test]
    fn schedule_is_umap_learns_bookkeeping() {
        let (n_epochs, neg_rate) = (200usize, 5.0f64);
        for &w in &[
            1.0f32, 0.9937, 0.7313, 0.5, 0.4129, 0.25, 0.1093, 0.0371, 0.00613, 0.004,
        ] {
            let eps = 1.0 / f64::from(w);
            let epn = eps / neg_rate;
            let (mut next, mut next_neg) = (eps, epn);
            let (mut samples, mut negs) = (0, 0);
            for ep in 1..n_epochs {
                let reference = next <= ep as f64;
                let ours = due(w, ep as f32);
                assert_eq!(ours, reference, "weight {w}, epoch {ep}");
                if reference {
                    next += eps;
                    let n_neg = ((ep as f64 - next_neg) / epn).max(0.0) as usize;
                    next_neg += n_neg as f64 * epn;
                    assert_eq!(
                        negatives(w, ep as f32, neg_rate as f32),
                        n_neg,
                        "weight {w}, epoch {ep}"
                    );
                    samples += 1;
                    negs += n_neg;
                }
            }
            assert!(w < 1.0 / n_epochs as f32 || samples > 0, "weight {w}");
            // The negative-sample clock runs at `rate · neg_rate` per epoch.
            let expected = neg_rate * f64::from(w) * (n_epochs - 1) as f64;
            assert!(
                samples == 0 || (negs as f64 - expected).abs() <= neg_rate + 1.0,
                "weight {w}: {negs} negative samples, {expected} expected"
            );
        }
    }

    /// The edges regrouped by their heads' new numbers keep each head's
    /// edges together and in order; interleaving orders each chunk by rank.
    #[test]
    fn edges_regroup_by_new_head_and_interleave() {
        // Edges 0-1 belong to head 0, 2 to head 1, 3-5 to head 2.
        let row_ptr = [0usize, 2, 3, 6];
        let place = [2u32, 0, 1];
        assert_eq!(by_new_head(&row_ptr, &place), vec![2, 3, 4, 5, 0, 1]);
        // Over more than one chunk, with runs of a head across chunk borders
        // (one over two whole chunks): the sort umap's first version used.
        let n_edges = 4 * CHUNK + 100;
        let patterns: [fn(u32) -> u32; 2] = [
            |e| e / 37 + e / 5000,
            |e| if (1000..9000).contains(&e) { 1000 } else { e },
        ];
        // Chunks of the small inputs' size and of an odd size.
        for (pattern, chunk_len) in patterns.into_iter().flat_map(|p| [(p, CHUNK), (p, 1500)]) {
            let head: Vec<u32> = (0..n_edges as u32).map(pattern).collect();
            let mut ours: Vec<u32> = (0..n_edges as u32).collect();
            interleave_heads(&mut ours, &head, chunk_len);
            let mut rank = vec![0u32; n_edges];
            for e in 1..n_edges {
                if head[e] == head[e - 1] {
                    rank[e] = rank[e - 1] + 1;
                }
            }
            let mut expected: Vec<u32> = (0..n_edges as u32).collect();
            expected.sort_by_key(|&e| (e as usize / chunk_len, rank[e as usize], e));
            assert_eq!(ours, expected, "chunks of {chunk_len}");
        }
    }

    /// With more points than a window, the draws fall in the window (wrapping
    /// past the last point) and cover it.
    #[test]
    fn windowed_draws_stay_in_their_window() {
        let (n, window) = (10_000u32, 512u32);
        let mut wrapped = false;
        for seed in 0..200u64 {
            let mut d = Draws::new(mix(&[seed]), n, window);
            let start = d.start;
            let mut seen = vec![false; window as usize];
            for _ in 0..1000 {
                for x in d.below8() {
                    assert!(x < n);
                    let off = (x + n - start) % n;
                    assert!(off < window, "seed {seed}: {x} outside {start}+{window}");
                    seen[off as usize] = true;
                }
            }
            assert!(seen.iter().all(|&s| s), "seed {seed}");
            wrapped |= start + window > n;
        }
        assert!(wrapped, "no window wrapped past the last point");
    }

    /// At scale (windowed negative samples, points renumbered) the layout
    /// still pulls graph neighbours together, and comes back in input order.
    #[test]
    fn windowed_layout_contracts_edges() {
        use crate::progress::NoProgress;
        let n = WINDOWED_FROM + 1000;
        let mut edges = Vec::new();
        for i in 0..n {
            for o in [1, 2, n - 1, n - 2] {
                edges.push((i as u32, ((i + o) % n) as u32));
            }
        }
        edges.sort_unstable();
        let g = Graph {
            n,
            head: edges.iter().map(|e| e.0).collect(),
            tail: edges.iter().map(|e| e.1).collect(),
            weight: vec![1.0; edges.len()],
        };
        // Points start on a circle in input order, scrambled a little.
        let mut rng = Rng::new(5);
        let emb: Vec<f32> = (0..n)
            .flat_map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                [
                    (100.0 * t.cos() + rng.uniform() * 5.0) as f32,
                    (100.0 * t.sin() + rng.uniform() * 5.0) as f32,
                ]
            })
            .collect();
        let d = |e: &[f32], i: usize, j: usize| {
            ((e[2 * i] - e[2 * j]).powi(2) + (e[2 * i + 1] - e[2 * j + 1]).powi(2)).sqrt()
        };
        let near = |e: &[f32]| (0..n).map(|i| d(e, i, (i + 1) % n)).sum::<f32>() / n as f32;
        let before = near(&emb);
        for portable in [false, true] {
            let mut out = emb.clone();
            optimize(&mut out, g.clone(), &params(20, portable), &NoProgress).unwrap();
            assert!(out.iter().all(|v| v.is_finite()));
            let far = (0..n).map(|i| d(&out, i, (i + n / 2) % n)).sum::<f32>() / n as f32;
            // Neighbours end closer than at the start, and far closer than
            // opposite points: the points came back to their own rows.
            assert!(near(&out) < before, "portable {portable}");
            assert!(
                near(&out) * 20.0 < far,
                "portable {portable}: {} {far}",
                near(&out)
            );
        }
    }

    #[test]
    fn fast_pow_is_accurate() {
        for &b in &[0.79f32, 0.895, 1.0, 1.58] {
            let mut x = 1e-6f32;
            while x < 1e5 {
                let (f, e) = (fast_pow(x, b), f64::from(x).powf(f64::from(b)));
                assert!((f64::from(f) / e - 1.0).abs() < 3e-5, "x={x} b={b} {f} {e}");
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
    use super::{Chunk, Consts, Draws, EXP2_POLY, Group, LANES, LOG2_POLY, PHI, SQRT_HALF_BITS};

    use std::arch::x86_64::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// How many edges ahead of the due scan their ends are prefetched.
    const AHEAD: usize = 64;

    /// For each 4-bit mask, the positions of its set bits in order (the rest 0).
    const SET_BITS: [[u32; 4]; 16] = {
        let mut table = [[0u32; 4]; 16];
        let mut mask = 0;
        while mask < 16 {
            let (mut bit, mut k) = (0, 0);
            while bit < 4 {
                if mask & (1 << bit) != 0 {
                    table[mask][k] = bit as u32;
                    k += 1;
                }
                bit += 1;
            }
            mask += 1;
        }
        table
    };

    /// `x^b` on 8 lanes (fast log2/exp2, as `fast_pow`).
    #[inline(always)]
    pub(super) unsafe fn pow8(d2: __m256, b: __m256) -> __m256 {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let x = _mm256_max_ps(d2, _mm256_set1_ps(f32::MIN_POSITIVE));
            let bits = _mm256_castps_si256(x);
            let e = _mm256_srai_epi32::<23>(_mm256_sub_epi32(
                bits,
                _mm256_set1_epi32(SQRT_HALF_BITS as i32),
            ));
            let one = _mm256_set1_ps(1.0);
            let t = _mm256_sub_ps(
                _mm256_castsi256_ps(_mm256_sub_epi32(bits, _mm256_slli_epi32::<23>(e))),
                one,
            );
            let mut p = _mm256_set1_ps(LOG2_POLY[4]);
            for &c in LOG2_POLY[..4].iter().rev() {
                p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c));
            }
            let l2 = _mm256_fmadd_ps(t, p, _mm256_cvtepi32_ps(e));
            let y = _mm256_min_ps(
                _mm256_max_ps(_mm256_mul_ps(b, l2), _mm256_set1_ps(-125.0)),
                _mm256_set1_ps(125.0),
            );
            let i = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(y);
            let f = _mm256_sub_ps(y, i);
            let mut p = _mm256_set1_ps(EXP2_POLY[4]);
            for &c in EXP2_POLY[..4].iter().rev() {
                p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(c));
            }
            // p is in [0.7, 1.5]: adding i to its exponent field scales it by 2^i.
            _mm256_castsi256_ps(_mm256_add_epi32(
                _mm256_castps_si256(p),
                _mm256_slli_epi32::<23>(_mm256_cvtps_epi32(i)),
            ))
        }
    }

    #[inline(always)]
    unsafe fn clip8(v: __m256) -> __m256 {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe { _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-4.0)), _mm256_set1_ps(4.0)) }
    }

    /// The next eight draws of `d` (as `Draws::below8`), in lane order.
    #[inline(always)]
    pub(super) unsafe fn draw8(d: &mut Draws) -> __m256i {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let step = |l: u32| (l.wrapping_mul(PHI)) as i32;
            let lanes = _mm256_setr_epi32(
                step(0),
                step(1),
                step(2),
                step(3),
                step(4),
                step(5),
                step(6),
                step(7),
            );
            let base = d.key.wrapping_add(d.next.wrapping_mul(PHI));
            d.next = d.next.wrapping_add(LANES as u32);
            /// `fmix32` on eight lanes.
            #[inline(always)]
            unsafe fn fmix(mut x: __m256i) -> __m256i {
                // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
                unsafe {
                    x = _mm256_xor_si256(x, _mm256_srli_epi32::<16>(x));
                    x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x85EB_CA6Bu32 as i32));
                    x = _mm256_xor_si256(x, _mm256_srli_epi32::<13>(x));
                    x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0xC2B2_AE35u32 as i32));
                    _mm256_xor_si256(x, _mm256_srli_epi32::<16>(x))
                }
            }
            let x = fmix(_mm256_add_epi32(_mm256_set1_epi32(base as i32), lanes));
            let x = fmix(_mm256_xor_si256(x, _mm256_set1_epi32(d.key2 as i32)));
            // The high half of x·window, lane by lane: even lanes' products shifted
            // down, odd lanes' products kept in their high halves.
            let nn = _mm256_set1_epi64x(i64::from(d.window));
            let even = _mm256_srli_epi64::<32>(_mm256_mul_epu32(x, nn));
            let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(x), nn);
            let high = _mm256_set1_epi64x(-1i64 << 32);
            let off = _mm256_or_si256(even, _mm256_and_si256(odd, high));
            // Past the window's start, wrapping at n: of p and p - n (which wraps
            // past zero when p < n), the smaller (start + window < 2^32, see
            // `optimize`).
            let p = _mm256_add_epi32(off, _mm256_set1_epi32(d.start as i32));
            _mm256_min_epu32(p, _mm256_sub_epi32(p, _mm256_set1_epi32(d.n as i32)))
        }
    }

    /// Whether two groups of steps move a point in common (eight compares at
    /// a time).
    #[inline(always)]
    pub(super) unsafe fn shares_point(a: &Group, b: &Group) -> bool {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            if a.m == 0 || b.m == 0 {
                return false;
            }
            // `a`'s unused lanes hold a point no input has (at most 2^32 - 2 rows).
            let (mut wh, mut wt) = ([u32::MAX; LANES], [u32::MAX; LANES]);
            wh[..a.m].copy_from_slice(&a.heads[..a.m]);
            wt[..a.m].copy_from_slice(&a.tails[..a.m]);
            // Reads exactly 8 u32 each.
            let ah = _mm256_loadu_si256(wh.as_ptr().cast());
            let at = _mm256_loadu_si256(wt.as_ptr().cast());
            let mut hit = _mm256_setzero_si256();
            for p in b.heads[..b.m].iter().chain(&b.tails[..b.m]) {
                let p = _mm256_set1_epi32(*p as i32);
                hit = _mm256_or_si256(hit, _mm256_cmpeq_epi32(p, ah));
                hit = _mm256_or_si256(hit, _mm256_cmpeq_epi32(p, at));
            }
            _mm256_testz_si256(hit, hit) == 0
        }
    }

    /// The coordinates of 8 points (`idx`), as an x vector and a y vector:
    /// one 8-byte atomic read per point, no round trip through memory.
    #[inline(always)]
    pub(super) unsafe fn gather8(emb: &[AtomicU64], idx: &[u32; LANES]) -> (__m256, __m256) {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let p = |l: usize| emb[idx[l] as usize].load(Ordering::Relaxed) as i64;
            // 128-bit halves: [p0 p1 | p4 p5] and [p2 p3 | p6 p7].
            let lo = _mm256_castsi256_ps(_mm256_set_epi64x(p(5), p(4), p(1), p(0)));
            let hi = _mm256_castsi256_ps(_mm256_set_epi64x(p(7), p(6), p(3), p(2)));
            (
                _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi),
                _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi),
            )
        }
    }

    /// The 8 points of an x and a y vector, packed as `pack` does, in lane order.
    #[inline(always)]
    pub(super) unsafe fn pairs8(x: __m256, y: __m256) -> [u64; LANES] {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let lo = _mm256_unpacklo_ps(x, y);
            let hi = _mm256_unpackhi_ps(x, y);
            let mut out = [0u64; LANES];
            // Writes exactly 8 u64 (two 32-byte stores).
            _mm256_storeu_ps(
                out.as_mut_ptr().cast(),
                _mm256_permute2f128_ps::<0x20>(lo, hi),
            );
            _mm256_storeu_ps(
                out.as_mut_ptr().add(4).cast(),
                _mm256_permute2f128_ps::<0x31>(lo, hi),
            );
            out
        }
    }

    /// A batch of up to 8 sampled steps, prepared ahead of its updates: its
    /// points, its negative samples (drawn in the generator's order) and their
    /// coordinates prefetched while the batch before it is computed.
    struct Batch {
        /// Lanes in use.
        m: usize,
        hj: [u32; LANES],
        tl: [u32; LANES],
        /// The negative samples of each step, and its active lanes (all ones
        /// in a lane that takes that sample).
        drawn: Vec<[u32; LANES]>,
        active: Vec<__m256>,
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

    /// Prepares the steps from `heads` towards `tails`: draws their negative
    /// samples and prefetches every point the updates will read. Lanes beyond
    /// `heads.len()` read point 0 against itself and write nothing.
    #[inline(always)]
    unsafe fn prepare(ch: &mut Chunk<'_>, k: &Consts, g: &Group, p: &mut Batch) {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let emb = ch.emb;
            p.m = g.m;
            p.hj = g.heads;
            p.tl = g.tails;
            for l in 0..p.m {
                // Prefetches of addresses inside `emb` (points < n).
                _mm_prefetch::<_MM_HINT_T0>(emb.as_ptr().add(p.hj[l] as usize).cast());
                _mm_prefetch::<_MM_HINT_T0>(emb.as_ptr().add(p.tl[l] as usize).cast());
            }
            // Lanes past `m` have rate 0 and so no negative samples.
            let n_neg = negatives8(&g.rates, ch.ep, k.neg_rate);
            let mut counts = [0i32; LANES];
            // Writes exactly 8 i32.
            _mm256_storeu_si256(counts.as_mut_ptr().cast(), n_neg);
            let max_neg = counts.iter().copied().max().unwrap_or(0).max(0) as usize;
            // A window of negative samples was prefetched whole when the chunk began.
            let windowed = ch.draws.window < ch.draws.n;
            p.drawn.clear();
            p.active.clear();
            for s in 0..max_neg {
                let mut row = [0u32; LANES];
                // Writes exactly 8 u32.
                _mm256_storeu_si256(row.as_mut_ptr().cast(), draw8(&mut ch.draws));
                // The lanes that take an s-th negative sample.
                let active =
                    _mm256_castsi256_ps(_mm256_cmpgt_epi32(n_neg, _mm256_set1_epi32(s as i32)));
                let bits = _mm256_movemask_ps(active);
                if !windowed {
                    for (l, &kk) in row[..p.m].iter().enumerate() {
                        if bits & (1 << l) != 0 {
                            // A prefetch of an address inside `emb` (kk < n).
                            _mm_prefetch::<_MM_HINT_T0>(emb.as_ptr().add(kk as usize).cast());
                        }
                    }
                }
                p.drawn.push(row);
                p.active.push(active);
            }
        }
    }

    /// [`super::negatives`] of eight edges at once: the same operations on
    /// f64 lanes, so the same counts (0 for a rate of 0).
    #[inline(always)]
    pub(super) unsafe fn negatives8(rates: &[f32; LANES], ep: f32, neg_rate: f32) -> __m256i {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            // Reads exactly 8 f32.
            let r = _mm256_loadu_ps(rates.as_ptr());
            /// Four lanes' counts.
            #[inline(always)]
            unsafe fn half(rate: __m256d, ep: f32, neg_rate: f32) -> __m128i {
                // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
                unsafe {
                    let (ep, nr) = (
                        _mm256_set1_pd(f64::from(ep)),
                        _mm256_set1_pd(f64::from(neg_rate)),
                    );
                    let one = _mm256_set1_pd(1.0);
                    let per_epoch = _mm256_mul_pd(nr, rate);
                    let at_ep = _mm256_floor_pd(_mm256_mul_pd(per_epoch, ep));
                    let step = _mm256_floor_pd(_mm256_mul_pd(ep, rate));
                    let last = _mm256_ceil_pd(_mm256_div_pd(_mm256_sub_pd(step, one), rate));
                    let before = _mm256_and_pd(
                        _mm256_sub_pd(_mm256_floor_pd(_mm256_mul_pd(per_epoch, last)), one),
                        _mm256_cmp_pd::<_CMP_GE_OQ>(step, _mm256_set1_pd(2.0)),
                    );
                    let now = _mm256_sub_pd(at_ep, one);
                    let count = _mm256_max_pd(_mm256_sub_pd(now, before), _mm256_setzero_pd());
                    _mm256_cvttpd_epi32(count)
                }
            }
            let lo = half(_mm256_cvtps_pd(_mm256_castps256_ps128(r)), ep, neg_rate);
            let hi = half(_mm256_cvtps_pd(_mm256_extractf128_ps::<1>(r)), ep, neg_rate);
            _mm256_set_m128i(hi, lo)
        }
    }

    /// The SGD's constants as vectors.
    struct Vconsts {
        a: __m256,
        b: __m256,
        alpha: __m256,
        neg_two_ab: __m256,
        two_gb: __m256,
    }

    /// A batch's positive steps: each head and tail pulled together (unused
    /// lanes have d2 = 0 and do not move). Returns the heads' new coordinates.
    #[inline(always)]
    unsafe fn positive(emb: &[AtomicU64], c: &Vconsts, p: &Batch) -> (__m256, __m256) {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let (one, zero) = (_mm256_set1_ps(1.0), _mm256_setzero_ps());
            let (vx, vy) = gather8(emb, &p.hj);
            let (wx, wy) = gather8(emb, &p.tl);
            let dx = _mm256_sub_ps(vx, wx);
            let dy = _mm256_sub_ps(vy, wy);
            let d2 = _mm256_fmadd_ps(dx, dx, _mm256_mul_ps(dy, dy));
            let pb = pow8(d2, c.b);
            let gc = _mm256_div_ps(
                _mm256_mul_ps(c.neg_two_ab, pb),
                _mm256_mul_ps(d2, _mm256_fmadd_ps(c.a, pb, one)),
            );
            let gc = _mm256_and_ps(gc, _mm256_cmp_ps(d2, zero, _CMP_GT_OQ));
            let gx = _mm256_mul_ps(clip8(_mm256_mul_ps(gc, dx)), c.alpha);
            let gy = _mm256_mul_ps(clip8(_mm256_mul_ps(gc, dy)), c.alpha);
            let (vx, vy) = (_mm256_add_ps(vx, gx), _mm256_add_ps(vy, gy));
            let tails = pairs8(_mm256_sub_ps(wx, gx), _mm256_sub_ps(wy, gy));
            let heads = pairs8(vx, vy);
            for l in 0..p.m {
                emb[p.tl[l] as usize].store(tails[l], Ordering::Relaxed);
                emb[p.hj[l] as usize].store(heads[l], Ordering::Relaxed);
            }
            (vx, vy)
        }
    }

    /// One negative sample per lane (`row`, in the lanes set in `active`)
    /// pushing the heads at `(vx, vy)` away.
    #[inline(always)]
    unsafe fn negative(
        emb: &[AtomicU64],
        c: &Vconsts,
        (vx, vy): (__m256, __m256),
        row: &[u32; LANES],
        active: __m256,
    ) -> (__m256, __m256) {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let (one, zero) = (_mm256_set1_ps(1.0), _mm256_setzero_ps());
            let (px, py) = gather8(emb, row);
            let dx = _mm256_sub_ps(vx, px);
            let dy = _mm256_sub_ps(vy, py);
            let d2 = _mm256_fmadd_ps(dx, dx, _mm256_mul_ps(dy, dy));
            let pb = pow8(d2, c.b);
            let gc = _mm256_div_ps(
                c.two_gb,
                _mm256_mul_ps(
                    _mm256_add_ps(d2, _mm256_set1_ps(0.001)),
                    _mm256_fmadd_ps(c.a, pb, one),
                ),
            );
            let gc = _mm256_and_ps(
                gc,
                _mm256_and_ps(active, _mm256_cmp_ps(d2, zero, _CMP_GT_OQ)),
            );
            (
                _mm256_fmadd_ps(clip8(_mm256_mul_ps(gc, dx)), c.alpha, vx),
                _mm256_fmadd_ps(clip8(_mm256_mul_ps(gc, dy)), c.alpha, vy),
            )
        }
    }

    /// The updates of two prepared batches: each lane's positive step, then
    /// its negative samples one after another. The two batches' negative
    /// samples are computed side by side: each lane's steps form a chain of
    /// dependent operations, and two independent chains keep the core busy
    /// where one would leave it waiting on each step's latency.
    #[inline(always)]
    unsafe fn compute(ch: &Chunk<'_>, k: &Consts, p: &[Batch; 2]) {
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let emb = ch.emb;
            let c = Vconsts {
                a: _mm256_set1_ps(k.a),
                b: _mm256_set1_ps(k.b),
                alpha: _mm256_set1_ps(ch.alpha),
                neg_two_ab: _mm256_set1_ps(-k.two_ab),
                two_gb: _mm256_set1_ps(k.two_gb),
            };
            let mut v0 = positive(emb, &c, &p[0]);
            let mut v1 = positive(emb, &c, &p[1]);
            let (n0, n1) = (p[0].drawn.len(), p[1].drawn.len());
            for s in 0..n0.max(n1) {
                if s < n0 {
                    v0 = negative(emb, &c, v0, &p[0].drawn[s], p[0].active[s]);
                }
                if s < n1 {
                    v1 = negative(emb, &c, v1, &p[1].drawn[s], p[1].active[s]);
                }
            }
            for (q, (vx, vy), ns) in [(&p[0], v0, n0), (&p[1], v1, n1)] {
                if ns > 0 {
                    let heads = pairs8(vx, vy);
                    for l in 0..q.m {
                        emb[q.hj[l] as usize].store(heads[l], Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// Writes the positions of the chunk's edges due this epoch (as
    /// [`super::due`]), in order, to the front of `due_at` (at least
    /// `LANES` longer than the chunk) and returns how many. Eight edges at a
    /// time: two roundings and a compare, and the positions packed by table
    /// (no branch per edge).
    #[inline(always)]
    pub(super) unsafe fn due_edges(ch: &Chunk<'_>, due_at: &mut [u32]) -> usize {
        let len = ch.rate.len();
        assert!(due_at.len() >= len + LANES, "room for the due edges");
        // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
        unsafe {
            let ep = _mm256_set1_ps(ch.ep);
            let prev = _mm256_set1_ps(ch.ep - 1.0);
            let mut n_due = 0;
            let mut base = 0;
            while base < len {
                // The edges' ends, read for the due ones, start loading (one
                // line of each array per 16 edges).
                if base % 16 == 0 && base + AHEAD < len {
                    // Prefetches of addresses inside the chunk's arrays.
                    _mm_prefetch::<_MM_HINT_T0>(ch.head.as_ptr().add(base + AHEAD).cast());
                    _mm_prefetch::<_MM_HINT_T0>(ch.tail.as_ptr().add(base + AHEAD).cast());
                }
                if base + LANES <= len {
                    // Reads 8 floats at base..base + 8 <= len.
                    let r = _mm256_loadu_ps(ch.rate.as_ptr().add(base));
                    let now = _mm256_floor_ps(_mm256_mul_ps(ep, r));
                    let before = _mm256_floor_ps(_mm256_mul_ps(prev, r));
                    let bits = _mm256_movemask_ps(_mm256_cmp_ps(now, before, _CMP_GT_OQ)) as usize;
                    for (half, first) in [(bits & 15, base), (bits >> 4, base + 4)] {
                        // n_due <= first, so the four slots lie inside `due_at`.
                        let slots = &mut due_at[n_due..n_due + 4];
                        let at = _mm_add_epi32(
                            _mm_loadu_si128(SET_BITS[half].as_ptr().cast()),
                            _mm_set1_epi32(first as i32),
                        );
                        // Writes 4 u32 into `slots`.
                        _mm_storeu_si128(slots.as_mut_ptr().cast(), at);
                        n_due += half.count_ones() as usize;
                    }
                } else {
                    for t in base..len {
                        if super::due(ch.rate[t], ch.ep) {
                            due_at[n_due] = t as u32;
                            n_due += 1;
                        }
                    }
                }
                base += LANES;
            }
            n_due
        }
    }

    /// One epoch over a chunk: the due edges eight at a time. Each batch is
    /// prepared before the one ahead of it is computed, so that its reads are
    /// in flight meanwhile (the results are those of one batch after another).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_chunk(ch: &mut Chunk<'_>, k: &Consts) {
        let len = ch.rate.len();
        let d = &ch.draws;
        if d.window < d.n {
            // The window's points, which the negative samples read, start
            // loading while the due edges are found.
            for off in (0..d.window).step_by(8) {
                let p = d.point(off) as usize;
                // SAFETY: a prefetch of an address inside `emb` (p < n).
                unsafe { _mm_prefetch::<_MM_HINT_T1>(ch.emb.as_ptr().add(p).cast()) };
            }
        }
        // Room for a whole group's positions written past the last due edge.
        let mut due_at = vec![0u32; len + LANES];
        // SAFETY: this function enables AVX2 and FMA.
        let n_due = unsafe { due_edges(ch, &mut due_at) };
        let ch_due = &due_at[..n_due];
        let mut pipe = Pipeline::new();
        for ts in ch_due.chunks(2 * LANES) {
            let (first, second) = ts.split_at(ts.len().min(LANES));
            let (g1, g2) = (Group::of(ch, first), Group::of(ch, second));
            // Two batches run side by side only where they share no point:
            // their steps read their points before either writes, so a point
            // moved by both would keep only one move (at 703k points, pairing
            // every two batches lost 0.006 of trustworthiness).
            // SAFETY: this function enables AVX2 and FMA.
            unsafe {
                if shares_point(&g1, &g2) {
                    let none = Group::of(ch, &[]);
                    pipe.step(ch, k, &g1, &none);
                    pipe.step(ch, k, &g2, &none);
                } else {
                    pipe.step(ch, k, &g1, &g2);
                }
            }
        }
        // SAFETY: as above.
        unsafe { pipe.finish(ch, k) };
    }

    /// Two pairs of batches: the pair being prepared and the pair before it.
    struct Pipeline {
        ready: [Batch; 2],
        next: [Batch; 2],
        pending: bool,
    }

    impl Pipeline {
        fn new() -> Self {
            Self {
                ready: [Batch::new(), Batch::new()],
                next: [Batch::new(), Batch::new()],
                pending: false,
            }
        }

        /// Prepares the next two batches (of up to 2 · LANES due edges) and
        /// computes the two before them.
        #[inline(always)]
        unsafe fn step(&mut self, ch: &mut Chunk<'_>, k: &Consts, first: &Group, second: &Group) {
            // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
            unsafe {
                for (b, g) in self.next.iter_mut().zip([first, second]) {
                    prepare(ch, k, g, b);
                }
                if self.pending {
                    compute(ch, k, &self.ready);
                }
            }
            std::mem::swap(&mut self.ready, &mut self.next);
            self.pending = true;
        }

        /// Computes the last prepared pair.
        #[inline(always)]
        unsafe fn finish(&mut self, ch: &Chunk<'_>, k: &Consts) {
            if self.pending {
                // SAFETY: callers run on a CPU with AVX2 and FMA (detected before `lanes` is entered).
                unsafe { compute(ch, k, &self.ready) };
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod lane_tests {
    use super::lanes::{draw8, due_edges, gather8, negatives8, pairs8, pow8, shares_point};
    use super::{Chunk, Draws, Group, LANES, due, negatives, pack};
    use std::arch::x86_64::_mm256_storeu_si256;
    use std::sync::atomic::AtomicU64;

    /// The due edges found eight at a time are those `due` finds one by one,
    /// in order, for chunks of every length modulo eight.
    #[test]
    fn vector_due_edges_are_the_scalar_due_edges() {
        if !is_x86_feature_detected!("avx2") || !is_x86_feature_detected!("fma") {
            return;
        }
        let mut rng = crate::umap::rng::Rng::new(11);
        for len in [0usize, 1, 7, 8, 9, 100, 4096] {
            let rate: Vec<f32> = (0..len)
                .map(|t| match t % 5 {
                    0 => 1.0,
                    1 => 0.004,
                    _ => (rng.uniform() as f32).max(0.002),
                })
                .collect();
            let ends = vec![0u32; len];
            let emb = [AtomicU64::new(0)];
            for ep in [1.0f32, 2.0, 37.0, 199.0] {
                let ch = Chunk {
                    head: &ends,
                    tail: &ends,
                    rate: &rate,
                    emb: &emb,
                    draws: Draws::new(1, 1, 1),
                    ep,
                    alpha: 1.0,
                };
                let mut due_at = vec![u32::MAX; len + LANES];
                // SAFETY: the features were detected above.
                let n = unsafe { due_edges(&ch, &mut due_at) };
                let want: Vec<u32> = (0..len as u32)
                    .filter(|&t| due(rate[t as usize], ep))
                    .collect();
                assert_eq!(&due_at[..n], &want[..], "len {len}, epoch {ep}");
            }
        }
    }

    /// The vector negative-sample counts are the scalar ones, edge by edge and
    /// epoch by epoch, with unused lanes (rate 0) at 0.
    #[test]
    fn vector_negative_counts_are_the_scalar_counts() {
        if !is_x86_feature_detected!("avx2") || !is_x86_feature_detected!("fma") {
            return;
        }
        let mut rng = crate::umap::rng::Rng::new(3);
        let mut rates: Vec<f32> = vec![1.0, 0.9937, 0.5, 0.25, 0.1093, 0.00613, 0.004, 0.0];
        rates.extend((0..992).map(|_| (rng.uniform() as f32).max(0.002)));
        for group in rates.chunks(LANES) {
            let mut r = [0.0f32; LANES];
            r[..group.len()].copy_from_slice(group);
            for ep in 1..500 {
                let ep = ep as f32;
                let mut got = [0i32; LANES];
                // SAFETY: the features were detected above; writes exactly 8 i32.
                unsafe {
                    let v = negatives8(&r, ep, 5.0);
                    std::arch::x86_64::_mm256_storeu_si256(got.as_mut_ptr().cast(), v);
                }
                for (l, &rate) in r.iter().enumerate() {
                    let want = negatives(rate, ep, 5.0);
                    assert_eq!(got[l] as usize, want, "rate {rate}, epoch {ep}");
                }
            }
        }
    }

    /// The vector `x^b` is as accurate as the scalar one, from the smallest
    /// normal float to far beyond any layout's squared distance.
    #[test]
    fn vector_pow_is_accurate() {
        if !is_x86_feature_detected!("avx2") || !is_x86_feature_detected!("fma") {
            return;
        }
        use std::arch::x86_64::{_mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps};
        for &b in &[0.79f32, 0.895, 1.0, 1.58] {
            let mut xs = vec![f32::MIN_POSITIVE, 1.0, 2.0, 0.5, std::f32::consts::SQRT_2];
            let mut x = 1e-30f32;
            while x < 1e12 {
                xs.push(x);
                x *= 1.0137;
            }
            for group in xs.chunks(LANES) {
                let mut v = [1.0f32; LANES];
                v[..group.len()].copy_from_slice(group);
                let mut got = [0.0f32; LANES];
                // SAFETY: the features were detected above; reads and writes exactly 8 f32.
                unsafe {
                    let p = pow8(_mm256_loadu_ps(v.as_ptr()), _mm256_set1_ps(b));
                    _mm256_storeu_ps(got.as_mut_ptr(), p);
                }
                for (&x, &g) in v.iter().zip(&got) {
                    let want = f64::from(x).powf(f64::from(b));
                    // Where y = b · log2(x) leaves [-125, 125], the result is
                    // clamped; within, y itself carries f32's relative rounding.
                    let y = (f64::from(b) * f64::from(x).log2()).abs();
                    if y < 124.0 {
                        let err = (f64::from(g) / want - 1.0).abs();
                        assert!(err < 3e-5 + 1e-7 * y, "x={x} b={b}: {g} against {want}");
                    }
                }
            }
        }
    }

    /// The vector draws are the scalar ones, in range, and spread over `0..n`.
    #[test]
    fn vector_draws_are_the_scalar_draws() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return;
        }
        let n = 1000u32;
        let (mut a, mut b) = (
            Draws::new(0xDEAD_BEEF_1234, n, n),
            Draws::new(0xDEAD_BEEF_1234, n, n),
        );
        let mut counts = vec![0u32; n as usize];
        for _ in 0..10_000 {
            let mut v = [0u32; 8];
            // SAFETY: the features were detected above; writes exactly 8 u32.
            unsafe { _mm256_storeu_si256(v.as_mut_ptr().cast(), draw8(&mut a)) };
            assert_eq!(v, b.below8());
            for x in v {
                counts[x as usize] += 1;
            }
        }
        // Windows too, wrapping past the last point or not.
        for seed in 0..50u64 {
            let (mut a, mut b) = (Draws::new(seed, n, 100), Draws::new(seed, n, 100));
            for _ in 0..100 {
                let mut v = [0u32; 8];
                // SAFETY: as above.
                unsafe { _mm256_storeu_si256(v.as_mut_ptr().cast(), draw8(&mut a)) };
                assert_eq!(v, b.below8(), "seed {seed}");
            }
        }
        // 80 expected per value: every value drawn, none more than twice that.
        assert!(counts.iter().all(|&c| c > 20 && c < 160), "{counts:?}");
    }

    /// The vector check finds exactly the groups of steps that move a point
    /// in common (heads or tails, partly filled groups included).
    #[test]
    fn shared_points_are_found() {
        if !(std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma"))
        {
            return;
        }
        let mut rng = super::Rng::new(9);
        let mut group = |m: usize| {
            let mut g = Group {
                m,
                heads: [0; LANES],
                tails: [0; LANES],
                rates: [0.0; LANES],
            };
            for l in 0..m {
                g.heads[l] = rng.below(300) as u32;
                g.tails[l] = rng.below(300) as u32;
            }
            g
        };
        let (mut shared, mut apart) = (0, 0);
        for t in 0..4000 {
            let (a, b) = (group(1 + t % LANES), group(t % (LANES + 1)));
            let pa: Vec<u32> = a.heads[..a.m]
                .iter()
                .chain(&a.tails[..a.m])
                .copied()
                .collect();
            let expected = b.heads[..b.m]
                .iter()
                .chain(&b.tails[..b.m])
                .any(|p| pa.contains(p));
            // SAFETY: the features were detected above.
            assert_eq!(unsafe { shares_point(&a, &b) }, expected, "case {t}");
            if expected {
                shared += 1;
            } else {
                apart += 1;
            }
        }
        assert!(shared > 100 && apart > 100, "{shared} {apart}");
    }

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
