// Integration tests of the UMAP and PCA module.

use crate::{data, quality};
use std::ops::ControlFlow;

use latentscope_core::progress::{NoProgress, ProgressEvent};
use latentscope_core::umap::{
    Init, Metric, UmapError, UmapParams, approx_knn, exact_knn, knn_graph, recall, umap, umap_owned,
};

fn fixture() -> std::path::PathBuf {
    crate::common::fixtures().join("pypi-10k/minilm-embeddings-f16.npy")
}

fn reference() -> std::path::PathBuf {
    crate::common::fixtures().join("pypi-10k/umap-learn-layout-seed42.npy")
}

fn params(k: usize, seed: u64) -> UmapParams {
    let mut p = UmapParams::default();
    p.n_neighbors = k;
    p.seed = Some(seed);
    p
}

fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(f)
}

fn bits(a: &ndarray::Array2<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn exact_knn_matches_brute_force() {
    let x = data::blobs(300, 12, 4, 1.0, 7);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let g = exact_knn(x.view(), 5, metric).unwrap();
        for i in 0..x.nrows() {
            let mut d: Vec<(f32, usize)> = (0..x.nrows())
                .filter(|&j| j != i)
                .map(|j| {
                    let (a, b) = (x.row(i), x.row(j));
                    let v = match metric {
                        Metric::Cosine => 1.0 - a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt()),
                        _ => a
                            .iter()
                            .zip(b.iter())
                            .map(|(p, q)| (p - q) * (p - q))
                            .sum::<f32>()
                            .sqrt(),
                    };
                    (v, j)
                })
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (t, want) in d.iter().take(5).enumerate() {
                assert!(
                    (g.distances[[i, t]] - want.0).abs() < 1e-3,
                    "row {i} slot {t}"
                );
            }
        }
    }
}

#[test]
fn nndescent_recall_on_synthetic() {
    let x = data::blobs(3000, 32, 10, 2.0, 3);
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let e = exact_knn(x.view(), 15, metric).unwrap();
        let a = approx_knn(x.view(), 15, metric, 1, &NoProgress).unwrap();
        let r = recall(&a, &e);
        assert!(r >= 0.9, "{metric:?} recall {r}");
    }
}

/// From `QUANTIZED_MIN_ROWS` rows cosine NN-descent runs over int8 rows: the
/// neighbours it finds are still the nearest (recall by distance, so that ties
/// count) and their distances are exact.
#[test]
fn quantized_nndescent_at_scale_finds_the_nearest_with_exact_distances() {
    let n = latentscope_core::umap::QUANTIZED_MIN_ROWS + 20_000;
    let x = data::blobs(n, 48, 300, 2.0, 17);
    let k = 15;
    let g = knn_graph(x.view(), k, Metric::Cosine, 9, &NoProgress).unwrap();
    let norm = |i: usize| x.row(i).dot(&x.row(i)).sqrt();
    let cos_dist = |i: usize, j: usize| 1.0 - x.row(i).dot(&x.row(j)) / (norm(i) * norm(j));
    let (mut hits, mut total) = (0usize, 0usize);
    for s in 0..200 {
        let i = (s * 7919 + 13) % n;
        let mut d: Vec<f32> = (0..n).filter(|&j| j != i).map(|j| cos_dist(i, j)).collect();
        d.select_nth_unstable_by(k - 1, |a, b| a.total_cmp(b));
        let kth = d[k - 1];
        for t in 0..k {
            let j = g.indices[[i, t]] as usize;
            let exact = cos_dist(i, j);
            assert!(
                (g.distances[[i, t]] - exact).abs() < 1e-5,
                "row {i} slot {t}: {} vs {exact}",
                g.distances[[i, t]]
            );
            assert!(t == 0 || g.distances[[i, t - 1]] <= g.distances[[i, t]]);
            hits += usize::from(exact <= kth + 1e-6);
            total += 1;
        }
    }
    let recall = hits as f64 / total as f64;
    assert!(recall >= 0.9, "recall@{k} {recall}");
}

