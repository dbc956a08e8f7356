//! The README's example: project vectors to 2-D with UMAP, then cluster the
//! layout with HDBSCAN. `cargo run --release -p latentscope-algorithms --example cluster_and_project`

use latentscope_algorithms::{
    NoProgress,
    hdbscan::{HdbscanParams, hdbscan},
    umap::{UmapParams, umap},
};
use ndarray::Array2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Three groups of 100 rows, each group strong on its own 5 of 15 dimensions.
    let vectors = Array2::from_shape_fn((300, 15), |(i, j)| {
        if j / 5 == i % 3 {
            1.0 + ((i * 2654435761 + j * 40503) % 1000) as f32 * 3e-4
        } else {
            0.05
        }
    });
    let mut params = UmapParams::default();
    params.seed = Some(42); // with one thread, the same layout every run
    let layout = umap(vectors.view(), &params, &NoProgress)?.embedding; // 300 × 2
    let clusters = hdbscan(layout.view(), &HdbscanParams::new(15), &NoProgress)?;
    println!(
        "{} clusters, labels {:?}…",
        clusters.n_clusters,
        &clusters.labels[..6]
    );
    // No cluster mixes rows of two groups.
    for c in 0..clusters.n_clusters as i64 {
        let mut groups: Vec<usize> = (0..300)
            .filter(|&i| clusters.labels[i] == c)
            .map(|i| i % 3)
            .collect();
        groups.dedup();
        assert_eq!(groups.len(), 1, "cluster {c} mixes groups");
    }
    Ok(())
}
