//! A chat client for the LLM labeler: OpenAI-style chat completions
//! (OpenAI, Mistral, compatible servers; non-streaming) and Ollama's
//! `/api/chat` with `stream: false`.
//!
//! Structured output where the endpoint takes it: a JSON schema first
//! (`response_format: json_schema`, Ollama's `format: <schema>`), then JSON
//! mode (`json_object`, `format: "json"`), then plain text; an endpoint that
//! refuses a mode is asked again in the next one, and the mode that worked
//! is remembered for the client's later requests. An answer cut off by the
//! token limit is an error, never half a label.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{ApiError, ErrorKind, HttpClient};
use super::{Endpoint, Provider};

/// How the answer's shape is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A JSON schema the server enforces.
    JsonSchema,
    /// Any JSON object.
    JsonObject,
    /// No constraint: the prompt asks for JSON.
    Plain,
}

impl Mode {
    /// `json_schema`, `json_object` or `plain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::JsonSchema => "json_schema",
            Mode::JsonObject => "json_object",
            Mode::Plain => "plain",
        }
    }

    fn weaker(self) -> Option<Mode> {
        match self {
            Mode::JsonSchema => Some(Mode::JsonObject),
            Mode::JsonObject => Some(Mode::Plain),
            Mode::Plain => None,
        }
    }
}

/// One question: a system and a user message, and the answer's schema.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
    /// The answer's JSON schema and its name (≤ 64 characters), if JSON is
    /// wanted.
    pub schema: Option<(String, Value)>,
    /// The most tokens the answer may take.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// A seed, where the endpoint takes one.
    pub seed: Option<u64>,
}

impl ChatRequest {
    /// A request with `system` and `user`, no schema, 400 answer tokens,
    /// temperature 0.
    pub fn new(system: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            system: system.into(),
            user: user.into(),
            schema: None,
            max_tokens: 400,
            temperature: 0.0,
            seed: None,
        }
    }

    /// Asks for JSON following `schema`, named `name`.
    pub fn with_schema(mut self, name: impl Into<String>, schema: Value) -> Self {
        self.schema = Some((name.into(), schema));
        self
    }

    /// Sets the answer's token limit.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChatAnswer {
    /// The answer's text.
    pub text: String,
    /// The mode it was asked in.
    pub mode: Mode,
    /// Prompt tokens the server counted.
    pub prompt_tokens: Option<u64>,
    /// Answer tokens the server counted.
    pub completion_tokens: Option<u64>,
}

/// A chat client of one provider's model.
#[derive(Debug)]
pub struct ChatClient {
    endpoint: Endpoint,
    model: String,
    http: HttpClient,
    mode: Mutex<Mode>,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
}

impl ChatClient {
    /// The client of a spec (`openai:gpt-4o-mini`, `mistral:…`,
    /// `ollama:llama3.2`, `openai-compatible:<model>@<base-url>`), keys and
    /// endpoints found as [`Endpoint::resolve`] says.
    pub fn from_spec(spec: &str, data_dir: Option<&Path>) -> Result<Self, ApiError> {
        let (prefix, rest) = spec.split_once(':').ok_or_else(|| {
            ApiError::new(
                ErrorKind::Rejected,
                format!("{spec:?}: expected provider:model, e.g. openai:gpt-4o-mini"),
            )
        })?;
        let provider = Provider::from_name(prefix).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Rejected,
                format!("{spec:?}: unknown provider {prefix:?} (openai, mistral, ollama, openai-compatible)"),
            )
        })?;
        let (endpoint, model) = Endpoint::resolve(provider, rest, data_dir).map_err(|e| {
            let kind = match e {
                latentscope_core::EmbedError::MissingKey { .. } => ErrorKind::Unauthorized,
                _ => ErrorKind::Rejected,
            };
            ApiError::new(kind, e.to_string())
        })?;
        Ok(Self::new(endpoint, model, HttpClient::from_env()?))
    }

    /// The client of `model` at `endpoint`, sending through `http`.
    pub fn new(endpoint: Endpoint, model: String, http: HttpClient) -> Self {
        Self {
            endpoint,
            model,
            http,
            mode: Mutex::new(Mode::JsonSchema),
            prompt_tokens: AtomicU64::new(0),
            completion_tokens: AtomicU64::new(0),
        }
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.endpoint.provider
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The HTTP client (its counters say requests and retries).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Prompt and answer tokens the server counted so far.
    pub fn tokens_used(&self) -> (u64, u64) {
        (
            self.prompt_tokens.load(Ordering::Relaxed),
            self.completion_tokens.load(Ordering::Relaxed),
        )
    }

    /// The mode the next request with a schema starts from.
    pub fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks `request`; with a schema, in the strongest mode this endpoint
    /// has taken (weakening it once per refusal).
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatAnswer, ApiError> {
        let mut mode = if request.schema.is_some() {
            self.mode()
        } else {
            Mode::Plain
        };
        loop {
            match self.ask(request, mode).await {
                Err(e) if refuses_mode(&e) && mode.weaker().is_some() => {
                    mode = mode.weaker().unwrap_or(Mode::Plain);
                    *self.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
                }
                other => return other,
            }
        }
    }

    async fn ask(&self, request: &ChatRequest, mode: Mode) -> Result<ChatAnswer, ApiError> {
        let provider = self.endpoint.provider;
        let messages = json!([
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.user},
        ]);
        let (url, body) = if provider == Provider::Ollama {
            let mut options =
                json!({"temperature": request.temperature, "num_predict": request.max_tokens});
            if let Some(seed) = request.seed {
                options["seed"] = seed.into();
            }
            let mut body = json!({"model": self.model, "messages": messages, "stream": false, "options": options});
            match (mode, &request.schema) {
                (Mode::JsonSchema, Some((_, schema))) => body["format"] = schema.clone(),
                (Mode::JsonObject, Some(_)) => body["format"] = "json".into(),
                _ => {}
            }
            (self.endpoint.url("/api/chat"), body)
        } else {
            let mut body = json!({"model": self.model, "messages": messages, "temperature": request.temperature});
            // OpenAI's current name (reasoning models refuse `max_tokens`);
            // other servers know `max_tokens`.
            let limit = if provider == Provider::OpenAi {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            body[limit] = request.max_tokens.into();
            if let Some(seed) = request.seed {
                let name = if provider == Provider::Mistral {
                    "random_seed"
                } else {
                    "seed"
                };
                body[name] = seed.into();
            }
            match (mode, &request.schema) {
                (Mode::JsonSchema, Some((name, schema))) => {
                    let name: String = name.chars().take(64).collect();
                    body["response_format"] = json!({
                        "type": "json_schema",
                        "json_schema": {"name": name, "schema": schema, "strict": true},
                    });
                }
                (Mode::JsonObject, Some(_)) => {
                    body["response_format"] = json!({"type": "json_object"});
                }
                _ => {}
            }
            (self.endpoint.url("/chat/completions"), body)
        };
        let answer = self
            .http
            .post_json(&url, self.endpoint.key(), &body)
            .await?;
        let parsed = if provider == Provider::Ollama {
            parse_ollama_chat(&answer)?
        } else {
            parse_openai_chat(&answer)?
        };
        self.prompt_tokens
            .fetch_add(parsed.prompt_tokens.unwrap_or(0), Ordering::Relaxed);
        self.completion_tokens
            .fetch_add(parsed.completion_tokens.unwrap_or(0), Ordering::Relaxed);
        if parsed.finish.as_deref() == Some("length") {
            return Err(ApiError::new(
                ErrorKind::CutOff,
                format!("the answer was cut off at {} tokens", request.max_tokens),
            ));
        }
        Ok(ChatAnswer {
            text: parsed.text,
            mode,
            prompt_tokens: parsed.prompt_tokens,
            completion_tokens: parsed.completion_tokens,
        })
    }
}