#[test]
fn nndescent_is_deterministic_across_thread_counts() {
    let x = data::blobs(2000, 16, 5, 2.0, 11);
    let a = one_thread(|| approx_knn(x.view(), 10, Metric::Cosine, 5, &NoProgress).unwrap());
    for threads in [2, 3] {
        let b = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| approx_knn(x.view(), 10, Metric::Cosine, 5, &NoProgress).unwrap());
        assert_eq!(a.indices, b.indices, "{threads} threads");
    }
}

#[test]
fn one_thread_run_is_bit_reproducible() {
    let x = data::blobs(800, 16, 4, 1.5, 1);
    let p = params(10, 42);
    let a = one_thread(|| umap(x.view(), &p, &NoProgress).unwrap());
    let b = one_thread(|| umap(x.view(), &p, &NoProgress).unwrap());
    assert_eq!(bits(&a.embedding), bits(&b.embedding));
    assert_eq!(a.embedding.dim(), (800, 2));
    assert!(a.embedding.iter().all(|v| v.is_finite()));
}

#[test]
fn one_thread_run_with_nndescent_is_bit_reproducible() {
    let n = latentscope_core::umap::EXACT_MAX_ROWS + 500;
    let x = data::blobs(n, 8, 20, 3.0, 8);
    let mut p = params(8, 7);
    p.n_epochs = Some(20);
    let a = one_thread(|| umap(x.view(), &p, &NoProgress).unwrap());
    let b = one_thread(|| umap(x.view(), &p, &NoProgress).unwrap());
    assert_eq!(bits(&a.embedding), bits(&b.embedding));
}

#[test]
fn every_init_gives_a_finite_layout() {
    let x = data::blobs(400, 8, 3, 6.0, 2);
    let prev = umap(x.view(), &params(10, 1), &NoProgress).unwrap();
    assert_eq!(prev.init_used, "spectral");
    for (init, name) in [
        (Init::Pca, "pca"),
        (Init::Random, "random"),
        (Init::Coordinates(prev.embedding.clone()), "coordinates"),
    ] {
        let mut p = params(10, 3);
        p.init = init;
        p.n_epochs = Some(50);
        let r = umap(x.view(), &p, &NoProgress).unwrap();
        assert_eq!(r.init_used, name);
        assert!(r.embedding.iter().all(|v| v.is_finite()));
    }
}

