//! Criterion benchmarks of the built-in algorithms over input sizes, on
//! seeded synthetic data (Gaussian-like blobs), one thread:
//! HDBSCAN on 2-D points, the UMAP kNN graph and the UMAP layout (SGD with a
//! fixed number of epochs from a random init).
//!
//! `cargo bench -p latentscope-algorithms --bench algorithms`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use latentscope_algorithms::NoProgress;
use latentscope_algorithms::hdbscan::{HdbscanParams, hdbscan};
use latentscope_algorithms::umap::{Init, Metric, UmapParams, knn_graph, umap};
use ndarray::Array2;

/// `n` points in `d` dimensions around `centers` centres, deterministic.
fn blobs(n: usize, d: usize, centers: usize, seed: u64) -> Array2<f32> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let c: Vec<Vec<f32>> = (0..centers)
        .map(|_| (0..d).map(|_| next() * 5.0).collect())
        .collect();
    Array2::from_shape_fn((n, d), |(i, j)| {
        c[i % centers][j] + next() + next() + next()
    })
}

fn one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool")
        .install(f)
}

fn bench_hdbscan(c: &mut Criterion) {
    let mut g = c.benchmark_group("hdbscan_2d_mcs15_ms5");
    g.sample_size(10);
    for n in [10_000, 50_000, 200_000] {
        let x = blobs(n, 2, 60, 1);
        let params = HdbscanParams::new(15).with_min_samples(5);
        g.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
            b.iter(|| one_thread(|| hdbscan(x.view(), &params, &NoProgress).expect("hdbscan")))
        });
    }
    g.finish();
}

/// The three phases of HDBSCAN separately (200k points, one thread).
fn bench_hdbscan_phases(c: &mut Criterion) {
    use latentscope_algorithms::hdbscan::phases;
    let mut g = c.benchmark_group("hdbscan_phases_ms5");
    g.sample_size(10);
    for n in [50_000, 200_000] {
        let x = blobs(n, 2, 60, 1);
        g.bench_with_input(BenchmarkId::new("core_distances", n), &x, |b, x| {
            b.iter(|| one_thread(|| phases::core_distances(x.view(), 5)))
        });
        let cores = phases::core_distances(x.view(), 5);
        g.bench_with_input(BenchmarkId::new("spanning_tree", n), &cores, |b, cores| {
            b.iter(|| one_thread(|| phases::spanning_tree(cores)))
        });
        let tree = phases::spanning_tree(&cores);
        g.bench_with_input(
            BenchmarkId::new("condensed_tree_mcs15", n),
            &tree,
            |b, tree| b.iter(|| one_thread(|| phases::condensed_tree(tree, 15))),
        );
    }
    g.finish();
}

fn bench_knn(c: &mut Criterion) {
    let mut g = c.benchmark_group("umap_knn_graph_k24_cosine_d64");
    g.sample_size(10);
    for n in [5_000, 20_000] {
        let x = blobs(n, 64, 40, 2);
        g.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
            b.iter(|| {
                one_thread(|| {
                    knn_graph(x.view(), 24, Metric::Cosine, 42, &NoProgress).expect("knn")
                })
            })
        });
    }
    g.finish();
}

fn bench_layout(c: &mut Criterion) {
    let mut g = c.benchmark_group("umap_layout_50_epochs_d16");
    g.sample_size(10);
    for n in [5_000, 20_000] {
        let x = blobs(n, 16, 40, 3);
        let mut params = UmapParams::default();
        params.n_neighbors = 15;
        params.n_epochs = Some(50);
        params.seed = Some(42);
        params.init = Init::Random;
        g.bench_with_input(BenchmarkId::from_parameter(n), &x, |b, x| {
            b.iter(|| one_thread(|| umap(x.view(), &params, &NoProgress).expect("umap")))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_hdbscan,
    bench_hdbscan_phases,
    bench_knn,
    bench_layout
);
criterion_main!(benches);
