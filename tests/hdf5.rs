//! HDF5 embeddings: a data directory of the Python latent-scope 0.x layout
//! (the 1.0 fixture with `embeddings/embedding-NNN.h5` written by h5py,
//! `tests/fixtures/python-latentscope-0x/make.py`) opens, projects,
//! clusters, labels, scopes and serves; bad `.h5` files are clear errors
//! that write nothing; an embedding written as `.h5` reads back in h5py.
//! With the `hdf5` feature (as CI builds); without it, an `.h5` names the
//! feature.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

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

/// The 0.x data directory: the 1.0 fixture plus the h5py-written embeddings.
fn python_0x(root: &Path) -> PathBuf {
    let data = root.join("data");
    copy_dir(&repo("tests/fixtures/python-latentscope-1.0"), &data);
    // 1.0's embedding record (LanceDB vectors) gives way to 0.x's.
    for e in std::fs::read_dir(data.join("pypi-10k/embeddings"))
        .unwrap()
        .flatten()
    {
        std::fs::remove_file(e.path()).unwrap();
    }
    copy_dir(
        &repo("tests/fixtures/python-latentscope-0x/pypi-10k/embeddings"),
        &data.join("pypi-10k/embeddings"),
    );
    data
}

fn run(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latentscope"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under `dir` with its contents.
#[cfg(feature = "hdf5")]
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[cfg(feature = "hdf5")]
#[test]
fn a_python_0x_directory_opens_projects_clusters_and_serves() {
    use latentscope::EmbeddingId;
    use latentscope::prelude::DataDir;

    let root = tempfile::tempdir().unwrap();
    let data = python_0x(root.path());
    let theirs = snapshot(&data.join("pypi-10k"));
    let ds = DataDir::open(&data).dataset("pypi-10k").unwrap();

    // What h5py wrote, read back: float32 exactly, float16 (chunked, gzip)
    // to its precision.
    let want = latentscope::io::npy::read_npy(&repo(
        "tests/fixtures/python-latentscope-0x/pypi-10k/vectors.npy",
    ))
    .unwrap()
    .into_f32();
    let f32s = ds.read_embedding(EmbeddingId::new(1)).unwrap();
    assert_eq!((f32s.rows, f32s.cols), (10_000, 8));
    assert_eq!(f32s.data, want);
    let f16s = ds.read_embedding(EmbeddingId::new(2)).unwrap();
    let worst = f16s
        .data
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "float16 read {worst} away");

    // show: both generations, no "missing feature" note.
    let o = run(&data, &["show", "pypi-10k"]);
    let shown = text(&o);
    assert!(o.status.success(), "{shown}");
    assert!(!shown.contains("feature"), "{shown}");
    assert!(
        shown.contains("embedding-001") && shown.contains("umap-001"),
        "{shown}"
    );

    // umap → cluster → label → scope from the .h5 embedding: ours land
    // beside theirs with the next free ids.
    for args in [
        &[
            "umap",
            "pypi-10k",
            "embedding-001",
            "--seed",
            "3",
            "--neighbors",
            "10",
        ][..],
        &["cluster", "pypi-10k", "umap-002"],
        &["label", "pypi-10k", "cluster-003"],
        &[
            "scope",
            "pypi-10k",
            "embedding-001",
            "umap-002",
            "cluster-003",
            "default",
            "--label",
            "ours",
        ],
    ] {
        let o = run(&data, args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    assert!(data.join("pypi-10k/umaps/umap-002.json").is_file());
    assert!(data.join("pypi-10k/scopes/scopes-002.json").is_file());
    let now = snapshot(&data.join("pypi-10k"));
    for (path, bytes) in &theirs {
        let kept = now.iter().find(|(p, _)| p == path).map(|(_, b)| b);
        assert_eq!(kept, Some(bytes), "{} changed", path.display());
    }

    // Served: the scope's points, and "rows like this row" from the .h5
    // vectors (the static site's precomputed neighbours read them too).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let site = root.path().join("site");
    let summary = runtime
        .block_on(latentscope::server::site::export_site(
            &data,
            "pypi-10k",
            "scopes-002",
            &site,
            &latentscope::server::site::SiteOptions::default(),
            &latentscope::NoProgress,
        ))
        .unwrap();
    assert_eq!(summary.rows, 10_000);
    let neighbours = std::fs::read(site.join("data/neighbors/0.bin")).unwrap();
    let first: Vec<u32> = neighbours[..16 * 4]
        .chunks(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    // The nearest row by the .h5 vectors themselves.
    let cos =
        |a: usize, b: usize| -> f32 { (0..8).map(|j| want[a * 8 + j] * want[b * 8 + j]).sum() };
    let best = (1..10_000).map(|r| cos(0, r)).fold(f32::MIN, f32::max);
    assert!(
        (cos(0, first[0] as usize) - best).abs() < 1e-5,
        "{first:?}: {} vs {best}",
        cos(0, first[0] as usize)
    );
}

#[cfg(feature = "hdf5")]
#[test]
fn bad_h5_files_are_named_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let data = python_0x(root.path());
    let before = snapshot(&data);
    let bad = repo("tests/fixtures/python-latentscope-0x/bad");
    for (file, says) in [
        ("truncated.h5", "HDF5"),
        ("other-name.h5", "no dataset \"embeddings\""),
        ("rank3.h5", "shape"),
        ("integers.h5", "not floating-point"),
        ("short.h5", "100"),
        ("missing.h5", "missing.h5"),
    ] {
        let path = bad.join(file);
        let o = run(
            &data,
            &["import-embedding", "pypi-10k", &path.to_string_lossy()],
        );
        let said = text(&o);
        assert!(!o.status.success(), "{file}: {said}");
        assert!(said.contains(file), "{file} not named: {said}");
        assert!(said.contains(says), "{file}: {said}");
        assert!(!said.contains("panicked"), "{said}");
        assert_eq!(snapshot(&data), before, "{file} left something behind");
    }
    // A 0.x embedding whose rows do not match the dataset's: named.
    std::fs::copy(
        bad.join("short.h5"),
        data.join("pypi-10k/embeddings/embedding-001.h5"),
    )
    .unwrap();
    let o = run(&data, &["umap", "pypi-10k", "embedding-001"]);
    let said = text(&o);
    assert!(
        !o.status.success() && said.contains("embedding-001.h5") && said.contains("100 vectors"),
        "{said}"
    );
}

#[cfg(feature = "hdf5")]
#[test]
fn an_embedding_written_as_h5_reads_back_in_h5py() {
    use latentscope::EmbeddingId;
    use latentscope::prelude::DataDir;

    let root = tempfile::tempdir().unwrap();
    let data = python_0x(root.path());
    let o = run(&data, &["embed", "pypi-10k", "--format", "h5"]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = data.join("pypi-10k/embeddings");
    assert!(dir.join("embedding-003.h5").is_file() && !dir.join("embedding-003.parquet").exists());
    let ours = DataDir::open(&data)
        .dataset("pypi-10k")
        .unwrap()
        .read_embedding(EmbeddingId::new(3))
        .unwrap();
    let npy = root.path().join("h5py.npy");
    let python = repo(".tools/venv/bin/python");
    let o = Command::new(&python)
        .arg("-c")
        .arg(
            "import sys, h5py, numpy\n\
             f = h5py.File(sys.argv[1], 'r')\n\
             d = f['embeddings']\n\
             assert d.dtype == numpy.float32 and d.chunks is None, (d.dtype, d.chunks)\n\
             numpy.save(sys.argv[2], d[:])",
        )
        .arg(dir.join("embedding-003.h5"))
        .arg(&npy)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/setup installs it)", python.display()));
    assert!(o.status.success(), "{}", text(&o));
    let theirs = latentscope::io::npy::read_npy(&npy).unwrap();
    assert_eq!(theirs.into_f32(), ours.data);
    // import-embedding of an .h5: a new embedding with the same vectors.
    let o = run(
        &data,
        &[
            "import-embedding",
            "pypi-10k",
            &dir.join("embedding-003.h5").to_string_lossy(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let imported = DataDir::open(&data)
        .dataset("pypi-10k")
        .unwrap()
        .read_embedding(EmbeddingId::new(4))
        .unwrap();
    assert_eq!(imported.data, ours.data);
}

#[cfg(not(feature = "hdf5"))]
#[test]
fn without_the_feature_an_h5_names_it() {
    let root = tempfile::tempdir().unwrap();
    let data = python_0x(root.path());
    let o = run(&data, &["show", "pypi-10k"]);
    assert!(text(&o).contains("`hdf5` feature"), "{}", text(&o));
    let o = run(&data, &["umap", "pypi-10k", "embedding-001"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("`hdf5` cargo feature"), "{}", text(&o));
}
