//! The start of a layout whose kNN graph falls apart into several connected
//! components, as umap-learn's `multi_component_layout` makes it: each
//! component gets a place of its own (its centroid's position among the
//! other components' centroids, by PCA), and inside that place its own
//! spectral layout, scaled to half the distance to the nearest other
//! component so no two overlap. Components too small for a spectral layout
//! are spread at random over their place. The SGD afterwards pulls only
//! along edges, none of which joins two components, so they stay apart.

use ndarray::{Array2, ArrayView2};

use super::error::UmapError;
use super::fuzzy::Graph;
use super::rng::{Rng, mix};
use super::spectral::{Part, row_starts, spectral_layout};
use crate::progress::Progress;

/// The connected components of `g`: a component number (0, 1, …, in order
/// of their first node) per node, and the number of components.
pub(crate) fn components(g: &Graph) -> (Vec<u32>, usize) {
    let mut parent: Vec<u32> = (0..g.n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let p = parent[parent[x as usize] as usize];
            parent[x as usize] = p;
            x = p;
        }
        x
    }
    for (&h, &t) in g.head.iter().zip(&g.tail) {
        let (a, b) = (find(&mut parent, h), find(&mut parent, t));
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
        }
    }
    let mut number = vec![u32::MAX; g.n];
    let mut label = vec![0u32; g.n];
    let mut count = 0u32;
    for i in 0..g.n as u32 {
        let root = find(&mut parent, i) as usize;
        if number[root] == u32::MAX {
            number[root] = count;
            count += 1;
        }
        label[i as usize] = number[root];
    }
    (label, count as usize)
}

/// Components placed by their centroids' PCA at most; more get a grid.
const MAX_PLACED_BY_PCA: usize = 2000;

/// Each component's centre and the radius of its disc ([`places`]).
pub(crate) type Places = (Vec<[f64; 2]>, Vec<f64>);

/// Where each component goes, and the radius of the disc it may fill: its
/// centroid's PCA position among the others' (two to four components at the
/// corners of a diamond, as umap-learn puts them; very many on a grid), the
/// radius half the distance to the nearest other place. The only part of a
/// start by components that reads the rows.
pub(crate) fn places(x: ArrayView2<'_, f32>, label: &[u32], count: usize) -> Places {
    let positions = if count <= 4 {
        let corners = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]];
        corners[..count].to_vec()
    } else if count <= MAX_PLACED_BY_PCA {
        centroid_pca(x, label, count).unwrap_or_else(|| grid(count))
    } else {
        grid(count)
    };
    if count > MAX_PLACED_BY_PCA {
        return (positions, vec![0.5; count]);
    }
    let radius = (0..count)
        .map(|c| {
            let nearest = positions
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != c)
                .map(|(_, p)| distance(p, &positions[c]))
                .fold(f64::INFINITY, f64::min);
            if nearest.is_finite() {
                nearest / 2.0
            } else {
                1.0
            }
        })
        .collect();
    (positions, radius)
}

fn distance(a: &[f64; 2], b: &[f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Places on a square grid, 1 apart.
fn grid(count: usize) -> Vec<[f64; 2]> {
    let side = (count as f64).sqrt().ceil().max(1.0) as usize;
    (0..count)
        .map(|i| [(i % side) as f64, (i / side) as f64])
        .collect()
}

/// The components' centroids projected on their two principal axes;
/// `None` when PCA fails or puts two of them on the same spot.
fn centroid_pca(x: ArrayView2<'_, f32>, label: &[u32], count: usize) -> Option<Vec<[f64; 2]>> {
    let d = x.ncols();
    if d < 2 {
        return None;
    }
    let mut centroids = Array2::<f32>::zeros((count, d));
    let mut sizes = vec![0f32; count];
    for (row, &c) in x.rows().into_iter().zip(label) {
        let mut acc = centroids.row_mut(c as usize);
        acc += &row;
        sizes[c as usize] += 1.0;
    }
    for (mut row, s) in centroids.rows_mut().into_iter().zip(&sizes) {
        row /= s.max(1.0);
    }
    let p = crate::pca::pca(centroids.view(), 2).ok()?;
    let positions: Vec<[f64; 2]> = p
        .projected
        .rows()
        .into_iter()
        .map(|r| [f64::from(r[0]), f64::from(r[1])])
        .collect();
    let scale = positions
        .iter()
        .fold(0f64, |m, p| m.max(p[0].abs()).max(p[1].abs()));
    let separated = positions.iter().enumerate().all(|(i, a)| {
        positions[i + 1..]
            .iter()
            .all(|b| distance(a, b) > 1e-6 * scale.max(1e-12))
    });
    (separated && scale.is_finite() && scale > 0.0).then_some(positions)
}

/// The starting layout (n × 2, row after row) of a graph with `count > 1`
/// components labelled `label`, at their [`places`]; also how many components
/// got a spectral layout of their own.
pub(crate) fn component_layout(
    g: &Graph,
    label: &[u32],
    count: usize,
    (meta, radius): Places,
    seed: u64,
    progress: &dyn Progress,
) -> Result<(Vec<f64>, usize), UmapError> {
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); count];
    for (i, &c) in label.iter().enumerate() {
        members[c as usize].push(i as u32);
    }
    // Each node's position in its component; the components' edges are read in place.
    let mut local = vec![0u32; g.n];
    for nodes in &members {
        for (k, &i) in nodes.iter().enumerate() {
            local[i as usize] = k as u32;
        }
    }
    let row_ptr = row_starts(g);
    let mut coords = vec![0f64; 2 * g.n];
    let mut spectral = 0;
    let mut rng = Rng::new(mix(&[seed, 7]));
    for (c, nodes) in members.iter().enumerate() {
        // umap-learn lays out components of fewer than 2·dim + 1 nodes at random.
        let layout = if nodes.len() > 4 {
            let part = Part {
                row_ptr: &row_ptr,
                nodes,
                local: &local,
            };
            spectral_layout(g, Some(part), mix(&[seed, 8, c as u64]), progress)?.ok()
        } else {
            None
        };
        let (r, [cx, cy]) = (radius[c] * 0.9, meta[c]);
        match layout {
            Some(y) => {
                spectral += 1;
                let max = y.iter().fold(0f64, |m, v| m.max(v.abs()));
                let scale = if max > 0.0 { r / max } else { 0.0 };
                for (k, &i) in nodes.iter().enumerate() {
                    coords[2 * i as usize] = cx + y[2 * k] * scale;
                    coords[2 * i as usize + 1] = cy + y[2 * k + 1] * scale;
                }
            }
            None => {
                for &i in nodes {
                    // Uniform in the square inscribed in the disc.
                    let s = r / std::f64::consts::SQRT_2;
                    coords[2 * i as usize] = cx + (rng.uniform() * 2.0 - 1.0) * s;
                    coords[2 * i as usize + 1] = cy + (rng.uniform() * 2.0 - 1.0) * s;
                }
            }
        }
    }
    Ok((coords, spectral))
}
