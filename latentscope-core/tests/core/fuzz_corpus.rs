//! Replays the fuzz corpus (`fuzz/corpus/<target>/`: the seeds and what
//! `cargo fuzz run` found) through the same entry points the fuzz targets
//! call: every input must end in `Ok` or a typed error, never a panic.

use std::path::Path;

/// A fuzz target: its corpus folder and what it calls.
type Target = (&'static str, fn(&[u8]));

#[test]
fn the_fuzz_corpus_replays_without_a_panic() {
    // The artifact target edits a dataset that must first be made whole.
    let ds = latentscope_core::fuzz::small_dataset().expect("the fuzz dataset");
    assert_eq!(ds.artifacts().unwrap().len(), 5);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let targets: [Target; 6] = [
        ("table_csv", |d| latentscope_core::fuzz::table("csv", d)),
        ("table_tsv", |d| latentscope_core::fuzz::table("tsv", d)),
        ("table_jsonl", |d| latentscope_core::fuzz::table("jsonl", d)),
        ("table_parquet", |d| {
            latentscope_core::fuzz::table("parquet", d)
        }),
        ("npy", latentscope_core::fuzz::npy),
        ("artifact_file", latentscope_core::fuzz::artifact_file),
    ];
    for (target, run) in targets {
        let dir = corpus.join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{target}: no corpus");
        for input in &inputs {
            let data = std::fs::read(input).unwrap();
            // A panic here names the input: replay it with
            // `cargo fuzz run <target> <file>` in fuzz/.
            eprintln!("{}", input.display());
            run(&data);
        }
    }
}
