//! End-to-end tests of the `latentscope` binary: what a user types and sees.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

/// `latentscope ingest <id> <file> --text-column <column>`.
fn ingest(data: &Path, id: &str, file: &str, column: &str) -> Output {
    run(data, &["ingest", id, file, "--text-column", column])
}

#[test]
fn ingest_the_shipped_dataset_and_list_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = repo_file("data/pypi-10k.csv");
    let o = ingest(&data, "pypi-10k", csv.to_str().unwrap(), "summary");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(from --data-dir)"));
    assert!(
        stdout(&o).contains("ingested 10000 rows × 3 columns"),
        "{}",
        stdout(&o)
    );
    assert!(data.join("pypi-10k/input.parquet").is_file());
    let o = run(&data, &["datasets"]);
    assert!(o.status.success());
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("pypi-10k")).unwrap();
    assert!(line.contains("10000") && line.contains("summary"), "{line}");
}

#[test]
fn data_dir_comes_from_flag_then_env_then_default() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .current_dir(dir.path())
        .env("LATENT_SCOPE_DATA", dir.path().join("env"))
        .arg("datasets")
        .output()
        .unwrap();
    assert!(stderr(&o).contains(&format!(
        "data directory: {} (from LATENT_SCOPE_DATA)",
        dir.path().join("env").display()
    )));
    let o = bin()
        .current_dir(dir.path())
        .arg("datasets")
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("data directory: ./latent-scope-data (from default)"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("no datasets yet"));
}

fn assert_nothing_left(data: &Path, id: &str) {
    let o = run(data, &["datasets"]);
    assert!(
        !stdout(&o).lines().any(|l| l.starts_with(id)),
        "{id} listed: {}",
        stdout(&o)
    );
    let dir = data.join(id);
    if dir.exists() {
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            left.is_empty(),
            "left behind in {}: {left:?}",
            dir.display()
        );
    }
}

#[test]
fn bad_inputs_fail_with_one_clear_line_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (
            dir.path().join("missing.csv").to_str().unwrap().to_string(),
            "text",
            "not found",
        ),
        (
            write("t.xlsx", b"PK\x03\x04"),
            "text",
            "cannot read this format",
        ),
        (write("empty.csv", b""), "text", "the file is empty"),
        (
            write("header.csv", b"text,n\n"),
            "text",
            "has a header but no rows",
        ),
        (
            write("utf8.csv", b"text,n\nok,1\nbad \xfe,2\n"),
            "text",
            "line 3: invalid UTF-8 in column \"text\"",
        ),
        (
            write("ragged.csv", b"text,n\na,1\nb,2,3\n"),
            "text",
            "line 3: expected 2 fields as in the header, found 3",
        ),
        (
            write("cols.csv", b"title,n\na,1\n"),
            "text",
            "no column \"text\"",
        ),
    ];
    for (file, column, expected) in &cases {
        let o = ingest(&data, "d", file, column);
        let line = error_line(&o);
        assert!(
            line.contains(expected),
            "{file}: {line:?} should contain {expected:?}"
        );
        assert_nothing_left(&data, "d");
    }
    // The column error lists the columns there are.
    let o = run(
        &data,
        &["ingest", "d", &cases[6].0, "--text-column", "text"],
    );
    assert!(error_line(&o).contains("the columns are: title, n"));

    let good = write("good.csv", b"text\nhello\n");
    for bad_id in ["a/b", "..", "has space", "x.y"] {
        let o = ingest(&data, bad_id, &good, "text");
        assert!(error_line(&o).contains("invalid dataset id"), "{bad_id}");
    }
    assert!(!data.exists() || std::fs::read_dir(&data).unwrap().next().is_none());
}

#[test]
fn ingest_into_an_existing_id_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "text\nfirst\n").unwrap();
    assert!(
        ingest(&data, "d", a.to_str().unwrap(), "text")
            .status
            .success()
    );
    let before = std::fs::read(data.join("d/input.parquet")).unwrap();
    let b = dir.path().join("b.csv");
    std::fs::write(&b, "text\nsecond\nthird\n").unwrap();
    let o = ingest(&data, "d", b.to_str().unwrap(), "text");
    assert!(error_line(&o).contains("dataset \"d\" already exists"));
    assert_eq!(std::fs::read(data.join("d/input.parquet")).unwrap(), before);
}

