//! Flat cluster selection, labels, membership probabilities and GLOSH
//! outlier scores (`get_clusters`, `epsilon_search`, `do_labelling`,
//! `get_probabilities` and `outlier_scores` of the Python `hdbscan` package).

use super::condense::CondensedTree;
use super::params::{ClusterSelectionMethod, HdbscanParams};

/// The flat clustering.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub(crate) labels: Vec<i64>,
    pub(crate) probabilities: Vec<f32>,
    pub(crate) outlier_scores: Vec<f32>,
    pub(crate) n_clusters: usize,
}

const NONE: usize = usize::MAX;

/// The cluster part of the condensed tree, by cluster index (root = 0).
struct ClusterTree {
    parent: Vec<usize>,
    children: Vec<Vec<usize>>,
    /// Birth lambda (root: 0).
    birth: Vec<f64>,
    size: Vec<usize>,
}

impl ClusterTree {
    fn new(tree: &CondensedTree) -> Self {
        let nc = tree.n_clusters;
        let mut ct = Self {
            parent: vec![NONE; nc],
            children: vec![Vec::new(); nc],
            birth: vec![0.0; nc],
            size: vec![0; nc],
        };
        for r in &tree.rows {
            if r.child as usize >= tree.n {
                let (p, c) = (tree.ci(r.parent), tree.ci(r.child));
                ct.parent[c] = p;
                ct.children[p].push(c);
                ct.birth[c] = r.lambda;
                ct.size[c] = r.size as usize;
            }
        }
        ct
    }

    fn eps(&self, c: usize) -> f64 {
        1.0 / self.birth[c]
    }

    /// `traverse_upwards`.
    fn traverse_upwards(&self, epsilon: f64, leaf: usize, allow_single: bool) -> usize {
        let mut leaf = leaf;
        loop {
            let parent = self.parent[leaf];
            if parent == 0 {
                return if allow_single { parent } else { leaf };
            }
            if self.eps(parent) > epsilon {
                return parent;
            }
            leaf = parent;
        }
    }

    /// `epsilon_search` over candidate clusters in ascending id order.
    fn epsilon_search(&self, leaves: &[usize], epsilon: f64, allow_single: bool) -> Vec<bool> {
        let nc = self.parent.len();
        let mut selected = vec![false; nc];
        let mut processed = vec![false; nc];
        for &leaf in leaves {
            if self.eps(leaf) < epsilon {
                if !processed[leaf] {
                    let chosen = self.traverse_upwards(epsilon, leaf, allow_single);
                    selected[chosen] = true;
                    let mut stack = self.children[chosen].clone();
                    while let Some(x) = stack.pop() {
                        processed[x] = true;
                        stack.extend_from_slice(&self.children[x]);
                    }
                }
            } else {
                selected[leaf] = true;
            }
        }
        selected
    }
}

