//! Condensed cluster tree and cluster stabilities (`condense_tree` and
//! `compute_stability` of the Python `hdbscan` package).

use std::collections::VecDeque;

use super::linkage::Merge;

/// One condensed-tree row: `child` (a point `< n` or a cluster `>= n`)
/// leaves `parent` at density `lambda = 1 / distance`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Row {
    pub(crate) parent: u32,
    pub(crate) child: u32,
    pub(crate) lambda: f64,
    pub(crate) size: u32,
}

/// The condensed tree: rows in the order `hdbscan` emits them (breadth
/// first); cluster ids are `n..n + n_clusters` with the root `n`.
#[derive(Debug, Clone)]
pub(crate) struct CondensedTree {
    pub(crate) n: usize,
    pub(crate) rows: Vec<Row>,
    pub(crate) n_clusters: usize,
}

#[inline]
fn lambda_of(distance: f64) -> f64 {
    if distance > 0.0 {
        1.0 / distance
    } else {
        f64::INFINITY
    }
}

/// Condenses a single-linkage hierarchy with `min_cluster_size`.
pub(crate) fn condense(n: usize, merges: &[Merge], min_cluster_size: usize) -> CondensedTree {
    let root = 2 * n - 2;
    let size_of = |node: u32| -> usize {
        if (node as usize) < n {
            1
        } else {
            merges[node as usize - n].size as usize
        }
    };
    let mut rows = Vec::with_capacity(n + 2 * n / min_cluster_size.max(1));
    let mut relabel = vec![0u32; 2 * n - 1];
    relabel[root] = n as u32;
    let mut next_label = n as u32 + 1;
    let mut queue = VecDeque::new();
    queue.push_back(root as u32);
    let mut bfs = VecDeque::new();
    // Emits every point below `node` as falling out of `parent`, breadth
    // first like `bfs_from_hierarchy` (keeps hdbscan's summation order).
    let mut fall_out = |rows: &mut Vec<Row>, node: u32, parent: u32, lambda: f64| {
        bfs.clear();
        bfs.push_back(node);
        while let Some(x) = bfs.pop_front() {
            if (x as usize) < n {
                rows.push(Row {
                    parent,
                    child: x,
                    lambda,
                    size: 1,
                });
            } else {
                let m = merges[x as usize - n];
                bfs.push_back(m.left);
                bfs.push_back(m.right);
            }
        }
    };
    while let Some(node) = queue.pop_front() {
        if (node as usize) < n {
            continue;
        }
        let m = merges[node as usize - n];
        let lambda = lambda_of(m.distance);
        let (left, right) = (m.left, m.right);
        let (lc, rc) = (size_of(left), size_of(right));
        let me = relabel[node as usize];
        if lc >= min_cluster_size && rc >= min_cluster_size {
            relabel[left as usize] = next_label;
            next_label += 1;
            rows.push(Row {
                parent: me,
                child: relabel[left as usize],
                lambda,
                size: lc as u32,
            });
            relabel[right as usize] = next_label;
            next_label += 1;
            rows.push(Row {
                parent: me,
                child: relabel[right as usize],
                lambda,
                size: rc as u32,
            });
            queue.push_back(left);
            queue.push_back(right);
        } else if lc < min_cluster_size && rc < min_cluster_size {
            fall_out(&mut rows, left, me, lambda);
            fall_out(&mut rows, right, me, lambda);
        } else if lc < min_cluster_size {
            relabel[right as usize] = me;
            fall_out(&mut rows, left, me, lambda);
            queue.push_back(right);
        } else {
            relabel[left as usize] = me;
            fall_out(&mut rows, right, me, lambda);
            queue.push_back(left);
        }
    }
    CondensedTree {
        n,
        rows,
        n_clusters: (next_label as usize) - n,
    }
}

impl CondensedTree {
    /// Index of a cluster id.
    #[inline]
    pub(crate) fn ci(&self, cluster: u32) -> usize {
        cluster as usize - self.n
    }

    /// Birth lambda of every cluster (the root is born at 0).
    pub(crate) fn births(&self) -> Vec<f64> {
        let mut births = vec![0.0; self.n_clusters];
        for r in &self.rows {
            if r.child as usize >= self.n {
                births[self.ci(r.child)] = r.lambda;
            }
        }
        births
    }

    /// Largest lambda among the direct rows of each cluster (`max_lambdas`).
    pub(crate) fn deaths(&self) -> Vec<f64> {
        let mut deaths = vec![0.0f64; self.n_clusters];
        for r in &self.rows {
            let d = &mut deaths[self.ci(r.parent)];
            if r.lambda > *d {
                *d = r.lambda;
            }
        }
        deaths
    }

    /// Stability of every cluster: `sum (lambda - birth(parent)) * size`.
    pub(crate) fn stability(&self) -> Vec<f64> {
        let births = self.births();
        let mut stability = vec![0.0; self.n_clusters];
        for r in &self.rows {
            let p = self.ci(r.parent);
            stability[p] += (r.lambda - births[p]) * r.size as f64;
        }
        stability
    }
}
