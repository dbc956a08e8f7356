//! The whole pipeline from Rust, one call per step: ingest → embed → umap →
//! cluster → label → scope. (`latentscope::pipeline::run` does the same in
//! one call, with resume; this shows the steps.)
//!
//! Run with `cargo run --release --example pipeline` after
//! `scripts/fetch-model` (the default model's weights). It uses the first
//! 2,000 rows of the dataset the repository ships.

use std::sync::Arc;

use latentscope::cluster::{ClusterOptions, default_hdbscan_params};
use latentscope::ingest::{IngestOptions, ingest_file};
use latentscope::io::LocalStore;
use latentscope::label::keywords::KeywordsLabeler;
use latentscope::project::ProjectOptions;
use latentscope::scope::ScopeParts;
use latentscope::umap::UmapParams;
use latentscope::{EmbedConfig, EmbedOptions, LabelOptions, NoProgress};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let all = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/pypi-10k.csv"))?;
    let csv = dir.path().join("pypi-2k.csv");
    std::fs::write(&csv, all.lines().take(2001).collect::<Vec<_>>().join("\n"))?;

    let store = Arc::new(LocalStore::new(dir.path().join("data")));
    let ds = ingest_file(
        store,
        "pypi-2k",
        &csv,
        &IngestOptions::new("summary"),
        &NoProgress,
    )?;

    let model = latentscope::models::registry()
        .resolve(latentscope::models::DEFAULT_MODEL, &EmbedConfig::default())?;
    let embedded = futures::executor::block_on(ds.embed(
        model.as_ref(),
        &EmbedOptions::default(),
        &NoProgress,
    ))?;

    let mut umap = UmapParams::default();
    umap.seed = Some(42);
    let layout = ds.project(embedded.id, &umap, &ProjectOptions::default(), &NoProgress)?;
    let hdbscan = default_hdbscan_params(ds.rows() as usize);
    let clusters = ds.cluster(layout, &hdbscan, &ClusterOptions::default(), &NoProgress)?;

    let (texts, _) = ds.texts()?;
    let keywords = KeywordsLabeler::fit(&texts);
    let labels = futures::executor::block_on(ds.label(
        clusters,
        &keywords,
        &LabelOptions::default(),
        &NoProgress,
    ))?;
    let scope = ds.create_scope(
        &ScopeParts::new(embedded.id, layout, clusters, labels),
        "PyPI 2k",
        "",
    )?;

    println!(
        "{} → {} → {} → {} → {}",
        embedded.id, layout, clusters, labels, scope
    );
    let mut named = ds.read_labels(labels)?;
    named.sort_by_key(|r| std::cmp::Reverse(r.indices.len()));
    for row in named.iter().filter(|r| r.label != "Unclustered").take(5) {
        println!("{:>5} rows  {}", row.indices.len(), row.label);
    }
    Ok(())
}
