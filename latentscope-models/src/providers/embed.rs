//! The embedders of the API providers: `openai:<model>`, `mistral:<model>`,
//! `ollama:<model>` and `openai-compatible:<model>@<base-url>`.
//!
//! Texts are sent exactly as stored (no whitespace rewriting), except an
//! empty text, which OpenAI-shaped endpoints refuse and which is sent as a
//! single space, and a text longer than OpenAI's 8191 tokens, which is cut
//! to that many tokens and the decoded text sent. A batch of the embed step
//! is split into requests within the provider's limits on inputs and
//! tokens; a Mistral or compatible server that refuses a request as too
//! large gets it again in halves. Vectors are put in order by the answer's
//! `index`, and their count and length are checked.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use latentscope_core::EmbedConfig;
use latentscope_core::embed::{EmbedError, Embedder, EmbedderSpec, async_trait};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{ApiError, ErrorKind, HttpClient};
use super::tokens::Counter;
use super::{Endpoint, Limits, Provider, plan_requests};

/// An embedder that calls a provider's embeddings endpoint.
#[derive(Debug)]
pub struct ApiEmbedder {
    spec: EmbedderSpec,
    endpoint: Endpoint,
    model: String,
    limits: Limits,
    /// `dimensions` (or Mistral's `output_dimension`) to ask for.
    ask_dimensions: Option<usize>,
    counter: Counter,
    http: HttpClient,
    tokens: AtomicU64,
    truncated: AtomicU64,
}

impl ApiEmbedder {
    /// The embedder of `provider` for the part of a spec after
    /// `provider:`, with keys and endpoints found as
    /// [`Endpoint::resolve`] says. Nothing is sent: the dimensions come
    /// from `--dimensions`, else the model's documented size, else the
    /// first answer.
    pub fn load(provider: Provider, rest: &str, config: &EmbedConfig) -> Result<Self, EmbedError> {
        let (endpoint, model) = Endpoint::resolve(provider, rest, config.data_dir.as_deref())?;
        let http = HttpClient::from_env().map_err(|e| backend(provider, e.to_string()))?;
        Self::new(endpoint, model, config, http)
    }

    /// The embedder of `model` at `endpoint`, sending through `http` (its
    /// retry policy and timeout); `config` as for [`load`](Self::load).
    pub fn new(
        endpoint: Endpoint,
        model: String,
        config: &EmbedConfig,
        http: HttpClient,
    ) -> Result<Self, EmbedError> {
        let provider = endpoint.provider;
        let known = provider.known_dimensions(&model);
        if let Some(d) = config.dimensions {
            if d == 0 {
                return Err(EmbedError::InvalidOptions(
                    "--dimensions must be at least 1".into(),
                ));
            }
            if !provider.can_shorten(&model) && known != Some(d) {
                return Err(EmbedError::InvalidOptions(format!(
                    "{provider}:{model} returns {} dimensions and cannot return {d} (only text-embedding-3 and later models take `dimensions`)",
                    known.map_or("a fixed number of".to_string(), |k| k.to_string())
                )));
            }
            if let Some(k) = known
                && d > k
            {
                return Err(EmbedError::InvalidOptions(format!(
                    "{provider}:{model} has {k} dimensions; --dimensions {d} asks for more"
                )));
            }
        }
        let ask_dimensions = config
            .dimensions
            .filter(|d| Some(*d) != known || provider == Provider::Ollama);
        let dimensions = config.dimensions.or(known).unwrap_or(0);
        let mut limits = provider.limits();
        let counter = Counter::for_model(provider, &model);
        let max_tokens = limits.input_tokens(config.max_tokens);
        limits.max_input_tokens = max_tokens;
        let spec = EmbedderSpec::new(provider.name(), model.clone(), dimensions)
            .with_max_tokens(max_tokens)
            .with_normalized(matches!(
                provider,
                Provider::OpenAi | Provider::Mistral | Provider::Ollama
            ))
            .with_batching(limits.batch_size, limits.concurrency)
            .with_sort_by_length(false)
            .with_checkpoint_every_batch(true);
        Ok(Self {
            spec,
            endpoint,
            model,
            limits,
            ask_dimensions,
            counter,
            http,
            tokens: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
        })
    }

