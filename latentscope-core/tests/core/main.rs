//! Integration tests of latentscope-core (one test binary): datasets, ids,
//! ingest, metadata, tags and imports, with bad input and interrupted writes;
//! HDBSCAN against the Python fixtures; UMAP and PCA; the cluster step.

mod common;
mod data;
mod embed_tests;
mod fuzz_corpus;
mod hdbscan_fixtures;
mod hdbscan_inputs;
mod label_scope;
mod quality;
mod umap_tests;

use std::ops::ControlFlow;
use std::sync::Arc;

use latentscope_core::ingest::{IngestOptions, ingest_batches, ingest_file};
use latentscope_core::{
    Dataset, EmbeddingId, Error, LabelsId, NoProgress, ProgressEvent, ScopeId, UmapId,
};
use latentscope_io::arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use latentscope_io::{LocalStore, MemoryStore, Store, npy};

fn pets(store: Arc<dyn Store>, id: &str) -> Dataset {
    let text: ArrayRef = Arc::new(StringArray::from(vec![
        Some("a cat"),
        None,
        Some("a dog"),
        Some("https://x.org/a.png"),
    ]));
    let kind: ArrayRef = Arc::new(StringArray::from(vec!["cat", "cat", "dog", "img"]));
    let age: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), Some(9), None, Some(1)]));
    let batch = RecordBatch::try_from_iter([("text", text), ("kind", kind), ("age", age)]).unwrap();
    ingest_batches(
        store,
        id,
        batch.schema(),
        vec![batch],
        &IngestOptions::new("text"),
        &NoProgress,
    )
    .unwrap()
}

#[test]
fn ids_print_and_parse_the_python_names() {
    assert_eq!(EmbeddingId::new(1).to_string(), "embedding-001");
    assert_eq!(UmapId::new(1234).to_string(), "umap-1234");
    assert_eq!("scopes-004".parse::<ScopeId>().unwrap(), ScopeId::new(4));
    let l: LabelsId = "cluster-003-labels-012".parse().unwrap();
    assert_eq!((l.cluster().number(), l.number()), (3, Some(12)));
    assert_eq!(l.to_string(), "cluster-003-labels-012");
    assert_eq!(LabelsId::default_for(l.cluster()).scope_form(), "default");
    for bad in [
        "embedding-1",
        "embedding-",
        "umap-001",
        "embedding-00x",
        "embedding-001.json",
        "",
    ] {
        assert!(
            matches!(bad.parse::<EmbeddingId>(), Err(Error::InvalidId { .. })),
            "{bad}"
        );
    }
}

#[test]
fn meta_records_types_categories_extents_and_links() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ds = pets(store.clone(), "pets");
    let meta = ds.meta();
    assert_eq!(meta.length, 4);
    assert_eq!(meta.columns, ["text", "kind", "age"]);
    assert_eq!(meta.ls_version.as_deref(), Some("1.0.0"));
    let kind = &meta.column_metadata["kind"];
    assert_eq!(kind.kind, "string");
    assert_eq!(kind.unique_values_count, 3);
    assert_eq!(kind.categories.as_ref().unwrap()[0], "cat");
    assert_eq!(kind.counts.as_ref().unwrap()["cat"], 2);
    let age = &meta.column_metadata["age"];
    assert_eq!(age.kind, "number");
    assert_eq!(
        age.extent.as_ref().unwrap(),
        &[serde_json::json!(1), serde_json::json!(9)]
    );
    assert_eq!(age.null_count, Some(1));
    assert_eq!(
        meta.column_metadata["text"].url, None,
        "not every text is a link"
    );
    // Reopening reads the same meta.json; texts come back with nulls as "".
    let again = Dataset::open(store, "pets").unwrap();
    assert_eq!(again.meta(), meta);
    let texts = again.texts().unwrap();
    assert_eq!(
        (texts.texts, texts.nulls),
        (
            vec![
                "a cat".to_string(),
                "".into(),
                "a dog".into(),
                "https://x.org/a.png".into()
            ],
            1
        )
    );
}

