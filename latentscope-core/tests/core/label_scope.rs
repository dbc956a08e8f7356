//! The label and scope steps on the Python latent-scope's own directory
//! (its umap and HDBSCAN clusterings of pypi-10k): keyword labels a person
//! can check against the rows, scope files in the Python format, and the
//! errors for ids that do not exist or do not belong together.

use std::path::Path;
use std::sync::Arc;

use futures::executor::block_on;
use latentscope_core::label::keywords::KeywordsLabeler;
use latentscope_core::scope::ScopeParts;
use latentscope_core::{
    ClusterId, Dataset, EmbeddingId, LabelOptions, LabelsId, NoProgress, ScopeId, UmapId,
};
use latentscope_io::{LocalStore, Store, table};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A writable copy of the Python tool's data directory.
fn python_dataset(dir: &Path) -> Dataset {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/python-latentscope-1.0");
    copy_dir(&fixtures, dir);
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(dir));
    Dataset::open(store, "pypi-10k").unwrap()
}

/// Whether `term` occurs in `text` as whole words.
fn has_term(text: &str, term: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let want: Vec<&str> = term.split(' ').collect();
    words.windows(want.len()).any(|w| w == want.as_slice())
}

#[test]
fn keyword_labels_name_checkable_distinct_topics() {
    let dir = tempfile::tempdir().unwrap();
    let ds = python_dataset(dir.path());
    let cluster = ClusterId::new(1);
    let texts = ds.texts().unwrap().texts;
    let labeler = KeywordsLabeler::fit(&texts);
    let id = block_on(ds.label(cluster, &labeler, &LabelOptions::default(), &NoProgress)).unwrap();
    assert_eq!(id, LabelsId::new(cluster, 1));
    let rows = ds.read_labels(id).unwrap();
    let meta = ds.cluster_meta(cluster).unwrap();
    assert_eq!(
        rows.len() as u64,
        meta.n_clusters + 1,
        "one row per cluster, the unclustered last"
    );
    assert_eq!(rows.last().unwrap().label, "Unclustered");

    let lower: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    let (mut checkable, mut big) = (0, 0);
    for r in rows
        .iter()
        .filter(|r| r.label != "Unclustered" && r.indices.len() >= 20)
    {
        big += 1;
        let first = r.label.split(", ").next().unwrap();
        let inside = r
            .indices
            .iter()
            .filter(|&&i| has_term(&lower[i as usize], first))
            .count() as f64
            / r.indices.len() as f64;
        let overall =
            lower.iter().filter(|t| has_term(t, first)).count() as f64 / lower.len() as f64;
        if inside >= 0.2 && inside >= 2.0 * overall {
            checkable += 1;
        }
    }
    let share = checkable as f64 / big as f64;
    assert!(
        share >= 0.6,
        "first term checkable in {checkable}/{big} clusters"
    );
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    let distinct: std::collections::HashSet<&str> = labels.iter().copied().collect();
    assert!(
        distinct.len() as f64 >= 0.8 * labels.len() as f64,
        "{labels:?}"
    );
    assert!(
        rows[0].description.contains("rows. Distinctive terms:"),
        "{}",
        rows[0].description
    );
    let labels_meta = ds.labels_meta(id).unwrap();
    assert_eq!(labels_meta.labeler, "keywords");
    assert_eq!(
        ds.labels_ids(cluster).unwrap(),
        [LabelsId::default_for(cluster), id]
    );
}