    /// The endpoint this embedder calls.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The texts as they will be sent (empty ones as a space for
    /// OpenAI-shaped endpoints, long ones cut by tokens), each with its
    /// token count.
    fn prepare(&self, texts: &[String]) -> Vec<(String, usize)> {
        texts
            .iter()
            .map(|text| {
                let mut text = text.clone();
                if text.is_empty() && self.endpoint.provider != Provider::Ollama {
                    text = " ".to_string();
                }
                if let Some(max) = self.limits.max_input_tokens
                    && let Some(cut) = self.counter.truncate(&text, max)
                {
                    self.truncated.fetch_add(1, Ordering::Relaxed);
                    text = cut;
                }
                let tokens = self.counter.count(&text);
                (text, tokens)
            })
            .collect()
    }

    /// Sends `texts` (prepared) as one request, halving it when a server
    /// that documents no size limit refuses it as too large.
    async fn send(&self, texts: &[(String, usize)]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        let mut pending = vec![texts];
        while let Some(group) = pending.pop() {
            match self.request(group).await {
                Ok(vectors) => out.extend(vectors),
                Err(e) if group.len() > 1 && self.may_split(&e) => {
                    let (a, b) = group.split_at(group.len() / 2);
                    pending.push(b);
                    pending.push(a);
                }
                Err(e) => return Err(self.explain(e)),
            }
        }
        Ok(out)
    }

    /// Whether a refusal says the request was too large (Mistral and
    /// compatible servers document no size limit to plan by).
    fn may_split(&self, e: &ApiError) -> bool {
        if matches!(self.endpoint.provider, Provider::OpenAi | Provider::Ollama) {
            return false;
        }
        let m = e.message.to_ascii_lowercase();
        e.status == Some(413)
            || (e.kind == ErrorKind::Rejected
                && ["too many", "too large", "too long", "exceed", "maximum"]
                    .iter()
                    .any(|w| m.contains(w)))
    }

    /// One request with `texts`; the vectors in input order.
    async fn request(&self, texts: &[(String, usize)]) -> Result<Vec<Vec<f32>>, ApiError> {
        let inputs: Vec<&str> = texts.iter().map(|(t, _)| t.as_str()).collect();
        let provider = self.endpoint.provider;
        let (url, body) = match provider {
            Provider::Ollama => {
                let mut body = json!({"model": self.model, "input": inputs, "truncate": true});
                if let Some(d) = self.ask_dimensions {
                    body["dimensions"] = d.into();
                }
                (self.endpoint.url("/api/embed"), body)
            }
            _ => {
                let mut body = json!({"model": self.model, "input": inputs});
                // The official SDK asks OpenAI for base64 (a third the
                // bytes); other servers get plain floats, which all speak.
                body["encoding_format"] = if provider == Provider::OpenAi {
                    "base64".into()
                } else {
                    "float".into()
                };
                if let Some(d) = self.ask_dimensions {
                    let name = if provider == Provider::Mistral {
                        "output_dimension"
                    } else {
                        "dimensions"
                    };
                    body[name] = d.into();
                }
                (self.endpoint.url("/embeddings"), body)
            }
        };
        let answer = self
            .http
            .post_json(&url, self.endpoint.key(), &body)
            .await?;
        let (vectors, used) = match provider {
            Provider::Ollama => parse_ollama(&answer)?,
            _ => parse_openai(&answer, inputs.len())?,
        };
        let used = used.unwrap_or_else(|| texts.iter().map(|(_, n)| *n as u64).sum());
        self.tokens.fetch_add(used, Ordering::Relaxed);
        if vectors.len() != inputs.len() {
            return Err(ApiError::new(
                ErrorKind::BadAnswer,
                format!(
                    "{url} returned {} vectors for {} texts",
                    vectors.len(),
                    inputs.len()
                ),
            ));
        }
        Ok(vectors)
    }

