//! The one HTTP layer of every API provider: reqwest on rustls, run on a
//! small Tokio runtime of its own (so a provider works under any executor:
//! the CLI's Tokio, the server's job threads, `futures::executor`), one
//! retry loop driven by [`RetryPolicy`], a cool-down shared by every
//! request of a client after a 429, per-request timeouts, and counters of
//! requests and retries that the embed step records.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::retry::{RetryPolicy, StopReason, Verdict};

/// The runtime every provider request runs on (two worker threads: the
/// work is waiting on sockets).
fn runtime() -> Result<&'static tokio::runtime::Runtime, ApiError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("latentscope-http")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            ApiError::new(
                ErrorKind::Unreachable,
                format!("cannot start the HTTP runtime: {e}"),
            )
        })
}

/// What kind of failure a request ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401 or 403: the key is missing, wrong or not allowed.
    Unauthorized,
    /// A 429 saying the account's quota or credit is used up.
    QuotaExhausted,
    /// 404: usually the model is unknown to the server.
    NotFound,
    /// Another 4xx (or a permanent 5xx): the request itself is refused.
    Rejected,
    /// 429s that outlasted the retries, or asked to wait too long.
    RateLimited,
    /// 5xx answers that outlasted the retries.
    Server,
    /// No connection could be made (refused, no such host).
    Unreachable,
    /// No complete answer within the per-request timeout.
    Timeout,
    /// The connection dropped before the answer was complete.
    Dropped,
    /// A chat answer cut off by its token limit.
    CutOff,
    /// A 2xx answer that is not what the wire format says (not JSON, HTML,
    /// missing fields).
    BadAnswer,
}

/// A request that failed for good: its kind, the HTTP status if there was
/// one, the server's own message (from its JSON error body when it sent
/// one), and how many times it was retried.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The last HTTP status, if an answer came.
    pub status: Option<u16>,
    /// The server's message, or ours when the server said nothing usable.
    pub message: String,
    /// Retries made before giving up.
    pub retries: u32,
}