#[test]
fn a_scope_on_the_python_directory_has_the_python_columns() {
    let dir = tempfile::tempdir().unwrap();
    let ds = python_dataset(dir.path());
    let cluster = ClusterId::new(1);
    let texts = ds.texts().unwrap().texts;
    let labels = block_on(ds.label(
        cluster,
        &KeywordsLabeler::fit(&texts),
        &LabelOptions::default(),
        &NoProgress,
    ))
    .unwrap();
    let parts = ScopeParts::new(EmbeddingId::new(1), UmapId::new(1), cluster, labels);
    let id = ds
        .create_scope(&parts, "keywords", "PyPI with keyword labels")
        .unwrap();
    assert_eq!(id, ScopeId::new(2), "the Python tool's scopes-001 is kept");
    let store = ds.store().as_ref();
    let ours = table::read_table(store, "pypi-10k/scopes/scopes-002.parquet", None).unwrap();
    let theirs = table::read_table(store, "pypi-10k/scopes/scopes-001.parquet", None).unwrap();
    let typed = |b: &latentscope_io::arrow_array::RecordBatch| {
        b.schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(typed(&ours), typed(&theirs));
    assert_eq!(ours.num_rows(), 10_000);
    let ours_in =
        table::read_table(store, "pypi-10k/scopes/scopes-002-input.parquet", None).unwrap();
    let theirs_in =
        table::read_table(store, "pypi-10k/scopes/scopes-001-input.parquet", None).unwrap();
    let names = |b: &latentscope_io::arrow_array::RecordBatch| {
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&ours_in), names(&theirs_in));
    // Same layout and clustering as their scope: same points, tiles and clusters.
    for col in [
        "x",
        "y",
        "tile_index_64",
        "tile_index_128",
        "cluster",
        "raw_cluster",
        "ls_index",
    ] {
        assert_eq!(
            ours.column_by_name(col).unwrap(),
            theirs.column_by_name(col).unwrap(),
            "{col}"
        );
    }
    let json = ds.scope_json(id).unwrap();
    for key in [
        "embedding_id",
        "umap_id",
        "cluster_id",
        "cluster_labels_id",
        "label",
        "description",
        "dataset",
        "embedding",
        "umap",
        "cluster",
        "cluster_labels_lookup",
        "rows",
        "columns",
        "size",
        "timestamp",
    ] {
        assert!(!json[key].is_null(), "scopes-002.json lacks {key}");
    }
    assert_eq!(json["cluster_labels_id"], labels.to_string());
    assert_eq!(json["rows"], 10_000);
    assert!(
        store
            .exists("pypi-10k/scopes/scopes-002-transactions.json")
            .unwrap()
    );
}

#[test]
fn scope_ids_that_do_not_exist_or_do_not_belong_together_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ds = python_dataset(dir.path());
    let (e1, u1, c1, c2) = (
        EmbeddingId::new(1),
        UmapId::new(1),
        ClusterId::new(1),
        ClusterId::new(2),
    );
    let err = ds
        .create_scope(
            &ScopeParts::new(e1, UmapId::new(7), c1, LabelsId::default_for(c1)),
            "x",
            "",
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("umap-007") && err.contains("umap-001"),
        "{err}"
    );
    let err = ds
        .create_scope(
            &ScopeParts::new(e1, u1, c1, LabelsId::default_for(c2)),
            "x",
            "",
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cluster-002-labels-default labels cluster-002, not cluster-001"),
        "{err}"
    );
    let err = ds
        .create_scope(&ScopeParts::new(e1, u1, c1, LabelsId::new(c1, 4)), "x", "")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cluster-001-labels-004") && err.contains("cluster-001-labels-default"),
        "{err}"
    );
    // A clustering of another layout.
    let layout = ds.read_umap(u1).unwrap();
    let flipped: Vec<f32> = layout.xy.chunks(2).flat_map(|p| [p[1], p[0]]).collect();
    let npy = dir.path().join("flipped.npy");
    latentscope_io::npy::write_npy_f32(&npy, &flipped, 10_000, Some(2)).unwrap();
    let u2 = ds.import_umap(&npy, &NoProgress).unwrap();
    let err = ds
        .create_scope(
            &ScopeParts::new(e1, u2, c1, LabelsId::default_for(c1)),
            "x",
            "",
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("cluster-001 was made from umap-001, not {u2}")),
        "{err}"
    );
    assert!(
        ds.artifact_ids::<ScopeId>().unwrap() == [ScopeId::new(1)],
        "nothing written"
    );
    // A cluster with no rows gets a label, not a panic.
    let labeler = KeywordsLabeler::fit(&["a b".to_string()]);
    assert_eq!(
        labeler.label_rows(&[]).description,
        "0 rows. Distinctive terms: ."
    );
}

