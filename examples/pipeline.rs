//! The whole pipeline from Rust: ingest → embed → umap → cluster → label →
//! scope, one builder per step with the defaults a first run wants, then the
//! same in one call (`DataDir::run_file`, which also resumes).
//!
//! Run with `cargo run --release --example pipeline`. It uses the first
//! 2,000 rows of the dataset the repository ships, and the built-in model.

use latentscope::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/pypi-10k.csv"))?;
    let csv = dir.path().join("pypi-2k.csv");
    std::fs::write(&csv, all.lines().take(2001).collect::<Vec<_>>().join("\n"))?;

    let data = DataDir::open(dir.path().join("data"));
    let ds = data.ingest("pypi-2k", &csv, "summary")?;
    let model = embedders().resolve(DEFAULT_MODEL, &EmbedConfig::default())?;
    let embedding = ds.new_embedding(model.as_ref()).run_blocking()?.id;
    let umap = ds.new_umap(embedding).seed(42).run()?;
    let clusters = ds.new_clustering(umap).run()?;
    let labels = ds.new_labels(clusters).run_blocking()?;
    let scope = ds
        .new_scope(embedding, umap, clusters, labels)
        .label("PyPI 2k")
        .run()?;
    println!("{embedding} → {umap} → {clusters} → {labels} → {scope}");

    let mut named = ds.read_labels(labels)?;
    named.sort_by_key(|r| std::cmp::Reverse(r.indices.len()));
    for row in named.iter().filter(|r| r.label != "Unclustered").take(5) {
        println!("{:>5} rows  {}", row.indices.len(), row.label);
    }

    // All of it in one call, into another dataset.
    let report = data.run_file(
        "pypi-2k-run",
        &csv,
        "summary",
        DEFAULT_MODEL,
        &embedders(),
        &NoProgress,
    )?;
    println!("one call: {} clusters in {}", report.clusters, report.scope);
    Ok(())
}