/// Selects flat clusters and labels every point.
pub(crate) fn select(tree: &CondensedTree, params: &HdbscanParams) -> Selection {
    let n = tree.n;
    let nc = tree.n_clusters;
    let allow_single = params.allow_single_cluster;
    let epsilon = params.cluster_selection_epsilon;
    let ct = ClusterTree::new(tree);
    let mut stability = tree.stability();
    let deaths = tree.deaths();
    // Clusters that may be selected (`is_cluster`'s keys): all but the root
    // unless a single cluster is allowed.
    let first = if allow_single { 0 } else { 1 };
    let mut size = ct.size.clone();
    if allow_single {
        size[0] = ct.children[0].iter().map(|&c| ct.size[c]).sum();
    }
    let max_size = params.max_cluster_size.unwrap_or(n + 1);
    let mut is_cluster = vec![false; nc];
    let has_cluster_tree = nc > 1;
    match params.method {
        ClusterSelectionMethod::Eom => {
            // Own decision, bottom-up (children have larger ids).
            let mut own = vec![false; nc];
            for node in (first..nc).rev() {
                let sum: f64 = ct.children[node].iter().map(|&c| stability[c]).sum();
                // hdbscan keeps the subtree sum in a C `float`.
                let subtree = sum as f32 as f64;
                if subtree > stability[node] || size[node] > max_size {
                    stability[node] = subtree;
                } else {
                    own[node] = true;
                }
            }
            // A selected node deselects its descendants.
            let mut covered = vec![false; nc];
            for node in 0..nc {
                let up = ct.parent[node] != NONE && covered[ct.parent[node]];
                is_cluster[node] = own[node] && !up;
                covered[node] = up || own[node];
            }
            if epsilon != 0.0 && has_cluster_tree {
                let eom: Vec<usize> = (0..nc).filter(|&c| is_cluster[c]).collect();
                let chosen = if eom.len() == 1 && eom[0] == 0 {
                    let mut s = vec![false; nc];
                    s[0] = allow_single;
                    s
                } else {
                    ct.epsilon_search(&eom, epsilon, allow_single)
                };
                is_cluster[first..nc].copy_from_slice(&chosen[first..nc]);
            }
        }
        ClusterSelectionMethod::Leaf => {
            let leaves: Vec<usize> = (1..nc).filter(|&c| ct.children[c].is_empty()).collect();
            let chosen = if epsilon != 0.0 {
                ct.epsilon_search(&leaves, epsilon, allow_single)
            } else {
                let mut s = vec![false; nc];
                for &l in &leaves {
                    s[l] = true;
                }
                s
            };
            is_cluster[first..nc].copy_from_slice(&chosen[first..nc]);
        }
    }
    // Deterministic numbering: ascending condensed-tree id.
    let mut label_of = vec![-1i64; nc];
    let mut n_clusters = 0usize;
    for c in 0..nc {
        if is_cluster[c] {
            label_of[c] = n_clusters as i64;
            n_clusters += 1;
        }
    }
    // Nearest selected ancestor-or-self of each cluster (NONE: the root).
    let mut owner = vec![NONE; nc];
    for c in 1..nc {
        owner[c] = if is_cluster[c] {
            c
        } else {
            owner[ct.parent[c]]
        };
    }
    let root_only = n_clusters == 1 && allow_single && is_cluster[0];
    let mut labels = vec![-1i64; n];
    let mut probabilities = vec![0.0f32; n];
    // GLOSH: deaths propagated up the tree.
    let mut max_death = deaths.clone();
    for c in (1..nc).rev() {
        let p = ct.parent[c];
        if max_death[c] > max_death[p] {
            max_death[p] = max_death[c];
        }
    }
    let mut outlier_scores = vec![0.0f32; n];
    for r in &tree.rows {
        let point = r.child as usize;
        if point >= n {
            continue;
        }
        let pc = tree.ci(r.parent);
        let lambda = r.lambda;
        let owner_c = owner[pc];
        let cluster = if owner_c == NONE || owner_c == 0 {
            let keep = root_only
                && if epsilon != 0.0 {
                    lambda >= 1.0 / epsilon
                } else {
                    lambda >= deaths[0]
                };
            keep.then_some(0)
        } else {
            Some(owner_c)
        };
        if let Some(c) = cluster {
            labels[point] = label_of[c];
            let max_lambda = deaths[c];
            probabilities[point] = if max_lambda == 0.0 || !lambda.is_finite() {
                1.0
            } else {
                (lambda.min(max_lambda) / max_lambda) as f32
            };
        }
        let lambda_max = max_death[pc];
        outlier_scores[point] = if lambda_max == 0.0 || !lambda.is_finite() {
            0.0
        } else if !lambda_max.is_finite() {
            1.0
        } else {
            ((lambda_max - lambda) / lambda_max) as f32
        };
    }
    Selection {
        labels,
        probabilities,
        outlier_scores,
        n_clusters,
    }
}
