//! `latentscope label --labeler <provider>:<model>`, end to end, against a
//! local chat server that answers from the prompt it gets (the real
//! services cannot be reached from CI): what we send, collisions renamed,
//! failing clusters falling back to keywords, bad answers, kill and resume.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use latentscope_models::providers::fake::{Call, FakeServer, Reply};
use serde_json::{Value, json};

/// A clustered dataset made by `run` from the first `rows` rows of the
/// shipped pypi-10k CSV, with its own home and working directory.
struct Setup {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    home: PathBuf,
}

impl Setup {
    fn new(rows: usize) -> Self {
        let (tmp, data, home) = sandbox();
        let csv = tmp.path().join("pypi.csv");
        let all = std::fs::read_to_string(repo_file("data/pypi-10k.csv")).unwrap();
        let head: Vec<&str> = all.lines().take(rows + 1).collect();
        std::fs::write(&csv, head.join("\n") + "\n").unwrap();
        // One thread: the same layout, so the same clusters, every time.
        let o = bin()
            .env("RAYON_NUM_THREADS", "1")
            .arg("--data-dir")
            .arg(&data)
            .args([
                "run",
                csv.to_str().unwrap(),
                "--dataset",
                "pypi",
                "--text-column",
                "summary",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        Self {
            _tmp: tmp,
            data,
            home,
        }
    }

    fn command(&self, server: &FakeServer, args: &[&str]) -> Command {
        let mut c = isolated(&self.home, &self.data, 1);
        c.arg("label")
            .arg("pypi")
            .arg("cluster-001")
            .arg("--labeler")
            .arg(format!("openai-compatible:fake-llm@{}/v1", server.url()))
            .args(args);
        c
    }

    fn label(&self, server: &FakeServer, args: &[&str]) -> Output {
        self.command(server, args).output().unwrap()
    }

    fn clusters(&self) -> PathBuf {
        self.data.join("pypi").join("clusters")
    }

    /// The labels of `labels-NNN` (label, description), by cluster.
    fn labels(&self, id: &str) -> Vec<(String, String)> {
        let store = Arc::new(latentscope::io::LocalStore::new(&self.data));
        let ds = latentscope::Dataset::open(store, "pypi").unwrap();
        ds.read_labels(id.parse().unwrap())
            .unwrap()
            .into_iter()
            .map(|r| (r.label, r.description))
            .collect()
    }

    fn record(&self, id: &str) -> Value {
        let text = std::fs::read_to_string(self.clusters().join(format!("{id}.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// The user message of a chat request.
fn user(call: &Call) -> &str {
    call.body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
}

/// The first keyword and the size a label prompt names.
fn keyword_and_size(call: &Call) -> (String, usize) {
    let text = user(call);
    let size = text
        .strip_prefix("A cluster of ")
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let keyword = text
        .lines()
        .find_map(|l| l.strip_prefix("Distinctive keywords: "))
        .and_then(|k| k.split(", ").next())
        .unwrap_or("none")
        .to_string();
    (keyword, size)
}

fn is_rename(call: &Call) -> bool {
    user(call).starts_with("These clusters got names")
}

/// A distinct name for each cluster of a rename request: its keywords.
fn rename_answer(call: &Call) -> Reply {
    let names: Vec<Value> = user(call)
        .lines()
        .filter_map(|l| l.strip_prefix("Keywords: "))
        .enumerate()
        .map(|(i, k)| json!({"cluster": i, "label": format!("{} ({i})", k.split(", ").take(2).collect::<Vec<_>>().join(" and "))}))
        .collect();
    Reply::Chat(json!({ "names": names }).to_string(), "stop")
}

#[test]
fn llm_labels_on_pypi_10k_rename_collisions_and_fall_back_where_calls_fail() {
    let setup = Setup::new(10_000);
    // Answers from the prompt: the first keyword; a tenth of the clusters
    // (by their keyword) all get the same name, to force collisions; the
    // first cluster asked always fails.
    let doomed = std::sync::Mutex::new(None::<String>);
    let same_name = AtomicUsize::new(0);
    let server = FakeServer::start(move |call: &Call| {
        if is_rename(call) {
            return rename_answer(call);
        }
        let (keyword, _) = keyword_and_size(call);
        let mut d = doomed.lock().unwrap();
        if d.is_none() {
            *d = Some(keyword.clone());
        }
        if d.as_deref() == Some(keyword.as_str()) {
            return Reply::status(500, r#"{"error":{"message":"model crashed"}}"#);
        }
        // The next two clusters asked (a tenth or more of them) get the
        // same name.
        let label = if same_name.fetch_add(1, Ordering::Relaxed) < 2 {
            "Python utilities".to_string()
        } else {
            keyword
        };
        Reply::Chat(
            json!({"label": label, "description": format!("Rows about {label}.")}).to_string(),
            "stop",
        )
    })
    .unwrap();
    let started = Instant::now();
    let o = setup.label(&server, &["--context", "PyPI package summaries"]);
    let seconds = started.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", stderr(&o));

    let labels = setup.labels("cluster-001-labels-002");
    let record = setup.record("cluster-001-labels-002");
    let calls = server.calls();
    let label_calls: Vec<&Call> = calls.iter().filter(|c| !is_rename(c)).collect();
    let clusters = labels.len() - usize::from(labels.iter().any(|(l, _)| l == "Unclustered"));
    assert!(clusters >= 10, "{clusters} clusters");
    assert!(
        labels.iter().all(|(l, _)| !l.trim().is_empty()),
        "every cluster labelled"
    );

    // What we sent.
    let first = label_calls[0];
    assert_eq!(first.path, "/v1/chat/completions");
    assert!(
        first.body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("PyPI package summaries")
    );
    assert!(
        user(first).contains("Distinctive keywords: ")
            && user(first).contains("Representative rows:\n- ")
    );
    assert_eq!(first.body["response_format"]["type"], "json_schema");
    assert_eq!(first.body["max_tokens"], 300);
    assert!(user(first).len() < 4 * 3000, "the prompt fits a 4k context");

    // The failing cluster kept its keyword label and the run went on.
    let fallbacks = record["fallbacks"].as_array().unwrap();
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    assert!(
        fallbacks[0]["error"]
            .as_str()
            .unwrap()
            .contains("model crashed")
    );
    let fell = fallbacks[0]["cluster"].as_u64().unwrap() as usize;
    assert!(
        labels[fell].0.contains(", "),
        "a keywords label: {:?}",
        labels[fell]
    );
    // Collisions renamed: no two labels equal once normalised.
    let renamed = record["renamed"].as_array().unwrap();
    assert!(renamed.len() >= 2, "collisions renamed: {record}");
    let keys: Vec<String> = labels
        .iter()
        .map(|(l, _)| latentscope_models::providers::labeler::normalise(l))
        .collect();
    let distinct: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "labels distinct: {labels:?}");
    assert!(!labels.iter().any(|(l, _)| l == "Python utilities"));
    // Recorded: model, prompt version, usage.
    assert_eq!(
        record["params"]["prompt_version"],
        latentscope_models::providers::labeler::PROMPT_VERSION
    );
    assert_eq!(record["usage"]["requests"], calls.len());
    assert!(record["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    eprintln!(
        "pypi-10k: {clusters} clusters, {} requests ({} label, {} rename), {} fell back, {} renamed, {:.2} s at concurrency 4; prompts {} tokens",
        calls.len(),
        label_calls.len(),
        calls.len() - label_calls.len(),
        fallbacks.len(),
        renamed.len(),
        seconds,
        record["usage"]["prompt_tokens"]
    );
}

#[test]
fn bad_answers_fall_back_and_an_unusable_rename_keeps_the_first_labels() {
    // 2,000 rows: at 1,000 some layouts (seeds, SGD versions; 6042ed0's too)
    // give HDBSCAN two or three large clusters, too few for this test.
    let setup = Setup::new(2_000);
    let server = FakeServer::start(|call: &Call| {
        if is_rename(call) {
            return Reply::Chat(
                "{\"names\": [{\"cluster\": 0, \"label\": \"Only one\"}]}".into(),
                "stop",
            );
        }
        match call.n {
            0 => Reply::Chat(
                "I think this cluster is about several things, hard to say".repeat(3),
                "stop",
            ),
            1 => Reply::Chat("{\"label\": \"Cut off in the midd".into(), "length"),
            2 => Reply::Chat("{\"description\": \"no label here\"}".into(), "stop"),
            _ => Reply::Chat("{\"label\": \"Same name\"}".into(), "stop"),
        }
    })
    .unwrap();
    let o = setup.label(&server, &["--concurrency", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let record = setup.record("cluster-001-labels-002");
    let errors: Vec<&str> = record["fallbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["error"].as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("not a label")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("cut off")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("no label")), "{errors:?}");
    // The rename answer named one cluster of several: unusable, labels kept.
    let groups = record["usage"]["rename_groups"].as_u64().unwrap();
    assert!(groups >= 1, "{record}");
    assert_eq!(
        record["usage"]["rename_answers_unusable"], groups,
        "{record}"
    );
    assert_eq!(record["renamed"].as_array().unwrap().len(), 0);
    let labels = setup.labels("cluster-001-labels-002");
    assert!(
        labels.len() >= 6,
        "enough clusters for the test: {labels:?}"
    );
    assert!(labels.iter().filter(|(l, _)| l == "Same name").count() >= 2);
}

#[test]
fn a_killed_label_run_asks_again_only_for_the_unfinished_clusters() {
    let setup = Setup::new(2_000);
    let answer = |call: &Call| {
        if is_rename(call) {
            return rename_answer(call);
        }
        let (keyword, size) = keyword_and_size(call);
        Reply::Chat(
            json!({"label": format!("{keyword} ({size})")}).to_string(),
            "stop",
        )
    };
    // One server (the endpoint is part of the labeler's name, so of the
    // run's parameters), slow until the kill.
    let slow = Arc::new(AtomicBool::new(true));
    let slow_now = slow.clone();
    let server = FakeServer::start(move |call: &Call| {
        if slow_now.load(Ordering::Relaxed) {
            answer(call).after_ms(250)
        } else {
            answer(call)
        }
    })
    .unwrap();
    let checkpoint = setup
        .clusters()
        .join(".cluster-001-labels-002.checkpoint.json");
    let saved = || -> Vec<String> {
        std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| {
                Some(
                    v["labels"]
                        .as_object()?
                        .values()
                        .filter_map(|l| Some(l["label"].as_str()?.to_string()))
                        .collect(),
                )
            })
            .unwrap_or_default()
    };
    kill_command_when(
        setup.command(&server, &["--concurrency", "1"]),
        Duration::from_secs(120),
        Duration::ZERO,
        || saved().len() >= 3,
    );
    let done: BTreeSet<String> = saved().into_iter().collect();
    assert!(done.len() >= 3);

    let before = server.calls().len();
    slow.store(false, Ordering::Relaxed);
    let o = setup.label(&server, &["--concurrency", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let asked_again: Vec<String> = server.calls()[before..]
        .iter()
        .filter(|c| !is_rename(c))
        .map(|c| {
            let (k, n) = keyword_and_size(c);
            format!("{k} ({n})")
        })
        .collect();
    assert!(
        asked_again.iter().all(|l| !done.contains(l)),
        "finished clusters asked again: {:?}",
        asked_again
            .iter()
            .filter(|l| done.contains(*l))
            .collect::<Vec<_>>()
    );
    let record = setup.record("cluster-001-labels-002");
    assert_eq!(record["resumed_labels"], done.len());
}

#[test]
fn dry_run_prices_the_prompts_without_a_request() {
    let setup = Setup::new(1_000);
    let server = FakeServer::start(|_: &Call| Reply::Answer).unwrap();
    let o = setup.label(&server, &["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("clusters in") && out.contains("prompt tokens"),
        "{out}"
    );
    assert!(out.contains("estimated cost: unknown"), "{out}");
    assert!(server.calls().is_empty());
}
