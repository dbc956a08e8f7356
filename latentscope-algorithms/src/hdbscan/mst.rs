//! Exact minimum spanning tree of the mutual-reachability graph.
//!
//! Edges are compared by the total order of [`Edge::cmp_key`]; under a total
//! order the minimum spanning tree is unique, so Borůvka (KD-tree, low
//! dimension) and Prim (dense, high dimension) return the same tree for any
//! thread count.

use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{ArrayView2, s};
use rayon::prelude::*;

use super::kdtree::{KdTree, NO_CHILD, Neighbor, dist2};

/// One spanning-tree edge between original rows `a < b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Edge {
    /// Squared mutual-reachability distance.
    pub(crate) w2: f64,
    /// Smaller original row.
    pub(crate) a: u32,
    /// Larger original row.
    pub(crate) b: u32,
}

impl Edge {
    /// The edge between rows `r1` and `r2` with squared core distances `c1`,
    /// `c2` and squared Euclidean distance `d2`.
    #[inline]
    pub(crate) fn new(d2: f64, r1: u32, c1: f64, r2: u32, c2: f64) -> Self {
        let (a, b) = if r1 < r2 { (r1, r2) } else { (r2, r1) };
        Self {
            w2: c1.max(c2).max(d2),
            a,
            b,
        }
    }

    /// The tie rule: (mutual reachability, smaller row, larger row).
    #[inline]
    pub(crate) fn cmp_key(&self, o: &Edge) -> std::cmp::Ordering {
        self.w2
            .total_cmp(&o.w2)
            .then(self.a.cmp(&o.a))
            .then(self.b.cmp(&o.b))
    }

    /// Whether `self` precedes `o`.
    #[inline]
    pub(crate) fn key_less(&self, o: &Edge) -> bool {
        self.cmp_key(o) == std::cmp::Ordering::Less
    }

    /// `self` if it precedes `o`, else `o`.
    #[inline]
    fn min(self, o: Option<Edge>) -> Edge {
        match o {
            Some(o) if o.key_less(&self) => o,
            _ => self,
        }
    }
}

fn min_opt(a: Option<Edge>, b: Option<Edge>) -> Option<Edge> {
    match (a, b) {
        (Some(x), y) => Some(x.min(y)),
        (None, y) => y,
    }
}

/// Union-find over positions.
struct Dsu {
    parent: Vec<u32>,
}

impl Dsu {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
        }
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
    /// Joins the sets; the smaller root becomes the representative.
    fn union(&mut self, x: u32, y: u32) -> bool {
        let (rx, ry) = (self.find(x), self.find(y));
        if rx == ry {
            return false;
        }
        let (lo, hi) = if rx < ry { (rx, ry) } else { (ry, rx) };
        self.parent[hi as usize] = lo;
        true
    }
}

const NONE: u32 = u32::MAX;

