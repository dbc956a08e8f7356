//! Approximate kNN by NN-descent (Dong et al. 2011, as in pynndescent), initialised by random-projection trees.
//!
//! Updates are generated in fixed-size node chunks and applied bucket by bucket in a fixed order,
//! so the result does not depend on the number of threads.

use rayon::prelude::*;

use super::error::UmapError;
use super::knn::{KnnGraph, report};
use super::rng::{Rng, mix};
use super::space::{Space, prefetch_bytes};
use crate::progress::Progress;

const GEN_CHUNK: usize = 128;
const BUCKETS: usize = 32;
/// Leaves joined before their updates are applied (about 120k rows' worth).
const ROUND_LEAVES: usize = 4096;

/// How many rows (or entries) ahead a loop starts loading what it will read.
const PREFETCH_AHEAD: usize = 8;

type Update = (u32, u32, f32);

/// A tree's rows in leaf order, and each leaf's range in that order.
type Tree = (Vec<u32>, Vec<(usize, usize)>);

/// Max-heaps (root = worst) of neighbours, one per row.
struct Heaps {
    k: usize,
    idx: Vec<u32>,
    dist: Vec<f32>,
    flag: Vec<bool>,
    /// Each heap's root (its worst distance), kept beside the heaps so that
    /// filtering candidates reads n floats, not n heaps.
    worst: Vec<f32>,
}

#[inline]
fn heap_push(idx: &mut [u32], dist: &mut [f32], flag: &mut [bool], j: u32, d: f32) -> bool {
    if d >= dist[0] || idx.contains(&j) {
        return false;
    }
    let k = idx.len();
    let mut pos = 0;
    loop {
        let l = 2 * pos + 1;
        if l >= k {
            break;
        }
        let r = l + 1;
        let c = if r < k && dist[r] > dist[l] { r } else { l };
        if dist[c] <= d {
            break;
        }
        dist[pos] = dist[c];
        idx[pos] = idx[c];
        flag[pos] = flag[c];
        pos = c;
    }
    dist[pos] = d;
    idx[pos] = j;
    flag[pos] = true;
    true
}

/// Applies bucketed updates (target, other, distance) to the heaps; returns successful pushes.
fn apply(heaps: &mut Heaps, lists: &[Vec<Vec<Update>>], bucket_rows: usize) -> usize {
    let k = heaps.k;
    heaps
        .idx
        .par_chunks_mut(bucket_rows * k)
        .zip(heaps.dist.par_chunks_mut(bucket_rows * k))
        .zip(heaps.flag.par_chunks_mut(bucket_rows * k))
        .zip(heaps.worst.par_chunks_mut(bucket_rows))
        .enumerate()
        .map(|(b, (((bi, bd), bf), bw))| {
            let base = b * bucket_rows;
            let mut c = 0;
            for l in lists {
                if let Some(ups) = l.get(b) {
                    for &(t, o, d) in ups {
                        let r = t as usize - base;
                        if heap_push(
                            &mut bi[r * k..(r + 1) * k],
                            &mut bd[r * k..(r + 1) * k],
                            &mut bf[r * k..(r + 1) * k],
                            o,
                            d,
                        ) {
                            // Only a heap that took a neighbour has a new root.
                            bw[r] = bd[r * k];
                            c += 1;
                        }
                    }
                }
            }
            c
        })
        .sum()
}

