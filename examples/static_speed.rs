//! Encode-only speed of a static model on a text column, for the
//! side-by-side figures in docs/benchmarks.md (model2vec-rs prints the same).
//!
//! `cargo run --release --example static_speed -- FILE COLUMN [MODEL_SPEC] [THREADS]`
//! (MODEL_SPEC defaults to `static:minilm`; FILE is any table ingest reads).

use std::sync::Arc;
use std::time::Instant;

use latentscope::ingest::{IngestOptions, ingest_file};
use latentscope::io::MemoryStore;
use latentscope::models::static_model::{StaticModel, builtin};
use latentscope::{EmbedConfig, NoProgress};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let default_file = concat!(env!("CARGO_MANIFEST_DIR"), "/data/pypi-10k.csv").to_string();
    let file = args.get(1).cloned().unwrap_or(default_file);
    let column = args.get(2).cloned().unwrap_or_else(|| "summary".into());
    let spec = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "static:minilm".into());
    let threads = args.get(4).and_then(|t| t.parse().ok());
    let config = EmbedConfig::default().with_threads(threads);
    let model = match spec.strip_prefix("static:") {
        Some(builtin::NAME) | None => builtin::load(&config)?,
        Some(dir) => StaticModel::load_dir(dir.as_ref(), dir, &config)?,
    };
    let ds = ingest_file(
        Arc::new(MemoryStore::new()),
        "bench",
        file.as_ref(),
        &IngestOptions::new(column),
        &NoProgress,
    )?;
    let (texts, _) = ds.texts()?;
    let started = Instant::now();
    let vectors = model.embed_flat(&texts);
    let seconds = started.elapsed().as_secs_f64();
    let checksum: f64 = vectors.iter().map(|v| *v as f64).sum();
    println!(
        "{{\"rows\": {}, \"encode_s\": {seconds:.3}, \"rows_per_s\": {:.0}, \"checksum\": {checksum:.3}}}",
        texts.len(),
        texts.len() as f64 / seconds
    );
    Ok(())
}