impl ApiError {
    /// An error of `kind` with `message` and no status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            message: message.into(),
            retries: 0,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(status) = self.status {
            write!(f, "HTTP {status}: ")?;
        }
        f.write_str(&self.message)?;
        if self.retries > 0 {
            write!(
                f,
                " (after {} {})",
                self.retries,
                if self.retries == 1 {
                    "retry"
                } else {
                    "retries"
                }
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Requests, retries and waits of one client, for the run's record.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent (tries included).
    pub requests: AtomicU64,
    /// Retries among them.
    pub retries: AtomicU64,
    /// 429 answers that were retried.
    pub rate_limited: AtomicU64,
    /// Milliseconds spent waiting before retries.
    pub waited_ms: AtomicU64,
}

/// One HTTP client of one provider endpoint.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: RetryPolicy,
    timeout: Duration,
    /// Requests wait until this instant (set by a 429's wait).
    cooldown: Arc<Mutex<Option<Instant>>>,
    /// Whether any request of this client got an answer (a refused
    /// connection before that is a wrong address, not a blip).
    reached: Arc<AtomicBool>,
    counters: Arc<Counters>,
}

/// How long one request may take, unless `LATENTSCOPE_HTTP_TIMEOUT`
/// (seconds) says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Retries on a connection refused before any request got through.
const RETRIES_BEFORE_FIRST_CONTACT: u32 = 2;

impl HttpClient {
    /// A client with `policy` and a per-request `timeout`.
    pub fn new(policy: RetryPolicy, timeout: Duration) -> Result<Self, ApiError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .user_agent(concat!("latentscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ApiError::new(
                    ErrorKind::Unreachable,
                    format!("cannot make an HTTP client: {e}"),
                )
            })?;
        Ok(Self {
            client,
            policy,
            timeout,
            cooldown: Arc::new(Mutex::new(None)),
            reached: Arc::new(AtomicBool::new(false)),
            counters: Arc::new(Counters::default()),
        })
    }

    /// A client with the default policy and timeout, each overridden by
    /// `LATENTSCOPE_HTTP_RETRIES` and `LATENTSCOPE_HTTP_TIMEOUT` (seconds)
    /// when set.
    pub fn from_env() -> Result<Self, ApiError> {
        let mut policy = RetryPolicy::default();
        if let Some(n) = env_number("LATENTSCOPE_HTTP_RETRIES") {
            policy.max_retries = n as u32;
        }
        let timeout = env_number("LATENTSCOPE_HTTP_TIMEOUT")
            .filter(|s| *s > 0.0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);
        Self::new(policy, timeout)
    }

    /// This client's counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// POSTs `body` as JSON to `url` (with `Authorization: Bearer <key>`
    /// when a key is given) and returns the 2xx answer's body, retrying as
    /// the policy says.
    pub async fn post_json(
        &self,
        url: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<Vec<u8>, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ApiError::new(
                ErrorKind::Rejected,
                format!("cannot encode the request: {e}"),
            )
        })?;
        self.send(reqwest::Method::POST, url, key, Some(bytes))
            .await
    }

    /// GETs `url` and returns the 2xx answer's body, retrying as the policy
    /// says.
    pub async fn get(&self, url: &str, key: Option<&str>) -> Result<Vec<u8>, ApiError> {
        self.send(reqwest::Method::GET, url, key, None).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ApiError> {
        let this = self.clone();
        let url = url.to_string();
        let key = key.map(str::to_string);
        let task = runtime()?.spawn(async move {
            this.send_on_runtime(method, &url, key.as_deref(), body)
                .await
        });
        task.await.map_err(|e| {
            ApiError::new(ErrorKind::Dropped, format!("the request task failed: {e}"))
        })?
    }

    async fn send_on_runtime(
        &self,
        method: reqwest::Method,
        url: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ApiError> {
        let mut attempt = 0u32;
        loop {
            self.wait_cooldown().await;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self.client.request(method.clone(), url);
            if let Some(key) = key {
                let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| {
                        ApiError::new(
                            ErrorKind::Unauthorized,
                            "the API key holds characters a header cannot carry",
                        )
                    })?;
                value.set_sensitive(true);
                request = request.header(reqwest::header::AUTHORIZATION, value);
            }
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let outcome = tokio::time::timeout(self.timeout, async {
                let response = request.send().await?;
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let bytes = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, bytes))
            })
            .await;
            let jitter = jitter();
            let (verdict, failure) = match outcome {
                Err(_) => (
                    self.policy.after_connection_error(attempt, jitter),
                    ApiError::new(
                        ErrorKind::Timeout,
                        format!(
                            "{url}: no complete answer within {:.0} s",
                            self.timeout.as_secs_f64()
                        ),
                    ),
                ),
                Ok(Err(e)) if e.is_connect() => {
                    let verdict = if !self.reached.load(Ordering::Relaxed)
                        && attempt >= RETRIES_BEFORE_FIRST_CONTACT
                    {
                        Verdict::Stop(StopReason::OutOfTries)
                    } else {
                        self.policy.after_connection_error(attempt, jitter)
                    };
                    (
                        verdict,
                        ApiError::new(
                            ErrorKind::Unreachable,
                            format!("cannot connect to {url}: {}", root_cause(&e)),
                        ),
                    )
                }
                Ok(Err(e)) => (
                    self.policy.after_connection_error(attempt, jitter),
                    ApiError::new(
                        ErrorKind::Dropped,
                        format!(
                            "{url}: the connection dropped before the answer was complete ({})",
                            root_cause(&e)
                        ),
                    ),
                ),
                Ok(Ok((status, headers, bytes))) => {
                    self.reached.store(true, Ordering::Relaxed);
                    if (200..300).contains(&status) {
                        return Ok(bytes.to_vec());
                    }
                    let text = String::from_utf8_lossy(&bytes);
                    let lookup = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let verdict = if status == 500 && is_permanent_server_error(&text) {
                        Verdict::Stop(StopReason::Rejected(status))
                    } else {
                        self.policy.after_response(
                            attempt,
                            status,
                            &lookup,
                            &text,
                            SystemTime::now(),
                            jitter,
                        )
                    };
                    let kind = match (&verdict, status) {
                        (Verdict::Stop(StopReason::QuotaExhausted), _) => ErrorKind::QuotaExhausted,
                        (_, 401 | 403) => ErrorKind::Unauthorized,
                        (_, 404) => ErrorKind::NotFound,
                        (_, 429) => ErrorKind::RateLimited,
                        (Verdict::Stop(StopReason::Rejected(_)), _) => ErrorKind::Rejected,
                        (_, s) if s >= 500 => ErrorKind::Server,
                        _ => ErrorKind::Rejected,
                    };
                    if status == 429
                        && let Verdict::Retry(wait) = verdict
                    {
                        self.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                        self.start_cooldown(wait);
                    }
                    let mut failure = ApiError::new(kind, server_message(&text, status));
                    failure.status = Some(status);
                    (verdict, failure)
                }
            };
            match verdict {
                Verdict::Retry(wait) => {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .waited_ms
                        .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Verdict::Stop(reason) => {
                    let mut failure = failure;
                    failure.retries = attempt;
                    if let StopReason::WaitTooLong(wait) = reason {
                        failure.message = format!(
                            "{} (the server asked to wait {:.0} s, longer than the {:.0} s allowed)",
                            failure.message,
                            wait.as_secs_f64(),
                            self.policy.max_retry_after.as_secs_f64()
                        );
                    }
                    return Err(failure);
                }
            }
        }
    }

    /// Waits out the cool-down a 429 started (shared by every request).
    async fn wait_cooldown(&self) {
        let until = *self.cooldown.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            let now = Instant::now();
            if until > now {
                tokio::time::sleep(until - now).await;
            }
        }
    }

    fn start_cooldown(&self, wait: Duration) {
        let mut until = self.cooldown.lock().unwrap_or_else(|p| p.into_inner());
        let new = Instant::now() + wait;
        if until.is_none_or(|u| u < new) {
            *until = Some(new);
        }
    }
}

