//! The embed driver with a deterministic test embedder: resume after a
//! cancel equals an uninterrupted run, nulls, bad embedders, the registry.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::executor::block_on;
use latentscope_core::embed::{EmbedError, Embedder, EmbedderSpec, async_trait};
use latentscope_core::ingest::{IngestOptions, ingest_batches};
use latentscope_core::{
    Dataset, EmbedConfig, EmbedOptions, EmbedderRegistry, EmbeddingId, Error, NoProgress,
    ProgressEvent,
};
use latentscope_io::arrow_array::{ArrayRef, RecordBatch, StringArray};
use latentscope_io::{MemoryStore, Store};

/// A vector from the bytes of the text alone (so batch order cannot matter),
/// counting the rows it was asked for.
struct Bytes {
    spec: EmbedderSpec,
    calls: AtomicUsize,
    rows: AtomicUsize,
    wrong: bool,
}

impl Bytes {
    fn new(dims: usize) -> Self {
        Self {
            spec: EmbedderSpec::new("test", "bytes", dims).with_batching(4, 2),
            calls: AtomicUsize::new(0),
            rows: AtomicUsize::new(0),
            wrong: false,
        }
    }

    /// As a backend whose cost is per text: rows come in order, uncopied.
    fn in_order(dims: usize, sorted: bool) -> Self {
        let mut e = Self::new(dims);
        e.spec = e.spec.with_sort_by_length(sorted);
        e
    }
}

#[async_trait]
impl Embedder for Bytes {
    fn spec(&self) -> &EmbedderSpec {
        &self.spec
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.rows.fetch_add(texts.len(), Ordering::SeqCst);
        let d = self.spec.dimensions;
        let mut out: Vec<Vec<f32>> = texts
            .iter()
            .map(|t| {
                let mut v = vec![t.len() as f32; d];
                for (i, b) in t.bytes().enumerate() {
                    v[i % d] += b as f32 / 7.0;
                }
                v
            })
            .collect();
        if self.wrong {
            out.pop();
        }
        Ok(out)
    }
}

fn dataset(rows: usize) -> Dataset {
    let texts: Vec<Option<String>> = (0..rows)
        .map(|i| (i % 17 != 5).then(|| "word ".repeat(i % 13) + &i.to_string()))
        .collect();
    let text: ArrayRef = Arc::new(StringArray::from(texts));
    let batch = RecordBatch::try_from_iter([("text", text)]).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    ingest_batches(
        store,
        "d",
        batch.schema(),
        vec![batch],
        &IngestOptions::new("text"),
        &NoProgress,
    )
    .unwrap()
}

#[test]
fn a_cancelled_embed_resumes_to_the_uninterrupted_result() {
    cancel_and_resume(true);
}

#[test]
fn a_cancelled_embed_of_a_per_text_backend_resumes_too() {
    cancel_and_resume(false);
}

fn cancel_and_resume(sorted: bool) {
    let ds = dataset(1000);
    let options = EmbedOptions::default().with_checkpoint_seconds(0.0);
    let whole = Bytes::in_order(6, sorted);
    let first = block_on(ds.embed(&whole, &options, &NoProgress)).unwrap();
    assert_eq!(first.id, EmbeddingId::new(1));
    assert_eq!(first.resumed_rows, 0);
    assert_eq!(whole.rows.load(Ordering::SeqCst), 1000);

    // Cancel once 600 rows are done: parts of 256 rows (64 batches of 4).
    let cancel_after = |e: ProgressEvent<'_>| {
        if e.done >= 600 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let interrupted = Bytes::in_order(6, sorted);
    let err = block_on(ds.embed(&interrupted, &options, &cancel_after)).unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
    assert_eq!(
        ds.artifact_ids::<EmbeddingId>().unwrap(),
        vec![EmbeddingId::new(1)]
    );

    let resumed = Bytes::in_order(6, sorted);
    let second = block_on(ds.embed(&resumed, &options, &NoProgress)).unwrap();
    assert_eq!(
        second.id,
        EmbeddingId::new(2),
        "the unfinished id is resumed"
    );
    assert_eq!(second.resumed_rows, 512, "two finished parts were kept");
    assert_eq!(resumed.rows.load(Ordering::SeqCst), 1000 - 512);
    let a = ds.read_embedding(first.id).unwrap();
    let b = ds.read_embedding(second.id).unwrap();
    assert_eq!(a, b);
    // Checkpoints are gone once the artifact is committed.
    let left: Vec<String> = ds
        .store()
        .list("d/embeddings")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(
        !left
            .iter()
            .any(|n| n.contains("parts") || n.ends_with(".lock")),
        "{left:?}"
    );

    let meta = ds.embedding_meta(second.id).unwrap();
    assert_eq!(meta.rows, Some(1000));
    assert_eq!(meta.dimensions, 6);
    assert_eq!(meta.null_count, Some(59), "rows i % 17 == 5 are null");
    assert_eq!(meta.extra["resumed_rows"], 512);
    assert_eq!(meta.extra["model_spec"], "test:bytes");
    assert_eq!(meta.batch_size, Some(4));
    assert_eq!(meta.min_values.len(), 6);

    // A different option is a different embedding, not a resume.
    let other = block_on(ds.embed(
        &Bytes::new(6),
        &options.clone().with_prefix(Some("p: ".into())),
        &NoProgress,
    ))
    .unwrap();
    assert_eq!(other.id, EmbeddingId::new(3));
    assert_eq!(other.resumed_rows, 0);
    assert_eq!(ds.embedding_meta(other.id).unwrap().prefix, "p: ");
}

