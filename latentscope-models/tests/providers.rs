//! The API providers against a local server that speaks their wire formats
//! (the real services cannot be reached from CI): what we send, and what we
//! do with each kind of bad answer. Retry waits are milliseconds here.

use std::time::{Duration, Instant};

use futures::executor::block_on;
use latentscope_core::embed::Embedder;
use latentscope_core::{EmbedConfig, EmbedError};
use latentscope_models::providers::chat::{ChatClient, ChatRequest, Mode};
use latentscope_models::providers::embed::ApiEmbedder;
use latentscope_models::providers::fake::{Call, FakeServer, Reply};
use latentscope_models::providers::http::{ErrorKind, HttpClient};
use latentscope_models::providers::retry::RetryPolicy;
use latentscope_models::providers::{Endpoint, Provider};
use serde_json::json;

/// Millisecond backoff, a few tries, a short timeout.
fn fast_client(timeout_ms: u64) -> HttpClient {
    let mut policy = RetryPolicy::default();
    policy.base = Duration::from_millis(5);
    policy.cap = Duration::from_millis(20);
    policy.max_retries = 4;
    policy.max_retry_after = Duration::from_secs(2);
    HttpClient::new(policy, Duration::from_millis(timeout_ms)).unwrap()
}

fn embedder(
    server: &FakeServer,
    provider: Provider,
    model: &str,
    dims: Option<usize>,
) -> ApiEmbedder {
    let base = match provider {
        Provider::Ollama => server.url().to_string(),
        _ => format!("{}/v1", server.url()),
    };
    let key = (provider != Provider::Ollama).then(|| "sk-test-123".to_string());
    let config = EmbedConfig::default().with_dimensions(dims);
    ApiEmbedder::new(
        Endpoint::new(provider, base, key),
        model.into(),
        &config,
        fast_client(2000),
    )
    .unwrap()
}

fn rows(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("row {i} text")).collect()
}

fn first_components(vectors: &[Vec<f32>]) -> Vec<f32> {
    vectors.iter().map(|v| v[0]).collect()
}

fn error_of(result: Result<Vec<Vec<f32>>, EmbedError>) -> String {
    result.expect_err("the embed should fail").to_string()
}

#[test]
fn openai_requests_carry_the_key_model_texts_and_dimensions_and_answers_come_back_in_order() {
    let server = FakeServer::start(|_| Reply::Answer).unwrap();
    let e = embedder(
        &server,
        Provider::OpenAi,
        "text-embedding-3-small",
        Some(16),
    );
    assert_eq!(e.spec().dimensions, 16);
    let texts = vec![
        "  leading and\ntrailing  ".to_string(),
        String::new(),
        "row 7".to_string(),
    ];
    let vectors = block_on(e.embed(&texts)).unwrap();
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|v| v.len() == 16));
    assert_eq!(
        vectors[2][0], 7.0,
        "ordered by index, though the answer lists them reversed"
    );
    let calls = server.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/v1/embeddings")
    );
    assert_eq!(call.authorization.as_deref(), Some("Bearer sk-test-123"));
    assert_eq!(call.body["model"], "text-embedding-3-small");
    assert_eq!(call.body["dimensions"], 16);
    assert_eq!(call.body["encoding_format"], "base64");
    // Sent exactly as stored; an empty text as one space (OpenAI refuses "").
    assert_eq!(
        call.inputs(),
        vec!["  leading and\ntrailing  ", " ", "row 7"]
    );
    let usage = e.usage();
    assert_eq!(usage["requests"], 1);
    assert_eq!(usage["tokens"], 9, "the server's usage.prompt_tokens");
}