fn env_number(name: &str) -> Option<f64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
}

/// A 500 that will be the same next time: llama.cpp's answer to an input
/// longer than its batch ("input (N tokens) is too large to process").
fn is_permanent_server_error(body: &str) -> bool {
    body.contains("too large to process") || body.contains("exceeds the available context size")
}

/// The innermost error of a reqwest failure (hyper's "connection reset",
/// "connection refused", …), which says more than reqwest's outer one.
fn root_cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

/// The message of an error answer: OpenAI's `{"error": {"message"}}`,
/// Ollama's `{"error": "…"}`, Mistral's `{"detail"}` or `{"message"}`, else
/// the start of the body.
pub fn server_message(body: &str, status: u16) -> String {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        let candidates = [
            value.pointer("/error/message"),
            value.get("error"),
            value.get("message"),
            value.get("detail"),
        ];
        for found in candidates.into_iter().flatten() {
            match found {
                serde_json::Value::String(s) if !s.is_empty() => return s.clone(),
                serde_json::Value::Array(items) if !items.is_empty() => {
                    return serde_json::to_string(items).unwrap_or_default();
                }
                _ => {}
            }
        }
    }
    let text = body.trim();
    if text.is_empty() {
        return format!("the server answered {status} with an empty body");
    }
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// A number in [0, 1) that differs between calls (for backoff jitter).
fn jitter() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_found_in_each_providers_error_shape() {
        let openai =
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#;
        assert_eq!(server_message(openai, 401), "Incorrect API key provided");
        assert_eq!(
            server_message(
                r#"{"error":"model \"x\" not found, try pulling it first"}"#,
                404
            ),
            "model \"x\" not found, try pulling it first"
        );
        assert_eq!(
            server_message(r#"{"detail":"Unauthorized"}"#, 401),
            "Unauthorized"
        );
        assert_eq!(
            server_message("", 502),
            "the server answered 502 with an empty body"
        );
        assert!(server_message(&"x".repeat(500), 500).ends_with('…'));
    }

    #[test]
    fn jitter_stays_in_range_and_moves() {
        let values: Vec<f64> = (0..100).map(|_| jitter()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }
}