/// Borůvka over the KD-tree. `core2` holds squared core distances by tree
/// position, `knn` the `k` nearest neighbours of each position (self
/// included, ordered by (distance, row)). `on_round` is told the number of
/// components after each round and may stop the run by returning `false`.
pub(crate) fn boruvka(
    tree: &KdTree,
    core2: &[f64],
    knn: &[Neighbor],
    k: usize,
    mut on_round: impl FnMut(usize) -> bool,
) -> Option<Vec<Edge>> {
    let n = tree.len();
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    let mut dsu = Dsu::new(n);
    let mut comp: Vec<u32> = (0..n as u32).collect();
    let mut node_comp = vec![NONE; tree.nodes.len()];
    // Minimum core distance below each node (pre-order: children after parent).
    let mut min_core = vec![f64::INFINITY; tree.nodes.len()];
    for id in (0..tree.nodes.len()).rev() {
        let nd = tree.nodes[id];
        min_core[id] = if nd.left == NO_CHILD {
            core2[nd.start as usize..nd.end as usize]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
        } else {
            min_core[nd.left as usize].min(min_core[nd.right as usize])
        };
    }
    let bound: Vec<AtomicU64> = (0..n)
        .map(|_| AtomicU64::new(f64::INFINITY.to_bits()))
        .collect();
    let mut partner = vec![NONE; n];
    let mut lower = vec![0.0f64; n];
    let mut leaves: Vec<usize> = (0..tree.nodes.len())
        .filter(|&id| tree.nodes[id].left == NO_CHILD)
        .collect();
    leaves.sort_unstable_by_key(|&id| tree.nodes[id].start);
    let mut leaf_of = vec![0u32; n];
    for &leaf in &leaves {
        let nd = tree.nodes[leaf];
        leaf_of[nd.start as usize..nd.end as usize].fill(leaf as u32);
    }
    let mut n_comp = n;
    while n_comp > 1 {
        // Component label of every node (NONE when mixed).
        for id in (0..tree.nodes.len()).rev() {
            let nd = tree.nodes[id];
            node_comp[id] = if nd.left == NO_CHILD {
                let c = comp[nd.start as usize];
                if comp[nd.start as usize..nd.end as usize]
                    .iter()
                    .all(|&x| x == c)
                {
                    c
                } else {
                    NONE
                }
            } else {
                let (l, r) = (node_comp[nd.left as usize], node_comp[nd.right as usize]);
                if l == r { l } else { NONE }
            };
        }
        bound
            .par_iter()
            .for_each(|b| b.store(f64::INFINITY.to_bits(), Ordering::Relaxed));
        let search = Search {
            tree,
            core2,
            comp: &comp,
            node_comp: &node_comp,
            min_core: &min_core,
            bound: &bound,
            leaf_of: &leaf_of,
        };
        // Two passes: points whose previous partner is still in another
        // component first (they start with a tight bound and so tighten
        // their component's shared bound quickly), then the rest. The
        // bounds only prune candidates that cannot win, so the result does
        // not depend on the order or the thread count.
        let has_partner = |pos: usize| {
            (partner[pos] != NONE && comp[partner[pos] as usize] != comp[pos])
                || knn[pos * k..(pos + 1) * k]
                    .iter()
                    .any(|nb| comp[nb.pos as usize] != comp[pos])
        };
        let mut best: Vec<Option<(u32, Edge)>> = vec![None; n];
        best.par_iter_mut()
            .zip(lower.par_iter_mut())
            .enumerate()
            .with_min_len(256)
            .filter(|(pos, _)| has_partner(*pos))
            .for_each(|(pos, (slot, lb))| {
                let init = if partner[pos] != NONE && comp[partner[pos] as usize] != comp[pos] {
                    partner[pos]
                } else {
                    NONE
                };
                *slot = search.point(pos, &knn[pos * k..(pos + 1) * k], init, lb);
            });
        // Second pass, leaf by leaf: a leaf inside one component whose
        // points cannot reach another component below the shared bound is
        // skipped as a whole.
        type Slices<'s> = Vec<(usize, &'s mut [Option<(u32, Edge)>], &'s mut [f64])>;
        let mut slices: Slices<'_> = Vec::with_capacity(leaves.len());
        let mut rest: &mut [Option<(u32, Edge)>] = &mut best;
        let mut rest_lb: &mut [f64] = &mut lower;
        for &leaf in &leaves {
            let nd = tree.nodes[leaf];
            let len = (nd.end - nd.start) as usize;
            let (head, tail) = rest.split_at_mut(len);
            let (head_lb, tail_lb) = rest_lb.split_at_mut(len);
            slices.push((leaf, head, head_lb));
            rest = tail;
            rest_lb = tail_lb;
        }
        slices.into_par_iter().for_each(|(leaf, out, lbs)| {
            let c = node_comp[leaf];
            if c != NONE && !search.leaf_may_connect(leaf, c) {
                return;
            }
            let start = tree.nodes[leaf].start as usize;
            for (j, (slot, lb)) in out.iter_mut().zip(lbs.iter_mut()).enumerate() {
                let pos = start + j;
                if !has_partner(pos) {
                    *slot = search.point(pos, &knn[pos * k..(pos + 1) * k], NONE, lb);
                }
            }
        });
        for (pos, b) in best.iter().enumerate() {
            if let Some((other, _)) = *b {
                partner[pos] = other;
            }
        }
        // Per-component minimum.
        let mut comp_best: Vec<Option<(u32, u32, Edge)>> = vec![None; n];
        for (pos, b) in best.iter().enumerate() {
            if let Some((other, e)) = *b {
                let c = comp[pos] as usize;
                match comp_best[c] {
                    Some((_, _, cur)) if !e.key_less(&cur) => {}
                    _ => comp_best[c] = Some((pos as u32, other, e)),
                }
            }
        }
        let mut added = 0;
        for (p, q, e) in comp_best.into_iter().flatten() {
            if dsu.union(p, q) {
                edges.push(e);
                added += 1;
            }
        }
        if added == 0 {
            break;
        }
        n_comp -= added;
        for (pos, c) in comp.iter_mut().enumerate() {
            *c = dsu.find(pos as u32);
        }
        if !on_round(n_comp) {
            return None;
        }
    }
    Some(edges)
}