#[test]
fn mistral_ollama_and_compatible_servers_get_their_own_shapes() {
    let server = FakeServer::start(|_| Reply::Answer).unwrap();
    let texts = rows(3);

    let mistral = embedder(&server, Provider::Mistral, "codestral-embed", Some(32));
    assert_eq!(
        first_components(&block_on(mistral.embed(&texts)).unwrap()),
        vec![0.0, 1.0, 2.0]
    );
    let ollama = embedder(&server, Provider::Ollama, "nomic-embed-text", None);
    assert_eq!(ollama.spec().dimensions, 768);
    let server8 = FakeServer::start(|_| Reply::Dimensions(768)).unwrap();
    let ollama = embedder(&server8, Provider::Ollama, "nomic-embed-text", None);
    assert_eq!(
        first_components(&block_on(ollama.embed(&texts)).unwrap()),
        vec![0.0, 1.0, 2.0]
    );
    let compatible = embedder(&server, Provider::OpenAiCompatible, "my-model", None);
    assert_eq!(
        compatible.spec().dimensions,
        0,
        "unknown: learned from the first answer"
    );
    block_on(compatible.embed(&texts)).unwrap();

    let calls = server.calls();
    let mistral_call = &calls[0];
    assert_eq!(mistral_call.body["output_dimension"], 32);
    assert_eq!(mistral_call.body["encoding_format"], "float");
    let ollama_call = &server8.calls()[0];
    assert_eq!(ollama_call.path, "/api/embed");
    assert_eq!(ollama_call.authorization, None, "Ollama takes no key");
    assert_eq!(ollama_call.body["truncate"], true);
    assert_eq!(ollama_call.inputs(), texts);
    let compatible_call = &calls[1];
    assert_eq!(compatible_call.path, "/v1/embeddings");
    assert!(compatible_call.body.get("dimensions").is_none());
    assert_eq!(compatible_call.body["encoding_format"], "float");
}

#[test]
fn rate_limits_are_waited_out_as_the_server_asks() {
    // Retry-After in milliseconds, in seconds, as a date (already past), and absent.
    let cases: Vec<(&str, Reply, u64)> = vec![
        (
            "retry-after-ms",
            Reply::status(429, "{}").header("retry-after-ms", "150"),
            150,
        ),
        (
            "retry-after seconds",
            Reply::status(429, "{}").header("retry-after", "0.12"),
            120,
        ),
        (
            "retry-after date",
            Reply::status(429, "{}").header("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"),
            0,
        ),
        ("no header", Reply::status(429, "{}"), 0),
    ];
    for (what, first, min_ms) in cases {
        let server = FakeServer::start(move |call: &Call| {
            if call.n == 0 {
                first.clone()
            } else {
                Reply::Answer
            }
        })
        .unwrap();
        let e = embedder(&server, Provider::OpenAi, "text-embedding-3-small", Some(4));
        let started = Instant::now();
        let vectors = block_on(e.embed(&rows(2))).unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(first_components(&vectors), vec![0.0, 1.0], "{what}");
        assert!(
            started.elapsed() >= Duration::from_millis(min_ms),
            "{what}: waited too little"
        );
        assert_eq!(server.calls().len(), 2, "{what}: one retry");
        assert_eq!(e.usage()["rate_limited"], 1, "{what}");
    }
}

#[test]
fn a_wait_longer_than_allowed_a_spent_quota_and_x_should_retry_false_stop_at_once() {
    let quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
    let cases = vec![
        (
            "over the cap",
            Reply::status(429, "{}").header("retry-after", "3600"),
            "wait 3600 s",
        ),
        ("quota", Reply::status(429, quota), "quota"),
        (
            "should-retry",
            Reply::status(503, "{}").header("x-should-retry", "false"),
            "HTTP 503",
        ),
    ];
    fails_at_once(cases);
}

/// Each `(what, reply, expected)`: a server that always answers `reply`
/// gets one request, and the error says `expected`.
fn fails_at_once(cases: Vec<(&str, Reply, &str)>) {
    for (what, reply, expected) in cases {
        let server = FakeServer::start(move |_: &Call| reply.clone()).unwrap();
        let e = embedder(&server, Provider::OpenAi, "text-embedding-3-small", Some(4));
        let message = error_of(block_on(e.embed(&rows(3))));
        assert!(message.contains(expected), "{what}: {message}");
        assert_eq!(server.calls().len(), 1, "{what}: not retried");
    }
}

