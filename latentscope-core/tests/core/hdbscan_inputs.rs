// Bad input, degenerate data, cancellation and the high-dimensional path.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};

use latentscope_core::hdbscan::{HdbscanError, HdbscanParams, hdbscan};
use latentscope_core::progress::{NoProgress, ProgressEvent};
use ndarray::Array2;

/// Deterministic pseudo-random blobs with integer-valued coordinates.
fn blobs(n: usize, dim: usize) -> Array2<f32> {
    let mut s: u64 = 12345;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as i64
    };
    let mut x = Array2::zeros((n, dim));
    for i in 0..n {
        let c = (i % 4) as i64 * 1000;
        for k in 0..dim {
            x[[i, k]] = (c + next() % 200 - 100) as f32;
        }
    }
    x
}

#[test]
fn too_few_points() {
    let x = blobs(5, 2);
    let err = hdbscan(x.view(), &HdbscanParams::new(5), &NoProgress).unwrap_err();
    assert_eq!(
        err,
        HdbscanError::TooFewPoints {
            points: 5,
            needed: 6
        }
    );
    let err = hdbscan(
        x.view(),
        &HdbscanParams::new(2).with_min_samples(5),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(err, HdbscanError::TooFewPoints { .. }));
    assert!(err.to_string().contains("at least 6 points"));
    // Exactly min_samples + 1 points is enough.
    let x = blobs(6, 2);
    let r = hdbscan(x.view(), &HdbscanParams::new(5), &NoProgress).unwrap();
    assert_eq!(r.labels.len(), 6);
}

