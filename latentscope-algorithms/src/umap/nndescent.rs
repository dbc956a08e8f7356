//! Approximate kNN by NN-descent (Dong et al. 2011, as in pynndescent), initialised by random-projection trees.
//!
//! Updates are generated in fixed-size node chunks and applied bucket by bucket in a fixed order,
//! so the result does not depend on the number of threads.

use rayon::prelude::*;

use super::error::UmapError;
use super::knn::{KnnGraph, report};
use super::pages::huge_vec;
use super::rng::{Rng, mix};
use super::space::{Space, prefetch_bytes};
use crate::progress::Progress;

const GEN_CHUNK: usize = 128;
const BUCKETS: usize = 32;
/// Leaves joined before their updates are applied (about 120k rows' worth).
const ROUND_LEAVES: usize = 4096;
/// Leaves joined by one task.
const LEAF_CHUNK: usize = 64;
/// Rows whose candidates are joined before their updates are applied.
const JOIN_ROUND_ROWS: usize = 8192;

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

/// The update lists of each task of a round, bucketed by target row, kept
/// from round to round: each round reuses the memory of the last, where fresh
/// lists cost the kernel gigabytes of page clearing at scale.
struct Pending {
    buckets: usize,
    lists: Vec<Vec<Vec<Update>>>,
}

impl Pending {
    fn new(tasks: usize, buckets: usize) -> Self {
        Self {
            buckets,
            lists: vec![vec![Vec::new(); buckets]; tasks],
        }
    }

    /// The lists of a round's first `tasks` tasks, one per task, added if
    /// missing: the joins pair tasks with lists by `zip`, which would drop
    /// the updates of tasks without one.
    fn for_tasks(&mut self, tasks: usize) -> &mut [Vec<Vec<Update>>] {
        if self.lists.len() < tasks {
            self.lists.resize(tasks, vec![Vec::new(); self.buckets]);
        }
        &mut self.lists[..tasks]
    }