#[test]
fn artifacts_and_delete_on_the_python_directory() {
    use latentscope_core::Error;
    use latentscope_core::cluster::ClusterOptions;
    use latentscope_core::dataset::{ArtifactKind, ArtifactState, RunSpec};
    use latentscope_core::hdbscan::HdbscanParams;

    let dir = tempfile::tempdir().unwrap();
    let ds = python_dataset(dir.path());
    let texts = ds.texts().unwrap().texts;
    let labels = block_on(ds.label(
        ClusterId::new(1),
        &KeywordsLabeler::fit(&texts),
        &LabelOptions::default(),
        &NoProgress,
    ))
    .unwrap();

    // The listing: the Python tool's artifacts and ours, with parents and state.
    let all = ds.artifacts().unwrap();
    let ids: Vec<&str> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "embedding-001",
            "umap-001",
            "cluster-001",
            "cluster-002",
            "cluster-001-labels-001",
            "scopes-001"
        ]
    );
    let embedding = &all[0];
    assert!(
        matches!(&embedding.state, ArtifactState::Unreadable(r) if r.contains("LanceDB")),
        "{:?}",
        embedding.state
    );
    assert_eq!(all[1].parents, ["embedding-001"]);
    assert_eq!(all[4].parents, ["cluster-001"]);
    assert_eq!(all[4].kind, ArtifactKind::Labels);
    assert_eq!(all[5].parents, ["embedding-001", "umap-001", "cluster-001"]);
    assert!(
        all[1]
            .files
            .iter()
            .any(|f| f.name == "umap-001.parquet" && f.bytes > 0)
    );

    // A delete that would orphan others is refused, naming them; nothing goes.
    let err = ds.delete("umap-001", false).unwrap_err();
    match &err {
        Error::HasDependents { dependents, .. } => {
            for d in [
                "scopes-001",
                "cluster-001",
                "cluster-002",
                &labels.to_string(),
            ] {
                assert!(dependents.iter().any(|x| x == d), "{d} missing from {err}");
            }
        }
        other => panic!("expected HasDependents, got {other}"),
    }
    assert_eq!((err.code(), err.exit_code()), ("has_dependents", 6));
    assert_eq!(ds.artifacts().unwrap().len(), all.len());

    // A live run reading cluster-002 makes deleting it busy.
    let reader = ds
        .begin::<ScopeId, _>(&RunSpec::new("scope", &"reads cluster-002").reading(["cluster-002"]))
        .unwrap();
    let err = ds.delete("cluster-002", false).unwrap_err();
    assert_eq!(err.code(), "artifact_busy", "{err}");
    drop(reader);

    // With its dependents: children first, then the clustering itself.
    let cluster2 = std::fs::read(dir.path().join("pypi-10k/clusters/cluster-002.parquet")).unwrap();
    let deleted = ds.delete("cluster-001", true).unwrap();
    assert_eq!(
        deleted,
        ["scopes-001", labels.to_string().as_str(), "cluster-001"]
    );
    let root = dir.path().join("pypi-10k");
    for gone in [
        "clusters/cluster-001.json",
        "clusters/cluster-001.parquet",
        "clusters/cluster-001-labels-default.parquet",
        "clusters/cluster-001-labels-001.parquet",
        "scopes/scopes-001.json",
        "scopes/scopes-001-input.parquet",
    ] {
        assert!(!root.join(gone).exists(), "{gone} is still there");
    }
    assert!(root.join("input.parquet").exists());
    assert_eq!(
        std::fs::read(root.join("clusters/cluster-002.parquet")).unwrap(),
        cluster2,
        "an unrelated artifact is untouched"
    );
    let left: Vec<(String, bool)> = ds
        .artifacts()
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.state == ArtifactState::Unfinished))
        .collect();
    let unfinished = |id: &str, u| (id.to_string(), u);
    assert_eq!(
        left,
        [
            unfinished("embedding-001", false),
            unfinished("umap-001", false),
            unfinished("cluster-002", false),
            // The reader above claimed a scope and never finished it.
            unfinished("scopes-002", true),
        ]
    );

    // Numbers are never given out again.
    let id = ds
        .cluster(
            UmapId::new(1),
            &HdbscanParams::new(25),
            &ClusterOptions::default(),
            &NoProgress,
        )
        .unwrap();
    assert_eq!(id, ClusterId::new(3));
}

