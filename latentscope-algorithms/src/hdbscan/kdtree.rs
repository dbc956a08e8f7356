//! A static KD-tree over `f64` points, used for exact k-nearest-neighbour
//! core distances and for the nearest-other-component searches of Borůvka.
//!
//! Points are stored in tree order ("positions"); `index[pos]` maps a
//! position back to the caller's row. All ties between equal distances are
//! broken by the original row index, so every query result is a pure
//! function of the input.

use rayon::prelude::*;

/// Points per leaf.
const LEAF_SIZE: usize = 16;

/// Marks a leaf in [`Node::left`] (the root is never a child).
pub(crate) const NO_CHILD: u32 = 0;

/// One tree node covering positions `start..end`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) left: u32,
    pub(crate) right: u32,
}

/// The tree: nodes in pre-order (a parent precedes its children).
#[derive(Debug)]
pub(crate) struct KdTree {
    pub(crate) dim: usize,
    /// Coordinates in tree order, `n * dim`.
    pub(crate) coords: Vec<f64>,
    /// Original row of each position.
    pub(crate) index: Vec<u32>,
    pub(crate) nodes: Vec<Node>,
    /// Bounding box lower corners, `nodes.len() * dim`.
    pub(crate) lo: Vec<f64>,
    /// Bounding box upper corners, `nodes.len() * dim`.
    pub(crate) hi: Vec<f64>,
    /// Parent of each node (the root's is 0).
    pub(crate) parent: Vec<u32>,
}

/// Squared Euclidean distance.
#[inline]
pub(crate) fn dist2(a: &[f64], b: &[f64]) -> f64 {
    if a.len() == 2 && b.len() == 2 {
        let dx = a[0] - b[0];
        let dy = a[1] - b[1];
        return dx * dx + dy * dy;
    }
    // Eight independent accumulators so the loop vectorises.
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += (x - y) * (x - y);
    }
    s
}

/// One neighbour: squared distance, original row, tree position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Neighbor {
    pub(crate) d2: f64,
    pub(crate) row: u32,
    pub(crate) pos: u32,
}

impl Neighbor {
    #[inline]
    fn before(&self, other: &Neighbor) -> bool {
        self.d2 < other.d2 || (self.d2 == other.d2 && self.row < other.row)
    }
}