/// Killing the process mid-write leaves no half-written `input.parquet` and
/// no listed dataset; ingesting again succeeds.
#[test]
fn killed_ingest_leaves_the_dataset_absent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("big.csv");
    let mut text = String::from("text,n\n");
    for i in 0..1_500_000 {
        text.push_str(&format!(
            "row number {i} with some words to make it longer,{i}\n"
        ));
    }
    std::fs::write(&csv, text).unwrap();
    // Wait until the temporary input file exists, then kill -9.
    let ds_dir = data.join("big");
    let args = [
        "ingest",
        "big",
        csv.to_str().unwrap(),
        "--text-column",
        "text",
    ];
    kill_when(
        &data,
        &args,
        Duration::from_secs(60),
        Duration::ZERO,
        || {
            std::fs::read_dir(&ds_dir)
                .map(|d| {
                    d.flatten()
                        .any(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                })
                .unwrap_or(false)
        },
    );
    assert!(
        !ds_dir.join("input.parquet").exists(),
        "half-written input.parquet"
    );
    assert!(!ds_dir.join("meta.json").exists());
    assert_nothing_left_listed(&data, "big");
    let o = ingest(&data, "big", csv.to_str().unwrap(), "text");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ingested 1500000 rows"));
}

fn assert_nothing_left_listed(data: &Path, id: &str) {
    let o = run(data, &["datasets"]);
    assert!(!stdout(&o).lines().any(|l| l.starts_with(id)));
}

#[test]
fn import_umap_and_tags_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "text\na\nb\nc\n").unwrap();
    assert!(
        ingest(&data, "t", csv.to_str().unwrap(), "text")
            .status
            .success()
    );
    let npy = dir.path().join("xy.npy");
    latentscope::io::npy::write_npy_f32(&npy, &[0.0, 0.0, 1.0, 1.0, 2.0, 0.5], 3, Some(2)).unwrap();
    let o = run(&data, &["import-umap", "t", npy.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("umap-001: 3 points"));
    assert!(data.join("t/umaps/umap-001.parquet").is_file());
    let o = run(&data, &["tag", "t", "add", "good", "0", "2"]);
    assert!(stdout(&o).contains("now has 2 rows"));
    let o = run(&data, &["tag", "t", "add", "good", "7"]);
    assert!(error_line(&o).contains("row 7 is out of range"));
    assert_eq!(
        std::fs::read_to_string(data.join("t/tags/good.indices")).unwrap(),
        "0\n2\n"
    );
}

/// The offline path a user walks today: ingest, import vectors, project, cluster.
#[test]
fn umap_and_cluster_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = repo_file("data/pypi-10k.csv");
    assert!(
        ingest(&data, "p", csv.to_str().unwrap(), "summary")
            .status
            .success()
    );
    let vectors = repo_file("tests/fixtures/pypi-10k/minilm-embeddings-f16.npy");
    let o = run(&data, &["import-embedding", "p", vectors.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("embedding-001: 10000 rows × 384 dims"));

    // One thread: with two, the epochs' updates race (Hogwild), so the layout
    // and HDBSCAN's cluster count below vary from run to run (22 to 92 in six
    // runs with seed 7, and 19 once, below the range asserted); with one
    // thread the seed fixes them.
    let o = run(
        &data,
        &[
            "umap",
            "p",
            "embedding-001",
            "--seed",
            "7",
            "--threads",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("umap-001: 10000 points from embedding-001"),
        "{}",
        stdout(&o)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("p/umaps/umap-001.json")).unwrap())
            .unwrap();
    assert_eq!(meta["embedding_id"], "embedding-001");
    assert_eq!(meta["neighbors"], 25);
    assert_eq!(meta["params"]["seed"], 7);
    assert_eq!(meta["params"]["init_used"], "spectral");
    assert!(data.join("p/umaps/umap-001.png").is_file());

    // PCA, and a UMAP aligned with the first one.
    assert!(
        run(&data, &["umap", "p", "embedding-001", "--method", "pca"])
            .status
            .success()
    );
    let o = run(
        &data,
        &[
            "umap",
            "p",
            "embedding-001",
            "--init",
            "umap-001",
            "--epochs",
            "20",
            "--seed",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("p/umaps/umap-003.json")).unwrap())
            .unwrap();
    assert_eq!(meta["params"]["init_from"], "umap-001");

    let o = run(&data, &["cluster", "p", "umap-001"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("min_cluster_size 25 (default for 10000 rows)"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).starts_with("cluster-001: "), "{}", stdout(&o));
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("p/clusters/cluster-001.json")).unwrap())
            .unwrap();
    let n = meta["n_clusters"].as_u64().unwrap();
    assert!((20..=300).contains(&n), "{n} clusters");

    // Ids that do not exist are named, with the ones that do.
    let o = run(&data, &["cluster", "p", "umap-009"]);
    assert!(error_line(&o).contains("has no umap-009; it has: umap-001, umap-002, umap-003"));
    let o = run(&data, &["umap", "p", "embedding-1"]);
    assert!(error_line(&o).contains("invalid id"));
    let o = run(&data, &["umap", "p", "embedding-001", "--min-dist", "2"]);
    assert!(error_line(&o).contains("min_dist"), "{}", stderr(&o));
}

