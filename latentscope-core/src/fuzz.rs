//! Entry points for the fuzz targets in `fuzz/` and for the test that replays
//! their corpus: each takes arbitrary bytes as a file and must answer with
//! `Ok` or a typed error, never a panic. Not part of the supported API.

use std::path::PathBuf;
use std::sync::Arc;

use latentscope_io::{MemoryStore, Store, json};

use crate::NoProgress;
use crate::dataset::Dataset;
use crate::ids::{ClusterId, EmbeddingId, LabelsId, ScopeId, UmapId};
use crate::ingest::{IngestOptions, ingest_file};

/// A scratch file of this process for one fuzz input.
fn scratch(extension: &str, data: &[u8]) -> Option<PathBuf> {
    let path = std::env::temp_dir().join(format!(
        "latentscope-fuzz-{}.{extension}",
        std::process::id()
    ));
    std::fs::write(&path, data).ok()?;
    Some(path)
}

/// A table file (`csv`, `tsv`, `jsonl` or `parquet`) ingested into memory,
/// every text read back.
pub fn table(extension: &str, data: &[u8]) {
    let Some(path) = scratch(extension, data) else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    for column in ["text", "a", ""] {
        if let Ok(ds) = ingest_file(
            store.clone(),
            "fuzz",
            &path,
            &IngestOptions::new(column),
            &NoProgress,
        ) {
            let _ = ds.texts();
            let _ = ds.read_input(None);
            break;
        }
    }
}

/// A `.npy` file read as vectors and as a layout.
pub fn npy(data: &[u8]) {
    let Some(path) = scratch("npy", data) else {
        return;
    };
    let _ = latentscope_io::npy::read_npy(&path);
    let _ = crate::embed::read_vectors_file(&path);
    let _ = crate::project::read_layout_file(&path);
}

/// A small finished dataset in memory: 6 rows, an embedding, a umap, a
/// clustering with labels and a scope.
pub fn small_dataset() -> Option<Dataset> {
    use crate::cluster::ClusterOptions;
    use crate::hdbscan::HdbscanParams;
    use crate::label::LabelOptions;
    use crate::label::keywords::KeywordsLabeler;
    use crate::project::PcaReducer;
    use crate::scope::ScopeParts;
    use latentscope_io::arrow_array::{ArrayRef, RecordBatch, StringArray};

    let texts: Vec<&str> = vec![
        "red apple",
        "green apple",
        "ripe apple",
        "fast car",
        "red car",
        "old car",
    ];
    let column: ArrayRef = Arc::new(StringArray::from(texts.clone()));
    let batch = RecordBatch::try_from_iter([("text", column)]).ok()?;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ds = crate::ingest::ingest_batches(
        store,
        "fuzz",
        batch.schema(),
        vec![batch],
        &IngestOptions::new("text"),
        &NoProgress,
    )
    .ok()?;
    let vectors: Vec<f32> = (0..6)
        .flat_map(|i| {
            if i < 3 {
                [1.0, 0.1 * i as f32, 0.0]
            } else {
                [0.0, 0.1 * i as f32, 1.0]
            }
        })
        .collect();
    let matrix = latentscope_io::Matrix {
        data: vectors,
        rows: 6,
        cols: 3,
    };
    let embedding = ds
        .write_embedding(&matrix, crate::embed::EmbeddingMeta::imported("fuzz", &ds))
        .ok()?;
    let umap = ds
        .project(embedding, &PcaReducer, &Default::default(), &NoProgress)
        .ok()?;
    let mut params = HdbscanParams::new(2);
    params.allow_single_cluster = true;
    let cluster = ds
        .cluster(
            umap,
            &params.with_min_samples(1),
            &ClusterOptions::default(),
            &NoProgress,
        )
        .ok()?;
    let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    let labels = futures::executor::block_on(ds.label(
        cluster,
        &KeywordsLabeler::fit(&owned),
        &LabelOptions::default(),
        &NoProgress,
    ))
    .ok()?;
    ds.create_scope(
        &ScopeParts::new(embedding, umap, cluster, labels),
        "fuzz",
        "",
    )
    .ok()?;
    Some(ds)
}

/// One artifact file of a small finished dataset replaced by the input
/// (its first byte chooses which), then everything that reads it.
pub fn artifact_file(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let Some(ds) = small_dataset() else {
        return;
    };
    let files = [
        "meta.json",
        "embeddings/embedding-001.json",
        "embeddings/embedding-001.parquet",
        "umaps/umap-001.json",
        "umaps/umap-001.parquet",
        "clusters/cluster-001.json",
        "clusters/cluster-001.parquet",
        "clusters/cluster-001-labels-default.parquet",
        "clusters/cluster-001-labels-001.json",
        "clusters/cluster-001-labels-001.parquet",
        "scopes/scopes-001.json",
        "tags/fuzz.indices",
    ];
    let file = files[which as usize % files.len()];
    if ds.store().put(&ds.key(file), body).is_err() {
        return;
    }
    let store = ds.store().clone();
    let Ok(ds) = Dataset::open(store, "fuzz") else {
        return;
    };
    let (e, u, c) = (EmbeddingId::new(1), UmapId::new(1), ClusterId::new(1));
    let l = LabelsId::new(c, 1);
    let _ = ds.artifacts();
    let _ = ds.dependents("umap-001");
    let _ = ds.embedding_meta(e);
    let _ = ds.read_embedding(e);
    let _ = ds.umap_meta(u);
    let _ = ds.read_umap(u);
    let _ = ds.cluster_meta(c);
    let _ = ds.read_cluster(c);
    let _ = ds.labels_ids(c);
    let _ = ds.read_labels(LabelsId::default_for(c));
    let _ = ds.labels_meta(l);
    let _ = ds.read_labels(l);
    let _ = ds.scope_meta(ScopeId::new(1));
    for tag in ds.tags().unwrap_or_default() {
        let _ = ds.tag_rows(&tag);
    }
    let _ = json::read_json::<serde_json::Value>(ds.store().as_ref(), &ds.key(file));
    // The steps that read them.
    let _ = ds.cluster(
        u,
        &crate::hdbscan::HdbscanParams::new(2),
        &Default::default(),
        &NoProgress,
    );
    let texts = ds.texts().unwrap_or_default().texts;
    let _ = futures::executor::block_on(ds.label(
        c,
        &crate::label::keywords::KeywordsLabeler::fit(&texts),
        &Default::default(),
        &NoProgress,
    ));
    let _ = ds.create_scope(
        &crate::scope::ScopeParts::new(e, u, c, LabelsId::default_for(c)),
        "again",
        "",
    );
}
