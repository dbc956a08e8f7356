//! API providers: OpenAI, Mistral, Ollama and any OpenAI-compatible server
//! (vLLM, llama.cpp's `llama-server`, LM Studio, Together, …), for
//! embeddings ([`embed::ApiEmbedder`]) and chat ([`chat::ChatClient`]).
//!
//! - [`retry`]: which answers are retried, how long to wait, when to stop.
//! - [`http`]: the one HTTP layer (reqwest on rustls, its own small Tokio
//!   runtime, the retry loop, a shared cool-down after a 429, counters).
//! - [`Provider`] and [`Endpoint`]: where each provider lives, its key and
//!   its documented limits; keys are found by [`crate::settings::find`]
//!   and never printed, logged, written or served.
//! - [`tokens`]: token counts (exact for OpenAI's models, approximate
//!   elsewhere), [`prices`]: the dated price table of `--dry-run`.
//!
//! The protocol types are our own, a dozen lenient structs: compatible
//! servers leave out fields that client crates require, and a crate's own
//! retries would nest inside ours (`../shared/PROVIDERS.md` §3).

pub mod retry;

#[cfg(feature = "http")]
pub mod chat;
#[cfg(feature = "http")]
pub mod embed;
#[cfg(feature = "fake-server")]
pub mod fake;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod labeler;
#[cfg(feature = "http")]
mod ollama;
pub mod prices;
pub mod tokens;

#[cfg(feature = "http")]
pub use ollama::list_models as ollama_models;

use std::fmt;
use std::path::Path;

use latentscope_core::EmbedError;

use crate::settings::{self, Source};

/// An API provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// `openai:<model>`: api.openai.com, or `OPENAI_BASE_URL`.
    OpenAi,
    /// `mistral:<model>`: api.mistral.ai, or `MISTRAL_BASE_URL`.
    Mistral,
    /// `ollama:<model>`: a local Ollama at `OLLAMA_HOST`.
    Ollama,
    /// `openai-compatible:<model>@<base-url>`: any server speaking
    /// OpenAI's `/v1/embeddings` and `/v1/chat/completions`.
    OpenAiCompatible,
}

/// The documented (or, where none is documented, conservative) limits of a
/// provider's embeddings endpoint, and how hard we push it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Texts in one request.
    pub max_inputs: usize,
    /// Tokens summed over one request's texts.
    pub max_request_tokens: Option<usize>,
    /// Tokens in one text (longer ones are truncated, where the tokenizer
    /// is exact).
    pub max_input_tokens: Option<usize>,
    /// Rows per batch of the embed step (one checkpoint each).
    pub batch_size: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Limits {
    /// The tokens a text may have: the user's limit within the provider's.
    pub fn input_tokens(&self, user: Option<usize>) -> Option<usize> {
        match (user, self.max_input_tokens) {
            (Some(user), Some(limit)) => Some(user.min(limit)),
            (user, limit) => user.or(limit),
        }
    }
}

impl Provider {
    /// The provider and model of an API provider's spec (`openai:gpt-4o-mini`;
    /// for `openai-compatible:<model>@<url>` the model alone); `None` for
    /// other specs.
    pub fn parse_spec(spec: &str) -> Option<(Provider, &str)> {
        let (prefix, rest) = spec.split_once(':')?;
        let provider = Provider::from_name(prefix)?;
        let model = match provider {
            Provider::OpenAiCompatible => rest.rsplit_once('@').map_or(rest, |(m, _)| m),
            _ => rest,
        };
        Some((provider, model))
    }

    /// Whether this build has the provider (its cargo feature).
    pub fn compiled(self) -> bool {
        match self {
            Provider::OpenAi => cfg!(feature = "openai"),
            Provider::Mistral => cfg!(feature = "mistral"),
            Provider::Ollama => cfg!(feature = "ollama"),
            Provider::OpenAiCompatible => cfg!(feature = "openai-compatible"),
        }
    }

    /// Every provider.
    pub const ALL: [Provider; 4] = [
        Provider::OpenAi,
        Provider::Mistral,
        Provider::Ollama,
        Provider::OpenAiCompatible,
    ];

