//! The level-of-detail order of a scope's points: a quadtree over [-1, 1]²
//! of nested random samples. Each node keeps at most `capacity` points of
//! its cell, drawn at random (the lowest ranks of a seeded hash of the row
//! index), and its children keep the rest. Nodes are listed breadth first,
//! so the points of the first k nodes are a uniform sample of the map, and
//! a client draws the nodes that meet its view down to the depth its zoom
//! needs (EXPLORER.md §3).

use serde::Serialize;

/// Points a node keeps before its children take the rest.
pub const DEFAULT_CAPACITY: usize = 16_384;
/// The deepest level; a node there keeps every point of its cell.
pub const MAX_DEPTH: u8 = 16;

/// One node of the quadtree, as the scope route lists them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LodNode {
    /// The left edge of its cell.
    pub x0: f32,
    /// The bottom edge of its cell.
    pub y0: f32,
    /// The side of its cell.
    pub size: f32,
    /// Its depth (0: the root, the whole map).
    pub depth: u8,
    /// The position of its first point in the LOD order.
    pub start: u32,
    /// How many points it holds.
    pub count: u32,
}

/// Points in LOD order and the node table that indexes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Lod {
    /// Row indices, node after node, breadth first.
    pub order: Vec<u32>,
    /// The nodes that hold points, breadth first.
    pub nodes: Vec<LodNode>,
}

/// A row's rank: a seeded hash of its index (splitmix64), so every build of
/// the same scope is the same and the ranks look random.
fn rank(seed: u64, row: u32) -> u64 {
    let mut z = seed.wrapping_add((row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Builds the LOD order of the points `xy` (interleaved x, y in [-1, 1];
/// values outside are clamped into the map).
pub fn build(xy: &[f32], capacity: usize, seed: u64) -> Lod {
    let n = xy.len() / 2;
    let capacity = capacity.max(1);
    let mut rows: Vec<u32> = (0..n as u32).collect();
    rows.sort_by_key(|&r| (rank(seed, r), r));
    let mut order = Vec::with_capacity(n);
    let mut nodes = Vec::new();
    // Breadth first: a queue of (cell, rows in rank order).
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(((-1.0f32, -1.0f32, 2.0f32, 0u8), rows));
    while let Some(((x0, y0, size, depth), rows)) = queue.pop_front() {
        if rows.is_empty() {
            continue;
        }
        let keep = if depth >= MAX_DEPTH {
            rows.len()
        } else {
            capacity.min(rows.len())
        };
        nodes.push(LodNode {
            x0,
            y0,
            size,
            depth,
            start: order.len() as u32,
            count: keep as u32,
        });
        order.extend_from_slice(&rows[..keep]);
        if keep == rows.len() {
            continue;
        }
        let half = size / 2.0;
        let (mx, my) = (x0 + half, y0 + half);
        let mut quads: [Vec<u32>; 4] = Default::default();
        for &r in &rows[keep..] {
            let (x, y) = (xy[2 * r as usize], xy[2 * r as usize + 1]);
            let q = usize::from(x >= mx) + 2 * usize::from(y >= my);
            quads[q].push(r);
        }
        for (q, rows) in quads.into_iter().enumerate() {
            let qx = if q & 1 == 1 { mx } else { x0 };
            let qy = if q & 2 == 2 { my } else { y0 };
            queue.push_back(((qx, qy, half, depth + 1), rows));
        }
    }
    Lod { order, nodes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|i| {
                let t = i as f32 / n as f32;
                [2.0 * t - 1.0, (t * 7.3).sin()]
            })
            .collect()
    }

    #[test]
    fn every_row_once_nodes_cover_the_order_and_children_lie_inside() {
        let xy = grid(10_000);
        let lod = build(&xy, 500, 7);
        let mut seen = lod.order.clone();
        seen.sort();
        assert_eq!(seen, (0..10_000).collect::<Vec<u32>>());
        let mut next = 0;
        for node in &lod.nodes {
            assert_eq!(node.start, next);
            next += node.count;
            assert!(node.count as usize <= 500 || node.depth == MAX_DEPTH);
            for &r in &lod.order[node.start as usize..(node.start + node.count) as usize] {
                let (x, y) = (xy[2 * r as usize], xy[2 * r as usize + 1]);
                let (x, y) = (x.clamp(-1.0, 1.0), y.clamp(-1.0, 1.0));
                assert!(x >= node.x0 - 1e-6 && x <= node.x0 + node.size + 1e-6);
                assert!(y >= node.y0 - 1e-6 && y <= node.y0 + node.size + 1e-6);
            }
        }
        assert_eq!(next, 10_000);
        // Breadth first: depths never decrease.
        assert!(lod.nodes.windows(2).all(|w| w[0].depth <= w[1].depth));
    }

    #[test]
    fn the_root_is_a_uniform_sample() {
        // Half the points on the left, half on the right: the root's sample
        // takes about half from each.
        let xy = grid(20_000);
        let lod = build(&xy, 2_000, 1);
        let root = &lod.order[..2_000];
        let left = root.iter().filter(|&&r| xy[2 * r as usize] < 0.0).count();
        assert!((900..1100).contains(&left), "{left}");
        // The same seed gives the same order.
        assert_eq!(build(&xy, 2_000, 1), lod);
    }
}