/// Whether two convex polygons (corner lists) are disjoint: some edge
/// normal of one of them separates their projections.
fn convex_disjoint(a: &[[f32; 2]], b: &[[f32; 2]]) -> bool {
    let axes = |p: &[[f32; 2]]| -> Vec<[f32; 2]> {
        (0..p.len())
            .map(|i| {
                let (s, t) = (p[i], p[(i + 1) % p.len()]);
                [s[1] - t[1], t[0] - s[0]]
            })
            .collect()
    };
    let span = |p: &[[f32; 2]], ax: [f32; 2]| {
        p.iter()
            .map(|q| q[0] * ax[0] + q[1] * ax[1])
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    axes(a).into_iter().chain(axes(b)).any(|ax| {
        let ((alo, ahi), (blo, bhi)) = (span(a, ax), span(b, ax));
        ahi < blo || bhi < alo
    })
}

#[test]
fn a_disconnected_graph_is_laid_out_component_by_component() {
    // Four far-apart tight blobs: the 5-NN graph falls apart into them.
    let blobs = 4;
    let x = data::blobs(400, 8, blobs, 0.01, 9);
    let mut p = params(5, 1);
    p.metric = Metric::Euclidean;
    p.n_epochs = Some(200);
    let r = umap(x.view(), &p, &NoProgress).unwrap();
    assert_eq!(
        r.init_used,
        "spectral (each connected component, placed apart)"
    );
    assert!(r.n_components >= blobs, "{} components", r.n_components);
    assert!(r.embedding.iter().all(|v| v.is_finite()));
    let xy: Vec<f32> = r.embedding.iter().copied().collect();
    let hulls: Vec<Vec<[f32; 2]>> = (0..blobs)
        .map(|b| {
            let members: Vec<usize> = (b..400).step_by(blobs).collect();
            latentscope_core::hull::convex_hull(&xy, &members)
                .into_iter()
                .map(|i| [xy[2 * i], xy[2 * i + 1]])
                .collect()
        })
        .collect();
    for i in 0..blobs {
        for j in i + 1..blobs {
            assert!(
                convex_disjoint(&hulls[i], &hulls[j]),
                "blobs {i} and {j} overlap"
            );
        }
    }
    // Another seed: the components never meet either.
    let r = umap(x.view(), &params_euclid(5, 2), &NoProgress).unwrap();
    assert!(r.init_used.starts_with("spectral"));
}

#[test]
fn rows_given_by_value_give_the_same_layout() {
    // `umap_owned` frees the rows before the components' layouts (several
    // components) or before the epochs (one); neither changes a coordinate.
    for (x, k, start) in [
        (
            data::blobs(400, 8, 4, 0.01, 9),
            5,
            "spectral (each connected component, placed apart)",
        ),
        (data::blobs(300, 8, 1, 1.0, 2), 15, "spectral"),
    ] {
        let p = params_euclid(k, 3);
        let (by_ref, by_value) = one_thread(|| {
            (
                umap(x.view(), &p, &NoProgress).unwrap(),
                umap_owned(x.clone(), &p, &NoProgress).unwrap(),
            )
        });
        assert_eq!((by_ref.init_used, by_value.init_used), (start, start));
        assert_eq!(by_ref.embedding, by_value.embedding);
    }
}

fn params_euclid(k: usize, seed: u64) -> UmapParams {
    let mut p = params(k, seed);
    p.metric = Metric::Euclidean;
    p.n_epochs = Some(100);
    p
}

#[test]
fn small_inputs_get_a_layout_as_umap_learn_would_give_them() {
    // Fewer rows than n_neighbors + 1: the neighbourhood shrinks to n - 1.
    let x = data::blobs(15, 4, 2, 1.0, 1);
    let r = umap(x.view(), &params(15, 1), &NoProgress).unwrap();
    assert_eq!((r.n_neighbors, r.embedding.nrows()), (14, 15));
    assert!(r.embedding.iter().all(|v| v.is_finite()));
    assert!(knn_graph(x.view(), 15, Metric::Cosine, 0, &NoProgress).is_err());
    // A handful of rows: PCA; one or two: a circle; none: an error.
    let five = data::blobs(5, 4, 2, 1.0, 1);
    let r = umap(five.view(), &params(15, 1), &NoProgress).unwrap();
    assert_eq!(
        (r.init_used, r.n_neighbors, r.n_epochs),
        ("pca (too few rows for UMAP)", 0, 0)
    );
    let two = data::blobs(2, 4, 2, 1.0, 1);
    let r = umap(two.view(), &params(15, 1), &NoProgress).unwrap();
    assert_eq!(r.init_used, "circle (too few rows for UMAP or PCA)");
    assert_ne!(r.embedding.row(0), r.embedding.row(1));
    let one = data::blobs(1, 4, 1, 1.0, 1);
    assert_eq!(
        umap(one.view(), &params(15, 1), &NoProgress)
            .unwrap()
            .embedding
            .nrows(),
        1
    );
    let none = ndarray::Array2::<f32>::zeros((0, 4));
    assert_eq!(
        umap(none.view(), &params(15, 1), &NoProgress).unwrap_err(),
        UmapError::TooFewRows { rows: 0, needed: 1 }
    );
}

#[test]
fn non_finite_input_names_the_row() {
    let mut x = data::blobs(100, 4, 2, 1.0, 1);
    x[[37, 2]] = f32::NAN;
    let err = umap(x.view(), &params(10, 1), &NoProgress).unwrap_err();
    assert_eq!(err, UmapError::NonFinite { row: 37, column: 2 });
    x[[37, 2]] = 0.0;
    x[[50, 0]] = f32::INFINITY;
    let err = umap(x.view(), &params(10, 1), &NoProgress).unwrap_err();
    assert_eq!(err, UmapError::NonFinite { row: 50, column: 0 });
}

#[test]
fn identical_rows_do_not_panic() {
    for metric in [Metric::Cosine, Metric::Euclidean] {
        let x = ndarray::Array2::<f32>::from_elem((100, 6), 0.5);
        let mut p = params(10, 1);
        p.metric = metric;
        let r = umap(x.view(), &p, &NoProgress).unwrap();
        assert!(r.embedding.iter().all(|v| v.is_finite()), "{metric:?}");
        // All-zero rows under cosine as well.
        let z = ndarray::Array2::<f32>::zeros((60, 3));
        let r = umap(z.view(), &p, &NoProgress).unwrap();
        assert!(r.embedding.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn invalid_parameters_are_rejected() {
    let x = data::blobs(100, 4, 2, 1.0, 1);
    let mut p = params(10, 1);
    p.min_dist = 2.0;
    assert!(matches!(
        umap(x.view(), &p, &NoProgress),
        Err(UmapError::InvalidParameter {
            name: "min_dist",
            ..
        })
    ));
    let mut p = params(1, 1);
    p.n_epochs = Some(10);
    assert!(matches!(
        p.validate(),
        Err(UmapError::InvalidParameter {
            name: "n_neighbors",
            ..
        })
    ));
    let mut p = params(10, 1);
    p.init = Init::Coordinates(ndarray::Array2::zeros((99, 2)));
    assert!(matches!(
        umap(x.view(), &p, &NoProgress),
        Err(UmapError::InvalidParameter { name: "init", .. })
    ));
    let mut p = params(10, 1);
    p.learning_rate = f32::NAN;
    assert!(p.validate().is_err());
}

#[test]
fn progress_reports_stages_and_can_cancel() {
    let x = data::blobs(300, 8, 3, 1.5, 4);
    let seen = std::sync::Mutex::new(Vec::<String>::new());
    let progress = |e: ProgressEvent<'_>| {
        let mut s = seen.lock().unwrap();
        if s.last().map(String::as_str) != Some(e.stage) {
            s.push(e.stage.to_string());
        }
        if e.stage == "umap:epochs" && e.done == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let err = umap(x.view(), &params(10, 1), &progress).unwrap_err();
    assert_eq!(err, UmapError::Cancelled);
    let s = seen.into_inner().unwrap();
    for stage in ["umap:knn", "umap:graph", "umap:init", "umap:epochs"] {
        assert!(s.iter().any(|x| x == stage), "missing {stage}: {s:?}");
    }
}

#[test]
fn pca_on_fixture_shape() {
    let x = data::blobs(500, 20, 3, 1.0, 5);
    let p = latentscope_core::pca::pca(x.view(), 3).unwrap();
    assert_eq!(p.components.dim(), (3, 20));
    assert_eq!(p.projected.dim(), (500, 3));
    assert!(p.explained_variance[0] >= p.explained_variance[1]);
}

/// Recall >= 0.9 of NN-descent vs exact neighbours on the 10k fixture .
#[test]
fn fixture_10k_nndescent_recall() {
    let x = crate::common::read_f32_2d(&fixture());
    let e = exact_knn(x.view(), 24, Metric::Cosine).unwrap();
    let a = approx_knn(x.view(), 24, Metric::Cosine, 42, &NoProgress).unwrap();
    let r = recall(&a, &e);
    eprintln!("nn-descent recall@24 on the 10k fixture: {r:.4}");
    assert!(r >= 0.9, "recall {r}");
}

/// Trustworthiness within 0.01 of umap-learn's layout and recall@10 >= umap-learn's - 0.01,
/// both scored the same way .
#[test]
fn fixture_10k_quality_matches_umap_learn() {
    let x = crate::common::read_f32_2d(&fixture());
    let reference = crate::common::read_f32_2d(&reference());
    let r = umap(x.view(), &params(25, 42), &NoProgress).unwrap();
    assert_eq!(r.init_used, "spectral");
    let nn = exact_knn(x.view(), 10, Metric::Cosine).unwrap();
    let x_nn: Vec<Vec<usize>> = nn
        .indices
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|&j| j as usize).collect())
        .collect();
    let (tw, rc) = quality::score(x.view(), r.embedding.view(), &x_nn);
    let (tw_ref, rc_ref) = quality::score(x.view(), reference.view(), &x_nn);
    eprintln!("ours: trustworthiness {tw:.4} recall {rc:.4}; umap-learn: {tw_ref:.4} {rc_ref:.4}");
    assert!(tw >= tw_ref - 0.01, "trustworthiness {tw} vs {tw_ref}");
    assert!(rc >= rc_ref - 0.01, "recall {rc} vs {rc_ref}");
}