struct Search<'a> {
    tree: &'a KdTree,
    core2: &'a [f64],
    comp: &'a [u32],
    node_comp: &'a [u32],
    min_core: &'a [f64],
    bound: &'a [AtomicU64],
    leaf_of: &'a [u32],
}

impl Search<'_> {
    /// Best edge from `pos` to another component, with the other position.
    /// `lb` is a lower bound on that edge's weight; it is raised to what this
    /// search proves (a point's best edge only gets heavier as components
    /// merge, so the bound stays valid in later rounds).
    fn point(&self, pos: usize, knn: &[Neighbor], init: u32, lb: &mut f64) -> Option<(u32, Edge)> {
        let c = self.comp[pos];
        let core_q = self.core2[pos];
        let bound = &self.bound[c as usize];
        // Every other-component point lies beyond the last listed neighbour
        // when the whole list is in this component.
        let last = knn[knn.len() - 1].d2;
        if knn.iter().all(|nb| self.comp[nb.pos as usize] == c) {
            *lb = lb.max(last);
        }
        *lb = lb.max(core_q);
        if *lb > f64::from_bits(bound.load(Ordering::Relaxed)) {
            return None;
        }
        let row = self.tree.index[pos];
        let mut best: Option<(u32, Edge)> = None;
        if init != NONE {
            let p = init as usize;
            let d2 = dist2(self.tree.point(pos), self.tree.point(p));
            let e = Edge::new(d2, row, core_q, self.tree.index[p], self.core2[p]);
            best = Some((init, e));
            bound.fetch_min(e.w2.to_bits(), Ordering::Relaxed);
        }
        for nb in knn {
            if self.comp[nb.pos as usize] == c {
                continue;
            }
            let e = Edge::new(nb.d2, row, core_q, nb.row, self.core2[nb.pos as usize]);
            if best.is_none_or(|(_, b)| e.key_less(&b)) {
                best = Some((nb.pos, e));
            }
        }
        // Points outside the list are at least as far as its last entry; if
        // that is beyond core(q) (or the list holds every point), nothing
        // outside can reach weight core(q), the smallest possible weight, so
        // a listed candidate of weight core(q) is exact.
        let complete = knn.len() == self.tree.len();
        let done = match best {
            Some((_, b)) => complete || (b.w2 <= core_q && last > core_q),
            None => complete,
        };
        if done {
            if let Some((_, e)) = best {
                *lb = lb.max(e.w2);
            }
        } else {
            let q = self.tree.point(pos);
            self.climb(pos, q, core_q, row, c, &mut best);
            // Everything lighter than the final limit was examined.
            *lb = lb.max(self.limit(c, &best));
        }
        if let Some((_, e)) = best {
            bound.fetch_min(e.w2.to_bits(), Ordering::Relaxed);
        }
        best
    }

    /// Exact search for `pos`'s best other-component edge: its own leaf
    /// first, then the sibling subtrees of its ancestors, stopping once the
    /// ball of the current limit lies strictly inside an ancestor's box.
    fn climb(
        &self,
        pos: usize,
        q: &[f64],
        core_q: f64,
        row: u32,
        c: u32,
        best: &mut Option<(u32, Edge)>,
    ) {
        let leaf = self.leaf_of[pos] as usize;
        if self.node_comp[leaf] != c {
            self.descend(leaf, q, core_q, row, c, best);
        }
        let mut x = leaf;
        while x != 0 {
            let p = self.tree.parent[x] as usize;
            let nd = self.tree.nodes[p];
            let sib = if nd.left as usize == x {
                nd.right
            } else {
                nd.left
            } as usize;
            if self.node_comp[sib] != c {
                let lb = self
                    .tree
                    .box_dist2(sib, q)
                    .max(self.min_core[sib])
                    .max(core_q);
                if lb <= self.limit(c, best) {
                    self.descend(sib, q, core_q, row, c, best);
                }
            }
            let limit = self.limit(c, best);
            if limit.is_finite() && self.tree.ball_inside(p, q, limit) {
                break;
            }
            x = p;
        }
    }

    fn descend(
        &self,
        node: usize,
        q: &[f64],
        core_q: f64,
        row: u32,
        c: u32,
        best: &mut Option<(u32, Edge)>,
    ) {
        let nd = self.tree.nodes[node];
        if nd.left == NO_CHILD {
            let limit = self.limit(c, best);
            for p in nd.start as usize..nd.end as usize {
                if self.comp[p] == c {
                    continue;
                }
                let cp = self.core2[p];
                if cp > limit {
                    continue;
                }
                let d2 = dist2(q, self.tree.point(p));
                let w2 = core_q.max(cp).max(d2);
                if w2 > limit {
                    continue;
                }
                let e = Edge::new(d2, row, core_q, self.tree.index[p], cp);
                if best.is_none_or(|(_, b)| e.key_less(&b)) {
                    *best = Some((p as u32, e));
                }
            }
            return;
        }
        let (l, r) = (nd.left as usize, nd.right as usize);
        let lb = |id: usize| -> f64 {
            if self.node_comp[id] == c {
                f64::INFINITY
            } else {
                self.tree
                    .box_dist2(id, q)
                    .max(self.min_core[id])
                    .max(core_q)
            }
        };
        let (bl, br) = (lb(l), lb(r));
        let (first, bf, second, bs) = if bl <= br {
            (l, bl, r, br)
        } else {
            (r, br, l, bl)
        };
        if bf.is_finite() && bf <= self.limit(c, best) {
            self.descend(first, q, core_q, row, c, best);
        }
        if bs.is_finite() && bs <= self.limit(c, best) {
            self.descend(second, q, core_q, row, c, best);
        }
    }

    /// Whether any point of `leaf` (all in component `c`) might have an edge
    /// to another component no heavier than the component's shared bound.
    fn leaf_may_connect(&self, leaf: usize, c: u32) -> bool {
        let limit = f64::from_bits(self.bound[c as usize].load(Ordering::Relaxed));
        let mc = self.min_core[leaf];
        mc <= limit && self.reaches(0, leaf, c, mc, limit)
    }

    fn reaches(&self, node: usize, leaf: usize, c: u32, mc: f64, limit: f64) -> bool {
        if self.node_comp[node] == c {
            return false;
        }
        let lb = self
            .tree
            .box_box_dist2(node, leaf)
            .max(self.min_core[node])
            .max(mc);
        if lb > limit {
            return false;
        }
        let nd = self.tree.nodes[node];
        if nd.left == NO_CHILD {
            return true;
        }
        self.reaches(nd.left as usize, leaf, c, mc, limit)
            || self.reaches(nd.right as usize, leaf, c, mc, limit)
    }

    /// Largest weight that could still improve this point's result.
    #[inline]
    fn limit(&self, c: u32, best: &Option<(u32, Edge)>) -> f64 {
        let shared = f64::from_bits(self.bound[c as usize].load(Ordering::Relaxed));
        match best {
            Some((_, b)) => b.w2.min(shared),
            None => shared,
        }
    }
}