#[test]
fn nulls_are_embedded_as_empty_text_in_row_order() {
    let ds = dataset(40);
    let all = ds.texts().unwrap();
    let (texts, nulls) = (all.texts, all.nulls);
    assert_eq!(nulls, 3);
    // Length-sorted batches and in-order slices, with and without a prefix.
    for (sorted, prefix) in [(true, ""), (false, ""), (false, "p: "), (true, "p: ")] {
        let e = Bytes::in_order(3, sorted);
        let options = EmbedOptions::default().with_prefix(Some(prefix.to_string()));
        let out = block_on(ds.embed(&e, &options, &NoProgress)).unwrap();
        let m = ds.read_embedding(out.id).unwrap();
        for (i, t) in texts.iter().enumerate() {
            let want = block_on(e.embed(&[format!("{prefix}{t}")]))
                .unwrap()
                .remove(0);
            assert_eq!(m.row(i), want.as_slice(), "row {i} ({sorted}, {prefix:?})");
        }
        if prefix.is_empty() {
            assert_eq!(
                m.row(5),
                &[0.0, 0.0, 0.0],
                "a null row is the empty text's vector"
            );
        }
    }
}

#[test]
fn an_embedder_returning_too_few_rows_is_named_and_nothing_is_written() {
    let ds = dataset(10);
    for sorted in [true, false] {
        let mut e = Bytes::in_order(3, sorted);
        e.wrong = true;
        let err = block_on(ds.embed(&e, &EmbedOptions::default(), &NoProgress)).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("embedding rows ")
                && msg.contains("returned")
                && msg.contains("vectors"),
            "{msg}"
        );
        assert!(ds.artifact_ids::<EmbeddingId>().unwrap().is_empty());
    }
}

#[test]
fn the_registry_resolves_names_and_providers_and_names_what_is_missing() {
    let mut r = EmbedderRegistry::new();
    r.register("mine", Arc::new(Bytes::new(2)));
    r.register_provider(
        "bytes",
        "test vectors",
        &["bytes:4"],
        Arc::new(|rest, _config| {
            let d: usize = rest
                .parse()
                .map_err(|_| EmbedError::InvalidOptions(format!("bad dims {rest}")))?;
            Ok(Arc::new(Bytes::new(d)))
        }),
    );
    r.register_missing("gpu", "a backend this build lacks", "cuda");
    let config = EmbedConfig::default();
    assert_eq!(r.resolve("mine", &config).unwrap().spec().dimensions, 2);
    assert_eq!(r.resolve("bytes:7", &config).unwrap().spec().dimensions, 7);
    let err = r.resolve("gpu:big", &config).unwrap_err();
    assert!(err.to_string().contains("`cuda`"), "{err}");
    let err = r.resolve("nope:x", &config).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("nope:x") && msg.contains("mine") && msg.contains("bytes:4"),
        "{msg}"
    );
    let entries = r.entries();
    assert_eq!(entries.len(), 3);
    assert_eq!(
        entries
            .iter()
            .find(|e| e.spec == "gpu:")
            .unwrap()
            .missing_feature
            .as_deref(),
        Some("cuda")
    );
}