#[test]
fn dataset_ids_are_checked() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "text\nhello\n").unwrap();
    for bad in ["a/b", "..", "has space", "dot.ted", "", "é"] {
        let err = ingest_file(
            store.clone(),
            bad,
            &csv,
            &IngestOptions::new("text"),
            &NoProgress,
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidDatasetId { .. }),
            "{bad:?}: {err}"
        );
    }
    assert!(store.list("").unwrap().is_empty());
}

#[test]
fn existing_dataset_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(dir.path().join("data")));
    pets(store.clone(), "pets");
    let before = store.get("pets/input.parquet").unwrap();
    let meta_before = store.get("pets/meta.json").unwrap();
    let csv = dir.path().join("other.csv");
    std::fs::write(&csv, "text\nsomething else\n").unwrap();
    let err = ingest_file(
        store.clone(),
        "pets",
        &csv,
        &IngestOptions::new("text"),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(err, Error::DatasetExists { .. }), "{err}");
    assert_eq!(store.get("pets/input.parquet").unwrap(), before);
    assert_eq!(store.get("pets/meta.json").unwrap(), meta_before);
}

#[test]
fn missing_or_wrong_text_column_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(dir.path().join("data")));
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "title,count\nhello,1\n").unwrap();
    let err = ingest_file(
        store.clone(),
        "t",
        &csv,
        &IngestOptions::new("text"),
        &NoProgress,
    )
    .unwrap_err();
    match &err {
        Error::ColumnNotFound {
            column, available, ..
        } => {
            assert_eq!(column, "text");
            assert_eq!(available, &["title", "count"]);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("title, count"));
    let err = ingest_file(
        store.clone(),
        "t",
        &csv,
        &IngestOptions::new("count"),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(err, Error::ColumnType { .. }), "{err}");
    assert!(Dataset::ids(store.as_ref()).unwrap().is_empty());
    assert!(
        !dir.path().join("data/t").exists(),
        "nothing may be left behind"
    );
}

