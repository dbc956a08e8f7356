//! The static-model backend: the shipped model reproduces model2vec's own
//! vectors of it; the fast tokenizer equals the `tokenizers` crate on real
//! rows; a model distilled from the real MiniLM has the method's properties.

mod common;

use common::{cosine, repo};

use std::path::PathBuf;

use latentscope_core::{EmbedConfig, Embedder};
use latentscope_models::static_model::{StaticModel, builtin};
use serde_json::Value;

#[test]
fn the_shipped_model_reproduces_model2vecs_vectors() {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/static-minilm-reference.json"))
        .unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let model = builtin::load(&EmbedConfig::default()).unwrap();
    assert_eq!(model.spec().dimensions, 256);
    assert!(model.has_fast_tokenizer());
    for item in reference["items"].as_array().unwrap() {
        let t = item["text"].as_str().unwrap().to_string();
        let want_ids: Vec<u32> = item["token_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(model.token_ids(&t), want_ids, "ids of {t:?}");
        let want: Vec<f32> = item["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let got = futures::executor::block_on(model.embed(std::slice::from_ref(&t)))
            .unwrap()
            .remove(0);
        if want.iter().all(|v| *v == 0.0) {
            assert!(
                got.iter().all(|v| *v == 0.0),
                "{t:?}: an empty text is the zero vector"
            );
        } else {
            let c = cosine(&got, &want);
            assert!(c >= 0.9999, "{t:?}: cosine {c}");
        }
    }
    let record: Value = serde_json::from_str(builtin::RECORD).unwrap();
    assert_eq!(record["teacher"], "sentence-transformers/all-MiniLM-L6-v2");
    assert!(record["licence"].as_str().unwrap().contains("Apache-2.0"));
}

#[test]
fn the_fast_tokenizer_equals_the_tokenizers_crate_on_real_rows() {
    let model = builtin::load(&EmbedConfig::default()).unwrap();
    let csv = std::fs::read_to_string(repo().join("data/pypi-10k.csv")).unwrap();
    let mut rows: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    rows.extend(
        [
            "tabs\tand\nnew\r\nlines",
            "ctrl\u{1}chars\u{7f}gone",
            "under_score-dash.dot/slash",
            "",
            "   ",
            "C++ & C# (2024)!!",
            "e-mail: a@b.co",
            "ALLCAPS MixedCase",
            "don't won't it's",
            // Piece lengths around the fast path's key sizes (8, 16 bytes)
            // and the vocabulary's longest pieces (17 and 18 bytes).
            "abcdefgh abcdefghi qwertyuiopasdfgh qwertyuiopasdfghj",
            "telecommunications telecommunication telecommunicationsx",
            "Disqualifications interdisciplinaryness misunderstandings",
            "internationalization electroencephalography supercalifragilisticexpialidocious",
            "zzzzzzzzzzzzzzzzzzzzzzzzz ##ing ## #",
        ]
        .map(|s| s.to_string()),
    );
    rows.extend(["A".repeat(99), "B".repeat(101), "x".repeat(5000)]);
    let mut differ = Vec::new();
    for r in &rows {
        if model.token_ids(r) != model.reference_token_ids(r) {
            differ.push(r.clone());
        }
    }
    assert!(
        differ.is_empty(),
        "{} rows differ, e.g. {:?}",
        differ.len(),
        differ.first()
    );
}

#[cfg(feature = "candle")]
#[test]
fn a_distilled_model_has_the_methods_properties() {
    use latentscope_models::candle::CandleEmbedder;
    use latentscope_models::static_model::distill::{DistillOptions, Precision, distill};
    let out = std::process::Command::new("bash")
        .arg(repo().join("scripts/fetch-model"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let teacher = CandleEmbedder::load_dir(
        &dir,
        "sentence-transformers/all-MiniLM-L6-v2",
        &EmbedConfig::default(),
    )
    .unwrap();
    let mut options = DistillOptions::new(32);
    options.precision = Precision::F32;
    let d = distill(&teacher, &options, &latentscope_core::NoProgress).unwrap();
    // 30,522 WordPiece tokens less 994 [unusedN] and [CLS], [SEP], [MASK].
    assert_eq!(d.tokens.len(), 29_525);
    assert_eq!(&d.tokens[..2], ["[PAD]", "[UNK]"]);
    assert!(
        !d.tokens
            .iter()
            .any(|t| t.starts_with("[unused") || t == "[CLS]")
    );
    assert_eq!(d.dims, 32);
    assert!(
        d.explained_variance > 0.2 && d.explained_variance < 1.0,
        "{}",
        d.explained_variance
    );
    // Each component's largest-magnitude entry is positive (before the
    // positive SIF weights, so after them too).
    for c in 0..32 {
        let best = (0..d.tokens.len())
            .map(|i| d.vectors[i * 32 + c])
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap();
        assert!(best > 0.0, "component {c}");
    }
    // The compacted tokenizer: ids 0..n in order, no post-processor (it
    // would insert the teacher's [CLS]/[SEP] ids).
    assert!(d.tokenizer["post_processor"].is_null());
    let vocab = d.tokenizer["model"]["vocab"].as_object().unwrap();
    assert_eq!(vocab.len(), 29_525);
    assert_eq!(vocab["[UNK]"], 1);
    // Saved and loaded, it embeds: similar texts closer than unrelated ones.
    let saved = tempfile::tempdir().unwrap();
    d.save(saved.path(), &serde_json::Map::new()).unwrap();
    let model = StaticModel::load_dir(saved.path(), "small", &EmbedConfig::default()).unwrap();
    let v = model.embed_flat(&[
        "fast json parser".into(),
        "quick json parsing library".into(),
        "gardening tips for roses".into(),
    ]);
    let (a, b, c) = (&v[0..32], &v[32..64], &v[64..96]);
    assert!(
        cosine(a, b) > cosine(a, c),
        "{} vs {}",
        cosine(a, b),
        cosine(a, c)
    );
}
