//! The candle backend against sentence-transformers on the real
//! all-MiniLM-L6-v2 weights (fetched once per machine by
//! `scripts/fetch-model`): same token ids and cosine ≥ 0.9999 for every
//! input of `tests/fixtures/minilm-reference.json`.
#![cfg(feature = "candle")]

mod common;

use common::{cosine, repo};

use std::path::PathBuf;
use std::process::Command;

use latentscope_core::{EmbedConfig, EmbedError, Embedder};
use latentscope_models::candle::CandleEmbedder;
use serde_json::Value;

/// The model directory, fetched by the project's script if not cached.
fn model_dir() -> PathBuf {
    let out = Command::new("bash")
        .arg(repo().join("scripts/fetch-model"))
        .output()
        .expect("run scripts/fetch-model");
    assert!(
        out.status.success(),
        "scripts/fetch-model failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn reference() -> Value {
    let text =
        std::fs::read_to_string(repo().join("tests/fixtures/minilm-reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn matches_sentence_transformers_on_every_reference_input() {
    let reference = reference();
    let model = CandleEmbedder::load_dir(
        &model_dir(),
        "sentence-transformers/all-MiniLM-L6-v2",
        &EmbedConfig::default(),
    )
    .unwrap();
    assert_eq!(model.spec().dimensions, 384);
    assert_eq!(model.spec().max_tokens, Some(256));
    assert!(model.spec().normalized);
    let items = reference["items"].as_array().unwrap();
    let texts: Vec<String> = items
        .iter()
        .map(|i| i["text"].as_str().unwrap().to_string())
        .collect();
    let ids = model.token_ids(&texts).unwrap();
    // All at once (one packed batch) and one by one must both match.
    let together = futures::executor::block_on(model.embed(&texts)).unwrap();
    for (i, item) in items.iter().enumerate() {
        let want_ids: Vec<u32> = item["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(ids[i], want_ids, "token ids of item {i} ({:?})", texts[i]);
        let want = floats(&item["embedding"]);
        let alone = model.embed_blocking(&texts[i..=i]).unwrap();
        for (how, got) in [("in a batch", &together[i]), ("alone", &alone[0])] {
            let c = cosine(got, &want);
            assert!(c >= 0.9999, "item {i} {how}: cosine {c} ({:?})", texts[i]);
            let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!(
                (norm - 1.0).abs() < 1e-5,
                "item {i} {how} not normalised: {norm}"
            );
        }
    }
    // The long paragraph is truncated at 256 tokens.
    assert_eq!(ids[7].len(), 256);
    assert_eq!(
        *ids[7].last().unwrap(),
        102,
        "[SEP] closes a truncated text"
    );
}

#[test]
fn long_paragraph_at_512_tokens() {
    let reference = reference();
    let config = EmbedConfig::default().with_max_tokens(Some(512));
    let model = CandleEmbedder::load_dir(&model_dir(), "all-MiniLM-L6-v2", &config).unwrap();
    let text = reference["items"][7]["text"].as_str().unwrap().to_string();
    let extra = &reference["extra_long_paragraph_max_seq_length_512"];
    let ids = model.token_ids(std::slice::from_ref(&text)).unwrap();
    assert_eq!(
        ids[0].len() as u64,
        extra["n_tokens_used"].as_u64().unwrap()
    );
    let got = model.embed_blocking(&[text]).unwrap();
    let c = cosine(&got[0], &floats(&extra["embedding"]));
    assert!(c >= 0.9999, "512-token paragraph: cosine {c}");
}

#[test]
fn bad_model_directories_and_options_are_named() {
    let dir = model_dir();
    let broken = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(dir.join(f), broken.path().join(f)).unwrap();
    }
    let err =
        CandleEmbedder::load(broken.path().to_str().unwrap(), &EmbedConfig::default()).unwrap_err();
    assert!(
        matches!(&err, EmbedError::MissingFile { file, .. } if file == "model.safetensors"),
        "{err}"
    );
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    let too_long = EmbedConfig::default().with_max_tokens(Some(4096));
    let err = CandleEmbedder::load_dir(&dir, "m", &too_long).unwrap_err();
    assert!(err.to_string().contains("4096"), "{err}");

    let registry = latentscope_models::registry();
    let err = registry
        .resolve("nonsense:model", &EmbedConfig::default())
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("nonsense:model")
            && message.contains("candle:sentence-transformers/all-MiniLM-L6-v2"),
        "{message}"
    );
    let err = registry
        .resolve("candle:no-such-org/no-such-model", &EmbedConfig::default())
        .unwrap_err();
    assert!(matches!(err, EmbedError::ModelNotFound { .. }), "{err}");
}

#[test]
fn matryoshka_dimensions_are_truncated_and_renormalised() {
    let config = EmbedConfig::default().with_dimensions(Some(128));
    let model = CandleEmbedder::load_dir(&model_dir(), "m", &config).unwrap();
    let full = CandleEmbedder::load_dir(&model_dir(), "m", &EmbedConfig::default()).unwrap();
    let text = vec!["a library for parsing JSON".to_string()];
    let short = model.embed_blocking(&text).unwrap().remove(0);
    let long = full.embed_blocking(&text).unwrap().remove(0);
    assert_eq!(short.len(), 128);
    assert!(cosine(&short, &long[..128]) > 0.99999);
    let norm: f32 = short.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
}