    /// Empties every list, keeping its memory.
    fn clear(&mut self) {
        self.lists.iter_mut().flatten().for_each(Vec::clear);
    }
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
    let mut margins = [0.0f32; PREFETCH_AHEAD];
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
        for (b, block) in rows.chunks(PREFETCH_AHEAD).enumerate() {
            // Rows lie in memory in any order here: the next block's load
            // while this one's margins are taken.
            let next = (b + 1) * PREFETCH_AHEAD;
            for &ahead in rows.get(next..).unwrap_or(&[]).iter().take(PREFETCH_AHEAD) {
                space.prefetch(ahead);
            }
            let ms = &mut margins[..block.len()];
            space.margins(&plane, block, ms);
            for &m in ms.iter() {
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
#[inline(always)]
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

/// A candidate's place in a list: its priority, then the candidate itself
/// (so that no two candidates tie).
#[inline]
fn cand_key(pri: u32, cand: u32) -> u64 {
    (u64::from(pri) << 32) | u64::from(cand)
}

/// A candidate's priority in an iteration: a hash of the unordered pair, so
/// that both directions of an edge give it the same one.
#[inline]
fn pair_priority(it_seed: u64, a: u32, b: u32) -> u32 {
    cheap_hash(it_seed, a.min(b), a.max(b))
}

/// Candidate lists with random priorities: keeps the `c` distinct candidates
/// of lowest key (`key`, [`cand_key`] of the candidate's [`pair_priority`]
/// with the list's row). Which candidates a list ends with does not depend on
/// the order they were pushed in. The keys are computed again when compared,
/// not stored: a hash costs less than the memory (140 MB at 703k rows).
#[inline]
fn cand_push(idx: &mut [u32], cnt: &mut u32, j: u32, key: impl Fn(u32) -> u64) {
    let c = idx.len();
    let m = *cnt as usize;
    if idx[..m].contains(&j) {
        return;
    }
    let kj = key(j);
    if m < c {
        // sift up in a max-heap on the key
        let mut pos = m;
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if key(idx[parent]) >= kj {
                break;
            }
            idx[pos] = idx[parent];
            pos = parent;
        }
        idx[pos] = j;
        *cnt += 1;
        return;
    }
    if kj >= key(idx[0]) {
        return;
    }
    let mut pos = 0;
    loop {
        let l = 2 * pos + 1;
        if l >= c {
            break;
        }
        let r = l + 1;
        let (kl, kr) = (key(idx[l]), if r < c { key(idx[r]) } else { 0 });
        let (ch, kc) = if r < c && kr > kl { (r, kr) } else { (l, kl) };
        if kc <= kj {
            break;
        }
        idx[pos] = idx[ch];
        pos = ch;
    }
    idx[pos] = j;
}

/// Each row's candidate lists of `c` entries (the first `cnt[r]` of row `r`'s
/// in use).
struct Lists {
    c: usize,
    idx: Vec<u32>,
    cnt: Vec<u32>,
}

impl Lists {
    fn new(n: usize, c: usize) -> Self {
        Lists {
            c,
            idx: huge_vec(n * c, 0u32),
            cnt: huge_vec(n, 0u32),
        }
    }

    /// Row `i`'s candidates.
    fn of(&self, i: usize) -> &[u32] {
        &self.idx[i * self.c..i * self.c + self.cnt[i] as usize]
    }
}

/// The rows `lo..lo + cnt.len()` of a new and an old [`Lists`], which one
/// task fills.
struct PartLists<'a> {
    lo: usize,
    c: usize,
    /// The iteration's seed of the candidates' priorities.
    it_seed: u64,
    idx: [&'a mut [u32]; 2],
    cnt: [&'a mut [u32]; 2],
}

impl PartLists<'_> {
    /// One past the last row.
    fn end(&self) -> usize {
        self.lo + self.cnt[0].len()
    }

    fn holds(&self, row: usize) -> bool {
        (self.lo..self.end()).contains(&row)
    }

    /// Pushes `cand` into row `row`'s new (`fresh`) or old list.
    #[inline]
    fn push(&mut self, row: usize, cand: u32, fresh: bool) {
        let (l, r, c) = (usize::from(!fresh), row - self.lo, self.c);
        let (it_seed, row) = (self.it_seed, row as u32);
        cand_push(
            &mut self.idx[l][r * c..(r + 1) * c],
            &mut self.cnt[l][r],
            cand,
            |q| cand_key(pair_priority(it_seed, row, q), q),
        );
    }

    /// Starts loading row `row`'s new (`fresh`) or old list.
    #[inline]
    fn prefetch(&self, row: usize, fresh: bool) {
        let (l, r, c) = (usize::from(!fresh), row - self.lo, self.c);
        prefetch_bytes(&self.idx[l][r * c..(r + 1) * c]);
        prefetch_bytes(&self.cnt[l][r..=r]);
    }
}

/// Source rows scanned per part before the pushes into other parts' rows are
/// applied (their queues stay a few MB).
const CAND_ROUND_ROWS: usize = 32_768;

/// Fills the candidate lists of an iteration: every heap entry `i → j`
/// offers `j` to `i` and `i` to `j`, into the new lists when the entry is new,
/// else into the old lists of rows that will be joined.
///
/// The rows are split into parts, one task each. A task scans its own rows'
/// entries: pushes into its own rows it makes at once, pushes into another
/// part's rows it queues, and that part's task makes them after the round.
/// The lists do not depend on this order ([`cand_push`]); each list is sorted
/// at the end, so the joins see them in one order whatever the number of
/// threads.
fn build_candidates(
    heaps: &Heaps,
    joined: &[bool],
    it_seed: u64,
    new: &mut Lists,
    old: &mut Lists,
) {
    let (n, k, c) = (joined.len(), heaps.k, new.c);
    let parts = rayon::current_num_threads().clamp(1, 16);
    let part_rows = n.div_ceil(parts).max(1);
    new.cnt.iter_mut().for_each(|x| *x = 0);
    old.cnt.iter_mut().for_each(|x| *x = 0);
    let mut lists: Vec<PartLists<'_>> = new
        .idx
        .chunks_mut(part_rows * c)
        .zip(new.cnt.chunks_mut(part_rows))
        .zip(old.idx.chunks_mut(part_rows * c))
        .zip(old.cnt.chunks_mut(part_rows))
        .enumerate()
        .map(|(p, (((ni, nc), oi), oc))| PartLists {
            lo: p * part_rows,
            c,
            it_seed,
            idx: [ni, oi],
            cnt: [nc, oc],
        })
        .collect();
    let n_parts = lists.len();
    let part_of = |row: usize| row / part_rows;
    // (target row, candidate, new) pushes for each other part.
    type Queues = Vec<Vec<(u32, u32, bool)>>;
    for r0 in (0..part_rows).step_by(CAND_ROUND_ROWS) {
        let queued: Vec<Queues> = lists
            .par_iter_mut()
            .map(|pl| {
                let mut out: Queues = vec![Vec::new(); n_parts];
                let hi = pl.end().min(pl.lo + r0 + CAND_ROUND_ROWS);
                let (e0, e1) = ((pl.lo + r0) * k, hi * k);
                for e in e0..e1 {
                    // The list an entry a few ahead pushes into starts loading.
                    if let Some(&ja) = heaps.idx[..e1].get(e + PREFETCH_AHEAD) {
                        let (ja, fresh) = (ja as usize, heaps.flag[e + PREFETCH_AHEAD]);
                        if pl.holds(ja) && (fresh || joined[ja]) {
                            pl.prefetch(ja, fresh);
                        }
                    }
                    let j = heaps.idx[e];
                    if j == u32::MAX {
                        continue;
                    }
                    let (i, ju) = (e / k, j as usize);
                    let fresh = heaps.flag[e];
                    let i_in = fresh || joined[i];
                    let j_in = fresh || joined[ju];
                    if !i_in && !j_in {
                        continue;
                    }
                    if i_in {
                        pl.push(i, j, fresh);
                    }
                    if j_in {
                        if pl.holds(ju) {
                            pl.push(ju, i as u32, fresh);
                        } else {
                            out[part_of(ju)].push((j, i as u32, fresh));
                        }
                    }
                }
                out
            })
            .collect();
        lists.par_iter_mut().enumerate().for_each(|(q, pl)| {
            for from in &queued {
                let ups = &from[q];
                for (t, &(row, cand, fresh)) in ups.iter().enumerate() {
                    if let Some(&(ahead, _, f)) = ups.get(t + PREFETCH_AHEAD) {
                        pl.prefetch(ahead as usize, f);
                    }
                    pl.push(row as usize, cand, fresh);
                }
            }
        });
    }
    // One order for the joins, whatever order the pushes came in.
    for l in [&mut *new, &mut *old] {
        let c = l.c;
        l.idx
            .par_chunks_mut(c)
            .zip(l.cnt.par_iter())
            .for_each(|(row, &m)| row[..m as usize].sort_unstable());
    }
}

/// How hard NN-descent searches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effort {
    /// Stop when an iteration improves fewer than this fraction of the n × k
    /// neighbour entries.
    pub(crate) stop: f64,
    /// At most this many random-projection trees start the search.
    pub(crate) max_trees: usize,
}

/// Random-projection trees (at most `max_trees`) and at most how many
/// NN-descent iterations for `n` rows.
fn steps(n: usize, max_trees: usize) -> (usize, usize) {
    let n_trees = (5 + ((n as f64).powf(0.25)).round() as usize).min(max_trees);
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
/// iteration improves fewer than `effort.stop * n * k` neighbour entries.
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
    effort: Effort,
    progress: &dyn Progress,
) -> Result<Ordered, UmapError> {
    let n = space.n();
    // The first report comes before the trees (seconds at scale), so bars show at once.
    let (n_trees, max_iters) = steps(n, effort.max_trees);
    report(progress, "umap:knn", 0, n_trees + max_iters)?;
    let (order, _) = rp_tree(&space, mix(&[seed, 0x6f72_6465]), leaf_size_for(k));
    let permuted = space.permuted(&order);
    drop(space);
    let graph = nn_descent_permuted(&permuted, k, seed, effort, progress)?;
    drop(permuted);
    Ok(Ordered { graph, order })
}

fn nn_descent_permuted<S: Space>(
    space: &S,
    k: usize,
    seed: u64,
    effort: Effort,
    progress: &dyn Progress,
) -> Result<KnnGraph, UmapError> {
    let n = space.n();
    let bucket_rows = n.div_ceil(BUCKETS).max(1);
    let mut heaps = Heaps {
        k,
        idx: huge_vec(n * k, u32::MAX),
        dist: huge_vec(n * k, f32::INFINITY),
        flag: huge_vec(n * k, false),
        worst: huge_vec(n, f32::INFINITY),
    };
    let (n_trees, max_iters) = steps(n, effort.max_trees);
    let leaf_size = leaf_size_for(k);
    let total_steps = n_trees + max_iters;
    let nb = n.div_ceil(bucket_rows);

    // Update lists of each chunk of a round, reused from round to round.
    let mut pending = Pending::new(
        ROUND_LEAVES
            .div_ceil(LEAF_CHUNK)
            .max(JOIN_ROUND_ROWS.div_ceil(GEN_CHUNK)),
        nb,
    );

    // Random-projection forest.
    let trees: Vec<Tree> = (0..n_trees)
        .into_par_iter()
        .map(|t| rp_tree(space, mix(&[seed, 0x7472_6565, t as u64]), leaf_size))
        .collect();
    for (t, (order, leaves)) in trees.iter().enumerate() {
        // A round of leaves at a time keeps the pending updates small.
        for round in leaves.chunks(ROUND_LEAVES) {
            let known = Known::of(&heaps);
            round
                .par_chunks(LEAF_CHUNK)
                .zip(
                    pending
                        .for_tasks(round.len().div_ceil(LEAF_CHUNK))
                        .par_iter_mut(),
                )
                .for_each(|(ls, out)| {
                    let mut ds: Vec<f32> = Vec::with_capacity(leaf_size);
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
                        for (a, &i) in leaf.iter().enumerate() {
                            let others = &leaf[a + 1..];
                            ds.resize(others.len(), 0.0);
                            space.dists_from(i, others, &mut ds);
                            for (&j, &d) in others.iter().zip(&ds) {
                                push_pair(out, known, bucket_rows, i, j, d);
                            }
                        }
                    }
                });
            apply(&mut heaps, &pending.lists, bucket_rows);
            pending.clear();
        }
        report(progress, "umap:knn", t + 1, total_steps)?;
    }