#[test]
fn a_labels_file_naming_rows_outside_the_dataset_is_an_error_naming_it() {
    use latentscope_io::arrow_array::cast::AsArray;
    use latentscope_io::arrow_array::types::Int64Type;
    use latentscope_io::arrow_array::{ArrayRef, ListArray, RecordBatch};

    let dir = tempfile::tempdir().unwrap();
    let ds = python_dataset(dir.path());
    let cluster = ClusterId::new(1);
    let texts = ds.texts().unwrap().texts;
    let labels = block_on(ds.label(
        cluster,
        &KeywordsLabeler::fit(&texts),
        &LabelOptions::default(),
        &NoProgress,
    ))
    .unwrap();
    let store = LocalStore::new(dir.path());
    let key = format!("pypi-10k/clusters/{labels}.parquet");
    let batch = table::read_table(&store, &key, None).unwrap();
    let schema = batch.schema();
    let at = schema.index_of("indices").unwrap();
    let mut lists: Vec<Option<Vec<Option<i64>>>> = batch
        .column(at)
        .as_list::<i32>()
        .iter()
        .map(|l| l.map(|v| v.as_primitive::<Int64Type>().iter().collect()))
        .collect();
    lists[2].as_mut().unwrap()[0] = Some(10_000_000);
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[at] = std::sync::Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(lists));
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let bad = RecordBatch::try_from_iter(names.into_iter().zip(columns)).unwrap();
    table::write_batch(&store, &key, &bad).unwrap();

    let err = ds.read_labels(labels).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("{labels}.parquet")) && message.contains("10000000"),
        "{message}"
    );
    assert_eq!(err.code(), "bad_input");
    // The scope step that reads it refuses and writes nothing.
    let parts = ScopeParts::new(EmbeddingId::new(1), UmapId::new(1), cluster, labels);
    let before = ds.artifacts().unwrap().len();
    assert!(ds.create_scope(&parts, "x", "").is_err());
    assert_eq!(ds.artifacts().unwrap().len(), before);
}

#[test]
fn runs_are_named_in_a_sidecar_that_leaves_the_artifacts_alone() {
    use latentscope_core::Error;
    use latentscope_core::dataset::NAMES_FILE;

    let dir = tempfile::tempdir().unwrap();
    let ds = python_dataset(dir.path());
    let folder = dir.path().join(ds.id());
    let umap_json = std::fs::read(folder.join("umaps/umap-001.json")).unwrap();
    let named = ds
        .name_run(
            "umap-001",
            Some("  the first layout "),
            Some("from Python\nkept"),
        )
        .unwrap();
    assert_eq!(named.name.as_deref(), Some("the first layout"));
    // None keeps a field, "" clears it.
    let named = ds.name_run("umap-001", None, Some("")).unwrap();
    assert_eq!(
        (named.name.as_deref(), named.description),
        (Some("the first layout"), None)
    );
    ds.name_run("cluster-002", Some("finer"), None).unwrap();
    let listed = ds.artifacts().unwrap();
    let name_of = |id: &str| {
        listed
            .iter()
            .find(|a| a.id == id)
            .and_then(|a| a.names.name.clone())
    };
    assert_eq!(name_of("umap-001").as_deref(), Some("the first layout"));
    assert_eq!(name_of("cluster-002").as_deref(), Some("finer"));
    assert_eq!(name_of("cluster-001"), None);
    assert_eq!(
        std::fs::read(folder.join("umaps/umap-001.json")).unwrap(),
        umap_json
    );
    // Refused: an artifact that is not there, a name of two lines, a long one.
    assert!(matches!(
        ds.name_run("umap-009", Some("x"), None),
        Err(Error::ArtifactNotFound { .. })
    ));
    assert!(matches!(
        ds.name_run("umap-001", Some("two\nlines"), None),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        ds.name_run("umap-001", Some(&"x".repeat(201)), None),
        Err(Error::InvalidParameter { .. })
    ));
    // Deleting a run drops its name; the last name gone, the file goes.
    ds.delete("cluster-002", true).unwrap();
    assert_eq!(ds.run_names().unwrap().len(), 1);
    ds.name_run("umap-001", Some(""), None).unwrap();
    assert!(!folder.join(NAMES_FILE).exists());
    // A sidecar that does not parse: listing still works, naming says why.
    std::fs::write(folder.join(NAMES_FILE), "{not json").unwrap();
    assert!(ds.artifacts().is_ok());
    let err = ds.name_run("umap-001", Some("x"), None).unwrap_err();
    assert_eq!(err.code(), "bad_input", "{err:?}");
    assert!(err.to_string().contains("names.json"), "{err}");
}