/// Builds one random-projection tree; returns its leaves as a flat index list with bounds.
fn rp_tree<S: Space>(space: &S, seed: u64, leaf_size: usize) -> Tree {
    let n = space.n();
    let mut rng = Rng::new(seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut leaves = Vec::new();
    let mut stack = vec![(0usize, n)];
    let mut side = Vec::new();
    while let Some((lo, hi)) = stack.pop() {
        let len = hi - lo;
        if len <= leaf_size {
            leaves.push((lo, hi));
            continue;
        }
        let ia = rng.below(len);
        let ib = (ia + 1 + rng.below(len - 1)) % len;
        let plane = space.plane(order[lo + ia], order[lo + ib]);
        side.clear();
        let mut left = 0usize;
        let rows = &order[lo..hi];
        for (t, &i) in rows.iter().enumerate() {
            // Rows lie in memory in any order here: load a few ahead.
            if let Some(&ahead) = rows.get(t + PREFETCH_AHEAD) {
                space.prefetch(ahead);
            }
            let m = space.margin(&plane, i);
            let s = if m > 0.0 {
                true
            } else if m < 0.0 {
                false
            } else {
                rng.next_u64() & 1 == 1
            };
            left += usize::from(s);
            side.push(s);
        }
        if left == 0 || left == len {
            // Degenerate split (duplicates): split at random.
            for s in side.iter_mut() {
                *s = rng.next_u64() & 1 == 1;
            }
            left = side.iter().filter(|&&s| s).count();
            if left == 0 || left == len {
                let half = len / 2;
                for (t, s) in side.iter_mut().enumerate() {
                    *s = t < half;
                }
                left = half;
            }
        }
        let mut l: Vec<u32> = Vec::with_capacity(left);
        let mut r: Vec<u32> = Vec::with_capacity(len - left);
        for (t, &i) in order[lo..hi].iter().enumerate() {
            if side[t] {
                l.push(i);
            } else {
                r.push(i);
            }
        }
        order[lo..lo + left].copy_from_slice(&l);
        order[lo + left..hi].copy_from_slice(&r);
        stack.push((lo + left, hi));
        stack.push((lo, lo + left));
    }
    (order, leaves)
}

#[inline]
fn cheap_hash(seed: u64, i: u32, j: u32) -> u32 {
    let mut z = seed ^ (u64::from(i) << 32 | u64::from(j));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

fn push_bucketed(out: &mut [Vec<Update>], bucket_rows: usize, t: u32, o: u32, d: f32) {
    out[t as usize / bucket_rows].push((t, o, d));
}

/// What the heaps hold while updates are generated: each row's worst distance
/// and its neighbours.
#[derive(Clone, Copy)]
struct Known<'a> {
    worst: &'a [f32],
    idx: &'a [u32],
    k: usize,
}

impl Known<'_> {
    /// Whether row `t`'s heap would take `o` at distance `d`: closer than its
    /// worst and not already held (most close pairs are known after the first
    /// iterations; queuing them would only have them refused).
    #[inline]
    fn wants(&self, t: u32, o: u32, d: f32) -> bool {
        d < self.worst[t as usize] && !holds(self.idx, self.k, t, o)
    }

    /// Starts loading what [`Known::wants`] reads of row `t`.
    #[inline]
    fn prefetch(&self, t: u32) {
        let t = t as usize;
        prefetch_bytes(&self.worst[t..=t]);
        prefetch_bytes(&self.idx[t * self.k..(t + 1) * self.k]);
    }

    fn of(heaps: &Heaps) -> Known<'_> {
        Known {
            worst: &heaps.worst,
            idx: &heaps.idx,
            k: heaps.k,
        }
    }
}

/// Queues rows `i` and `j`, at distance `d`, as neighbours of each other where
/// their heaps want them.
#[inline]
fn push_pair(
    out: &mut [Vec<Update>],
    known: Known<'_>,
    bucket_rows: usize,
    i: u32,
    j: u32,
    d: f32,
) {
    if known.wants(i, j, d) {
        push_bucketed(out, bucket_rows, i, j, d);
    }
    if known.wants(j, i, d) {
        push_bucketed(out, bucket_rows, j, i, d);
    }
}

/// Whether row `p`'s heap (of `k` entries in `idx`) holds `q` (no early exit,
/// so that it vectorises).
#[inline]
fn holds(idx: &[u32], k: usize, p: u32, q: u32) -> bool {
    let p = p as usize;
    idx[p * k..(p + 1) * k]
        .iter()
        .fold(false, |h, &x| h | (x == q))
}

/// Candidate lists with random priorities: keeps the `c` lowest-priority entries.
#[inline]
fn cand_push(idx: &mut [u32], pri: &mut [u32], cnt: &mut u32, j: u32, pr: u32) {
    let c = idx.len();
    let m = *cnt as usize;
    if idx[..m].contains(&j) {
        return;
    }
    if m < c {
        // sift up in a max-heap on priority
        let mut pos = m;
        idx[pos] = j;
        pri[pos] = pr;
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if pri[parent] >= pri[pos] {
                break;
            }
            idx.swap(parent, pos);
            pri.swap(parent, pos);
            pos = parent;
        }
        *cnt += 1;
        return;
    }
    if pr >= pri[0] {
        return;
    }
    let mut pos = 0;
    loop {
        let l = 2 * pos + 1;
        if l >= c {
            break;
        }
        let r = l + 1;
        let ch = if r < c && pri[r] > pri[l] { r } else { l };
        if pri[ch] <= pr {
            break;
        }
        idx[pos] = idx[ch];
        pri[pos] = pri[ch];
        pos = ch;
    }
    idx[pos] = j;
    pri[pos] = pr;
}