/// Whether a refusal is about the answer format asked for (so a weaker
/// mode may work).
fn refuses_mode(e: &ApiError) -> bool {
    if !matches!(e.kind, ErrorKind::Rejected) {
        return false;
    }
    let m = e.message.to_ascii_lowercase();
    [
        "response_format",
        "json_schema",
        "json_object",
        "format",
        "schema",
        "not supported",
        "unsupported",
    ]
    .iter()
    .any(|w| m.contains(w))
}

struct Parsed {
    text: String,
    finish: Option<String>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

fn parse_openai_chat(body: &[u8]) -> Result<Parsed, ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        choices: Vec<Choice>,
        #[serde(default)]
        usage: Option<Usage>,
    }
    #[derive(Deserialize)]
    struct Choice {
        message: Message,
        #[serde(default)]
        finish_reason: Option<String>,
    }
    #[derive(Deserialize)]
    struct Message {
        #[serde(default)]
        content: Option<String>,
        #[serde(default)]
        refusal: Option<String>,
    }
    #[derive(Deserialize)]
    struct Usage {
        #[serde(default)]
        prompt_tokens: Option<u64>,
        #[serde(default)]
        completion_tokens: Option<u64>,
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| super::embed::bad_answer(body, &e))?;
    let choice = answer
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::new(ErrorKind::BadAnswer, "the answer has no choices"))?;
    let text = match (choice.message.content, choice.message.refusal) {
        (Some(text), _) => text,
        (None, Some(refusal)) => {
            return Err(ApiError::new(
                ErrorKind::BadAnswer,
                format!("the model refused: {refusal}"),
            ));
        }
        (None, None) => {
            return Err(ApiError::new(
                ErrorKind::BadAnswer,
                "the answer has no content",
            ));
        }
    };
    Ok(Parsed {
        text,
        finish: choice.finish_reason,
        prompt_tokens: answer.usage.as_ref().and_then(|u| u.prompt_tokens),
        completion_tokens: answer.usage.as_ref().and_then(|u| u.completion_tokens),
    })
}

fn parse_ollama_chat(body: &[u8]) -> Result<Parsed, ApiError> {
    #[derive(Deserialize)]
    struct Answer {
        message: Message,
        #[serde(default)]
        done_reason: Option<String>,
        #[serde(default)]
        prompt_eval_count: Option<u64>,
        #[serde(default)]
        eval_count: Option<u64>,
    }
    #[derive(Deserialize)]
    struct Message {
        #[serde(default)]
        content: String,
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| super::embed::bad_answer(body, &e))?;
    Ok(Parsed {
        text: answer.message.content,
        finish: answer.done_reason,
        prompt_tokens: answer.prompt_eval_count,
        completion_tokens: answer.eval_count,
    })
}