/// Squared Euclidean distance of `f32` rows for the high-dimensional path,
/// summed in `f32` over eight independent lanes (so it vectorises) and
/// returned as `f64`. Deterministic: the summation order is fixed.
#[inline]
pub(crate) fn dist2_f32(a: &[f32], b: &[f32]) -> f64 {
    let mut lo = [0.0f32; 4];
    let mut hi = [0.0f32; 4];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        let (x, y): (&[f32; 8], &[f32; 8]) = match (x.try_into(), y.try_into()) {
            (Ok(x), Ok(y)) => (x, y),
            _ => continue,
        };
        for i in 0..4 {
            let d = x[i] - y[i];
            lo[i] += d * d;
        }
        for i in 0..4 {
            let d = x[i + 4] - y[i + 4];
            hi[i] += d * d;
        }
    }
    let mut s = ((lo[0] + hi[0]) + (lo[2] + hi[2])) + ((lo[1] + hi[1]) + (lo[3] + hi[3]));
    for (x, y) in ra.iter().zip(rb) {
        let d = x - y;
        s += d * d;
    }
    f64::from(s)
}

/// Squared core distances by brute force (the `k`-th smallest squared
/// distance, self included) for high-dimensional data `x` (`n x d`, `f64`).
/// Distances come from blocked matrix products,
/// `|a - b|^2 = |a|^2 + |b|^2 - 2 a.b`, which `ndarray` runs through its
/// SIMD GEMM; blocks of rows run in parallel.
pub(crate) fn brute_core_distances(x: ArrayView2<'_, f64>, k: usize) -> Vec<f64> {
    let n = x.nrows();
    let norms: Vec<f64> = x.rows().into_iter().map(|r| r.dot(&r)).collect();
    // About 32 MiB of products per block.
    let block = (4_194_304 / n.max(1)).clamp(8, 256);
    let starts: Vec<usize> = (0..n).step_by(block).collect();
    let parts: Vec<Vec<f64>> = starts
        .par_iter()
        .map(|&start| {
            let end = (start + block).min(n);
            let g = x.slice(s![start..end, ..]).dot(&x.t());
            let mut buf = vec![0.0f64; n];
            let mut out = Vec::with_capacity(end - start);
            for (i, row) in g.rows().into_iter().enumerate() {
                let q = start + i;
                for ((slot, &dot), &nj) in buf.iter_mut().zip(row.iter()).zip(&norms) {
                    *slot = (norms[q] + nj - 2.0 * dot).max(0.0);
                }
                buf[q] = 0.0;
                let (_, kth, _) = buf.select_nth_unstable_by(k - 1, f64::total_cmp);
                out.push(*kth);
            }
            out
        })
        .collect();
    parts.concat()
}

