//! Convex hulls of 2-D point sets (Andrew's monotone chain), returned as
//! indices of the hull's vertices in counter-clockwise order, as the Python
//! tool's `scipy.spatial.ConvexHull(...).vertices` gives them.

/// The convex hull of `points` (indices into the interleaved `xy` array),
/// counter-clockwise, without collinear points. Fewer than 3 distinct
/// non-collinear points give an empty hull.
pub fn convex_hull(xy: &[f32], points: &[usize]) -> Vec<usize> {
    let at = |i: usize| (xy[2 * i] as f64, xy[2 * i + 1] as f64);
    let mut order: Vec<usize> = points.to_vec();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (at(a), at(b));
        pa.0.total_cmp(&pb.0)
            .then(pa.1.total_cmp(&pb.1))
            .then(a.cmp(&b))
    });
    order.dedup_by(|a, b| at(*a) == at(*b));
    if order.len() < 3 {
        return Vec::new();
    }
    let cross = |o: usize, a: usize, b: usize| {
        let (o, a, b) = (at(o), at(a), at(b));
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<usize> = Vec::with_capacity(2 * order.len());
    for &p in &order {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    let lower = hull.len() + 1;
    for &p in order.iter().rev().skip(1) {
        while hull.len() >= lower && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    hull.pop();
    if hull.len() < 3 { Vec::new() } else { hull }
}

#[cfg(test)]
mod tests {
    use super::convex_hull;

    #[test]
    fn square_with_inside_and_collinear_points() {
        // 0:(0,0) 1:(1,0) 2:(1,1) 3:(0,1) 4:(0.5,0.5) inside 5:(0.5,0) on an edge
        let xy = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.0];
        assert_eq!(convex_hull(&xy, &[0, 1, 2, 3, 4, 5]), vec![0, 1, 2, 3]);
        assert!(convex_hull(&xy, &[0, 5, 1]).is_empty(), "collinear");
        assert!(convex_hull(&xy, &[0, 1]).is_empty());
    }
}
