// Acceptance against the Python `hdbscan` / `fast_hdbscan` fixtures.

use crate::common::{ari, fixtures, n_clusters, read_f32_2d, read_labels};
use latentscope_core::hdbscan::{HdbscanParams, hdbscan};
use latentscope_core::progress::NoProgress;

fn dir() -> std::path::PathBuf {
    fixtures().join("pypi-10k")
}

fn run(mcs: usize, ms: usize, threads: usize) -> Vec<i64> {
    let x = read_f32_2d(&dir().join("umap-learn-layout-seed42.npy"));
    let params = HdbscanParams::new(mcs).with_min_samples(ms);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let r = pool
        .install(|| hdbscan(x.view(), &params, &NoProgress))
        .unwrap();
    assert_eq!(r.n_clusters, n_clusters(&r.labels));
    assert!(r.probabilities.iter().all(|p| p.is_finite()));
    assert!(r.outlier_scores.iter().all(|p| p.is_finite()));
    r.labels
}

fn reference(kind: &str, mcs: usize, ms: usize) -> Vec<i64> {
    read_labels(&dir().join(format!("{kind}-mcs{mcs}-ms{ms}.npy")))
}

fn exact(mcs: usize) {
    let ours = run(mcs, 1, 2);
    let generic = reference("hdbscan-generic", mcs, 1);
    let a = ari(&ours, &generic);
    eprintln!("mcs{mcs} ms1: ARI vs generic {a}");
    assert_eq!(n_clusters(&ours), n_clusters(&generic));
    assert!(a == 1.0, "ARI {a}");
}

#[test]
fn exact_single_linkage_mcs5() {
    exact(5);
}

#[test]
fn exact_single_linkage_mcs25() {
    exact(25);
}

/// Against the single-run fixture files (one draw each; see
/// `ties_in_expectation` for the measure that counts), as regression floors.
/// `min_best` / `min_generic` are the acceptance floors; where fast_hdbscan's
/// own score is out of reach of any exact MST (see the module docs and the
/// notes next to each call) the floor is set just below this crate's value.
fn ties(mcs: usize, min_best: f64, min_generic: f64) {
    let ours = run(mcs, 5, 2);
    let best = ari(&ours, &reference("hdbscan-best", mcs, 5));
    let generic = ari(&ours, &reference("hdbscan-generic", mcs, 5));
    eprintln!("mcs{mcs} ms5: ARI vs best {best}, vs generic {generic}");
    assert!(best >= min_best, "vs best {best} < {min_best}");
    assert!(
        generic >= min_generic,
        "vs generic {generic} < {min_generic}"
    );
}

#[test]
fn ties_mcs5_ms5() {
    // Measured 0.9550 / 0.8983. fast_hdbscan: 0.9462 / 0.9100; hdbscan's own
    // exact Borůvka (approx_min_span_tree=False) scores 0.983 / 0.8959.
    ties(5, 0.9462, 0.89);
}

#[test]
fn ties_mcs25_ms5() {
    // Measured 0.9752 / 0.9855. fast_hdbscan: 0.9845 / 0.9761; hdbscan's own
    // exact Borůvka scores 0.9774 vs `best`, whose approximate spanning tree
    // already costs 0.9856 ARI at min_samples = 1.
    ties(25, 0.97, 0.9761);
}

/// splitmix64, the row-order generator shared with `bench/hdbscan_ties.py`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Draw `k`'s row order (position `p` holds original row `order[p]`):
/// the file's own order for draw 0, else the rows sorted by
/// `splitmix64((k << 32) + row)`, as `bench/hdbscan_ties.py` orders them.
fn row_order(k: u64, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if k > 0 {
        order.sort_by_key(|&r| splitmix64((k << 32) + r as u64));
    }
    order
}

/// Our labels for each draw's row order, mapped back to the original rows.
fn our_draws(mcs: usize, ms: usize, draws: usize) -> Vec<Vec<i64>> {
    let x = read_f32_2d(&dir().join("umap-learn-layout-seed42.npy"));
    let params = HdbscanParams::new(mcs).with_min_samples(ms);
    (0..draws as u64)
        .map(|k| {
            let order = row_order(k, x.nrows());
            let permuted = x.select(ndarray::Axis(0), &order);
            let labels = hdbscan(permuted.view(), &params, &NoProgress)
                .unwrap()
                .labels;
            let mut back = vec![0i64; labels.len()];
            for (p, &row) in order.iter().enumerate() {
                back[row] = labels[p];
            }
            back
        })
        .collect()
}

/// A peer's labels in each of the row orders (`draws/<tool>-mcs-ms-draws.npy`,
/// written by `bench/hdbscan_ties.py --save`), in the original row order.
fn peer_draws(tool: &str, mcs: usize, ms: usize) -> Vec<Vec<i64>> {
    let a = latentscope_io::npy::read_npy(
        &dir().join(format!("draws/{tool}-mcs{mcs}-ms{ms}-draws.npy")),
    )
    .unwrap();
    let n = a.shape[1];
    a.to_i64().chunks(n).map(<[i64]>::to_vec).collect()
}

