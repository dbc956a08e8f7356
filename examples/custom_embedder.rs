//! Plug your own model into latentscope: implement [`Embedder`], register it
//! under a name, and embed a dataset with the same driver the built-in
//! backends use (batching, progress, resume, the atomic write).
//!
//! Run with `cargo run --release --example custom_embedder`. The "model"
//! here is a hashed bag of character trigrams, so the example needs nothing
//! but the repository; a real one would call your network or library.

use std::sync::Arc;

use latentscope::embed::{EmbedError, Embedder, EmbedderSpec, async_trait};
use latentscope::ingest::{IngestOptions, ingest_file};
use latentscope::io::MemoryStore;
use latentscope::{EmbedConfig, EmbedOptions, NoProgress};

/// Character-trigram counts hashed into a fixed number of dimensions, L2-normalised.
struct Trigrams {
    spec: EmbedderSpec,
}

impl Trigrams {
    fn new(dimensions: usize) -> Self {
        let spec = EmbedderSpec::new("example", "trigrams", dimensions)
            .with_normalized(true)
            .with_batching(256, 1);
        Self { spec }
    }

    fn vector(&self, text: &str) -> Vec<f32> {
        let d = self.spec.dimensions;
        let mut v = vec![0f32; d];
        let chars: Vec<char> = format!("  {}  ", text.to_lowercase()).chars().collect();
        for w in chars.windows(3) {
            let h = w.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, c| {
                (h ^ *c as u64).wrapping_mul(0x100_0000_01b3)
            });
            v[(h % d as u64) as usize] += 1.0;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }
}

#[async_trait]
impl Embedder for Trigrams {
    fn spec(&self) -> &EmbedderSpec {
        &self.spec
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Register the model next to the built-in backends; `trigrams` is now a
    // model spec like `candle:sentence-transformers/all-MiniLM-L6-v2`.
    let mut registry = latentscope::models::registry();
    registry.register("trigrams", Arc::new(Trigrams::new(128)));
    let embedder = registry.resolve("trigrams", &EmbedConfig::default())?;

    let store = Arc::new(MemoryStore::new());
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/pypi-10k.csv");
    let ds = ingest_file(
        store,
        "pypi-10k",
        &csv,
        &IngestOptions::new("summary"),
        &NoProgress,
    )?;

    let options = EmbedOptions::default().with_model_spec(Some("trigrams".into()));
    let outcome = futures::executor::block_on(ds.embed(embedder.as_ref(), &options, &NoProgress))?;
    let meta = ds.embedding_meta(outcome.id)?;
    println!(
        "{}: {} rows × {} dims with {} in {:.2}s",
        outcome.id, outcome.rows, meta.dimensions, meta.model_id, outcome.seconds
    );

    // The vectors are an ordinary embedding: read them back, or go on to
    // `Dataset::project` and `Dataset::cluster`.
    let vectors = ds.read_embedding(outcome.id)?;
    assert_eq!(vectors.rows as u64, ds.rows());
    assert!((vectors.row(0).iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
    Ok(())
}