    // The trees (about 53 MB: 16 at 703k rows) are not needed past here: freed before
    // the candidate lists (as large as the heaps) are allocated.
    drop(trees);

    // NN-descent iterations.
    let max_cand = k.min(60);
    let mut new = Lists::new(n, max_cand);
    let mut old = Lists::new(n, max_cand);
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
        build_candidates(&heaps, &joined, mix(&[seed, it as u64]), &mut new, &mut old);
        // Sampled new neighbours become old.
        heaps
            .flag
            .par_chunks_mut(k)
            .zip(heaps.idx.par_chunks(k))
            .enumerate()
            .for_each(|(i, (fl, ix))| {
                let cands = new.of(i);
                for (f, j) in fl.iter_mut().zip(ix) {
                    if *f && cands.contains(j) {
                        *f = false;
                    }
                }
            });
        // Local joins, in rounds so thresholds stay fresh and memory bounded.
        let mut pushes = 0usize;
        let mut r0 = 0;
        while r0 < n {
            let r1 = (r0 + JOIN_ROUND_ROWS).min(n);
            let known = Known::of(&heaps);
            let nodes: Vec<usize> = (r0..r1).collect();
            nodes
                .par_chunks(GEN_CHUNK)
                .zip(
                    pending
                        .for_tasks(nodes.len().div_ceil(GEN_CHUNK))
                        .par_iter_mut(),
                )
                .for_each(|(ch, out)| {
                    let cands = |i: usize| (new.of(i), old.of(i));
                    // One row's pairs: the others, and the distances to them.
                    let mut others: Vec<u32> = Vec::with_capacity(2 * max_cand);
                    let mut ds: Vec<f32> = Vec::with_capacity(2 * max_cand);
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
                            others.clear();
                            others.extend(nw[a + 1..].iter().chain(od).filter(|&&q| q != pi));
                            ds.resize(others.len(), 0.0);
                            space.dists_from(pi, &others, &mut ds);
                            for (&q, &d) in others.iter().zip(&ds) {
                                push_pair(out, known, bucket_rows, pi, q, d);
                            }
                        }
                    }
                });
            pushes += apply(&mut heaps, &pending.lists, bucket_rows);
            pending.clear();
            r0 = r1;
        }
        report(progress, "umap:knn", n_trees + it + 1, total_steps)?;
        if (pushes as f64) <= effort.stop * (n * k) as f64 {
            break;
        }
    }
    report(progress, "umap:knn", total_steps, total_steps)?;

    drop((new, old, pending));

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