/// Dense Prim for high-dimensional data: `O(n^2 d)` time, `O(n)` memory.
/// `data` is row-major `n * dim`, `core2` by original row.
pub(crate) fn prim(
    data: &[f32],
    n: usize,
    dim: usize,
    core2: &[f64],
    mut on_step: impl FnMut(usize) -> bool,
) -> Option<Vec<Edge>> {
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    // Remaining rows and their best edge into the tree so far.
    let mut rest: Vec<(u32, Option<Edge>)> = (1..n as u32).map(|r| (r, None)).collect();
    let mut current = 0u32;
    while !rest.is_empty() {
        let cur = current as usize;
        let q = &data[cur * dim..(cur + 1) * dim];
        let cq = core2[cur];
        let best = rest
            .par_chunks_mut(256)
            .map(|chunk| {
                let mut local: Option<Edge> = None;
                for (r, slot) in chunk.iter_mut() {
                    let ru = *r as usize;
                    // Any new edge weighs at least max(core(cur), core(r)).
                    let floor = cq.max(core2[ru]);
                    let e = match *slot {
                        Some(old) if old.w2 < floor => old,
                        _ => {
                            let d2 = dist2_f32(q, &data[ru * dim..(ru + 1) * dim]);
                            Edge::new(d2, current, cq, *r, core2[ru]).min(*slot)
                        }
                    };
                    *slot = Some(e);
                    if local.is_none_or(|b| e.key_less(&b)) {
                        local = Some(e);
                    }
                }
                local
            })
            .reduce(|| None, min_opt);
        let Some(e) = best else { break };
        edges.push(e);
        let Some(i) = rest.iter().position(|(r, _)| *r == e.a || *r == e.b) else {
            break;
        };
        current = rest[i].0;
        rest.swap_remove(i);
        if !on_step(edges.len()) {
            return None;
        }
    }
    Some(edges)
}