/// Orders `perm` (the rows of node `id`, with their coordinates `coords`
/// kept in the same order) so that every node's rows are contiguous,
/// splitting each node at the middle along its widest dimension; ties are
/// broken by row.
fn partition(nodes: &[Node], id: usize, perm: &mut [u32], coords: &mut [f64], dim: usize) {
    let nd = nodes[id];
    if nd.left == NO_CHILD {
        return;
    }
    let m = perm.len();
    let mut split = 0;
    let mut width = -1.0;
    for k in 0..dim {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for row in coords.chunks_exact(dim) {
            lo = lo.min(row[k]);
            hi = hi.max(row[k]);
        }
        if hi - lo > width {
            width = hi - lo;
            split = k;
        }
    }
    let mid = m / 2;
    let mut keys: Vec<(f64, u32, u32)> = (0..m)
        .map(|i| (coords[i * dim + split], perm[i], i as u32))
        .collect();
    keys.select_nth_unstable_by(mid, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let old = coords.to_vec();
    for (i, &(_, row, from)) in keys.iter().enumerate() {
        perm[i] = row;
        let f = from as usize;
        coords[i * dim..(i + 1) * dim].copy_from_slice(&old[f * dim..(f + 1) * dim]);
    }
    drop(keys);
    drop(old);
    let (lp, rp) = perm.split_at_mut(mid);
    let (lc, rc) = coords.split_at_mut(mid * dim);
    let (l, r) = (nd.left as usize, nd.right as usize);
    if m > 16384 {
        rayon::join(
            || partition(nodes, l, lp, lc, dim),
            || partition(nodes, r, rp, rc, dim),
        );
    } else {
        partition(nodes, l, lp, lc, dim);
        partition(nodes, r, rp, rc, dim);
    }
}

impl KdTree {
    /// Builds the tree from row-major coordinates (`n * dim`, `dim >= 1`).
    ///
    /// The shape depends only on `n` (every node splits its range at the
    /// middle); the split dimension is the widest extent of the node's
    /// points, and points are partitioned by (coordinate, row), so the tree
    /// is a pure function of the input. Subtrees are partitioned in parallel.
    pub(crate) fn build(data: &[f64], n: usize, dim: usize) -> Self {
        // Shape.
        let mut nodes = Vec::with_capacity(4 * n / LEAF_SIZE + 2);
        nodes.push(Node {
            start: 0,
            end: n as u32,
            left: NO_CHILD,
            right: NO_CHILD,
        });
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            let (start, end) = (nodes[id].start as usize, nodes[id].end as usize);
            if end - start <= LEAF_SIZE {
                continue;
            }
            let mid = start + (end - start) / 2;
            let left = nodes.len();
            for (s0, e0) in [(start, mid), (mid, end)] {
                nodes.push(Node {
                    start: s0 as u32,
                    end: e0 as u32,
                    left: NO_CHILD,
                    right: NO_CHILD,
                });
            }
            nodes[id].left = left as u32;
            nodes[id].right = left as u32 + 1;
            stack.push(left + 1);
            stack.push(left);
        }
        // Partition.
        let mut perm: Vec<u32> = (0..n as u32).collect();
        let mut coords = data.to_vec();
        partition(&nodes, 0, &mut perm, &mut coords, dim);
        // Bounding boxes: leaves in parallel, then internal nodes bottom-up
        // (children always have larger ids than their parent).
        let mut lo = vec![0.0; nodes.len() * dim];
        let mut hi = vec![0.0; nodes.len() * dim];
        lo.par_chunks_mut(dim)
            .zip(hi.par_chunks_mut(dim))
            .enumerate()
            .for_each(|(id, (blo, bhi))| {
                let nd = nodes[id];
                if nd.left == NO_CHILD {
                    blo.fill(f64::INFINITY);
                    bhi.fill(f64::NEG_INFINITY);
                    let pts = &coords[nd.start as usize * dim..nd.end as usize * dim];
                    for row in pts.chunks_exact(dim) {
                        for k in 0..dim {
                            blo[k] = blo[k].min(row[k]);
                            bhi[k] = bhi[k].max(row[k]);
                        }
                    }
                }
            });
        for id in (0..nodes.len()).rev() {
            let nd = nodes[id];
            if nd.left != NO_CHILD {
                let (l, r) = (nd.left as usize, nd.right as usize);
                for k in 0..dim {
                    lo[id * dim + k] = lo[l * dim + k].min(lo[r * dim + k]);
                    hi[id * dim + k] = hi[l * dim + k].max(hi[r * dim + k]);
                }
            }
        }
        let mut parent = vec![0u32; nodes.len()];
        for (id, nd) in nodes.iter().enumerate() {
            if nd.left != NO_CHILD {
                parent[nd.left as usize] = id as u32;
                parent[nd.right as usize] = id as u32;
            }
        }
        Self {
            dim,
            coords,
            index: perm,
            nodes,
            lo,
            hi,
            parent,
        }
    }

    /// Number of points.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Coordinates of the point at tree position `pos`.
    #[inline]
    pub(crate) fn point(&self, pos: usize) -> &[f64] {
        &self.coords[pos * self.dim..(pos + 1) * self.dim]
    }

    /// Squared distance from `q` to the bounding box of `node`.
    #[inline]
    pub(crate) fn box_dist2(&self, node: usize, q: &[f64]) -> f64 {
        if self.dim == 2 && q.len() == 2 {
            let (lo, hi) = (
                &self.lo[node * 2..node * 2 + 2],
                &self.hi[node * 2..node * 2 + 2],
            );
            let dx = (lo[0] - q[0]).max(q[0] - hi[0]).max(0.0);
            let dy = (lo[1] - q[1]).max(q[1] - hi[1]).max(0.0);
            return dx * dx + dy * dy;
        }
        let lo = &self.lo[node * self.dim..(node + 1) * self.dim];
        let hi = &self.hi[node * self.dim..(node + 1) * self.dim];
        let mut s = 0.0;
        for k in 0..self.dim {
            let d = if q[k] < lo[k] {
                lo[k] - q[k]
            } else if q[k] > hi[k] {
                q[k] - hi[k]
            } else {
                0.0
            };
            s += d * d;
        }
        s
    }

    /// Squared distance between the bounding boxes of two nodes.
    #[inline]
    pub(crate) fn box_box_dist2(&self, a: usize, b: usize) -> f64 {
        let d = self.dim;
        let mut s = 0.0;
        for k in 0..d {
            let gap = (self.lo[a * d + k] - self.hi[b * d + k])
                .max(self.lo[b * d + k] - self.hi[a * d + k])
                .max(0.0);
            s += gap * gap;
        }
        s
    }

    /// The `k` nearest points to position `pos` (itself included), ordered by
    /// (distance, original row).
    pub(crate) fn knn(&self, pos: usize, leaf: usize, k: usize, out: &mut Vec<Neighbor>) {
        out.clear();
        let q = self.point(pos);
        // Start in the point's own leaf and climb: at each ancestor search
        // the sibling subtree, and stop once the ball through the current
        // k-th neighbour lies strictly inside the ancestor's box (every
        // point outside it is then strictly farther).
        self.scan_leaf(leaf, q, k, out);
        let mut x = leaf;
        while x != 0 {
            let p = self.parent[x] as usize;
            let nd = self.nodes[p];
            let sib = if nd.left as usize == x {
                nd.right
            } else {
                nd.left
            } as usize;
            if out.len() < k || self.box_dist2(sib, q) <= out[out.len() - 1].d2 {
                self.knn_node(sib, usize::MAX, q, k, out);
            }
            if out.len() == k && self.ball_inside(p, q, out[k - 1].d2) {
                break;
            }
            x = p;
        }
    }

    /// Whether the ball of squared radius `r2` around `q` lies strictly
    /// inside the bounding box of `node` (compared in squared, rounded
    /// arithmetic, which is monotone like the distances it bounds).
    #[inline]
    pub(crate) fn ball_inside(&self, node: usize, q: &[f64], r2: f64) -> bool {
        let d = self.dim;
        (0..d).all(|k| {
            let (a, b) = (q[k] - self.lo[node * d + k], self.hi[node * d + k] - q[k]);
            a > 0.0 && b > 0.0 && a * a > r2 && b * b > r2
        })
    }

    #[inline]
    fn scan_leaf(&self, node: usize, q: &[f64], k: usize, out: &mut Vec<Neighbor>) {
        let nd = self.nodes[node];
        let (start, end) = (nd.start as usize, nd.end as usize);
        let pts = self.coords[start * self.dim..end * self.dim].chunks_exact(self.dim);
        for ((p, x), &row) in (start..end).zip(pts).zip(&self.index[start..end]) {
            let d2 = dist2(q, x);
            if out.len() < k || d2 <= out[out.len() - 1].d2 {
                let cand = Neighbor {
                    d2,
                    row,
                    pos: p as u32,
                };
                if out.len() < k || cand.before(&out[out.len() - 1]) {
                    let at = out.partition_point(|x| x.before(&cand));
                    if out.len() == k {
                        out.pop();
                    }
                    out.insert(at, cand);
                }
            }
        }
    }

    fn knn_node(&self, node: usize, skip: usize, q: &[f64], k: usize, out: &mut Vec<Neighbor>) {
        let nd = self.nodes[node];
        if nd.left == NO_CHILD {
            if node != skip {
                self.scan_leaf(node, q, k, out);
            }
            return;
        }
        let (l, r) = (nd.left as usize, nd.right as usize);
        let (dl, dr) = (self.box_dist2(l, q), self.box_dist2(r, q));
        let (first, df, second, ds) = if dl <= dr {
            (l, dl, r, dr)
        } else {
            (r, dr, l, dl)
        };
        if out.len() < k || df <= out[out.len() - 1].d2 {
            self.knn_node(first, skip, q, k, out);
        }
        if out.len() < k || ds <= out[out.len() - 1].d2 {
            self.knn_node(second, skip, q, k, out);
        }
    }

    /// For every position, its `k` nearest points (self included), flattened
    /// `n * k` in tree order.
    pub(crate) fn all_knn(&self, k: usize) -> Vec<Neighbor> {
        let n = self.len();
        let mut result = vec![
            Neighbor {
                d2: 0.0,
                row: 0,
                pos: 0
            };
            n * k
        ];
        let leaves: Vec<usize> = (0..self.nodes.len())
            .filter(|&id| self.nodes[id].left == NO_CHILD)
            .collect();
        // Leaves partition the positions; give each its slice of the output.
        let mut slices: Vec<(usize, &mut [Neighbor])> = Vec::with_capacity(leaves.len());
        let mut rest: &mut [Neighbor] = &mut result;
        let mut by_start = leaves.clone();
        by_start.sort_unstable_by_key(|&id| self.nodes[id].start);
        for id in by_start {
            let len = (self.nodes[id].end - self.nodes[id].start) as usize * k;
            let (head, tail) = rest.split_at_mut(len);
            slices.push((id, head));
            rest = tail;
        }
        slices
            .into_par_iter()
            .for_each_init(Vec::new, |buf, (leaf, out)| {
                let start = self.nodes[leaf].start as usize;
                for (j, slot) in out.chunks_mut(k).enumerate() {
                    self.knn(start + j, leaf, k, buf);
                    slot.copy_from_slice(buf);
                }
            });
        result
    }
}