/// Mean ARI over pairs of different draws, and its standard error over the
/// draws of `a` (the spread of the per-draw means, over the square root of
/// their number).
fn mean_ari(a: &[Vec<i64>], b: &[Vec<i64>]) -> (f64, f64) {
    let per_draw: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let scores: Vec<f64> = b
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, y)| ari(x, y))
                .collect();
            scores.iter().sum::<f64>() / scores.len() as f64
        })
        .collect();
    let k = per_draw.len() as f64;
    let mean = per_draw.iter().sum::<f64>() / k;
    let var = per_draw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k;
    (mean, (var / k).sqrt())
}

/// Where ties decide, every implementation's answer is one draw that changes
/// with the input's row order (rerun here with a newer NumPy, fast_hdbscan
/// itself scores 0.9454 / 0.9086 against its own mcs-5 bars), so agreement is
/// measured in expectation over 16 row orders (`bench/hdbscan_ties.py`). Our
/// mean ARI against `hdbscan`'s `best` and `generic` draws must be at least
/// fast_hdbscan's (DESIGN: "at least as close to `hdbscan` as fast_hdbscan
/// is"), within two standard errors of the difference: the tie rule is one
/// draw of the same kind, so equality is what a correct rule reaches. A
/// wrong core distance (scikit-learn's `min_samples` convention, one
/// neighbour fewer) scores 0.58 / 0.70 against `best` and fails by a hundred
/// standard errors.
fn ties_in_expectation(mcs: usize) {
    let best = peer_draws("best", mcs, 5);
    let generic = peer_draws("generic", mcs, 5);
    let fast = peer_draws("fast", mcs, 5);
    let ours = our_draws(mcs, 5, best.len());
    for (name, reference) in [("best", &best), ("generic", &generic)] {
        let ((o, o_se), (f, f_se)) = (mean_ari(&ours, reference), mean_ari(&fast, reference));
        let se = o_se.hypot(f_se);
        eprintln!(
            "mcs{mcs} ms5 vs {name}: ours {o:.4} ± {o_se:.4}, fast_hdbscan {f:.4} ± {f_se:.4}"
        );
        assert!(
            o >= f - 2.0 * se,
            "mcs{mcs} vs {name}: ours {o:.4} < fast_hdbscan {f:.4} - 2 × {se:.4}"
        );
    }
}

#[test]
fn ties_mcs5_ms5_as_close_as_fast_hdbscan() {
    ties_in_expectation(5);
}

#[test]
fn ties_mcs25_ms5_as_close_as_fast_hdbscan() {
    ties_in_expectation(25);
}

fn count(mcs: usize, ms: usize, params: HdbscanParams) -> usize {
    let x = read_f32_2d(&dir().join("umap-learn-layout-seed42.npy"));
    let _ = (mcs, ms);
    let r = hdbscan(x.view(), &params, &NoProgress).unwrap();
    assert_eq!(r.n_clusters, n_clusters(&r.labels));
    assert!(r.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(r.outlier_scores.iter().all(|p| (0.0..=1.0).contains(p)));
    for (l, p) in r.labels.iter().zip(&r.probabilities) {
        if *l < 0 {
            assert_eq!(*p, 0.0);
        }
    }
    r.n_clusters
}

/// Cluster counts of Python `hdbscan` (algorithm="generic", float64 input)
/// with `min_samples = 1`, where no ties exist; label partitions,
/// probabilities and GLOSH scores were also checked equal there.
#[test]
fn selection_options_match_python_counts() {
    use latentscope_core::hdbscan::ClusterSelectionMethod::Leaf;
    let p = |mcs| HdbscanParams::new(mcs).with_min_samples(1);
    assert_eq!(count(15, 1, p(15).with_method(Leaf)), 229);
    assert_eq!(count(15, 1, p(15).with_cluster_selection_epsilon(0.5)), 3);
    assert_eq!(
        count(
            15,
            1,
            p(15).with_method(Leaf).with_cluster_selection_epsilon(0.5)
        ),
        3
    );
    assert_eq!(count(15, 1, p(15).with_allow_single_cluster(true)), 185);
    assert_eq!(count(50, 1, p(50).with_max_cluster_size(Some(300))), 57);
    assert_eq!(
        count(
            15,
            1,
            p(15)
                .with_allow_single_cluster(true)
                .with_cluster_selection_epsilon(2.0)
        ),
        1
    );
    assert_eq!(count(400, 1, p(400).with_allow_single_cluster(true)), 1);
    assert_eq!(
        count(
            15,
            1,
            p(15)
                .with_cluster_selection_epsilon(0.3)
                .with_max_cluster_size(Some(500))
        ),
        4
    );
}

#[test]
fn deterministic_across_thread_counts() {
    for (mcs, ms) in [(5, 5), (15, 5), (25, 1)] {
        assert_eq!(run(mcs, ms, 1), run(mcs, ms, 2), "mcs{mcs} ms{ms}");
    }
}