/// Random-projection trees and at most how many NN-descent iterations for `n` rows.
fn steps(n: usize) -> (usize, usize) {
    let n_trees = (5 + ((n as f64).powf(0.25)).round() as usize).min(12);
    let max_iters = ((n as f64).log2().round() as usize).max(5);
    (n_trees, max_iters)
}

fn leaf_size_for(k: usize) -> usize {
    (k + 5).max(30)
}

/// A kNN graph in the order NN-descent searched the rows in (the leaf order of
/// one random-projection tree).
pub(crate) struct Ordered {
    /// Row `r` holds the neighbours of row `order[r]`, as positions in `order`.
    pub(crate) graph: KnnGraph,
    /// The rows (their first numbers) in search order.
    pub(crate) order: Vec<u32>,
}

impl Ordered {
    /// The graph in the rows' first numbering.
    pub(crate) fn into_original(self) -> KnnGraph {
        let Ordered { graph: g, order } = self;
        let (n, k) = g.indices.dim();
        let mut inv = vec![0u32; n];
        for (new, &o) in order.iter().enumerate() {
            inv[o as usize] = new as u32;
        }
        let mut idx = vec![0u32; n * k];
        let mut dist = vec![0.0f32; n * k];
        idx.par_chunks_mut(k.max(1))
            .zip(dist.par_chunks_mut(k.max(1)))
            .enumerate()
            .for_each(|(i, (ix, dx))| {
                let r = inv[i] as usize;
                for (t, (o, d)) in ix.iter_mut().zip(dx.iter_mut()).enumerate() {
                    *o = order[g.indices[[r, t]] as usize];
                    *d = g.distances[[r, t]];
                }
            });
        KnnGraph {
            indices: ndarray::Array2::from_shape_vec((n, k), idx)
                .expect("n × k neighbour indices by construction"),
            distances: ndarray::Array2::from_shape_vec((n, k), dist)
                .expect("n × k neighbour distances by construction"),
        }
    }
}

/// NN-descent with RP-tree initialisation. Requires `space.n() > k`. Stops when an
/// iteration improves fewer than `delta * n * k` neighbour entries.
///
/// The rows are first permuted into the leaf order of one random-projection tree, so that
/// neighbours lie closer together in memory (large inputs do not fit in cache: at 703k
/// rows, 17 % of the final neighbours lie within 4,096 rows of each other, against 1 % in
/// a random order); the rows in their first order are dropped once permuted. The graph
/// comes back in that order ([`Ordered::into_original`] renumbers it).
pub(crate) fn nn_descent<S: Space>(
    space: S,
    k: usize,
    seed: u64,
    delta: f64,
    progress: &dyn Progress,
) -> Result<Ordered, UmapError> {
    let n = space.n();
    // The first report comes before the trees (seconds at scale), so bars show at once.
    let (n_trees, max_iters) = steps(n);
    report(progress, "umap:knn", 0, n_trees + max_iters)?;
    let (order, _) = rp_tree(&space, mix(&[seed, 0x6f72_6465]), leaf_size_for(k));
    let permuted = space.permuted(&order);
    drop(space);
    let graph = nn_descent_permuted(&permuted, k, seed, delta, progress)?;
    drop(permuted);
    Ok(Ordered { graph, order })
}