#[test]
fn server_errors_that_recover_are_retried_and_a_permanent_one_is_not() {
    let server = FakeServer::start(|call: &Call| match call.n {
        0 => Reply::status(500, r#"{"error":{"message":"internal"}}"#),
        1 => Reply::status(502, "<html>bad gateway</html>"),
        2 => Reply::status(
            503,
            r#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#,
        ),
        _ => Reply::Answer,
    })
    .unwrap();
    let e = embedder(&server, Provider::OpenAi, "text-embedding-3-small", Some(4));
    assert_eq!(
        first_components(&block_on(e.embed(&rows(3))).unwrap()),
        vec![0.0, 1.0, 2.0]
    );
    assert_eq!(server.calls().len(), 4);
    assert_eq!(e.usage()["retries"], 3);

    // llama.cpp's answer to an input longer than its batch: the same next time.
    let server = FakeServer::start(|_: &Call| {
        Reply::status(500, r#"{"error":{"code":500,"message":"input (600 tokens) is too large to process. increase the physical batch size (current batch size: 512)","type":"server_error"}}"#)
    })
    .unwrap();
    let e = embedder(&server, Provider::OpenAiCompatible, "nomic", None);
    let message = error_of(block_on(e.embed(&rows(1))));
    assert!(message.contains("too large to process"), "{message}");
    assert_eq!(server.calls().len(), 1, "a permanent 500 is not retried");
}

#[test]
fn reset_connections_cut_bodies_and_slow_answers_are_retried() {
    for (what, first) in [
        ("reset", Reply::Reset),
        ("truncated", Reply::Truncated),
        ("slow", Reply::Answer.after_ms(1500)),
    ] {
        let server = FakeServer::start(move |call: &Call| {
            if call.n == 0 {
                first.clone()
            } else {
                Reply::Answer
            }
        })
        .unwrap();
        let base = format!("{}/v1", server.url());
        let endpoint = Endpoint::new(Provider::OpenAi, base, Some("k".into()));
        let config = EmbedConfig::default().with_dimensions(Some(4));
        let e = ApiEmbedder::new(
            endpoint,
            "text-embedding-3-small".into(),
            &config,
            fast_client(300),
        )
        .unwrap();
        let vectors = block_on(e.embed(&rows(2))).unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(first_components(&vectors), vec![0.0, 1.0], "{what}");
        assert_eq!(e.usage()["retries"], 1, "{what}");
    }
    // Always slow: the error says so.
    let server = FakeServer::start(|_: &Call| Reply::Answer.after_ms(1000)).unwrap();
    let endpoint = Endpoint::new(
        Provider::OpenAi,
        format!("{}/v1", server.url()),
        Some("k".into()),
    );
    let mut policy = RetryPolicy::default();
    policy.max_retries = 1;
    policy.base = Duration::from_millis(1);
    let http = HttpClient::new(policy, Duration::from_millis(100)).unwrap();
    let config = EmbedConfig::default().with_dimensions(Some(4));
    let e = ApiEmbedder::new(endpoint, "text-embedding-3-small".into(), &config, http).unwrap();
    let message = error_of(block_on(e.embed(&rows(1))));
    assert!(message.contains("no complete answer within"), "{message}");
}

#[test]
fn bad_answers_are_clear_errors() {
    let cases = vec![
        (
            "n-1 vectors",
            Reply::OneVectorShort,
            "returned 2 vectors for 3 texts",
        ),
        (
            "html",
            Reply::Status(200, vec![], "<!doctype html><html>login</html>".into()),
            "HTML page",
        ),
        (
            "empty",
            Reply::Status(200, vec![], String::new()),
            "empty body",
        ),
    ];
    fails_at_once(cases);
}

#[test]
fn refusals_name_the_key_the_model_or_the_fix() {
    let unauthorized = FakeServer::start(|_: &Call| {
        Reply::status(401, r#"{"error":{"message":"Incorrect API key provided: sk-test***123.","type":"invalid_request_error","code":"invalid_api_key"}}"#)
    })
    .unwrap();
    let e = embedder(
        &unauthorized,
        Provider::OpenAi,
        "text-embedding-3-small",
        None,
    );
    let message = error_of(block_on(e.embed(&rows(1))));
    assert!(
        message.contains("Incorrect API key") && message.contains("refused"),
        "{message}"
    );
    assert!(
        !message.contains("sk-test-123"),
        "the key never shows: {message}"
    );

    let missing = FakeServer::start(|_: &Call| {
        Reply::status(
            404,
            r#"{"error":"model \"nomic-embed-text\" not found, try pulling it first"}"#,
        )
    })
    .unwrap();
    let e = embedder(&missing, Provider::Ollama, "nomic-embed-text", None);
    let message = error_of(block_on(e.embed(&rows(1))));
    assert!(
        message.contains("ollama pull nomic-embed-text"),
        "{message}"
    );

    let mistral =
        FakeServer::start(|_: &Call| Reply::status(401, r#"{"detail":"Unauthorized"}"#)).unwrap();
    let e = embedder(&mistral, Provider::Mistral, "mistral-embed", None);
    let message = error_of(block_on(e.embed(&rows(1))));
    assert!(
        message.contains("invalid or its quota is used up"),
        "{message}"
    );

    // Nothing listens on port 1.
    let endpoint = Endpoint::new(Provider::OpenAiCompatible, "http://127.0.0.1:1/v1", None);
    let e = ApiEmbedder::new(
        endpoint,
        "m".into(),
        &EmbedConfig::default(),
        fast_client(500),
    )
    .unwrap();
    let message = error_of(block_on(e.embed(&rows(1))));
    assert!(
        message.contains("cannot connect to http://127.0.0.1:1/v1/embeddings"),
        "{message}"
    );
}

#[test]
fn a_compatible_server_that_refuses_a_large_request_gets_it_in_halves() {
    let server = FakeServer::start(|call: &Call| {
        if call.inputs().len() > 2 {
            Reply::status(413, r#"{"error":"too many inputs"}"#)
        } else {
            Reply::Answer
        }
    })
    .unwrap();
    let e = embedder(&server, Provider::OpenAiCompatible, "m", None);
    let vectors = block_on(e.embed(&rows(5))).unwrap();
    assert_eq!(first_components(&vectors), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    let sent: Vec<String> = server
        .calls()
        .iter()
        .filter(|c| c.status == 200)
        .flat_map(Call::inputs)
        .collect();
    assert_eq!(sent, rows(5), "each text answered once, in order");
}

#[test]
fn openai_texts_longer_than_the_model_reads_are_cut_by_tokens() {
    let server = FakeServer::start(|_| Reply::Answer).unwrap();
    let config = EmbedConfig::default()
        .with_dimensions(Some(4))
        .with_max_tokens(Some(3));
    let endpoint = Endpoint::new(
        Provider::OpenAi,
        format!("{}/v1", server.url()),
        Some("k".into()),
    );
    let e = ApiEmbedder::new(
        endpoint,
        "text-embedding-3-small".into(),
        &config,
        fast_client(2000),
    )
    .unwrap();
    block_on(e.embed(&["one two three four five".to_string()])).unwrap();
    assert_eq!(server.calls()[0].inputs(), vec!["one two three"]);
    assert_eq!(e.usage()["truncated_texts"], 1);
}

#[test]
fn concurrent_requests_share_one_cool_down_after_a_429() {
    let server = FakeServer::start(|call: &Call| {
        if call.n == 0 {
            Reply::status(429, "{}").header("retry-after-ms", "300")
        } else {
            Reply::Answer
        }
    })
    .unwrap();
    let e = embedder(&server, Provider::OpenAi, "text-embedding-3-small", Some(4));
    let started = Instant::now();
    let one = rows(1);
    let first = e.embed(&one);
    // A second request started after the 429 waits for the cool-down too.
    let second = async {
        std::thread::sleep(Duration::from_millis(100));
        e.embed(&rows(2)).await
    };
    let (a, b) = block_on(futures::future::join(first, second));
    a.unwrap();
    b.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(e.usage()["rate_limited"], 1);
}

#[test]
fn chat_asks_for_a_schema_and_falls_back_to_json_mode_where_refused() {
    let server = FakeServer::start(|call: &Call| {
        if call.body["response_format"]["type"] == "json_schema" {
            Reply::status(400, r#"{"error":{"message":"response_format json_schema is not supported by this model"}}"#)
        } else {
            Reply::Answer
        }
    })
    .unwrap();
    let endpoint = Endpoint::new(
        Provider::OpenAiCompatible,
        format!("{}/v1", server.url()),
        None,
    );
    let chat = ChatClient::new(endpoint, "local".into(), fast_client(2000));
    let schema = json!({"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"], "additionalProperties": false});
    let request = ChatRequest::new("You name clusters.", "Rust crates for async")
        .with_schema("cluster_label", schema);
    let answer = block_on(chat.chat(&request)).unwrap();
    assert_eq!(answer.mode, Mode::JsonObject);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&answer.text).unwrap()["label"],
        "Rust"
    );
    // Remembered: the next question starts in JSON mode.
    block_on(chat.chat(&request)).unwrap();
    let calls = server.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[0].body["response_format"]["json_schema"]["name"],
        "cluster_label"
    );
    assert_eq!(
        calls[0].body["messages"][0]["content"],
        "You name clusters."
    );
    assert_eq!(calls[0].body["max_tokens"], 400);
    assert_eq!(calls[2].body["response_format"]["type"], "json_object");
    assert_eq!(chat.tokens_used(), (100, 10));
}

#[test]
fn chat_sends_stream_false_to_ollama_and_refuses_answers_cut_off() {
    let server = FakeServer::start(|call: &Call| {
        if call.n == 0 {
            Reply::Answer
        } else {
            Reply::Chat("{\"label\": \"Half a".into(), "length")
        }
    })
    .unwrap();
    let chat = ChatClient::new(
        Endpoint::new(Provider::Ollama, server.url(), None),
        "llama3.2".into(),
        fast_client(2000),
    );
    let schema = json!({"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]});
    let request = ChatRequest::new("sys", "words here").with_schema("label", schema.clone());
    let answer = block_on(chat.chat(&request)).unwrap();
    assert_eq!(answer.mode, Mode::JsonSchema);
    let call = &server.calls()[0];
    assert_eq!(call.path, "/api/chat");
    assert_eq!(call.body["stream"], false);
    assert_eq!(call.body["format"], schema);
    assert_eq!(call.authorization, None);
    let cut = block_on(chat.chat(&request)).unwrap_err();
    assert_eq!(cut.kind, ErrorKind::CutOff);

    // OpenAI itself: max_completion_tokens and a bearer key.
    let server = FakeServer::start(|_| Reply::Answer).unwrap();
    let endpoint = Endpoint::new(
        Provider::OpenAi,
        format!("{}/v1", server.url()),
        Some("sk-x".into()),
    );
    let chat = ChatClient::new(endpoint, "gpt-4o-mini".into(), fast_client(2000));
    block_on(chat.chat(&ChatRequest::new("s", "u").with_max_tokens(50))).unwrap();
    let call = &server.calls()[0];
    assert_eq!(call.path, "/v1/chat/completions");
    assert_eq!(call.body["max_completion_tokens"], 50);
    assert!(
        call.body.get("response_format").is_none(),
        "no schema, no format"
    );
    assert_eq!(call.authorization.as_deref(), Some("Bearer sk-x"));
}
