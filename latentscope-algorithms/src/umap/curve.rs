//! Fit of the low-dimensional similarity curve `1 / (1 + a d^(2b))` from `min_dist` and `spread`.

/// Fits `a` and `b` by least squares (Levenberg-Marquardt) as umap-learn's `find_ab_params`.
///
/// The target curve is 1 for `x < min_dist` and `exp(-(x - min_dist) / spread)` beyond,
/// sampled at 300 points on `[0, 3 spread]`.
pub fn find_ab_params(spread: f32, min_dist: f32) -> (f32, f32) {
    let spread = f64::from(spread);
    let min_dist = f64::from(min_dist);
    let m = 300usize;
    let xs: Vec<f64> = (0..m)
        .map(|i| spread * 3.0 * i as f64 / (m - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                (-(x - min_dist) / spread).exp()
            }
        })
        .collect();
    let cost = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let f = 1.0 / (1.0 + a * x.powf(2.0 * b));
                (f - y) * (f - y)
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut c = cost(a, b);
    let mut lambda = 1e-3;
    for _ in 0..500 {
        // Normal equations J^T J and J^T r.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            let (da, db, r) = if x > 0.0 {
                let u = x.powf(2.0 * b);
                let den = 1.0 + a * u;
                let f = 1.0 / den;
                let d2 = den * den;
                (-u / d2, -a * u * 2.0 * x.ln() / d2, f - y)
            } else {
                (0.0, 0.0, 1.0 - y)
            };
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let mut improved = false;
        for _ in 0..30 {
            let (ma, mb) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
            let det = ma * mb - jab * jab;
            if det.abs() < 1e-300 {
                lambda *= 10.0;
                continue;
            }
            let sa = -(mb * ga - jab * gb) / det;
            let sb = -(ma * gb - jab * ga) / det;
            let (na, nb) = (a + sa, b + sb);
            if na > 0.0 && nb > 0.0 {
                let nc = cost(na, nb);
                if nc.is_finite() && nc <= c {
                    let rel = (c - nc) / c.max(1e-300);
                    a = na;
                    b = nb;
                    c = nc;
                    lambda = (lambda * 0.1).max(1e-12);
                    improved = rel > 1e-15;
                    break;
                }
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (a as f32, b as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ab_matches_umap_learn() {
        let (a, b) = find_ab_params(1.0, 0.1);
        assert!((a - 1.577).abs() < 0.01, "a = {a}");
        assert!((b - 0.8951).abs() < 0.005, "b = {b}");
        let (a, b) = find_ab_params(1.0, 0.001);
        assert!((a - 1.929).abs() < 0.02, "a = {a}");
        assert!((b - 0.7915).abs() < 0.01, "b = {b}");
    }
}