#[test]
fn non_finite_names_row_and_column() {
    let mut x = blobs(100, 3);
    x[[42, 2]] = f32::NAN;
    x[[70, 0]] = f32::INFINITY;
    let err = hdbscan(x.view(), &HdbscanParams::new(5), &NoProgress).unwrap_err();
    assert_eq!(err, HdbscanError::NonFinite { row: 42, column: 2 });
    assert!(err.to_string().contains("row 42"));
    let mut x = blobs(100, 3);
    x[[7, 1]] = -3e20;
    let err = hdbscan(x.view(), &HdbscanParams::new(5), &NoProgress).unwrap_err();
    assert!(
        matches!(err, HdbscanError::InvalidParameter { name: "points", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("row 7"));
}

#[test]
fn tiny_inputs() {
    for n in 2..8 {
        let x = blobs(n, 2);
        for ms in 1..n {
            let p = HdbscanParams::new(2).with_min_samples(ms);
            check_finite(&x, &p);
            check_finite(&x, &p.clone().with_allow_single_cluster(true));
        }
    }
}

#[test]
fn invalid_parameters() {
    let x = blobs(100, 2);
    let bad = [
        (HdbscanParams::new(1), "min_cluster_size"),
        (HdbscanParams::new(0), "min_cluster_size"),
        (HdbscanParams::new(5).with_min_samples(0), "min_samples"),
        (
            HdbscanParams::new(5).with_cluster_selection_epsilon(-1.0),
            "cluster_selection_epsilon",
        ),
        (
            HdbscanParams::new(5).with_cluster_selection_epsilon(f64::NAN),
            "cluster_selection_epsilon",
        ),
        (
            HdbscanParams::new(5).with_max_cluster_size(Some(0)),
            "max_cluster_size",
        ),
    ];
    for (p, name) in bad {
        match hdbscan(x.view(), &p, &NoProgress) {
            Err(HdbscanError::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: {other:?}"),
        }
        assert!(p.validate().unwrap_err().to_string().contains(name));
    }
    let empty = Array2::<f32>::zeros((10, 0));
    assert!(matches!(
        hdbscan(empty.view(), &HdbscanParams::new(2), &NoProgress),
        Err(HdbscanError::InvalidParameter { name: "points", .. })
    ));
}

fn check_finite(x: &Array2<f32>, p: &HdbscanParams) -> latentscope_core::hdbscan::HdbscanResult {
    let r = hdbscan(x.view(), p, &NoProgress).unwrap();
    assert_eq!(r.labels.len(), x.nrows());
    assert!(
        r.probabilities
            .iter()
            .all(|v| v.is_finite() && (0.0..=1.0).contains(v))
    );
    assert!(
        r.outlier_scores
            .iter()
            .all(|v| v.is_finite() && (0.0..=1.0).contains(v))
    );
    assert!(r.labels.iter().all(|&l| l >= -1 && l < r.n_clusters as i64));
    r
}

#[test]
fn identical_points() {
    for allow_single in [false, true] {
        let p = HdbscanParams::new(5).with_allow_single_cluster(allow_single);
        // All points identical.
        let x = Array2::<f32>::from_elem((500, 2), 3.5);
        check_finite(&x, &p);
        // Many duplicates mixed with spread points.
        let mut x = blobs(2000, 2);
        for i in 0..1500 {
            x[[i, 0]] = (i % 3) as f32;
            x[[i, 1]] = 7.0;
        }
        let r = check_finite(&x, &p);
        assert!(r.n_clusters >= 1);
        // Duplicates in the high-dimensional path.
        let x = Array2::<f32>::from_elem((300, 40), -1.0);
        check_finite(&x, &p);
    }
}

#[test]
fn finds_separated_blobs() {
    let x = blobs(2000, 2);
    let r = check_finite(&x, &HdbscanParams::new(20));
    assert_eq!(r.n_clusters, 4);
    // Same blob, same label.
    for i in 0..2000 {
        if r.labels[i] >= 0 && r.labels[i % 4] >= 0 {
            assert_eq!(r.labels[i], r.labels[i % 4]);
        }
    }
}

#[test]
fn high_dimensional_path_matches_kd_tree_path() {
    // Integer coordinates: every squared distance is exact in f32 and f64,
    // and zero padding does not change distances, so both paths see the
    // same weights and (with a unique spanning tree) give the same result.
    let x2 = blobs(1500, 2);
    let mut x40 = Array2::<f32>::zeros((1500, 40));
    x40.column_mut(0).assign(&x2.column(0));
    x40.column_mut(1).assign(&x2.column(1));
    for (mcs, ms) in [(5, 1), (10, 5), (30, 10)] {
        let p = HdbscanParams::new(mcs).with_min_samples(ms);
        let a = check_finite(&x2, &p);
        let b = check_finite(&x40, &p);
        assert_eq!(a.labels, b.labels, "mcs{mcs} ms{ms}");
        assert_eq!(a.probabilities, b.probabilities);
        assert_eq!(a.outlier_scores, b.outlier_scores);
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let x = blobs(3000, 2);
    let mut x3 = blobs(3000, 3);
    x3[[0, 0]] = 5.0;
    let run = |x: &Array2<f32>, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| hdbscan(x.view(), &HdbscanParams::new(10), &NoProgress).unwrap())
    };
    assert_eq!(run(&x, 1), run(&x, 2));
    assert_eq!(run(&x, 1), run(&x, 3));
    assert_eq!(run(&x3, 1), run(&x3, 2));
}

#[test]
fn cancellation_at_every_stage() {
    let x = blobs(1000, 2);
    let stages = [
        "hdbscan:core_distances",
        "hdbscan:mst",
        "hdbscan:condense",
        "hdbscan:select",
    ];
    for stage in stages {
        let seen = AtomicUsize::new(0);
        let progress = |e: ProgressEvent<'_>| {
            seen.fetch_add(1, Ordering::Relaxed);
            if e.stage == stage {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let err = hdbscan(x.view(), &HdbscanParams::new(10), &progress).unwrap_err();
        assert_eq!(err, HdbscanError::Cancelled, "{stage}");
        assert!(seen.load(Ordering::Relaxed) > 0);
    }
    // The high-dimensional path also stops.
    let x = blobs(300, 30);
    let progress = |e: ProgressEvent<'_>| {
        if e.stage == "hdbscan:mst" && e.done > 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    assert_eq!(
        hdbscan(x.view(), &HdbscanParams::new(10), &progress).unwrap_err(),
        HdbscanError::Cancelled
    );
}

#[test]
fn stages_are_reported_in_order() {
    let x = blobs(500, 2);
    let log = std::sync::Mutex::new(Vec::new());
    let progress = |e: ProgressEvent<'_>| {
        let mut l = log.lock().unwrap();
        if l.last() != Some(&e.stage.to_string()) {
            l.push(e.stage.to_string());
        }
        ControlFlow::Continue(())
    };
    hdbscan(x.view(), &HdbscanParams::new(10), &progress).unwrap();
    assert_eq!(
        log.into_inner().unwrap(),
        [
            "hdbscan:core_distances",
            "hdbscan:mst",
            "hdbscan:condense",
            "hdbscan:select"
        ]
    );
}

/// Small integer-valued inputs (many exact ties and duplicates): the KD-tree
/// Borůvka path and the dense Prim path must agree exactly, since the
/// spanning tree is unique under the tie rule.
#[test]
fn boruvka_and_prim_agree_on_tie_heavy_inputs() {
    let mut s: u64 = 99;
    let mut next = move |m: u64| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) % m
    };
    for case in 0..120 {
        let dim = 1 + (case % 3) as usize;
        let n = 2 + next(300) as usize;
        let range = 2 + next(40);
        let ms = 1 + next(8) as usize;
        let mcs = 2 + next(12) as usize;
        if n < ms + 1 {
            continue;
        }
        let mut low = Array2::<f32>::zeros((n, dim));
        let mut high = Array2::<f32>::zeros((n, 20));
        for i in 0..n {
            for k in 0..dim {
                let v = next(range) as f32;
                low[[i, k]] = v;
                high[[i, k]] = v;
            }
        }
        let p = HdbscanParams::new(mcs).with_min_samples(ms);
        let a = check_finite(&low, &p);
        let b = check_finite(&high, &p);
        assert_eq!(
            a, b,
            "case {case}: n {n} dim {dim} range {range} ms {ms} mcs {mcs}"
        );
    }
}