#[test]
fn cancelled_ingest_leaves_no_dataset_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(dir.path().join("data")));
    let csv = dir.path().join("big.csv");
    let mut text = String::from("text,n\n");
    for i in 0..150_000 {
        text.push_str(&format!("row number {i},{i}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    // Cancel after the first batch was written to the temporary file.
    let cancel = |e: ProgressEvent<'_>| {
        if e.done > 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let err = ingest_file(
        store.clone(),
        "big",
        &csv,
        &IngestOptions::new("text"),
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Cancelled));
    assert!(!store.exists("big/input.parquet").unwrap());
    assert!(!store.exists("big/meta.json").unwrap());
    assert!(Dataset::ids(store.as_ref()).unwrap().is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let ds = ingest_file(store, "big", &csv, &IngestOptions::new("text"), &NoProgress).unwrap();
    assert_eq!(ds.rows(), 150_000);
}

#[test]
fn ids_are_allocated_in_order_and_never_reused() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ds = pets(store.clone(), "pets");
    let a: UmapId = ds.allocate(&"first").unwrap();
    let b: UmapId = ds.allocate(&"second").unwrap();
    assert_eq!(
        (a.to_string().as_str(), b.to_string().as_str()),
        ("umap-001", "umap-002")
    );
    // Another kind counts on its own.
    let e: EmbeddingId = ds.allocate(&"x").unwrap();
    assert_eq!(e.number(), 1);
    // Concurrent allocations never collide.
    let ids: Vec<UmapId> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| ds.allocate::<UmapId, _>(&"t").unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut numbers: Vec<u32> = ids.iter().map(|i| i.number()).collect();
    numbers.sort();
    assert_eq!(numbers, (3..=10).collect::<Vec<_>>());
}

#[test]
fn a_live_run_is_busy_a_dead_one_resumes_and_the_json_commits() {
    use latentscope_core::dataset::RunSpec;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ds = pets(store.clone(), "pets");
    let first = ds.begin::<UmapId, _>(&RunSpec::new("umap", &"p")).unwrap();
    let id = first.id();
    // The same run again while the first is live: busy, naming it.
    let err = ds
        .begin::<UmapId, _>(&RunSpec::new("umap", &"p"))
        .unwrap_err();
    assert!(
        matches!(&err, latentscope_core::Error::Busy { artifact, .. } if *artifact == id.to_string()),
        "{err}"
    );
    assert_eq!(
        (err.code(), err.exit_code(), err.http_status()),
        ("artifact_busy", 5, 409)
    );
    // Other parameters run beside it under a new id.
    let other = ds.begin::<UmapId, _>(&RunSpec::new("umap", &"q")).unwrap();
    assert_ne!(other.id(), id);
    first.save_checkpoint(&42u32).unwrap();
    drop(first); // its writer dies
    let again = ds.begin::<UmapId, _>(&RunSpec::new("umap", &"p")).unwrap();
    assert_eq!((again.id(), again.resumed()), (id, true));
    assert_eq!(again.load_checkpoint::<u32>(), Some(42));
    // Nothing is listed before the commit writes the .json.
    assert!(ds.artifact_ids::<UmapId>().unwrap().is_empty());
    again.put(".png", b"png").unwrap();
    assert_eq!(again.commit(&serde_json::json!({"id": id})).unwrap(), id);
    assert_eq!(ds.artifact_ids::<UmapId>().unwrap(), vec![id]);
    assert!(
        !store
            .exists(&format!("pets/umaps/.{id}.checkpoint.json"))
            .unwrap()
    );
    // A finished run is never resumed: the same parameters get a new id.
    let next = ds.begin::<UmapId, _>(&RunSpec::new("umap", &"p")).unwrap();
    assert!(next.id() > other.id() && !next.resumed());
}

#[test]
fn tags_round_trip_in_the_python_format() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ds = pets(store.clone(), "pets");
    assert!(ds.tags().unwrap().is_empty());
    ds.create_tag("👍").unwrap();
    assert_eq!(ds.tag_rows("👍").unwrap(), Vec::<u64>::new());
    assert_eq!(ds.add_to_tag("good", &[3, 1, 3]).unwrap(), 2);
    assert_eq!(&store.get("pets/tags/good.indices").unwrap()[..], b"1\n3\n");
    assert_eq!(ds.remove_from_tag("good", &[1]).unwrap(), 1);
    assert_eq!(ds.tags().unwrap(), ["good", "👍"]);
    // numpy.savetxt of a float array is read too.
    store
        .put(
            "pets/tags/np.indices",
            b"2.000000000000000000e+00\n0.000000000000000000e+00\n",
        )
        .unwrap();
    assert_eq!(ds.tag_rows("np").unwrap(), [0, 2]);
    assert!(matches!(
        ds.add_to_tag("good", &[4]),
        Err(Error::RowOutOfRange { row: 4, rows: 4 })
    ));
    assert!(matches!(
        ds.create_tag("a/b"),
        Err(Error::InvalidTagName { .. })
    ));
    ds.delete_tag("good").unwrap();
    assert!(matches!(
        ds.tag_rows("good"),
        Err(Error::ArtifactNotFound { .. })
    ));
}

