//! Maps spec strings to embedders. A spec is either a name a user registered
//! (`my-model`) or `provider:model` (`candle:BAAI/bge-small-en-v1.5`,
//! `candle:/path/to/dir`, `static:minilm`), where the provider's factory
//! loads the model. Backends not compiled into a build are registered as
//! missing, so asking for one names the cargo feature to enable.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::{EmbedError, Embedder};

/// Options a factory honours when it loads a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmbedConfig {
    /// Threads for local compute (`None`: all cores).
    pub threads: Option<usize>,
    /// Truncate texts to this many tokens (`None`: the model's own limit).
    pub max_tokens: Option<usize>,
    /// Return only the first `d` dimensions, renormalised (Matryoshka models,
    /// or an API's `dimensions` parameter). `None`: the model's full length.
    pub dimensions: Option<usize>,
    /// The data directory: API providers look for keys in its `.env` last
    /// (data directories made by the Python tool keep one there).
    pub data_dir: Option<std::path::PathBuf>,
}

impl EmbedConfig {
    /// Sets the thread count.
    pub fn with_threads(mut self, threads: Option<usize>) -> Self {
        self.threads = threads;
        self
    }
    /// Sets the token limit.
    pub fn with_max_tokens(mut self, max_tokens: Option<usize>) -> Self {
        self.max_tokens = max_tokens;
        self
    }
    /// Sets the data directory (see [`data_dir`](Self::data_dir)).
    pub fn with_data_dir(mut self, dir: Option<std::path::PathBuf>) -> Self {
        self.data_dir = dir;
        self
    }
    /// Sets the output dimensions.
    pub fn with_dimensions(mut self, dimensions: Option<usize>) -> Self {
        self.dimensions = dimensions;
        self
    }
}

/// Loads a provider's model from the part of the spec after `provider:`.
pub type EmbedderFactory =
    Arc<dyn Fn(&str, &EmbedConfig) -> Result<Arc<dyn Embedder>, EmbedError> + Send + Sync>;

/// One entry of [`EmbedderRegistry::entries`], for listings such as
/// `latentscope models`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryEntry {
    /// The spec prefix (`candle:`) or the registered name.
    pub spec: String,
    /// What it is.
    pub description: String,
    /// Example specs a user can type.
    pub examples: Vec<String>,
    /// `None` when usable; otherwise the cargo feature it needs.
    pub missing_feature: Option<String>,
}

enum Backend {
    Factory(EmbedderFactory),
    Missing(String),
}

struct Provider {
    description: String,
    examples: Vec<String>,
    backend: Backend,
}

/// The set of embedders a program can use, by spec string.
#[derive(Default)]
pub struct EmbedderRegistry {
    providers: BTreeMap<String, Provider>,
    named: BTreeMap<String, Arc<dyn Embedder>>,
}

impl fmt::Debug for EmbedderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbedderRegistry")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("named", &self.named.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EmbedderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a provider: specs `name:…` are loaded by `factory`.
    pub fn register_provider(
        &mut self,
        name: &str,
        description: &str,
        examples: &[&str],
        factory: EmbedderFactory,
    ) {
        self.providers.insert(
            name.to_string(),
            Provider {
                description: description.to_string(),
                examples: examples.iter().map(|s| s.to_string()).collect(),
                backend: Backend::Factory(factory),
            },
        );
    }

    /// Records a provider this build lacks, so that resolving `name:…`
    /// names the cargo `feature` that brings it.
    pub fn register_missing(&mut self, name: &str, description: &str, feature: &str) {
        self.providers.insert(
            name.to_string(),
            Provider {
                description: description.to_string(),
                examples: Vec::new(),
                backend: Backend::Missing(feature.to_string()),
            },
        );
    }

    /// Registers a ready embedder under a name; the spec `name` then
    /// resolves to it.
    pub fn register(&mut self, name: &str, embedder: Arc<dyn Embedder>) {
        self.named.insert(name.to_string(), embedder);
    }

    /// Resolves a spec to an embedder.
    pub fn resolve(
        &self,
        spec: &str,
        config: &EmbedConfig,
    ) -> Result<Arc<dyn Embedder>, EmbedError> {
        if let Some(e) = self.named.get(spec) {
            return Ok(e.clone());
        }
        if let Some((provider, rest)) = spec.split_once(':')
            && let Some(p) = self.providers.get(provider)
        {
            return match &p.backend {
                Backend::Factory(f) => f(rest, config),
                Backend::Missing(feature) => Err(EmbedError::FeatureMissing {
                    spec: spec.to_string(),
                    feature: feature.clone(),
                }),
            };
        }
        Err(EmbedError::UnknownModel {
            spec: spec.to_string(),
            known: self.known(),
        })
    }

    /// Everything this registry answers, for listings.
    pub fn entries(&self) -> Vec<RegistryEntry> {
        let mut out: Vec<RegistryEntry> = self
            .named
            .iter()
            .map(|(name, e)| RegistryEntry {
                spec: name.clone(),
                description: format!("registered: {}", e.spec()),
                examples: vec![name.clone()],
                missing_feature: None,
            })
            .collect();
        out.extend(self.providers.iter().map(|(name, p)| RegistryEntry {
            spec: format!("{name}:"),
            description: p.description.clone(),
            examples: p.examples.clone(),
            missing_feature: match &p.backend {
                Backend::Missing(f) => Some(f.clone()),
                Backend::Factory(_) => None,
            },
        }));
        out
    }

    fn known(&self) -> Vec<String> {
        let mut known: Vec<String> = self.named.keys().cloned().collect();
        for (name, p) in &self.providers {
            if p.examples.is_empty() {
                known.push(format!("{name}:<model>"));
            } else {
                known.extend(p.examples.iter().cloned());
            }
        }
        known
    }
}
