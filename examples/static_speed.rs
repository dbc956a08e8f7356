//! Encode-only speed of a static model on a text column, for the
//! side-by-side figures in docs/benchmarks.md (model2vec-rs prints the same).
//!
//! `cargo run --release --example static_speed -- FILE COLUMN [MODEL_SPEC] [THREADS]`
//! (MODEL_SPEC defaults to `static:minilm`; FILE is any table ingest reads).

use std::sync::Arc;
use std::time::Instant;

use latentscope::embed::Embedder;
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
    let texts = ds.texts()?.texts;
    // The first pass is what one `embed` call costs (cold caches, fresh
    // output pages); the best of two more passes is the warm rate.
    let mut out = vec![0f32; texts.len() * model.spec().dimensions];
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        model.embed_to_slice(&texts, &mut out);
        times.push(started.elapsed().as_secs_f64());
    }
    let (first, warm) = (times[0], times[1].min(times[2]));
    let checksum: f64 = out.iter().map(|v| *v as f64).sum();
    let rows = texts.len() as f64;
    println!(
        "{{\"rows\": {rows}, \"encode_s\": {first:.4}, \"rows_per_s\": {:.0}, \"warm_encode_s\": {warm:.4}, \"warm_rows_per_s\": {:.0}, \"checksum\": {checksum:.3}}}",
        rows / first,
        rows / warm
    );
    Ok(())
}