#[test]
fn vectors_and_layouts_are_imported() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(dir.path().join("data")));
    let ds = pets(store.clone(), "pets");

    let vectors: Vec<f32> = (0..4 * 3).map(|v| v as f32).collect();
    let npy_path = dir.path().join("v.npy");
    npy::write_npy_f32(&npy_path, &vectors, 4, Some(3)).unwrap();
    let id = ds.import_embedding(&npy_path, &NoProgress).unwrap();
    assert_eq!(id.to_string(), "embedding-001");
    let m = ds.read_embedding(id).unwrap();
    assert_eq!((m.rows, m.cols), (4, 3));
    assert_eq!(m.data, vectors);
    let meta = ds.embedding_meta(id).unwrap();
    assert_eq!(meta.min_values, [0.0, 1.0, 2.0]);
    assert_eq!(meta.max_values, [9.0, 10.0, 11.0]);

    // Wrong row count and non-finite values are refused, naming the row.
    npy::write_npy_f32(&npy_path, &vectors[..9], 3, Some(3)).unwrap();
    assert!(
        ds.import_embedding(&npy_path, &NoProgress)
            .unwrap_err()
            .to_string()
            .contains("3 rows of vectors for a dataset of 4 rows")
    );
    let mut bad = vectors.clone();
    bad[7] = f32::NAN;
    npy::write_npy_f32(&npy_path, &bad, 4, Some(3)).unwrap();
    let err = ds
        .import_embedding(&npy_path, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 2 column 1"), "{err}");
    assert_eq!(ds.artifact_ids::<EmbeddingId>().unwrap(), [id]);

    // A layout: scaled to [-1, 1] per axis, raw extent recorded, thumbnail written.
    let xy = [0.0f32, 10.0, 2.0, 20.0, 4.0, 30.0, 1.0, 15.0];
    let layout_path = dir.path().join("l.npy");
    npy::write_npy_f32(&layout_path, &xy, 4, Some(2)).unwrap();
    let u = ds.import_umap(&layout_path, &NoProgress).unwrap();
    let layout = ds.read_umap(u).unwrap();
    assert_eq!(layout.xy, [-1.0, -1.0, 0.0, 0.0, 1.0, 1.0, -0.5, -0.5]);
    let meta = ds.umap_meta(u).unwrap();
    assert_eq!(
        (meta.min_values, meta.max_values),
        ([0.0, 10.0], [4.0, 30.0])
    );
    assert!(
        store
            .get(&format!("pets/umaps/{u}.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
    let err = ds.read_umap(UmapId::new(9)).unwrap_err();
    assert!(
        err.to_string().contains("umap-001"),
        "lists the ones that exist: {err}"
    );
}

#[test]
fn python_latentscope_directory_opens() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/python-latentscope-1.0");
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(&fixtures));
    assert_eq!(Dataset::ids(store.as_ref()).unwrap(), ["pypi-10k"]);
    let ds = Dataset::open(store, "pypi-10k").unwrap();
    assert_eq!(ds.rows(), 10_000);
    assert_eq!(ds.meta().text_column, "summary");
    assert_eq!(ds.texts().unwrap().texts.len(), 10_000);
    let umaps = ds.artifact_ids::<UmapId>().unwrap();
    assert_eq!(umaps, [UmapId::new(1)]);
    let meta = ds.umap_meta(umaps[0]).unwrap();
    assert_eq!(meta.neighbors, Some(25));
    let layout = ds.read_umap(umaps[0]).unwrap();
    assert_eq!(layout.len(), 10_000);
    assert!(layout.xy.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(ds.tags().unwrap(), ["👍", "👎"]);
    let emb = ds.artifact_ids::<EmbeddingId>().unwrap();
    assert_eq!(emb, [EmbeddingId::new(1)]);
    assert_eq!(ds.embedding_meta(emb[0]).unwrap().dimensions, 384);
    let err = ds.read_embedding(emb[0]).unwrap_err().to_string();
    assert!(err.contains("LanceDB"), "{err}");
}

#[test]
fn cluster_step_writes_the_python_files() {
    use latentscope_core::ClusterId;
    use latentscope_core::cluster::ClusterOptions;
    use latentscope_core::hdbscan::HdbscanParams;
    use latentscope_io::arrow_array::cast::AsArray;
    use latentscope_io::arrow_array::types::Int64Type;

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(dir.path().join("data")));
    let fixtures = common::fixtures();
    let csv = dir.path().join("t.csv");
    std::fs::copy(fixtures.join("../../data/pypi-10k.csv"), &csv).unwrap();
    let ds = ingest_file(
        store.clone(),
        "pypi",
        &csv,
        &IngestOptions::new("summary"),
        &NoProgress,
    )
    .unwrap();
    let umap = ds
        .import_umap(
            &fixtures.join("pypi-10k/umap-learn-layout-seed42.npy"),
            &NoProgress,
        )
        .unwrap();
    let params = HdbscanParams::new(25).with_min_samples(5);
    let id = ds
        .cluster(umap, &params, &ClusterOptions::default(), &NoProgress)
        .unwrap();
    assert_eq!(id, ClusterId::new(1));
    let meta = ds.cluster_meta(id).unwrap();
    assert_eq!(
        (meta.samples, meta.min_samples, meta.method.as_str()),
        (Some(25), Some(5), "hdbscan")
    );
    assert!((60..=120).contains(&meta.n_clusters), "{}", meta.n_clusters);
    assert_eq!(meta.unclustered_cluster, Some(meta.n_clusters as i64));
    let assignment = ds.read_cluster(id).unwrap();
    let (cluster, raw) = (assignment.clusters, assignment.raw);
    assert_eq!(cluster.len(), 10_000);
    assert_eq!(raw.iter().filter(|&&r| r < 0).count() as u64, meta.n_noise);
    for (c, r) in cluster.iter().zip(&raw) {
        assert_eq!(*c, if *r < 0 { meta.n_clusters as i64 } else { *r });
    }
    // The default labels: one row per cluster, the unclustered one last.
    let labels = latentscope_io::table::read_table(
        store.as_ref(),
        &format!("pypi/clusters/{id}-labels-default.parquet"),
        None,
    )
    .unwrap();
    let names: Vec<String> = labels
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "label",
            "description",
            "indices",
            "hull",
            "centroid_x",
            "centroid_y",
            "count"
        ]
    );
    assert_eq!(labels.num_rows() as u64, meta.n_clusters + 1);
    let label = labels.column(0).as_string::<i32>();
    assert_eq!(label.value(0), "Cluster 0");
    assert_eq!(label.value(labels.num_rows() - 1), "Unclustered");
    let counts = labels.column(6).as_primitive::<Int64Type>();
    assert_eq!(counts.values().iter().sum::<i64>(), 10_000);
    let hull0 = labels.column(3).as_list::<i32>().value(0);
    let hull0 = hull0.as_primitive::<Int64Type>();
    assert!(hull0.len() >= 3 && hull0.values().iter().all(|&r| raw[r as usize] == 0));
    assert!(
        store
            .get(&format!("pypi/clusters/{id}.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );

    // Assigning noise leaves no unclustered cluster.
    let mut opts = ClusterOptions::default();
    opts.assign_noise = true;
    let id2 = ds.cluster(umap, &params, &opts, &NoProgress).unwrap();
    let meta2 = ds.cluster_meta(id2).unwrap();
    assert_eq!(meta2.unclustered_cluster, None);
    let c2 = ds.read_cluster(id2).unwrap().clusters;
    assert!(
        c2.iter()
            .all(|&c| (0..meta2.n_clusters as i64).contains(&c))
    );

    // The Python tool's labels file has the same leading columns.
    let py = LocalStore::new(fixtures.join("python-latentscope-1.0"));
    let py_labels = latentscope_io::table::read_table(
        &py,
        "pypi-10k/clusters/cluster-001-labels-default.parquet",
        None,
    )
    .unwrap();
    let py_names: Vec<String> = py_labels
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(py_names, names[..4]);
    assert_eq!(
        py_labels.column(2).data_type(),
        labels.column(2).data_type()
    );
}
