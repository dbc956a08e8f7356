//! Embedder backends for latentscope and the registry of built-in ones.
//!
//! # Brief overview
//!
//! - [`registry`] returns an [`EmbedderRegistry`] that resolves spec strings
//!   to the backends compiled into this build; add your own with
//!   [`EmbedderRegistry::register`].
//! - `candle:` (cargo feature `candle`, on by default): BERT-family
//!   sentence-transformers models run locally, see [`candle`].
//! - `static:`: static embeddings in model2vec's format, see [`static_model`];
//!   `latentscope distill` makes one from any `candle:` model.
//! - `openai:`, `mistral:`, `ollama:`, `openai-compatible:<model>@<url>`
//!   (cargo features of the same names, on by default): API providers, see
//!   [`providers`]; keys from the environment or a `.env` ([`settings`]).
//! - [`locate`] finds model files: a directory, latentscope's model cache,
//!   or the HuggingFace cache.
//!
//! ```
//! use latentscope_core::EmbedConfig;
//! let registry = latentscope_models::registry();
//! let model = registry.resolve("static:minilm", &EmbedConfig::default())?;
//! let vectors = futures::executor::block_on(model.embed(&["hello".to_string()]))?;
//! assert_eq!(vectors[0].len(), 256);
//! # Ok::<(), latentscope_core::EmbedError>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

#[cfg(feature = "candle")]
pub mod candle;
pub mod locate;
pub mod providers;
pub mod settings;
pub mod static_model;

#[cfg(feature = "candle")]
use std::sync::Arc;

pub use latentscope_core;
use latentscope_core::EmbedderRegistry;

/// A backend's own rayon pool of `threads` threads (all cores when `None`),
/// so its compute never runs on the caller's executor or the global pool.
pub(crate) fn compute_pool(
    backend: &str,
    threads: Option<usize>,
) -> Result<(rayon::ThreadPool, usize), latentscope_core::EmbedError> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let name = backend.to_string();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map_err(|e| latentscope_core::EmbedError::Backend {
            backend: backend.to_string(),
            message: format!("cannot start {threads} threads: {e}"),
        })?;
    Ok((pool, threads))
}

/// The model `embed` uses when none is named.
pub const DEFAULT_MODEL: &str = "static:minilm";

/// A registry holding every backend compiled into this build; backends
/// left out are registered as missing, so asking for one names its feature.
pub fn registry() -> EmbedderRegistry {
    let mut registry = EmbedderRegistry::new();
    let candle_about = "BERT-family sentence-transformers models (BERT, MiniLM, BGE, E5, GTE) run locally with candle; a hub id (from latentscope's model cache or the HuggingFace cache) or a directory";
    #[cfg(feature = "candle")]
    registry.register_provider(
        "candle",
        candle_about,
        &[
            "candle:sentence-transformers/all-MiniLM-L6-v2",
            "candle:BAAI/bge-small-en-v1.5",
            "candle:/path/to/sentence-transformers-dir",
        ],
        Arc::new(|name, config| Ok(Arc::new(candle::CandleEmbedder::load(name, config)?))),
    );
    #[cfg(not(feature = "candle"))]
    registry.register_missing("candle", candle_about, "candle");
    register_api_providers(&mut registry);
    registry.register_provider(
        "static",
        "static embeddings (model2vec format: ours, model2vec's, potion models): the built-in `minilm` (256 dims, distilled from all-MiniLM-L6-v2, no download), a directory or a cached model",
        &["static:minilm", "static:/path/to/model2vec-dir"],
        std::sync::Arc::new(|name, config| {
            if name == static_model::builtin::NAME {
                return Ok(std::sync::Arc::new(static_model::builtin::load(config)?));
            }
            let dir = locate::find_model_dir(name, "model.safetensors")?;
            Ok(std::sync::Arc::new(static_model::StaticModel::load_dir(&dir, name, config)?))
        }),
    );
    registry
}

/// A labeler registry holding the built-in `keywords` labeler and an LLM
/// labeler for every API provider this build has (`openai:gpt-4o-mini`,
/// `mistral:mistral-small-latest`, `ollama:llama3.2`,
/// `openai-compatible:<model>@<url>`), keys and endpoints found as the
/// embedders find them.
pub fn labelers() -> latentscope_core::label::LabelerRegistry {
    #[allow(unused_mut)]
    let mut registry = latentscope_core::label::LabelerRegistry::default();
    #[cfg(feature = "http")]
    for provider in providers::Provider::ALL {
        if !provider.compiled() {
            continue;
        }
        let about = match provider {
            providers::Provider::OpenAi => {
                "an OpenAI chat model names each cluster from its keywords and exemplar rows (e.g. openai:gpt-4o-mini; OPENAI_API_KEY)"
            }
            providers::Provider::Mistral => {
                "a Mistral chat model names each cluster (e.g. mistral:mistral-small-latest; MISTRAL_API_KEY)"
            }
            providers::Provider::Ollama => {
                "a local Ollama model names each cluster (e.g. ollama:llama3.2)"
            }
            _ => {
                "any OpenAI-compatible chat server names each cluster (openai-compatible:<model>@<base-url>)"
            }
        };
        registry.register(
            provider.name(),
            about,
            std::sync::Arc::new(|spec: &str, ds: &latentscope_core::Dataset| {
                let chat = providers::chat::ChatClient::from_spec(spec, ds.data_dir().as_deref())
                    .map_err(|e| latentscope_core::Error::Backend {
                    backend: format!("labeler {spec}"),
                    message: e.message,
                })?;
                Ok(Box::new(providers::labeler::LlmLabeler::new(spec, chat))
                    as Box<dyn latentscope_core::label::Labeler>)
            }),
        );
    }
    registry
}

/// Registers the API providers this build has (and the others as missing,
/// naming their feature).
fn register_api_providers(registry: &mut EmbedderRegistry) {
    use providers::Provider;
    let about = |p: Provider| match p {
        Provider::OpenAi => {
            "OpenAI's embeddings API (key OPENAI_API_KEY; OPENAI_BASE_URL moves it to a proxy or a compatible server)"
        }
        Provider::Mistral => "Mistral's embeddings API (key MISTRAL_API_KEY)",
        Provider::Ollama => {
            "a local Ollama (OLLAMA_HOST, default 127.0.0.1:11434; `ollama pull <model>` first)"
        }
        _ => {
            "any OpenAI-compatible server: vLLM, llama.cpp's llama-server, LM Studio, Together (key OPENAI_COMPATIBLE_API_KEY if it wants one)"
        }
    };
    let examples = |p: Provider| -> &'static [&'static str] {
        match p {
            Provider::OpenAi => &[
                "openai:text-embedding-3-small",
                "openai:text-embedding-3-large",
            ],
            Provider::Mistral => &["mistral:mistral-embed"],
            Provider::Ollama => &["ollama:nomic-embed-text", "ollama:mxbai-embed-large"],
            _ => &["openai-compatible:nomic-embed-text@http://localhost:8080/v1"],
        }
    };
    for provider in Provider::ALL {
        if !provider.compiled() {
            registry.register_missing(provider.name(), about(provider), provider.name());
            continue;
        }
        #[cfg(feature = "http")]
        registry.register_provider(
            provider.name(),
            about(provider),
            examples(provider),
            std::sync::Arc::new(move |rest, config| {
                Ok(std::sync::Arc::new(providers::embed::ApiEmbedder::load(
                    provider, rest, config,
                )?))
            }),
        );
        #[cfg(not(feature = "http"))]
        let _ = examples;
    }
}
