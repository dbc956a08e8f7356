//! Single-linkage hierarchy from sorted spanning-tree edges, in the layout
//! of `scipy.cluster.hierarchy` (as `hdbscan`'s `label` builds it).

use super::mst::Edge;

/// One merge: node `n + i` joins `left` and `right` at `distance`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Merge {
    pub(crate) left: u32,
    pub(crate) right: u32,
    pub(crate) distance: f64,
    pub(crate) size: u32,
}

/// Union-find over points (union by size, path halving) that remembers
/// the hierarchy node standing for each set.
struct Linker {
    parent: Vec<u32>,
    size: Vec<u32>,
    node: Vec<u32>,
    next: u32,
    merges: Vec<Merge>,
}

impl Linker {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let g = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = g;
            x = g;
        }
        x
    }

    /// Joins the sets of rows `a` and `b` (distinct roots `ra`, `rb`).
    fn join(&mut self, ra: u32, rb: u32, distance: f64) {
        let s = self.size[ra as usize] + self.size[rb as usize];
        self.merges.push(Merge {
            left: self.node[ra as usize],
            right: self.node[rb as usize],
            distance,
            size: s,
        });
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] = s;
        self.node[big as usize] = self.next;
        self.next += 1;
    }
}

/// Builds the hierarchy from edges sorted by the tie rule. Missing edges
/// (a disconnected forest, which cannot happen for finite input) are added
/// at infinite distance so the result is always a full binary tree.
pub(crate) fn single_linkage(n: usize, edges: &[Edge]) -> Vec<Merge> {
    let mut l = Linker {
        parent: (0..n as u32).collect(),
        size: vec![1; n],
        node: (0..n as u32).collect(),
        next: n as u32,
        merges: Vec::with_capacity(n - 1),
    };
    for e in edges {
        let (aa, bb) = (l.find(e.a), l.find(e.b));
        if aa != bb {
            l.join(aa, bb, e.w2.sqrt());
        }
    }
    // Robustness: connect any remaining components in row order.
    let mut first: Option<u32> = None;
    for r in 0..n as u32 {
        let root = l.find(r);
        match first {
            None => first = Some(r),
            Some(f) => {
                let froot = l.find(f);
                if froot != root {
                    l.join(froot, root, f64::INFINITY);
                }
            }
        }
    }
    l.merges
}