/// The real all-MiniLM-L6-v2, fetched once per machine by the project's script.
fn fetch_model() {
    let o = Command::new("bash")
        .arg(repo_file("scripts/fetch-model"))
        .output()
        .unwrap();
    assert!(o.status.success(), "scripts/fetch-model: {}", stderr(&o));
}

/// Writes the header and the first `rows` rows of the shipped pypi-10k CSV to `path`.
fn write_pypi_head(path: &Path, rows: usize) {
    let all = std::fs::read_to_string(repo_file("data/pypi-10k.csv")).unwrap();
    let head: Vec<&str> = all.lines().take(rows + 1).collect();
    std::fs::write(path, head.join("\n") + "\n").unwrap();
}

#[test]
fn embed_killed_mid_run_resumes_to_the_uninterrupted_vectors() {
    fetch_model();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("rows.csv");
    write_pypi_head(&csv, 1200);
    let o = ingest(&data, "d", csv.to_str().unwrap(), "summary");
    assert!(o.status.success(), "{}", stderr(&o));
    // The transformer model, slow enough to interrupt mid-run.
    let args = [
        "embed",
        "d",
        "--model",
        "candle:sentence-transformers/all-MiniLM-L6-v2",
        "--batch-size",
        "4",
        "--checkpoint-seconds",
        "0",
    ];

    let o = run(&data, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("embedding-001: 1200 rows × 384 dims"),
        "{}",
        stdout(&o)
    );

    let parts = data.join("d/embeddings/.embedding-002.parts");
    let written = |dir: &Path| {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("part-"))
                    .count()
            })
            .unwrap_or(0)
    };
    kill_when(
        &data,
        &args,
        Duration::from_secs(120),
        Duration::ZERO,
        || written(&parts) >= 2,
    );
    assert!(!data.join("d/embeddings/embedding-002.json").exists());
    assert!(!data.join("d/embeddings/embedding-002.parquet").exists());

    let o = run(&data, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("embedding-002: 1200 rows"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("resumed embedding-002"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        embedding(&data, "d", "embedding-001"),
        embedding(&data, "d", "embedding-002")
    );
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("d/embeddings/embedding-002.json")).unwrap(),
    )
    .unwrap();
    assert!(meta["resumed_rows"].as_u64().unwrap() >= 512, "{meta}");
    assert_eq!(
        meta["model_id"],
        "huggingface-sentence-transformers___all-MiniLM-L6-v2"
    );
    assert_eq!(meta["max_seq_length"], 256);
    assert!(!parts.exists(), "checkpoints removed after the commit");
    let litter: Vec<String> = std::fs::read_dir(data.join("d/embeddings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(
        litter.is_empty(),
        "the killed run's partial file is removed on resume: {litter:?}"
    );

    // Bad model specs fail with one line that helps.
    let line = error_line(&run(&data, &["embed", "d", "--model", "nonsense:x"]));
    assert!(
        line.contains("unknown model \"nonsense:x\"")
            && line.contains("candle:sentence-transformers/all-MiniLM-L6-v2"),
        "{line}"
    );
    let line = error_line(&run(
        &data,
        &["embed", "d", "--model", "candle:/no/such/dir"],
    ));
    assert!(line.contains("/no/such/dir"), "{line}");
    let o = run(&data, &["models"]);
    assert!(
        stdout(&o).contains("sentence-transformers/all-MiniLM-L6-v2"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn run_end_to_end_resumes_when_interrupted_and_refuses_a_finished_run() {
    fetch_model();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = dir.path().join("pypi head.csv");
    write_pypi_head(&csv, 1500);
    // The transformer model, slow enough to interrupt mid-embed.
    let args = [
        "run",
        csv.to_str().unwrap(),
        "--text-column",
        "summary",
        "--model",
        "candle:sentence-transformers/all-MiniLM-L6-v2",
    ];

    // Interrupt the first run during the embed step.
    let claim = data.join("pypi-head/embeddings/.embedding-001.claim");
    kill_when(
        &data,
        &args,
        Duration::from_secs(120),
        Duration::from_millis(500),
        || claim.exists(),
    );

    let o = run(&data, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("continuing it"), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("pypi-head: 1500 rows → "), "{out}");
    assert!(out.contains("(continued an interrupted run)"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("ingest") && l.ends_with("reused")),
        "{out}"
    );
    for step in ["embed", "umap", "cluster", "label", "scope"] {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(step) && !l.ends_with("reused")),
            "{step} in {out}"
        );
    }
    assert!(out.contains("next: latentscope show pypi-head"), "{out}");

    // The scope's files, as a reader of the Python format expects them.
    let store = std::sync::Arc::new(latentscope::io::LocalStore::new(&data));
    let scope = latentscope::io::table::read_table(
        store.as_ref(),
        "pypi-head/scopes/scopes-001-input.parquet",
        None,
    )
    .unwrap();
    let names: Vec<String> = scope
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "index",
            "name",
            "summary",
            "month",
            "x",
            "y",
            "tile_index_64",
            "tile_index_128",
            "cluster",
            "raw_cluster",
            "label",
            "deleted"
        ]
    );
    assert_eq!(scope.num_rows(), 1500);

    // A finished run is refused, naming the dataset and its scope.
    let line = error_line(&run(&data, &args));
    assert!(
        line.contains("\"pypi-head\"") && line.contains("scopes-001"),
        "{line}"
    );
    // So is a dataset made by ingest.
    let o = ingest(&data, "other", csv.to_str().unwrap(), "summary");
    assert!(o.status.success());
    let line = error_line(&run(
        &data,
        &[
            "run",
            csv.to_str().unwrap(),
            "--text-column",
            "summary",
            "--dataset",
            "other",
        ],
    ));
    assert!(line.contains("\"other\" already exists"), "{line}");

    // show lists every artifact with its parents.
    let o = run(&data, &["show", "pypi-head"]);
    let out = stdout(&o);
    for want in [
        "embedding-001  candle:sentence-transformers/all-MiniLM-L6-v2",
        "umap-001  from embedding-001",
        "cluster-001  from umap-001",
        "cluster-001-labels-001  keywords",
        "scopes-001",
    ] {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
    // label and scope by hand: a second labelling and a scope of it; bad ids name what exists.
    let o = run(&data, &["label", "pypi-head", "cluster-001"]);
    assert!(
        stdout(&o).starts_with("cluster-001-labels-002:"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &data,
        &[
            "scope",
            "pypi-head",
            "embedding-001",
            "umap-001",
            "cluster-001",
            "2",
            "--label",
            "again",
        ],
    );
    assert!(
        stdout(&o).starts_with("scopes-002:"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let line = error_line(&run(&data, &["label", "pypi-head", "cluster-009"]));
    assert!(
        line.contains("cluster-009") && line.contains("cluster-001"),
        "{line}"
    );
    let line = error_line(&run(
        &data,
        &[
            "scope",
            "pypi-head",
            "embedding-001",
            "umap-001",
            "cluster-001",
            "7",
            "--label",
            "x",
        ],
    ));
    assert!(
        line.contains("cluster-001-labels-007") && line.contains("cluster-001-labels-002"),
        "{line}"
    );
}

#[test]
fn show_and_datasets_read_a_python_latentscope_directory() {
    let data = repo_file("tests/fixtures/python-latentscope-1.0");
    let o = run(&data, &["datasets"]);
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("pypi-10k") && l.contains("10000")),
        "{}",
        stdout(&o)
    );
    let o = run(&data, &["show", "pypi-10k"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "embedding-001  huggingface-sentence-transformers___all-MiniLM-L6-v2",
        "LanceDB",
        "umap-001  from embedding-001",
        "cluster-001  from umap-001",
        "cluster-002",
        "cluster-001-labels-default",
        "scopes-001  \"PyPI 10k\"",
        "👍",
    ] {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
}

#[test]
fn a_closed_pipe_ends_show_quietly_and_exit_statuses_follow_the_error_table() {
    let data = repo_file("tests/fixtures/python-latentscope-1.0");
    // The reader is gone before the first line is written (`show x | head -0`).
    let mut child = bin()
        .arg("--data-dir")
        .arg(&data)
        .args(["show", "pypi-10k"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{:?} {}", o.status, stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    // docs/errors.md: not found 3, invalid parameter 2.
    let o = run(&data, &["show", "no-such-dataset"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = run(&data, &["delete", "pypi-10k", "umap-1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn delete_names_the_dependents_then_removes_them_with_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = run(&data, &["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = error_line(&run(&data, &["delete", "pypi-10k-demo", "umap-001"]));
    assert!(
        line.contains("scopes-001")
            && line.contains("cluster-001")
            && line.contains("--with-dependents"),
        "{line}"
    );
    let o = run(&data, &["delete", "pypi-10k-demo", "umap-001"]);
    assert_eq!(o.status.code(), Some(6));
    let ds = data.join("pypi-10k-demo");
    assert!(ds.join("umaps/umap-001.parquet").is_file());
    let o = run(
        &data,
        &["delete", "pypi-10k-demo", "umap-001", "--with-dependents"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for gone in [
        "scopes-001",
        "cluster-001-labels-001",
        "cluster-001",
        "umap-001",
    ] {
        assert!(
            stdout(&o).contains(&format!("deleted pypi-10k-demo/{gone}")),
            "{}",
            stdout(&o)
        );
    }
    assert!(!ds.join("umaps/umap-001.parquet").exists());
    assert!(ds.join("embeddings/embedding-001.parquet").is_file());
    assert!(ds.join("input.parquet").is_file());
    let o = run(&data, &["show", "pypi-10k-demo"]);
    assert!(!stdout(&o).contains("umap-001"), "{}", stdout(&o));
    // The demo again: it keeps the embedding and makes the deleted steps anew.
    let o = run(&data, &["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("embedding-001")
            && out.contains("reused")
            && out.contains("umap-002")
            && out.contains("scopes-002"),
        "{out}"
    );
    // The whole dataset: refused while it holds artifacts, then gone.
    let o = run(&data, &["delete", "pypi-10k-demo"]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let o = run(&data, &["delete", "pypi-10k-demo", "--with-dependents"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!ds.exists());
}

/// Every file under `dir` (relative paths), to check that a failed command wrote nothing.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Rewrites one int64 column of a Parquet file through `edit`.
fn edit_int64_parquet(file: &Path, edit: impl Fn(&mut Vec<Vec<i64>>)) {
    use latentscope::io::arrow_array::cast::AsArray;
    use latentscope::io::arrow_array::types::Int64Type;
    use latentscope::io::arrow_array::{ArrayRef, Int64Array, RecordBatch};
    let store = latentscope::io::LocalStore::new(file.parent().unwrap());
    let name = file.file_name().unwrap().to_str().unwrap();
    let batch = latentscope::io::table::read_table(&store, name, None).unwrap();
    let mut columns: Vec<Vec<i64>> = batch
        .columns()
        .iter()
        .map(|c| c.as_primitive::<Int64Type>().values().to_vec())
        .collect();
    edit(&mut columns);
    let fields: Vec<(String, ArrayRef)> = batch
        .schema()
        .fields()
        .iter()
        .zip(columns)
        .map(|(f, c)| {
            (
                f.name().clone(),
                std::sync::Arc::new(Int64Array::from(c)) as ArrayRef,
            )
        })
        .collect();
    let batch = RecordBatch::try_from_iter(fields).unwrap();
    latentscope::io::table::write_batch(&store, name, &batch).unwrap();
}

#[test]
fn corrupted_artifacts_are_one_line_errors_naming_the_file_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine");
    let o = run(&pristine, &["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ds = "pypi-10k-demo";
    type Corrupt = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Corrupt, Vec<&str>, &str)> = vec![
        (
            "a negative cluster",
            Box::new(|d: &Path| {
                edit_int64_parquet(&d.join("clusters/cluster-001.parquet"), |c| c[0][7] = -3)
            }),
            vec!["label", ds, "cluster-001"],
            "cluster-001.parquet",
        ),
        (
            "a raw cluster past n_clusters",
            Box::new(|d: &Path| {
                edit_int64_parquet(&d.join("clusters/cluster-001.parquet"), |c| c[1][9] = 999)
            }),
            vec!["label", ds, "cluster-001"],
            "cluster-001.parquet",
        ),
        (
            "a cluster file with fewer rows",
            Box::new(|d: &Path| {
                edit_int64_parquet(&d.join("clusters/cluster-001.parquet"), |c| {
                    c.iter_mut().for_each(|col| col.truncate(100))
                })
            }),
            vec![
                "scope",
                ds,
                "embedding-001",
                "umap-001",
                "cluster-001",
                "1",
                "--label",
                "x",
            ],
            "cluster-001.parquet",
        ),
        (
            "a cluster file with more rows",
            Box::new(|d: &Path| {
                edit_int64_parquet(&d.join("clusters/cluster-001.parquet"), |c| {
                    c.iter_mut()
                        .for_each(|col| col.extend_from_slice(&[0, 0, 0]))
                })
            }),
            vec!["label", ds, "cluster-001"],
            "cluster-001.parquet",
        ),
        (
            "a truncated umap Parquet",
            Box::new(|d: &Path| {
                let f = d.join("umaps/umap-001.parquet");
                let bytes = std::fs::read(&f).unwrap();
                std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
            }),
            vec!["cluster", ds, "umap-001"],
            "umap-001.parquet",
        ),
        (
            "a garbage umap .json",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("umaps/umap-001.json"),
                    b"{\"id\": \"umap-001\", \"embedding_id\": 7",
                )
                .unwrap()
            }),
            vec!["cluster", ds, "umap-001"],
            "umap-001.json",
        ),
        (
            "a garbage cluster .json",
            Box::new(|d: &Path| {
                std::fs::write(d.join("clusters/cluster-001.json"), b"\x00\xff not json").unwrap()
            }),
            vec!["label", ds, "cluster-001"],
            "cluster-001.json",
        ),
        (
            "a garbage embedding Parquet",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("embeddings/embedding-001.parquet"),
                    b"PAR1 nonsense PAR1",
                )
                .unwrap()
            }),
            vec!["umap", ds, "embedding-001", "--method", "pca"],
            "embedding-001.parquet",
        ),
    ];
    for (what, corrupt, args, file) in cases {
        let data = dir.path().join(what.replace(' ', "-"));
        copy_tree(&pristine, &data);
        corrupt(&data.join(ds));
        let before = files_under(&data);
        let o = run(&data, &args);
        let line = error_line(&o);
        assert!(line.contains(file), "{what}: {line}");
        assert!(!stderr(&o).contains("panicked"), "{what}: {}", stderr(&o));
        let code = o.status.code().unwrap();
        assert!((2..=8).contains(&code), "{what}: exit {code}");
        assert_eq!(files_under(&data), before, "{what}: files were written");
    }
}

#[test]
fn our_records_carry_every_field_the_python_tool_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = run(&data, &["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let theirs = repo_file("tests/fixtures/python-latentscope-1.0/pypi-10k");
    let ours = data.join("pypi-10k-demo");
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    for file in [
        "meta.json",
        "embeddings/embedding-001.json",
        "umaps/umap-001.json",
        "clusters/cluster-001.json",
        "scopes/scopes-001.json",
    ] {
        let (t, o) = (read(theirs.join(file)), read(ours.join(file)));
        // token_stats (the Python tool's token counts) is the one field ours
        // lacks: our embedders do not count tokens (docs/format.md).
        let missing: Vec<String> = keys(&t)
            .into_iter()
            .filter(|k| !o.as_object().unwrap().contains_key(k) && k != "token_stats")
            .collect();
        assert!(missing.is_empty(), "{file}: ours lacks {missing:?}");
        if file.starts_with("scopes") {
            for part in ["dataset", "umap", "cluster", "cluster_labels"] {
                let missing: Vec<String> = keys(&t[part])
                    .into_iter()
                    .filter(|k| o[part].get(k).is_none())
                    .collect();
                assert!(missing.is_empty(), "{file} {part}: ours lacks {missing:?}");
            }
            let (tl, ol) = (
                &t["cluster_labels_lookup"][0],
                &o["cluster_labels_lookup"][0],
            );
            assert!(keys(tl).iter().all(|k| ol.get(k).is_some()), "{tl} vs {ol}");
        }
    }
    // The seed actually used is recorded as an integer, also when none was given.
    assert_eq!(read(ours.join("umaps/umap-001.json"))["seed"], 42);
    let o = run(
        &data,
        &["umap", "pypi-10k-demo", "embedding-001", "--epochs", "5"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let seed = read(ours.join("umaps/umap-002.json"))["seed"].as_u64();
    assert!(seed.is_some_and(|s| s < 1 << 31), "{seed:?}");
    assert!(
        stdout(&o).contains(&format!("seed {}", seed.unwrap())),
        "{}",
        stdout(&o)
    );
}

fn raw_clusters(file: &Path) -> Vec<i64> {
    use latentscope::io::arrow_array::cast::AsArray;
    use latentscope::io::arrow_array::types::Int64Type;
    let store = latentscope::io::LocalStore::new(file.parent().unwrap());
    let name = file.file_name().unwrap().to_str().unwrap();
    let batch = latentscope::io::table::read_table(&store, name, Some(&["raw_cluster"])).unwrap();
    batch
        .column(0)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

#[test]
fn run_writes_the_golden_files() {
    let golden = repo_file("tests/fixtures/golden-run");
    let csv = repo_file("data/pypi-10k.csv");
    let dir = tempfile::tempdir().unwrap();
    let mut made = Vec::new();
    for threads in ["1", ""] {
        let data = dir.path().join(format!("threads-{threads}"));
        let mut c = bin();
        if !threads.is_empty() {
            c.env("RAYON_NUM_THREADS", threads);
        } else {
            c.env_remove("RAYON_NUM_THREADS");
        }
        let o = c
            .arg("--data-dir")
            .arg(&data)
            .args(["run", csv.to_str().unwrap(), "--text-column", "summary"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        for id in [
            "embedding-001",
            "umap-001",
            "cluster-001",
            "cluster-001-labels-001",
            "scopes-001",
        ] {
            assert!(out.contains(id), "{id} missing from {out}");
        }
        made.push(data.join("pypi-10k"));
    }
    // One thread: the same bytes as before the change.
    for (file, ours) in [
        ("umap-001.parquet", "umaps/umap-001.parquet"),
        ("cluster-001.parquet", "clusters/cluster-001.parquet"),
        (
            "cluster-001-labels-001.parquet",
            "clusters/cluster-001-labels-001.parquet",
        ),
    ] {
        assert!(
            std::fs::read(golden.join(file)).unwrap() == std::fs::read(made[0].join(ours)).unwrap(),
            "{ours} differs from the golden file"
        );
    }
    // All cores: the same ids (checked above), and a layout of the same
    // neighbourhoods. The Hogwild SGD makes each multi-threaded layout its
    // own draw: measured, the 15-NN overlap in 2-D with the one-thread
    // layout is 0.24-0.26 (two multi-threaded runs: 0.41-0.45; a random
    // layout: 0.0015), and HDBSCAN at `run`'s defaults then lands on 14 or
    // ~75 clusters (ARI 0.06-0.30 between runs), so the clusterings are not
    // compared here (docs/benchmarks.md).
    let overlap = neighbourhood_overlap(
        &layout_xy(&golden.join("umap-001.parquet")),
        &layout_xy(&made[1].join("umaps/umap-001.parquet")),
        15,
    );
    assert!(overlap >= 0.15, "15-NN overlap {overlap}");
    let clusters = raw_clusters(&made[1].join("clusters/cluster-001.parquet"));
    assert_eq!(clusters.len(), 10_000);
}

fn layout_xy(file: &Path) -> Vec<[f32; 2]> {
    use latentscope::io::arrow_array::cast::AsArray;
    use latentscope::io::arrow_array::types::Float32Type;
    let store = latentscope::io::LocalStore::new(file.parent().unwrap());
    let name = file.file_name().unwrap().to_str().unwrap();
    let batch = latentscope::io::table::read_table(&store, name, Some(&["x", "y"])).unwrap();
    let x = batch.column(0).as_primitive::<Float32Type>().values();
    let y = batch.column(1).as_primitive::<Float32Type>().values();
    x.iter().zip(y.iter()).map(|(&x, &y)| [x, y]).collect()
}

/// Mean share of each point's k nearest neighbours (in 2-D) that two layouts
/// of the same rows have in common.
fn neighbourhood_overlap(a: &[[f32; 2]], b: &[[f32; 2]], k: usize) -> f64 {
    let knn = |p: &[[f32; 2]], i: usize| -> Vec<usize> {
        let mut d: Vec<(f32, usize)> = p
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(j, q)| ((q[0] - p[i][0]).powi(2) + (q[1] - p[i][1]).powi(2), j))
            .collect();
        d.select_nth_unstable_by(k, |x, y| x.0.total_cmp(&y.0));
        d[..k].iter().map(|&(_, j)| j).collect()
    };
    let step = 20; // every 20th row: 500 of 10,000
    let rows: Vec<usize> = (0..a.len()).step_by(step).collect();
    let shared: usize = rows
        .iter()
        .map(|&i| {
            let nb = knn(b, i);
            knn(a, i).iter().filter(|j| nb.contains(j)).count()
        })
        .sum();
    shared as f64 / (rows.len() * k) as f64
}

#[test]
fn garbage_vector_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let csv = repo_file("data/pypi-10k.csv");
    assert!(
        ingest(&data, "p", csv.to_str().unwrap(), "summary")
            .status
            .success()
    );
    let cases: [(&str, &[u8]); 4] = [
        ("garbage.npy", b"\x93NUMPY\x01\x00\xff\xffnot a header"),
        ("short.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 384), }"),
        ("empty.parquet", b""),
        ("garbage.parquet", b"PAR1\x00\x01\x02PAR1"),
    ];
    for (name, bytes) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let before = files_under(&data);
        for command in ["import-embedding", "import-umap"] {
            let o = run(&data, &[command, "p", file.to_str().unwrap()]);
            let line = error_line(&o);
            assert!(line.contains(name), "{command} {name}: {line}");
            assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
            assert_eq!(o.status.code(), Some(7), "{command} {name}: {line}");
        }
        assert_eq!(files_under(&data), before, "{name}: files were written");
    }
}

#[test]
fn serve_prints_its_address_and_answers_over_http() {
    use std::io::{BufRead, Read, Write};
    let data = repo_file("tests/fixtures/python-latentscope-1.0");
    let mut child = bin()
        .args([
            "serve",
            data.to_str().unwrap(),
            "--port",
            "0",
            "--read-only",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    assert!(address.starts_with("127.0.0.1:"), "{line}");
    assert!(line.contains("read-only"), "{line}");
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /api/version HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"read_only\":true"), "{response}");
}

#[test]
fn parquet_files_that_crash_the_parquet_crate_are_one_clear_error() {
    // Inputs the fuzzer found (fuzz/corpus/table_parquet/regression-*): the
    // parquet crate panics on them; we report the file instead.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for name in [
        "regression-crash-70fa1a4d",
        "regression-crash-bf73f0ca",
        "regression-crash-82aeeb6f",
    ] {
        let file = dir.path().join(format!("{name}.parquet"));
        std::fs::copy(
            repo_file(&format!("fuzz/corpus/table_parquet/{name}")),
            &file,
        )
        .unwrap();
        let o = run(
            &data,
            &[
                "ingest",
                "x",
                file.to_str().unwrap(),
                "--text-column",
                "text",
            ],
        );
        let line = error_line(&o);
        assert!(line.contains(&format!("{name}.parquet")), "{line}");
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert_eq!(o.status.code(), Some(7), "{line}");
        assert!(!data.join("x").exists());
    }
}

/// `latentscope index` writes the HNSW graph and its record under
/// `<dataset>/indexes/`; a missing embedding is a not-found error (exit 3)
/// naming those there, and writes nothing.
#[test]
fn index_writes_the_graph_or_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = ingest(
        &data,
        "p",
        &repo_file("data/pypi-10k.csv").to_string_lossy(),
        "summary",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&data, &["index", "p", "embedding-001"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        error_line(&o).contains("no embedding-001"),
        "{}",
        error_line(&o)
    );
    assert!(!data.join("p/indexes").exists());
    let o = run(&data, &["embed", "p"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&data, &["index", "p", "embedding-001"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("10000 rows × 256"), "{}", stdout(&o));
    let mut names: Vec<String> = std::fs::read_dir(data.join("p/indexes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "embedding-001.hnsw.data",
            "embedding-001.hnsw.graph",
            "embedding-001.json"
        ]
    );
}

#[test]
fn export_site_writes_a_folder_and_refuses_one_that_holds_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = run(&data, &["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let site = dir.path().join("site");
    let site_arg = site.to_string_lossy().into_owned();
    // What a killed export left beside the folder goes.
    std::fs::create_dir_all(dir.path().join(".site.tmp-99999/data")).unwrap();
    let o = run(
        &data,
        &[
            "export-site",
            "pypi-10k-demo",
            "scopes-001",
            &site_arg,
            "--neighbors",
            "4",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("10000 rows"), "{}", stdout(&o));
    assert!(site.join("index.html").is_file() && site.join("data/neighbors/9.bin").is_file());
    assert_eq!(
        std::fs::metadata(site.join("data/neighbors/9.bin"))
            .unwrap()
            .len(),
        1000 * 4 * 4
    );
    // docs/errors.md: a folder that holds files is 4 (already exists); a
    // scope that is not there, 3.
    let o = run(
        &data,
        &["export-site", "pypi-10k-demo", "scopes-001", &site_arg],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(error_line(&o).contains("--force"), "{}", stderr(&o));
    let o = run(
        &data,
        &[
            "export-site",
            "pypi-10k-demo",
            "scopes-001",
            &site_arg,
            "--force",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let other = dir.path().join("other").to_string_lossy().into_owned();
    let o = run(
        &data,
        &["export-site", "pypi-10k-demo", "scopes-002", &other],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(!dir.path().join("other").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn run_makes_a_map_of_one_three_and_twenty_rows() {
    let texts = [
        "Fast JSON parsing for Python",
        "A web framework for building APIs",
        "Plot charts in the terminal",
        "Async HTTP client and server",
        "Read and write Excel files",
    ];
    for rows in [1usize, 3, 20] {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let csv = tmp.path().join("small.csv");
        let mut body = String::from("text\n");
        for i in 0..rows {
            body.push_str(&format!("{} (number {i})\n", texts[i % texts.len()]));
        }
        std::fs::write(&csv, body).unwrap();
        let o = run(
            &data,
            &["run", csv.to_str().unwrap(), "--text-column", "text"],
        );
        assert!(o.status.success(), "{rows} rows: {}", stderr(&o));
        let record: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(data.join("small/umaps/umap-001.json")).unwrap(),
        )
        .unwrap();
        let params = &record["params"];
        match rows {
            20 => {
                assert_eq!(params["n_neighbors_used"], 19, "{record}");
                assert!(
                    stderr(&o).contains("UMAP used 19 neighbours instead of 25"),
                    "{}",
                    stderr(&o)
                );
            }
            _ => {
                assert_eq!(params["n_neighbors_used"], 0, "{record}");
                let init = params["init_used"].as_str().unwrap();
                assert!(
                    init.starts_with(if rows == 1 { "circle" } else { "pca" }),
                    "{init}"
                );
                assert!(
                    stderr(&o).contains("too few rows for UMAP"),
                    "{}",
                    stderr(&o)
                );
            }
        }
        assert!(
            data.join("small/scopes/scopes-001.json").exists(),
            "{rows} rows: a scope"
        );
        let xy = layout_xy(&data.join("small/umaps/umap-001.parquet"));
        assert_eq!(xy.len(), rows);
        assert!(xy.iter().flatten().all(|v| v.is_finite()));
    }
}
