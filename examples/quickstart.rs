//! Quickstart: ingest the dataset the repository ships, project a set of
//! vectors to 2-D, cluster the map and tag a few rows, all from Rust.
//!
//! Run with `cargo run --release --example quickstart`. The vectors are a
//! hashed bag of words, so the example needs nothing but the repository
//! (`latentscope embed` and `examples/custom_embedder.rs` show real and
//! pluggable models).

use std::collections::HashMap;
use std::sync::Arc;

use latentscope::cluster::{ClusterOptions, default_hdbscan_params};
use latentscope::ingest::{IngestOptions, ingest_file};
use latentscope::io::{LocalStore, Matrix};
use latentscope::project::ProjectOptions;
use latentscope::umap::UmapParams;
use latentscope::{Dataset, NoProgress};

fn main() -> latentscope::Result<()> {
    let dir = std::env::temp_dir().join(format!("latentscope-quickstart-{}", std::process::id()));
    let store = Arc::new(LocalStore::new(&dir));
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pypi-10k.csv");
    let ds = ingest_file(
        store.clone(),
        "pypi-10k",
        &csv,
        &IngestOptions::new("summary"),
        &NoProgress,
    )?;
    println!("ingested {} rows into {}", ds.rows(), dir.display());

    // Stand-in vectors: a hashed bag of words.
    let texts = ds.texts()?.texts;
    let dims = 64;
    let mut data = vec![0f32; texts.len() * dims];
    let mut vocab: HashMap<String, usize> = HashMap::new();
    for (i, text) in texts.iter().enumerate() {
        for word in text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 2)
        {
            let n = vocab.len();
            let h = *vocab.entry(word.to_string()).or_insert(n);
            data[i * dims + h % dims] += 1.0;
            data[i * dims + (h * 31 + 7) % dims] -= 0.5;
        }
        data[i * dims + i % dims] += 1e-3; // keep every row non-zero
    }
    let embedding = ds.write_embedding(
        &Matrix {
            data,
            rows: texts.len(),
            cols: dims,
        },
        latentscope::embedding::EmbeddingMeta::imported("bag-of-words example", &ds),
    )?;

    let mut params = UmapParams::default();
    params.n_neighbors = 25;
    params.seed = Some(42);
    let umap = ds.project(embedding, &params, &ProjectOptions::default(), &NoProgress)?;
    let cluster = ds.cluster(
        umap,
        &default_hdbscan_params(ds.rows() as usize),
        &ClusterOptions::default(),
        &NoProgress,
    )?;
    let meta = ds.cluster_meta(cluster)?;
    println!(
        "{embedding} → {umap} → {cluster}: {} clusters, {} noise points",
        meta.n_clusters, meta.n_noise
    );

    ds.add_to_tag("interesting", &[0, 1, 2])?;
    println!("tags: {:?}", Dataset::open(store, "pypi-10k")?.tags()?);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