    /// Groups of texts that fit one request each.
    fn requests<'t>(&self, texts: &'t [(String, usize)]) -> Vec<&'t [(String, usize)]> {
        plan_requests(
            texts,
            self.limits.max_inputs,
            self.limits.max_request_tokens,
        )
    }

    /// The error a user sees: the server's words, and what to do.
    fn explain(&self, e: ApiError) -> EmbedError {
        let provider = self.endpoint.provider;
        let model = &self.model;
        let base = &self.endpoint.base_url;
        let hint = match e.kind {
            ErrorKind::Unauthorized => match provider.key_variable() {
                Some(var) if provider == Provider::Mistral => {
                    format!(
                        "{var} is invalid or its quota is used up (Mistral answers 401 to both)"
                    )
                }
                Some(var) => match (self.endpoint.key().is_some(), self.endpoint.key_source) {
                    (true, Some(source)) => {
                        format!("the key in {var} (from {}) was refused", source.as_str())
                    }
                    (true, None) => "the key given was refused".to_string(),
                    (false, _) => format!("{base} wants a key: set {var}"),
                },
                None => "the server refused the request".to_string(),
            },
            ErrorKind::QuotaExhausted => {
                "the account's quota or credit is used up (not retried)".to_string()
            }
            ErrorKind::NotFound if provider == Provider::Ollama => {
                format!("model {model:?} is not in this Ollama: run `ollama pull {model}`")
            }
            ErrorKind::NotFound => {
                format!("model {model:?} (or the endpoint) is unknown at {base}")
            }
            ErrorKind::Unreachable => match provider.base_variable() {
                Some(var) => format!("is the server running? ({var} moves it)"),
                None => "is the server running?".to_string(),
            },
            _ => String::new(),
        };
        let message = if hint.is_empty() {
            e.to_string()
        } else {
            format!("{e}: {hint}")
        };
        backend(provider, message)
    }
}

fn backend(provider: Provider, message: String) -> EmbedError {
    EmbedError::Backend {
        backend: provider.name().to_string(),
        message,
    }
}

#[async_trait]
impl Embedder for ApiEmbedder {
    fn spec(&self) -> &EmbedderSpec {
        &self.spec
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let prepared = self.prepare(texts);
        let mut out = Vec::with_capacity(texts.len());
        for group in self.requests(&prepared) {
            out.extend(self.send(group).await?);
        }
        Ok(out)
    }

    fn usage(&self) -> serde_json::Map<String, Value> {
        let c = self.http.counters();
        let mut usage = serde_json::Map::new();
        usage.insert("endpoint".into(), self.endpoint.base_url.clone().into());
        usage.insert("requests".into(), c.requests.load(Ordering::Relaxed).into());
        usage.insert("retries".into(), c.retries.load(Ordering::Relaxed).into());
        usage.insert(
            "rate_limited".into(),
            c.rate_limited.load(Ordering::Relaxed).into(),
        );
        usage.insert(
            "waited_seconds".into(),
            (c.waited_ms.load(Ordering::Relaxed) as f64 / 1000.0).into(),
        );
        usage.insert("tokens".into(), self.tokens.load(Ordering::Relaxed).into());
        usage.insert("tokens_exact".into(), self.counter.is_exact().into());
        usage.insert(
            "truncated_texts".into(),
            self.truncated.load(Ordering::Relaxed).into(),
        );
        usage
    }
}

