//! `latentscope embed` through the API providers, end to end, against a
//! local server that speaks their wire formats (the real services cannot
//! be reached from CI): rate limits, a kill and a resume, the errors a user
//! meets first, `--dry-run` and `latentscope models`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use latentscope_models::providers::fake::{Call, FakeServer, Reply};

/// A data directory with dataset `ds` of `rows` rows (`row <i> …`), and a
/// home and working directory of its own (no keys from this machine).
struct Setup {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    home: PathBuf,
}

impl Setup {
    fn new(rows: usize) -> Self {
        let (tmp, data, home) = sandbox();
        let csv = tmp.path().join("rows.csv");
        let mut text = String::from("text\n");
        for i in 0..rows {
            text.push_str(&format!("row {i} about crates and {} things\n", i % 7));
        }
        std::fs::write(&csv, text).unwrap();
        let setup = Self {
            _tmp: tmp,
            data,
            home,
        };
        let o = setup.latentscope(
            &[],
            &[
                "ingest",
                "ds",
                csv.to_str().unwrap(),
                "--text-column",
                "text",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        setup
    }

    /// The command, with only the settings in `env` (HOME, the config
    /// folder and the working directory are the setup's own).
    fn command(&self, env: &[(&str, &str)], args: &[&str]) -> Command {
        let mut c = isolated(&self.home, &self.data, 6);
        c.envs(env.iter().copied()).args(args);
        c
    }

    fn latentscope(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.command(env, args).output().unwrap()
    }

    fn embeddings_folder(&self) -> PathBuf {
        self.data.join("ds").join("embeddings")
    }

    /// The embedding files written (hidden work files aside).
    fn artifacts(&self) -> Vec<String> {
        list(&self.embeddings_folder())
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .collect()
    }

    fn record(&self) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.embeddings_folder().join("embedding-001.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The row number of a text the setup wrote.
fn row_of(text: &str) -> usize {
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The rows of every request answered 200, in arrival order.
fn answered_rows(calls: &[Call]) -> Vec<usize> {
    calls
        .iter()
        .filter(|c| c.status == 200)
        .flat_map(|c| c.inputs().into_iter().map(|t| row_of(&t)))
        .collect()
}

fn openai_env(server: &FakeServer) -> Vec<(&'static str, String)> {
    vec![
        ("OPENAI_API_KEY", "sk-test-secret".to_string()),
        ("OPENAI_BASE_URL", format!("{}/v1", server.url())),
    ]
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn ten_thousand_rows_through_rate_limits_are_each_embedded_once_in_order() {
    let setup = Setup::new(10_000);
    // One request in five is rate limited, with the wait in milliseconds.
    let server = FakeServer::start(|call: &Call| {
        if call.n % 5 == 4 {
            Reply::status(429, r#"{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}"#)
                .header("retry-after-ms", "5")
        } else {
            Reply::Answer
        }
    })
    .unwrap();
    let env = openai_env(&server);
    let started = std::time::Instant::now();
    let o = setup.latentscope(
        &pairs(&env),
        &[
            "embed",
            "ds",
            "--model",
            "openai:text-embedding-3-small",
            "--dimensions",
            "8",
        ],
    );
    let seconds = started.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", stderr(&o));

    let m = embedding(&setup.data, "ds", "embedding-001");
    assert_eq!((m.rows, m.cols), (10_000, 8));
    for row in 0..m.rows {
        assert_eq!(
            m.data[row * 8] as usize,
            row,
            "row {row} holds its own vector"
        );
    }
    let calls = server.calls();
    let mut rows = answered_rows(&calls);
    assert_eq!(rows.len(), 10_000, "every row answered exactly once");
    rows.sort_unstable();
    assert!(rows.iter().enumerate().all(|(i, r)| i == *r));
    let limited = calls.iter().filter(|c| c.status == 429).count();
    assert!(limited >= calls.len() / 5 && limited > 0);
    assert!(
        calls
            .iter()
            .all(|c| c.path == "/v1/embeddings" && c.body["dimensions"] == 8)
    );
    assert!(
        calls
            .iter()
            .all(|c| c.authorization.as_deref() == Some("Bearer sk-test-secret"))
    );

    let usage = &setup.record()["api_usage"];
    assert_eq!(usage["requests"], calls.len());
    assert_eq!(usage["retries"], limited);
    assert_eq!(usage["rate_limited"], limited);
    let text =
        std::fs::read_to_string(setup.embeddings_folder().join("embedding-001.json")).unwrap();
    assert!(!text.contains("sk-test-secret"), "the key is never written");
    assert!(!stderr(&o).contains("sk-test-secret") && !stdout(&o).contains("sk-test-secret"));
    eprintln!(
        "10k rows: {} requests, {limited} rate limited, {seconds:.2} s",
        calls.len()
    );
}

#[test]
fn a_killed_embed_resumes_without_sending_finished_batches_again() {
    let setup = Setup::new(2_000);
    // Slow answers, so the kill lands mid-run.
    let slow = FakeServer::start(|_: &Call| Reply::Answer.after_ms(40)).unwrap();
    let args = [
        "embed",
        "ds",
        "--model",
        "openai:text-embedding-3-small",
        "--dimensions",
        "4",
        "--batch-size",
        "100",
        "--concurrency",
        "2",
    ];
    let env = openai_env(&slow);
    let parts = setup.embeddings_folder().join(".embedding-001.parts");
    let checkpoints = || {
        list(&parts)
            .iter()
            .filter(|n| n.starts_with("rows-") && n.ends_with(".parquet"))
            .count()
    };
    kill_command_when(
        setup.command(&pairs(&env), &args),
        Duration::from_secs(60),
        Duration::ZERO,
        || checkpoints() >= 6,
    );
    let first_run = slow.calls();
    let checkpointed: BTreeSet<usize> = list(&parts)
        .iter()
        .filter_map(|n| {
            n.strip_prefix("rows-")?
                .strip_suffix(".parquet")?
                .parse()
                .ok()
        })
        .collect();
    assert!(
        checkpointed.len() >= 6 && checkpointed.len() < 20,
        "{checkpointed:?}"
    );
    assert!(
        setup.artifacts().is_empty(),
        "nothing committed yet: {:?}",
        setup.artifacts()
    );

    let server = FakeServer::start(|_: &Call| Reply::Answer).unwrap();
    let env = openai_env(&server);
    let o = setup.latentscope(&pairs(&env), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let second_run = server.calls();
    let resent: BTreeSet<usize> = second_run.iter().map(|c| row_of(&c.inputs()[0])).collect();
    assert!(
        resent.is_disjoint(&checkpointed),
        "batches checkpointed before the kill were sent again: {:?}",
        resent.intersection(&checkpointed).collect::<Vec<_>>()
    );
    // Only batches still in flight at the kill (at most the concurrency)
    // had been answered without being saved.
    let answered_first: BTreeSet<usize> = first_run
        .iter()
        .filter(|c| c.status == 200)
        .map(|c| row_of(&c.inputs()[0]))
        .collect();
    assert!(answered_first.intersection(&resent).count() <= 2);
    let mut all: Vec<usize> = checkpointed
        .iter()
        .copied()
        .chain(resent.iter().copied())
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..2_000).step_by(100).collect::<Vec<_>>(),
        "every batch exactly once"
    );

    let m = embedding(&setup.data, "ds", "embedding-001");
    assert!((0..m.rows).all(|r| m.data[r * 4] as usize == r));
    assert_eq!(setup.record()["resumed_rows"], checkpointed.len() * 100);
    assert!(
        stderr(&o).contains("resumed embedding-001"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_first_errors_a_user_meets_are_one_clear_line_and_write_nothing() {
    let setup = Setup::new(50);
    let embed = ["embed", "ds", "--model", "openai:text-embedding-3-small"];

    // No key anywhere: names the variable, sends nothing.
    let server = FakeServer::start(|_: &Call| Reply::Answer).unwrap();
    let base = format!("{}/v1", server.url());
    let o = setup.latentscope(&[("OPENAI_BASE_URL", base.as_str())], &embed);
    let line = error_line(&o);
    assert!(line.contains("OPENAI_API_KEY"), "{line}");
    assert!(server.calls().is_empty());

    // A key the server refuses.
    let refusing = FakeServer::start(|_: &Call| {
        Reply::status(401, r#"{"error":{"message":"Incorrect API key provided: sk-wrong. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}"#)
    })
    .unwrap();
    let env = [
        ("OPENAI_API_KEY", "sk-wrong"),
        ("OPENAI_BASE_URL", &format!("{}/v1", refusing.url())),
    ];
    let line = error_line(&setup.latentscope(&env, &embed));
    assert!(
        line.contains("HTTP 401")
            && line.contains("OPENAI_API_KEY")
            && line.contains("Incorrect API key"),
        "{line}"
    );
    assert_eq!(refusing.calls().len(), 1, "a 401 is not retried");

    // An unknown model: the provider's own words.
    let unknown = FakeServer::start(|_: &Call| {
        Reply::status(404, r#"{"error":{"message":"The model `text-embedding-9` does not exist or you do not have access to it.","type":"invalid_request_error","code":"model_not_found"}}"#)
    })
    .unwrap();
    let base = format!("{}/v1", unknown.url());
    let env = [
        ("OPENAI_API_KEY", "sk-x"),
        ("OPENAI_BASE_URL", base.as_str()),
    ];
    let line = error_line(
        &setup.latentscope(&env, &["embed", "ds", "--model", "openai:text-embedding-9"]),
    );
    assert!(
        line.contains("The model `text-embedding-9` does not exist"),
        "{line}"
    );

    // Nothing listening.
    let env = [
        ("OPENAI_API_KEY", "sk-x"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
    ];
    let line = error_line(&setup.latentscope(&env, &embed));
    assert!(
        line.contains("cannot connect to http://127.0.0.1:1/v1/embeddings"),
        "{line}"
    );

    // Vectors of the wrong length.
    let short = FakeServer::start(|_: &Call| Reply::Dimensions(7)).unwrap();
    let base = format!("{}/v1", short.url());
    let env = [
        ("OPENAI_API_KEY", "sk-x"),
        ("OPENAI_BASE_URL", base.as_str()),
    ];
    let o = setup.latentscope(
        &env,
        &[
            "embed",
            "ds",
            "--model",
            "openai:text-embedding-3-small",
            "--dimensions",
            "8",
        ],
    );
    let line = error_line(&o);
    assert!(
        line.contains("8 dimensions") && line.contains("a vector of 7"),
        "{line}"
    );

    assert!(
        setup.artifacts().is_empty(),
        "nothing written: {:?}",
        setup.artifacts()
    );
}

#[test]
fn dry_run_counts_requests_tokens_and_cost_without_a_key_or_a_request() {
    let setup = Setup::new(1_000);
    let server = FakeServer::start(|_: &Call| Reply::Answer).unwrap();
    let base = format!("{}/v1", server.url());
    let o = setup.latentscope(
        &[("OPENAI_BASE_URL", base.as_str())],
        &[
            "embed",
            "ds",
            "--model",
            "openai:text-embedding-3-small",
            "--dry-run",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1000 rows in 4 requests"), "{out}");
    assert!(out.contains("estimated cost: $0.0"), "{out}");
    assert!(server.calls().is_empty());
    assert!(setup.artifacts().is_empty());
}

#[test]
fn models_lists_the_providers_with_keys_and_the_local_ollamas_models() {
    let setup = Setup::new(1);
    std::fs::write(setup.home.join(".env"), "MISTRAL_API_KEY=mistral-secret\n").unwrap();
    let ollama = FakeServer::start(|call: &Call| {
        if call.path == "/api/tags" {
            Reply::status(200, r#"{"models":[{"name":"nomic-embed-text:latest","model":"nomic-embed-text:latest"},{"name":"llama3.2:3b"}]}"#)
        } else {
            Reply::status(404, "{}")
        }
    })
    .unwrap();
    let host = ollama.url().to_string();
    let o = setup.latentscope(
        &[
            ("OPENAI_API_KEY", "sk-openai-secret"),
            ("OLLAMA_HOST", host.as_str()),
        ],
        &["models"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("key OPENAI_API_KEY set (in environment)"),
        "{out}"
    );
    assert!(out.contains("key MISTRAL_API_KEY set (in ./.env)"), "{out}");
    assert!(
        out.contains("ollama:nomic-embed-text:latest") && out.contains("ollama:llama3.2:3b"),
        "{out}"
    );
    assert!(!out.contains("secret"), "keys are never printed: {out}");
}