    /// The spec prefix: `openai`, `mistral`, `ollama`, `openai-compatible`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Mistral => "mistral",
            Provider::Ollama => "ollama",
            Provider::OpenAiCompatible => "openai-compatible",
        }
    }

    /// The provider of a spec prefix.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The variable holding the key (none for Ollama, which takes none).
    pub fn key_variable(self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some("OPENAI_API_KEY"),
            Provider::Mistral => Some("MISTRAL_API_KEY"),
            Provider::Ollama => None,
            Provider::OpenAiCompatible => Some("OPENAI_COMPATIBLE_API_KEY"),
        }
    }

    /// Whether a request without a key is pointless (a local compatible
    /// server usually takes none).
    pub fn key_required(self) -> bool {
        matches!(self, Provider::OpenAi | Provider::Mistral)
    }

    /// The variable that moves the endpoint.
    pub fn base_variable(self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some("OPENAI_BASE_URL"),
            Provider::Mistral => Some("MISTRAL_BASE_URL"),
            Provider::Ollama => Some("OLLAMA_HOST"),
            Provider::OpenAiCompatible => None,
        }
    }

    fn default_base(self) -> &'static str {
        match self {
            Provider::OpenAi => "https://api.openai.com/v1",
            Provider::Mistral => "https://api.mistral.ai/v1",
            Provider::Ollama => "http://127.0.0.1:11434",
            Provider::OpenAiCompatible => "",
        }
    }

    /// The embeddings limits (`../shared/PROVIDERS.md` §2).
    pub fn limits(self) -> Limits {
        match self {
            // 2048 inputs, 300k tokens a request, 8192 a text.
            Provider::OpenAi => Limits {
                max_inputs: 2048,
                max_request_tokens: Some(300_000),
                max_input_tokens: Some(8191),
                batch_size: 256,
                concurrency: 4,
            },
            // None documented per request; `mistral-embed` reads 8192
            // tokens a text. Conservative, and split on a size error.
            Provider::Mistral => Limits {
                max_inputs: 128,
                max_request_tokens: Some(16_000),
                max_input_tokens: None,
                batch_size: 128,
                concurrency: 2,
            },
            // The server batches and truncates itself (`truncate: true`);
            // it runs OLLAMA_NUM_PARALLEL requests at once (default 1).
            Provider::Ollama => Limits {
                max_inputs: 64,
                max_request_tokens: None,
                max_input_tokens: None,
                batch_size: 64,
                concurrency: settings::find("OLLAMA_NUM_PARALLEL", None)
                    .and_then(|(v, _)| v.trim().parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or(1),
            },
            Provider::OpenAiCompatible => Limits {
                max_inputs: 64,
                max_request_tokens: None,
                max_input_tokens: None,
                batch_size: 64,
                concurrency: 2,
            },
        }
    }

    /// The length of a known model's vectors (tags such as `:latest`
    /// ignored).
    pub fn known_dimensions(self, model: &str) -> Option<usize> {
        let model = model.strip_suffix(":latest").unwrap_or(model);
        let table: &[(&str, usize)] = match self {
            Provider::OpenAi => &[
                ("text-embedding-3-small", 1536),
                ("text-embedding-3-large", 3072),
                ("text-embedding-ada-002", 1536),
            ],
            Provider::Mistral => &[("mistral-embed", 1024), ("codestral-embed", 1536)],
            Provider::Ollama => &[
                ("nomic-embed-text", 768),
                ("mxbai-embed-large", 1024),
                ("all-minilm", 384),
                ("snowflake-arctic-embed", 1024),
                ("bge-m3", 1024),
                ("embeddinggemma", 768),
            ],
            Provider::OpenAiCompatible => &[],
        };
        table
            .iter()
            .find(|(name, _)| *name == model)
            .map(|(_, d)| *d)
    }

    /// Whether the model can return fewer dimensions when asked
    /// (`dimensions`, Mistral's `output_dimension`). Unknown models of
    /// Ollama and compatible servers are asked and let answer.
    pub fn can_shorten(self, model: &str) -> bool {
        match self {
            Provider::OpenAi => model.starts_with("text-embedding-3"),
            Provider::Mistral => model.starts_with("codestral-embed"),
            Provider::Ollama | Provider::OpenAiCompatible => true,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where one provider is reached and with which key. The key is private
/// and left out of `Debug`.
#[derive(Clone)]
pub struct Endpoint {
    /// The provider.
    pub provider: Provider,
    /// The base URL, without a trailing `/` (`https://api.openai.com/v1`,
    /// `http://127.0.0.1:11434`).
    pub base_url: String,
    key: Option<String>,
    /// Where the key was found.
    pub key_source: Option<Source>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("key", &self.key.as_ref().map(|_| "(set)"))
            .field("key_source", &self.key_source)
            .finish()
    }
}

impl Endpoint {
    /// An endpoint given outright (a library user's own key and URL;
    /// nothing is looked up).
    pub fn new(provider: Provider, base_url: impl Into<String>, key: Option<String>) -> Self {
        let base_url: String = base_url.into();
        Self {
            provider,
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            key_source: None,
        }
    }

    /// The endpoint of `provider` for the part of a spec after
    /// `provider:`; returns it and the model name. Keys and base URLs are
    /// looked up with [`settings::find`] (environment, `./.env`, the
    /// settings file, `data_dir/.env`). `openai-compatible:` takes
    /// `<model>@<base-url>`, or `<model>@<name>` for an endpoint saved as
    /// `LATENTSCOPE_ENDPOINT_<NAME>`.
    pub fn resolve(
        provider: Provider,
        rest: &str,
        data_dir: Option<&Path>,
    ) -> Result<(Self, String), EmbedError> {
        let find = |name: &str| settings::find(name, data_dir);
        let (model, base_url) = match provider {
            Provider::OpenAiCompatible => {
                let (model, at) = rest.rsplit_once('@').ok_or_else(|| {
                    EmbedError::InvalidOptions(format!(
                        "openai-compatible:{rest}: name the server as <model>@<base-url>, e.g. openai-compatible:nomic-embed-text@http://localhost:8080/v1"
                    ))
                })?;
                let base = if at.contains("://") {
                    at.to_string()
                } else {
                    let name = format!("{}{}", settings::ENDPOINT_PREFIX, at.to_ascii_uppercase());
                    find(&name).map(|(v, _)| v).ok_or_else(|| {
                        EmbedError::InvalidOptions(format!(
                            "openai-compatible:{rest}: {at:?} is neither a URL (http://…) nor a saved endpoint ({name} is not set)"
                        ))
                    })?
                };
                (model.to_string(), base)
            }
            Provider::Ollama => (
                rest.to_string(),
                ollama::host_url(find("OLLAMA_HOST").map(|(v, _)| v).as_deref()),
            ),
            _ => {
                let base = provider
                    .base_variable()
                    .and_then(&find)
                    .map_or_else(|| provider.default_base().to_string(), |(v, _)| v);
                (rest.to_string(), base)
            }
        };
        if model.trim().is_empty() {
            return Err(EmbedError::InvalidOptions(format!(
                "{provider}: no model named (e.g. {})",
                match provider {
                    Provider::OpenAi => "openai:text-embedding-3-small",
                    Provider::Mistral => "mistral:mistral-embed",
                    Provider::Ollama => "ollama:nomic-embed-text",
                    Provider::OpenAiCompatible =>
                        "openai-compatible:my-model@http://localhost:8080/v1",
                }
            )));
        }
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(EmbedError::InvalidOptions(format!(
                "{provider}: the base URL {base_url:?} must start with http:// or https://"
            )));
        }
        let (key, key_source) = match provider.key_variable().and_then(&find) {
            Some((key, source)) => (Some(key), Some(source)),
            None => (None, None),
        };
        if key.is_none()
            && provider.key_required()
            && let Some(variable) = provider.key_variable()
        {
            return Err(EmbedError::MissingKey {
                provider: provider.name().to_string(),
                variable: variable.to_string(),
                looked: key_places(data_dir),
            });
        }
        Ok((
            Self {
                provider,
                base_url: base_url.trim_end_matches('/').to_string(),
                key,
                key_source,
            },
            model,
        ))
    }

    /// The key, for the request header only.
    pub(crate) fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The URL of `path` under the base (`/embeddings`, `/api/embed`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The places a key is looked for, in order, for error messages.
pub fn key_places(data_dir: Option<&Path>) -> String {
    let mut places = vec!["the environment".to_string(), "./.env".to_string()];
    if let Some(file) = settings::config_file() {
        places.push(file.display().to_string());
    }
    if let Some(dir) = data_dir {
        places.push(dir.join(".env").display().to_string());
    }
    places.join(", ")
}

/// Cuts `texts` into runs of at most `max_inputs` texts and (where known)
/// `max_tokens` tokens; a text over the token budget goes alone.
pub fn plan_requests(
    texts: &[(String, usize)],
    max_inputs: usize,
    max_tokens: Option<usize>,
) -> Vec<&[(String, usize)]> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut tokens = 0usize;
    for (i, (_, n)) in texts.iter().enumerate() {
        let full_inputs = i - start >= max_inputs.max(1);
        let full_tokens = max_tokens.is_some_and(|max| i > start && tokens + n > max);
        if full_inputs || full_tokens {
            groups.push(&texts[start..i]);
            start = i;
            tokens = 0;
        }
        tokens += n;
    }
    if start < texts.len() {
        groups.push(&texts[start..]);
    }
    groups
}

/// What an embed through an API provider would send, without sending it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Estimate {
    /// The provider.
    pub provider: Provider,
    /// The model.
    pub model: String,
    /// Rows to embed.
    pub rows: usize,
    /// Requests (retries aside).
    pub requests: usize,
    /// Tokens sent.
    pub tokens: u64,
    /// Whether `tokens` is an exact count (OpenAI's tokenizer) or an
    /// approximation.
    pub tokens_exact: bool,
    /// Texts longer than the model reads, that would be cut.
    pub truncated: usize,
    /// The cost in US dollars, for a model in the price table.
    pub cost_usd: Option<f64>,
    /// The date of the price table.
    pub prices_as_of: &'static str,
}

/// The requests, tokens and cost of embedding `texts` with `spec` (an API
/// provider's spec; `None` for other backends), in batches of `batch_size`
/// rows (the provider's default when `None`) and with texts cut at
/// `max_tokens` where the limit is exact. Needs no key and sends nothing.
pub fn estimate(
    spec: &str,
    texts: &[String],
    batch_size: Option<usize>,
    max_tokens: Option<usize>,
) -> Option<Estimate> {
    let (provider, model) = Provider::parse_spec(spec)?;
    let model = model.to_string();
    let limits = provider.limits();
    let counter = tokens::Counter::for_model(provider, &model);
    let max_input = limits.input_tokens(max_tokens);
    let mut truncated = 0;
    let prepared: Vec<(String, usize)> = texts
        .iter()
        .map(|t| {
            let mut n = counter.count(if t.is_empty() { " " } else { t });
            if let Some(max) = max_input
                && counter.is_exact()
                && n > max
            {
                truncated += 1;
                n = max;
            }
            (String::new(), n)
        })
        .collect();
    let batch = batch_size.unwrap_or(limits.batch_size).max(1);
    let requests = prepared
        .chunks(batch)
        .map(|b| plan_requests(b, limits.max_inputs, limits.max_request_tokens).len())
        .sum();
    let tokens: u64 = prepared.iter().map(|(_, n)| *n as u64).sum();
    let cost_usd = prices::price(provider.name(), &model).map(|p| prices::cost(p, tokens, 0));
    Some(Estimate {
        provider,
        model,
        rows: texts.len(),
        requests,
        tokens,
        tokens_exact: counter.is_exact(),
        truncated,
        cost_usd,
        prices_as_of: prices::AS_OF,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tokens: &[usize]) -> Vec<(String, usize)> {
        tokens.iter().map(|&n| ("x".to_string(), n)).collect()
    }

    #[test]
    fn requests_respect_input_and_token_limits() {
        let t = texts(&[10, 10, 10, 10, 10]);
        let sizes = |g: Vec<&[(String, usize)]>| g.iter().map(|g| g.len()).collect::<Vec<_>>();
        assert_eq!(sizes(plan_requests(&t, 2, None)), vec![2, 2, 1]);
        assert_eq!(sizes(plan_requests(&t, 10, Some(25))), vec![2, 2, 1]);
        let big = texts(&[5, 100, 5]);
        assert_eq!(sizes(plan_requests(&big, 10, Some(50))), vec![1, 1, 1]);
        assert!(plan_requests(&[], 10, None).is_empty());
    }

    #[test]
    fn estimates_count_requests_tokens_and_cost_without_a_key() {
        let texts: Vec<String> = (0..1000).map(|i| format!("row {i} text")).collect();
        let e = estimate("openai:text-embedding-3-small", &texts, None, None).unwrap();
        assert_eq!(e.requests, 4); // batches of 256
        assert_eq!(e.rows, 1000);
        assert!(e.tokens > 1000);
        let cost = e.cost_usd.unwrap();
        assert!((cost - e.tokens as f64 * 0.02 / 1e6).abs() < 1e-12);
        let e = estimate("openai-compatible:m@http://x/v1", &texts, Some(50), None).unwrap();
        assert_eq!((e.requests, e.cost_usd, e.tokens_exact), (20, None, false));
        assert!(estimate("static:minilm", &texts, None, None).is_none());
    }
}