fn nn_descent_permuted<S: Space>(
    space: &S,
    k: usize,
    seed: u64,
    delta: f64,
    progress: &dyn Progress,
) -> Result<KnnGraph, UmapError> {
    let n = space.n();
    let bucket_rows = n.div_ceil(BUCKETS).max(1);
    let mut heaps = Heaps {
        k,
        idx: vec![u32::MAX; n * k],
        dist: vec![f32::INFINITY; n * k],
        flag: vec![false; n * k],
        worst: vec![f32::INFINITY; n],
    };
    let (n_trees, max_iters) = steps(n);
    let leaf_size = leaf_size_for(k);
    let total_steps = n_trees + max_iters;
    let nb = n.div_ceil(bucket_rows);

    // Random-projection forest.
    let trees: Vec<Tree> = (0..n_trees)
        .into_par_iter()
        .map(|t| rp_tree(space, mix(&[seed, 0x7472_6565, t as u64]), leaf_size))
        .collect();
    for (t, (order, leaves)) in trees.iter().enumerate() {
        // A round of leaves at a time keeps the pending updates small.
        for round in leaves.chunks(ROUND_LEAVES) {
            let known = Known::of(&heaps);
            let lists: Vec<Vec<Vec<Update>>> = round
                .par_chunks(64)
                .map(|ls| {
                    let mut out: Vec<Vec<Update>> = vec![Vec::new(); nb];
                    for (l, &(lo, hi)) in ls.iter().enumerate() {
                        // The next leaf's rows load while this one's are joined
                        // (a tree's leaves lie anywhere in memory but the first's).
                        if let Some(&(nlo, nhi)) = ls.get(l + 1) {
                            for &q in &order[nlo..nhi] {
                                space.prefetch(q);
                                known.prefetch(q);
                            }
                        }
                        let leaf = &order[lo..hi];
                        for a in 0..leaf.len() {
                            for b in a + 1..leaf.len() {
                                let (i, j) = (leaf[a], leaf[b]);
                                let d = space.dist(i, j);
                                push_pair(&mut out, known, bucket_rows, i, j, d);
                            }
                        }
                    }
                    out
                })
                .collect();
            apply(&mut heaps, &lists, bucket_rows);
        }
        report(progress, "umap:knn", t + 1, total_steps)?;
    }

    // NN-descent iterations.
    let max_cand = k.min(60);
    let mut new_idx = vec![0u32; n * max_cand];
    let mut new_pri = vec![0u32; n * max_cand];
    let mut new_cnt = vec![0u32; n];
    let mut old_idx = vec![0u32; n * max_cand];
    let mut old_pri = vec![0u32; n * max_cand];
    let mut old_cnt = vec![0u32; n];
    for it in 0..max_iters {
        // Rows that will have new candidates: only they are joined, so only they
        // need their old candidates (late iterations have few).
        let mut joined = vec![false; n];
        for (e, (&f, &j)) in heaps.flag.iter().zip(&heaps.idx).enumerate() {
            if f && j != u32::MAX {
                joined[e / k] = true;
                joined[j as usize] = true;
            }
        }
        // Build candidate lists: each part of the rows scans all edges, keeping those that touch
        // it; every row sees its pushes in the same global order whatever the partition.
        {
            let heaps_ref = &heaps;
            let joined = &joined;
            let parts = rayon::current_num_threads().clamp(1, 16);
            let part_rows = n.div_ceil(parts).max(1);
            new_idx
                .par_chunks_mut(part_rows * max_cand)
                .zip(new_pri.par_chunks_mut(part_rows * max_cand))
                .zip(new_cnt.par_chunks_mut(part_rows))
                .zip(old_idx.par_chunks_mut(part_rows * max_cand))
                .zip(old_pri.par_chunks_mut(part_rows * max_cand))
                .zip(old_cnt.par_chunks_mut(part_rows))
                .enumerate()
                .for_each(|(b, (((((ni, np), nc), oi), op), oc))| {
                    let lo = b * part_rows;
                    let hi = lo + nc.len();
                    nc.iter_mut().for_each(|c| *c = 0);
                    oc.iter_mut().for_each(|c| *c = 0);
                    let mc = max_cand;
                    let it_seed = mix(&[seed, it as u64]);
                    for i in 0..n {
                        let i_in = (lo..hi).contains(&i);
                        for s in 0..k {
                            let e = i * k + s;
                            // The list a few entries ahead pushes into starts loading
                            // (its row lies anywhere in this part).
                            if let Some(&ja) = heaps_ref.idx.get(e + PREFETCH_AHEAD) {
                                let ja = ja as usize;
                                let fresh = heaps_ref.flag[e + PREFETCH_AHEAD];
                                if (lo..hi).contains(&ja) && (fresh || joined[ja]) {
                                    let r = ja - lo;
                                    let (ci, cp, cc) = if fresh {
                                        (&*ni, &*np, &*nc)
                                    } else {
                                        (&*oi, &*op, &*oc)
                                    };
                                    prefetch_bytes(&ci[r * mc..(r + 1) * mc]);
                                    prefetch_bytes(&cp[r * mc..(r + 1) * mc]);
                                    prefetch_bytes(&cc[r..=r]);
                                }
                            }
                            let j = heaps_ref.idx[e];
                            if j == u32::MAX {
                                continue;
                            }
                            let ju = j as usize;
                            let isnew = heaps_ref.flag[e];
                            let i_in = i_in && (isnew || joined[i]);
                            let j_in = (lo..hi).contains(&ju) && (isnew || joined[ju]);
                            if !i_in && !j_in {
                                continue;
                            }
                            let pr = cheap_hash(it_seed, i as u32, j);
                            let (ci, cp, cc) = if isnew {
                                (&mut *ni, &mut *np, &mut *nc)
                            } else {
                                (&mut *oi, &mut *op, &mut *oc)
                            };
                            if i_in {
                                let r = i - lo;
                                cand_push(
                                    &mut ci[r * mc..(r + 1) * mc],
                                    &mut cp[r * mc..(r + 1) * mc],
                                    &mut cc[r],
                                    j,
                                    pr,
                                );
                            }
                            if j_in {
                                let r = ju - lo;
                                cand_push(
                                    &mut ci[r * mc..(r + 1) * mc],
                                    &mut cp[r * mc..(r + 1) * mc],
                                    &mut cc[r],
                                    i as u32,
                                    pr,
                                );
                            }
                        }
                    }
                });
        }
        // Sampled new neighbours become old.
        heaps
            .flag
            .par_chunks_mut(k)
            .zip(heaps.idx.par_chunks(k))
            .enumerate()
            .for_each(|(i, (fl, ix))| {
                let cands = &new_idx[i * max_cand..i * max_cand + new_cnt[i] as usize];
                for (f, j) in fl.iter_mut().zip(ix) {
                    if *f && cands.contains(j) {
                        *f = false;
                    }
                }
            });
        // Local joins, in rounds so thresholds stay fresh and memory bounded.
        let mut pushes = 0usize;
        let round = 8192usize;
        let mut r0 = 0;
        while r0 < n {
            let r1 = (r0 + round).min(n);
            let known = Known::of(&heaps);
            let nodes: Vec<usize> = (r0..r1).collect();
            let lists: Vec<Vec<Vec<Update>>> = nodes
                .par_chunks(GEN_CHUNK)
                .map(|ch| {
                    let mut out: Vec<Vec<Update>> = vec![Vec::new(); nb];
                    let cands = |i: usize| {
                        (
                            &new_idx[i * max_cand..i * max_cand + new_cnt[i] as usize],
                            &old_idx[i * max_cand..i * max_cand + old_cnt[i] as usize],
                        )
                    };
                    for (c, &i) in ch.iter().enumerate() {
                        let (nw, od) = cands(i);
                        // The next node's rows load while this one's are joined.
                        if let Some(&next) = ch.get(c + 1) {
                            let (nw_next, od_next) = cands(next);
                            for &q in nw_next.iter().chain(od_next) {
                                space.prefetch(q);
                                known.prefetch(q);
                            }
                        }
                        for (a, &pi) in nw.iter().enumerate() {
                            for &q in nw[a + 1..].iter().chain(od.iter()) {
                                if pi == q {
                                    continue;
                                }
                                let d = space.dist(pi, q);
                                push_pair(&mut out, known, bucket_rows, pi, q, d);
                            }
                        }
                    }
                    out
                })
                .collect();
            pushes += apply(&mut heaps, &lists, bucket_rows);
            r0 = r1;
        }
        report(progress, "umap:knn", n_trees + it + 1, total_steps)?;
        if (pushes as f64) <= delta * (n * k) as f64 {
            break;
        }
    }
    report(progress, "umap:knn", total_steps, total_steps)?;

    drop((new_idx, new_pri, new_cnt, old_idx, old_pri, old_cnt));

    // Sort each heap; fill any incomplete row by brute force.
    let mut idx = vec![0u32; n * k];
    let mut dist = vec![0.0f32; n * k];
    idx.par_chunks_mut(k)
        .zip(dist.par_chunks_mut(k))
        .enumerate()
        .for_each(|(i, (oi, od))| {
            let hi = &heaps.idx[i * k..(i + 1) * k];
            let hd = &heaps.dist[i * k..(i + 1) * k];
            let mut pairs: Vec<(f32, u32)> = hd.iter().copied().zip(hi.iter().copied()).collect();
            if hi.contains(&u32::MAX) {
                pairs = (0..n as u32)
                    .filter(|&j| j as usize != i)
                    .map(|j| (space.dist(i as u32, j), j))
                    .collect();
            }
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (t, (d, j)) in pairs.into_iter().take(k).enumerate() {
                oi[t] = j;
                od[t] = space.finish(d);
            }
        });
    Ok(KnnGraph {
        indices: ndarray::Array2::from_shape_vec((n, k), idx)
            .expect("n × k neighbour indices by construction"),
        distances: ndarray::Array2::from_shape_vec((n, k), dist)
            .expect("n × k neighbour distances by construction"),
    })
}
