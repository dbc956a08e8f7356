//! Which rows of a cluster a labeler reads: chosen in embedding space, as
//! Toponymy does (`../shared/PROVIDERS.md` §1c), not by position. With the
//! corpus mean removed from every vector (so what all rows share does not
//! decide), the rows nearest the cluster's centroid come first (what the
//! cluster is about), then rows far from those already chosen (its range);
//! identical texts count once.

use latentscope_io::Matrix;

/// Rows of a large cluster looked at (evenly spaced): enough to find
/// central and diverse ones, few enough to stay quick.
const MAX_CANDIDATES: usize = 2000;

/// The mean of every row of `vectors`.
pub(crate) fn corpus_mean(vectors: &Matrix) -> Vec<f32> {
    let mut mean = vec![0f64; vectors.cols];
    for row in vectors.data.chunks_exact(vectors.cols.max(1)) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += *v as f64;
        }
    }
    let n = vectors.rows.max(1) as f64;
    mean.into_iter().map(|m| (m / n) as f32).collect()
}

/// Up to `k` rows of `members` (input row indices), central ones first
/// (half of them), then diverse ones; `texts` drops duplicates.
pub(crate) fn exemplars(
    vectors: &Matrix,
    mean: &[f32],
    members: &[u64],
    texts: &[String],
    k: usize,
) -> Vec<u64> {
    let step = members.len().div_ceil(MAX_CANDIDATES).max(1);
    let candidates: Vec<u64> = members
        .iter()
        .step_by(step)
        .copied()
        .filter(|&r| (r as usize) < vectors.rows)
        .collect();
    if candidates.is_empty() || k == 0 {
        return Vec::new();
    }
    let dims = vectors.cols;
    // Centred, unit-length vectors of the candidates.
    let unit: Vec<Vec<f32>> = candidates
        .iter()
        .map(|&r| {
            let row = &vectors.data[r as usize * dims..(r as usize + 1) * dims];
            let mut v: Vec<f32> = row.iter().zip(mean).map(|(x, m)| x - m).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            }
            v
        })
        .collect();
    let mut centroid = vec![0f32; dims];
    for v in &unit {
        centroid.iter_mut().zip(v).for_each(|(c, x)| *c += x);
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut by_centrality: Vec<usize> = (0..candidates.len()).collect();
    let closeness: Vec<f32> = unit.iter().map(|v| dot(v, &centroid)).collect();
    by_centrality.sort_by(|&a, &b| {
        closeness[b]
            .total_cmp(&closeness[a])
            .then(candidates[a].cmp(&candidates[b]))
    });
    let text = |i: usize| texts.get(candidates[i] as usize).map(String::as_str);
    let mut chosen: Vec<usize> = Vec::new();
    let central = k.div_ceil(2);
    for &i in &by_centrality {
        if chosen.len() >= central {
            break;
        }
        if !chosen.iter().any(|&c| text(c) == text(i)) {
            chosen.push(i);
        }
    }
    // Then the row least like any chosen one, repeatedly.
    let mut nearest: Vec<f32> = (0..candidates.len())
        .map(|i| {
            chosen
                .iter()
                .map(|&c| dot(&unit[i], &unit[c]))
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .collect();
    while chosen.len() < k {
        let next = (0..candidates.len())
            .filter(|i| !chosen.contains(i) && !chosen.iter().any(|&c| text(c) == text(*i)))
            .min_by(|&a, &b| nearest[a].total_cmp(&nearest[b]).then(a.cmp(&b)));
        let Some(next) = next else { break };
        chosen.push(next);
        for (i, n) in nearest.iter_mut().enumerate() {
            *n = n.max(dot(&unit[i], &unit[next]));
        }
    }
    chosen.into_iter().map(|i| candidates[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_rows_come_first_then_the_clusters_range_without_repeats() {
        // Six rows of a cluster on a line around (1, 0); one far corpus row.
        let rows: Vec<[f32; 2]> = vec![
            [1.0, 0.0],
            [1.0, 0.1],
            [1.0, -0.1],
            [1.0, 0.9],
            [1.0, -0.9],
            [1.0, 0.0],
            [-5.0, 0.0],
        ];
        let m = Matrix {
            data: rows.iter().flatten().copied().collect(),
            rows: 7,
            cols: 2,
        };
        let texts: Vec<String> = ["a", "b", "c", "d", "e", "a", "z"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mean = vec![0.0, 0.0]; // centring aside, to check the geometry
        let picked = exemplars(&m, &mean, &[0, 1, 2, 3, 4, 5], &texts, 3);
        assert_eq!(picked.len(), 3);
        assert!([0, 1, 2].contains(&picked[0]), "central first: {picked:?}");
        assert!(
            picked[1..].contains(&3) || picked[1..].contains(&4),
            "then the range: {picked:?}"
        );
        assert!(
            !picked.contains(&5) || !picked.contains(&0),
            "identical texts once"
        );
        assert_eq!(
            exemplars(&m, &mean, &[0, 5], &texts, 4),
            vec![0],
            "only one distinct text"
        );
        assert!((corpus_mean(&m)[0] - (1.0 * 6.0 - 5.0) / 7.0).abs() < 1e-6);
    }
}