/// An OpenAI-shaped embeddings answer: `data[].{index, embedding}` with
/// floats or base64, `usage` optional. Returns the vectors in `index` order
/// and the tokens the server counted.
fn parse_openai(body: &[u8], expected: usize) -> Result<(Vec<Vec<f32>>, Option<u64>), ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        data: Vec<Item>,
        #[serde(default)]
        usage: Option<Usage>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        index: Option<usize>,
        embedding: Vector,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Vector {
        Floats(Vec<f32>),
        Base64(String),
    }
    #[derive(Deserialize)]
    struct Usage {
        #[serde(default)]
        prompt_tokens: Option<u64>,
        #[serde(default)]
        total_tokens: Option<u64>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| bad_answer(body, &e))?;
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; answer.data.len().max(expected)];
    for (position, item) in answer.data.into_iter().enumerate() {
        let index = item.index.unwrap_or(position);
        let vector = match item.embedding {
            Vector::Floats(v) => v,
            Vector::Base64(text) => decode_base64(&text)?,
        };
        let slot = slots.get_mut(index).ok_or_else(|| {
            ApiError::new(
                ErrorKind::BadAnswer,
                format!("the answer has index {index} for {expected} texts"),
            )
        })?;
        if slot.replace(vector).is_some() {
            return Err(ApiError::new(
                ErrorKind::BadAnswer,
                format!("the answer repeats index {index}"),
            ));
        }
    }
    let vectors: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
    let used = answer
        .usage
        .and_then(|u| u.prompt_tokens.or(u.total_tokens));
    Ok((vectors, used))
}

/// Ollama's `/api/embed` answer: `embeddings` and `prompt_eval_count`.
fn parse_ollama(body: &[u8]) -> Result<(Vec<Vec<f32>>, Option<u64>), ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        embeddings: Vec<Vec<f32>>,
        #[serde(default)]
        prompt_eval_count: Option<u64>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| bad_answer(body, &e))?;
    Ok((answer.embeddings, answer.prompt_eval_count))
}

/// Little-endian f32s in base64, as OpenAI sends them.
fn decode_base64(text: &str) -> Result<Vec<f32>, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| {
            ApiError::new(
                ErrorKind::BadAnswer,
                format!("an embedding's base64 is broken: {e}"),
            )
        })?;
    if bytes.len() % 4 != 0 {
        return Err(ApiError::new(
            ErrorKind::BadAnswer,
            format!(
                "an embedding's base64 holds {} bytes, not whole f32s",
                bytes.len()
            ),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// The error of a 2xx answer that is not the JSON the wire format says.
pub(crate) fn bad_answer(body: &[u8], e: &serde_json::Error) -> ApiError {
    let text = String::from_utf8_lossy(body);
    let start = text.trim_start();
    let what = if start.is_empty() {
        "an empty body".to_string()
    } else if start.starts_with('<') {
        "an HTML page (is the base URL right? OpenAI-compatible servers usually end in /v1)"
            .to_string()
    } else {
        format!("not the expected JSON ({e})")
    };
    ApiError::new(
        ErrorKind::BadAnswer,
        format!("the server answered 200 with {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_answers_are_ordered_by_index_and_decoded_from_base64() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(
            [1.5f32, -2.0]
                .iter()
                .flat_map(|f| f.to_le_bytes())
                .collect::<Vec<u8>>(),
        );
        let body = format!(
            r#"{{"data":[{{"index":1,"embedding":"{b64}"}},{{"index":0,"embedding":[0.5,0.25]}}],"usage":{{"prompt_tokens":7}}}}"#
        );
        let (v, used) = parse_openai(body.as_bytes(), 2).unwrap();
        assert_eq!(v, vec![vec![0.5, 0.25], vec![1.5, -2.0]]);
        assert_eq!(used, Some(7));
        // No index, no usage: a compatible server's minimal answer.
        let (v, used) =
            parse_openai(br#"{"data":[{"embedding":[1]},{"embedding":[2]}]}"#, 2).unwrap();
        assert_eq!((v, used), (vec![vec![1.0], vec![2.0]], None));
        assert!(parse_openai(br#"{"data":[{"index":5,"embedding":[1]}]}"#, 1).is_err());
        let html = parse_openai(b"<html>hi</html>", 1).unwrap_err();
        assert!(html.message.contains("HTML"), "{html}");
    }
}
