//! The read side of the API over HTTP against a real server on 127.0.0.1 (a
//! free port), on a data directory holding a dataset made by the pipeline
//! and the Python latent-scope 1.0's own directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use latentscope_core::NoProgress;
use latentscope_core::prelude::DataDir;
use latentscope_server::ServeConfig;
use reqwest::StatusCode;
use serde_json::Value;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, with its size.
fn listing(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), e.metadata().unwrap().len()));
            }
        }
    }
    out.sort();
    out
}

/// A data directory with `pypi-2k` (the pipeline on the first 2,000 shipped
/// rows) and the Python tool's `pypi-10k`.
fn data_dir(root: &Path) -> PathBuf {
    let data = root.join("data");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    copy_dir(&repo.join("tests/fixtures/python-latentscope-1.0"), &data);
    let all = std::fs::read_to_string(repo.join("data/pypi-10k.csv")).unwrap();
    let csv = root.join("pypi-2k.csv");
    std::fs::write(&csv, all.lines().take(2001).collect::<Vec<_>>().join("\n")).unwrap();
    DataDir::open(&data)
        .run_file(
            "pypi-2k",
            &csv,
            "summary",
            latentscope_models::DEFAULT_MODEL,
            &latentscope_models::registry(),
            &NoProgress,
        )
        .unwrap();
    data
}

/// Starts a server on a free port; it stops when the returned sender drops.
async fn start(config: ServeConfig) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        latentscope_server::serve(
            config,
            move |addr| {
                let _ = tx.send(addr);
            },
            async move {
                let _ = stopped.await;
            },
        )
        .await
        .unwrap();
    });
    (rx.await.unwrap(), stop)
}

fn config(data: &Path) -> ServeConfig {
    let mut c = ServeConfig::new(data);
    c.port = 0;
    c
}

/// POSTs `body` as JSON; the status and the JSON answer.
async fn post_json(client: &reqwest::Client, url: String, body: Value) -> (StatusCode, Value) {
    let r = client.post(url).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

async fn json(client: &reqwest::Client, url: String) -> (StatusCode, Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_routes_over_http() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let (addr, _stop) = start(config(&data)).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    let (s, v) = json(&client, format!("{base}/api/version")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["read_only"], false);
    assert!(
        v["embedders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "static:")
    );

    // Datasets with their scopes; ours and the Python tool's.
    let (_, v) = json(&client, format!("{base}/api/datasets")).await;
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pypi-10k", "pypi-2k"]);
    let python = &v[0]["scopes"][0];
    assert_eq!(python["id"], "scopes-001");
    assert_eq!(python["explore"], "/datasets/pypi-10k/explore/scopes-001");
    let (_, v) = json(&client, format!("{base}/api/datasets/pypi-10k")).await;
    let lance = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "embedding-001")
        .unwrap();
    assert_eq!(lance["state"], "unreadable");
    assert!(lance["reason"].as_str().unwrap().contains("LanceDB"));
    assert_eq!(v["tags"], serde_json::json!(["👍", "👎"]));

    // A scope: its labels with zoom ranges and the LOD node table.
    for ds in ["pypi-2k", "pypi-10k"] {
        let (s, v) = json(
            &client,
            format!("{base}/api/datasets/{ds}/scopes/scopes-001"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{ds}: {v}");
        let labels = v["labels"].as_array().unwrap();
        assert!(labels.len() >= 2, "{ds}: {} labels", labels.len());
        assert!(labels.iter().any(|l| l["zoom"][0] == 0), "{ds}");
        let nodes = v["lod"]["nodes"].as_array().unwrap();
        let total: u64 = nodes.iter().map(|n| n["count"].as_u64().unwrap()).sum();
        assert_eq!(total, v["rows"].as_u64().unwrap());

        // The points: one Arrow stream in LOD order, every row once.
        let r = client
            .get(format!("{base}/api/datasets/{ds}/scopes/scopes-001/points"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["content-type"],
            "application/vnd.apache.arrow.stream"
        );
        let bytes = r.bytes().await.unwrap();
        let reader =
            arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
        assert_eq!(
            batches[0].num_rows() as u64,
            nodes[0]["count"].as_u64().unwrap()
        );
        let schema = batches[0].schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["ls_index", "x", "y", "cluster", "deleted"]);
        let mut rows: Vec<u32> = batches
            .iter()
            .flat_map(|b| {
                use arrow_array::cast::AsArray;
                b.column(0)
                    .as_primitive::<arrow_array::types::UInt32Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        rows.sort();
        assert_eq!(rows, (0..rows.len() as u32).collect::<Vec<_>>(), "{ds}");
    }

    // Rows by index, GET and POST, with ls_index; out of range is a 400.
    let (s, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-2k/rows?indices=3,0&columns=name"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v[0]["ls_index"], 3);
    assert_eq!(v[1]["name"], "0x-middlewares");
    assert!(v[0].get("summary").is_none());
    let r = client
        .post(format!("{base}/api/datasets/pypi-2k/rows"))
        .json(&serde_json::json!({"indices": [1, 2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert!(v[0]["summary"].is_string());
    let (s, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-2k/rows?indices=2000"),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Bodies and queries that do not parse are JSON errors too.
    let r = client
        .post(format!("{base}/api/datasets/pypi-2k/rows"))
        .json(&serde_json::json!([1, 2]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "invalid_parameter");
    let (s, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-2k/rows?indices=1&indices=x"),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
    );
    let (s, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-2k/columns/summary/values?limit=10001"),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_parameter"))
    );

    // Similarity search: exact, the true top-k by cosine (brute force here).
    let ds = DataDir::open(&data).dataset("pypi-2k").unwrap();
    let m = ds
        .read_embedding(latentscope_core::EmbeddingId::new(1))
        .unwrap();
    let unit = |r: usize| {
        let v = &m.data[r * m.cols..(r + 1) * m.cols];
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let q = unit(17);
    let mut truth: Vec<(usize, f32)> = (0..m.rows)
        .map(|r| (r, unit(r).iter().zip(&q).map(|(a, b)| a * b).sum::<f32>()))
        .collect();
    truth.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let (s, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-2k/search/nn?scope=scopes-001&row=17&k=10"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mode"], "exact");
    let got: Vec<usize> = v["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    let want: Vec<usize> = truth[..10].iter().map(|t| t.0).collect();
    assert_eq!(got, want);
    assert!(v["distances"][0].as_f64().unwrap().abs() < 1e-5);
    // A text query is embedded by the embedding's own model.
    let (s, v) = json(
        &client,
        format!(
            "{base}/api/datasets/pypi-2k/search/nn?embedding=embedding-001&query=sql%20database&k=5"
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let top: Vec<u64> = v["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    assert_eq!(top.len(), 5);
    let texts = client
        .get(format!(
            "{base}/api/datasets/pypi-2k/rows?indices={}&columns=summary",
            top.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let hits = texts
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let t = r["summary"].as_str().unwrap_or("").to_lowercase();
            t.contains("sql") || t.contains("database")
        })
        .count();
    assert!(hits >= 3, "{texts}");
    // The Python tool's embedding lives in LanceDB: a clear 4xx, naming why.
    let (s, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-10k/search/nn?scope=scopes-001&row=1"),
    )
    .await;
    assert!(s.is_client_error(), "{s} {v}");
    assert!(v["error"].as_str().unwrap().contains("LanceDB"), "{v}");
    // Substring search over the text column.
    let (s, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-2k/search/text?query=DataBase"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["total"].as_u64().unwrap() > 5);

    // Columns for colour and filters: numbers with their extent, categories
    // dictionary-encoded; distinct values; filters AND-ed; a sorted page.
    let r = client
        .get(format!("{base}/api/datasets/pypi-2k/columns/month"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let reader = arrow_ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(r.bytes().await.unwrap()),
        None,
    )
    .unwrap();
    let batch = reader.into_iter().next().unwrap().unwrap();
    assert_eq!(batch.num_rows(), 2000);
    assert!(matches!(
        batch.column(0).data_type(),
        arrow_schema::DataType::Dictionary(..)
    ));
    let (_, v) = json(
        &client,
        format!("{base}/api/datasets/pypi-2k/columns/month/values?limit=3"),
    )
    .await;
    let values = v["values"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    assert!(values[0]["count"].as_u64() >= values[1]["count"].as_u64());
    let month = values[0]["value"].as_str().unwrap().to_string();
    let count = values[0]["count"].as_u64().unwrap();
    let r = client
        .post(format!("{base}/api/datasets/pypi-2k/filter"))
        .json(&serde_json::json!({"filters": [{"column": "month", "op": "eq", "value": month}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let reader = arrow_ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(r.bytes().await.unwrap()),
        None,
    )
    .unwrap();
    let hits: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(hits as u64, count);
    let r = client
        .post(format!("{base}/api/datasets/pypi-2k/rows/page"))
        .json(&serde_json::json!({
            "filter": [{"column": "month", "op": "eq", "value": month},
                       {"column": "summary", "op": "contains", "value": "python"}],
            "sort": {"column": "name", "descending": true},
            "offset": 0, "limit": 5, "columns": ["name", "month"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let names: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    assert!(v["total"].as_u64().unwrap() <= count);
    assert!(
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["month"] == month.as_str())
    );
    let r = client
        .post(format!("{base}/api/datasets/pypi-2k/filter"))
        .json(&serde_json::json!({"filters": [{"column": "month", "op": "like", "value": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Tags, emoji names percent-encoded in the path.
    let (_, v) = json(&client, format!("{base}/api/datasets/pypi-10k/tags")).await;
    assert_eq!(v["👍"], 0);
    let r = client
        .get(format!("{base}/api/datasets/pypi-10k/tags/%F0%9F%91%8D"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Typed files, and nothing else.
    let r = client
        .get(format!(
            "{base}/api/datasets/pypi-2k/files/umaps/umap-001.png"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG"));

    // Every page address answers the explorer (built into the binary), whose
    // scripts and styles are served from the build.
    let r = client
        .get(format!("{base}/datasets/pypi-2k/explore/scopes-001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    // The page names its assets relative to the site's root (`assets/…`),
    // which a server answers under `/assets/`.
    let assets: Vec<&str> = page
        .split(['"', '\'', '+'])
        .filter_map(|s| s.strip_prefix("/").or(Some(s)))
        .filter(|s| s.starts_with("assets/index-"))
        .collect();
    assert!(!assets.is_empty(), "the page loads no built asset: {page}");
    for asset in assets {
        let r = client.get(format!("{base}/{asset}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            kind.starts_with("text/javascript")
                || kind.starts_with("text/css")
                || kind.starts_with("image/"),
            "{asset}: {kind}"
        );
    }
    let r = client
        .get(format!("{base}/assets/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The API is described once, and every route is in the description.
    let (s, doc) = json(&client, format!("{base}/api/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/api/version",
        "/api/datasets/{ds}/scopes/{s}/points",
        "/api/datasets/{ds}/rows",
        "/api/datasets/{ds}/search/nn",
        "/api/datasets/{ds}/tags/{t}",
    ] {
        assert!(paths.contains_key(route), "{route} is not described");
    }
    assert!(paths["/api/datasets/{ds}/rows"]["post"].is_object());
    let r = client
        .get(format!("{base}/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_data_directory_no_foreign_host_or_origin() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/python-latentscope-1.0"),
        &data,
    );
    std::fs::write(root.path().join("secret.txt"), "do not serve").unwrap();
    std::fs::write(data.join(".env"), "OPENAI_API_KEY=sk-secret").unwrap();
    let mut c = config(&data);
    c.read_only = true;
    let before = listing(&data);
    let (addr, _stop) = start(c).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    // Path traversal in every form never serves a file.
    for path in [
        "/api/datasets/pypi-10k/files/umaps/..%2F..%2Fsecret.txt",
        "/api/datasets/pypi-10k/files/umaps/%2E%2E%2F%2E%2E%2F.env",
        "/api/datasets/pypi-10k/files/..%2F..%2F/secret.txt",
        "/api/datasets/pypi-10k/files/umaps/..%252F..%252Fsecret.txt",
        "/api/datasets/..%2F/files/umaps/umap-001.png",
        "/api/datasets/%2Fetc/rows?indices=0",
        "/api/datasets/pypi-10k/files/umaps/umap-001.json.png",
        "/api/datasets/pypi-10k/files/umaps/umap.001.png",
        "/api/datasets/pypi-10k/files/tags/%F0%9F%91%8D.indices",
        "/api/datasets/pypi-10k/tags/..%2F..%2Fsecret.txt",
        "/api/datasets/pypi-10k/tags/..",
        "/api/datasets/./scopes/scopes-001",
        "/.env",
        "/../secret.txt",
        "/api/datasets/pypi-10k/files/scopes/scopes-001.parquet/../../../.env",
    ] {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("do not serve") && !body.contains("sk-secret"),
            "{path}: {body}"
        );
        if path.starts_with("/api") {
            assert!(status.is_client_error(), "{path}: {status}");
            let v: Value =
                serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: not JSON: {body}"));
            assert!(
                v["code"].is_string() && v["error"].is_string(),
                "{path}: {v}"
            );
        }
    }

    // Unknown API paths are a JSON 404 for every method; a wrong method a 405.
    for method in [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::DELETE,
    ] {
        let r = client
            .request(method.clone(), format!("{base}/api/no/such/route"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "not_found");
    }
    let r = client
        .delete(format!("{base}/api/datasets"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);

    // A foreign Host (DNS rebinding) and another site's POST are refused.
    let r = client
        .get(format!("{base}/api/version"))
        .header("host", "attacker.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client
        .post(format!("{base}/api/datasets/pypi-10k/rows"))
        .header("origin", "https://attacker.example")
        .json(&serde_json::json!({"indices": [1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client
        .post(format!("{base}/api/datasets/pypi-10k/rows"))
        .header("origin", format!("http://127.0.0.1:{}", addr.port()))
        .json(&serde_json::json!({"indices": [1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a read POST works read-only, from our own page"
    );
    let r = client
        .post(format!("{base}/api/datasets/pypi-10k/rows"))
        .header("content-type", "text/plain")
        .body("{\"indices\": [1]}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // No CORS headers unless asked.
    let r = client
        .get(format!("{base}/api/version"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["read_only"], true);

    // Read-only: the server wrote nothing under the data directory.
    let _ = client
        .get(format!(
            "{base}/api/datasets/pypi-10k/scopes/scopes-001/points"
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await;
    assert_eq!(listing(&data), before);
}

/// Above `exact_up_to` rows the first search answers exactly while the HNSW
/// graph is built in the background; later searches use the graph and find
/// the exact answer's rows. Nothing is written under the data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_the_threshold_search_moves_to_the_graph() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let before = listing(&data);
    let mut c = config(&data);
    c.exact_up_to = 500;
    c.read_only = true;
    let (addr, _stop) = start(c).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let url = format!("{base}/api/datasets/pypi-2k/search/nn?scope=scopes-001&row=17&k=10");
    let (s, first) = json(&client, url.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(first["mode"], "exact");
    let mut graph = Value::Null;
    for _ in 0..600 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, v) = json(&client, url.clone()).await;
        if v["mode"] == "hnsw" {
            graph = v;
            break;
        }
    }
    assert_eq!(graph["mode"], "hnsw", "the graph was never ready");
    let exact: Vec<u64> = first["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let found: Vec<u64> = graph["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(found[0], 17, "a row is its own nearest");
    let hits = found.iter().filter(|f| exact.contains(f)).count();
    assert!(hits >= 8, "{hits}/10 of the exact answer");
    assert_eq!(
        listing(&data),
        before,
        "the server wrote under the data directory"
    );
}

/// `docs/api.md` is the OpenAPI document as it is now.
#[test]
fn the_api_page_is_current() {
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api.md");
    let committed = std::fs::read_to_string(&page).unwrap_or_default();
    assert!(
        committed == latentscope_server::api_markdown(),
        "docs/api.md is out of date: cargo run -p latentscope-server --example api_doc > docs/api.md"
    );
}

/// Tags written over HTTP are the CLI's files; an export holds exactly the
/// chosen rows with their tag columns in each format; a curation makes a
/// new scope and labels artifact; a read-only server refuses every write and
/// changes nothing, but exports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_routes_over_http() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let (addr, _stop) = start(config(&data)).await;
    let base = format!("http://{addr}/api/datasets/pypi-2k");
    let client = reqwest::Client::new();
    let post = |url: String, body: Value| post_json(&client, url, body);
    let tag = "gut 👍";
    let tag_path = "gut%20%F0%9F%91%8D";
    let file = data.join("pypi-2k/tags").join(format!("{tag}.indices"));

    let (s, v) = post(format!("{base}/tags"), serde_json::json!({"name": tag})).await;
    assert_eq!((s, v["count"].as_u64()), (StatusCode::CREATED, Some(0)));
    assert!(file.is_file());
    let (s, v) = post(
        format!("{base}/tags/{tag_path}/add"),
        serde_json::json!({"indices": [3, 1, 2]}),
    )
    .await;
    assert_eq!((s, v["count"].as_u64()), (StatusCode::OK, Some(3)));
    let (s, v) = post(
        format!("{base}/tags/{tag_path}/remove"),
        serde_json::json!({"indices": [2]}),
    )
    .await;
    assert_eq!((s, v["count"].as_u64()), (StatusCode::OK, Some(2)));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "1\n3\n");
    // Concurrent writes wait their turn: none is lost, none is refused.
    let writes = (100..260u64).map(|r| {
        let (action, row) = if r % 4 == 0 {
            ("remove", 3)
        } else {
            ("add", r)
        };
        post(
            format!("{base}/tags/{tag_path}/{action}"),
            serde_json::json!({"indices": [row]}),
        )
    });
    for (s, v) in futures::future::join_all(writes).await {
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let want: String = std::iter::once(1)
        .chain((100..260u64).filter(|r| r % 4 != 0))
        .map(|r| format!("{r}\n"))
        .collect();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want);
    post(
        format!("{base}/tags/{tag_path}/remove"),
        serde_json::json!({"indices": (100..260u64).collect::<Vec<_>>()}),
    )
    .await;
    post(
        format!("{base}/tags/{tag_path}/add"),
        serde_json::json!({"indices": [3]}),
    )
    .await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "1\n3\n");
    let (s, _) = post(
        format!("{base}/tags/{tag_path}/add"),
        serde_json::json!({"indices": [2000]}),
    )
    .await;
    assert!(s.is_client_error(), "{s}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "1\n3\n");
    let (s, _) = post(format!("{base}/tags"), serde_json::json!({"name": "a/b"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Export: the rows asked for, in row order, with a column per tag.
    for format in ["jsonl", "csv", "parquet"] {
        let r = client
            .post(format!("{base}/scopes/scopes-001/export"))
            .json(&serde_json::json!({"indices": [9, 1, 5], "format": format}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{format}");
        assert_eq!(
            r.headers()["content-disposition"],
            format!("attachment; filename=\"pypi-2k-scopes-001.{format}\"")
        );
        let bytes = r.bytes().await.unwrap();
        let (index, tagged): (Vec<i64>, Vec<bool>) = match format {
            "jsonl" => String::from_utf8(bytes.to_vec())
                .unwrap()
                .lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    assert!(
                        v["summary"].is_string() && v["x"].is_number() && v["label"].is_string()
                    );
                    (
                        v["ls_index"].as_i64().unwrap(),
                        v[format!("tag_{tag}")].as_bool().unwrap(),
                    )
                })
                .unzip(),
            "csv" => {
                let text = String::from_utf8(bytes.to_vec()).unwrap();
                let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
                assert_eq!(header[0], "ls_index");
                for column in ["summary", "x", "y", "cluster", "label", "deleted"] {
                    assert!(header.contains(&column), "{column} in {header:?}");
                }
                assert_eq!(*header.last().unwrap(), format!("tag_{tag}"));
                text.lines()
                    .skip(1)
                    .map(|l| {
                        (
                            l.split(',').next().unwrap().parse::<i64>().unwrap(),
                            l.ends_with(",true"),
                        )
                    })
                    .unzip()
            }
            _ => {
                use arrow_array::cast::AsArray;
                use latentscope_core::latentscope_io::{MemoryStore, Store as _, table};
                let store = MemoryStore::new();
                store.put("e.parquet", &bytes).unwrap();
                let batch = table::read_table(&store, "e.parquet", None).unwrap();
                let index = batch["ls_index"]
                    .as_primitive::<arrow_array::types::Int64Type>()
                    .values()
                    .to_vec();
                let tagged = batch[format!("tag_{tag}").as_str()]
                    .as_boolean()
                    .iter()
                    .map(|v| v.unwrap())
                    .collect();
                (index, tagged)
            }
        };
        assert_eq!(index, vec![1, 5, 9], "{format}");
        assert_eq!(tagged, vec![true, false, false], "{format}");
    }
    // A lasso-sized export in each format, read back by pandas: the rows
    // asked for, in row order, with the tag column.
    let lasso: Vec<u64> = (0..2000u64).filter(|r| r % 3 == 1).rev().collect();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/python");
    for format in ["parquet", "csv", "jsonl"] {
        let r = client
            .post(format!("{base}/scopes/scopes-001/export"))
            .json(&serde_json::json!({"indices": lasso, "format": format}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{format}");
        let file = root.path().join(format!("lasso.{format}"));
        std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
        let read = match format {
            "parquet" => "pandas.read_parquet(f)",
            "csv" => "pandas.read_csv(f)",
            _ => "pandas.read_json(f, lines=True)",
        };
        let script = format!(
            "import sys, json, pandas\nf = sys.argv[1]\nd = {read}\n\
             print(json.dumps({{'index': [int(i) for i in d['ls_index']], \
             'tagged': [int(i) for i in d.loc[d['tag_{tag}'].astype(bool), 'ls_index']], \
             'columns': list(d.columns)}}))"
        );
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(&script)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (scripts/setup installs it)", python.display()));
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut want = lasso.clone();
        want.sort_unstable();
        assert_eq!(v["index"], serde_json::json!(want), "{format}");
        assert_eq!(v["tagged"], serde_json::json!([1]), "{format}");
        for column in [
            "ls_index", "summary", "x", "y", "cluster", "label", "deleted",
        ] {
            assert!(
                v["columns"].as_array().unwrap().iter().any(|c| c == column),
                "{format}: {column}"
            );
        }
    }
    let r = client
        .get(format!(
            "{base}/scopes/scopes-001/export?format=csv&tag={tag_path}"
        ))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().count(), 3, "the header and the tag's two rows");

    // Curation: a renamed label and a deleted row make a new scope.
    let (s, v) = post(
        format!("{base}/scopes/scopes-001/curate"),
        serde_json::json!({"labels": [{"cluster": 0, "label": "renamed here"}], "deleted": [7], "moves": [{"indices": [8], "cluster": 1}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["scope"], "scopes-002");
    let labels = v["labels"].as_str().unwrap().to_string();
    assert!(
        data.join(format!("pypi-2k/clusters/{labels}.parquet"))
            .is_file()
    );
    let (_, scope) = json(&client, format!("{base}/scopes/scopes-002")).await;
    assert!(
        scope.to_string().contains("renamed here"),
        "the new scope shows the new label"
    );
    let transactions: Value = serde_json::from_slice(
        &std::fs::read(data.join("pypi-2k/scopes/scopes-002-transactions.json")).unwrap(),
    )
    .unwrap();
    let actions: Vec<&str> = transactions
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["move", "delete", "relabel"]);
    let r = client
        .get(format!("{base}/scopes/scopes-002/export?format=jsonl"))
        .send()
        .await
        .unwrap();
    let rows: Vec<Value> = r
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[7]["deleted"], true);
    assert_eq!(rows[8]["cluster"], 1);
    assert_eq!(rows[6]["deleted"], false);
    let (s, v) = post(
        format!("{base}/scopes/scopes-001/curate"),
        serde_json::json!({"deleted": [99999]}),
    )
    .await;
    assert!(s.is_client_error(), "{v}");

    let (s, v) = client
        .delete(format!("{base}/tags/{tag_path}"))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(s, StatusCode::OK);
    drop(v);
    assert!(!file.exists());

    // Read-only: every write refused, nothing changed; export still works.
    let before = listing(&data);
    let mut c = config(&data);
    c.read_only = true;
    let (addr, _stop2) = start(c).await;
    let ro = format!("http://{addr}/api/datasets/pypi-2k");
    for (url, body) in [
        (format!("{ro}/tags"), serde_json::json!({"name": "x"})),
        (
            format!("{ro}/tags/x/add"),
            serde_json::json!({"indices": [1]}),
        ),
        (
            format!("{ro}/tags/x/remove"),
            serde_json::json!({"indices": [1]}),
        ),
        (
            format!("{ro}/scopes/scopes-001/curate"),
            serde_json::json!({"deleted": [1]}),
        ),
    ] {
        let (s, v) = post(url.clone(), body).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("read_only")),
            "{url}"
        );
    }
    let r = client.delete(format!("{ro}/tags/x")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client
        .post(format!("{ro}/scopes/scopes-001/export"))
        .json(&serde_json::json!({"format": "csv"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap().lines().count(), 2001);
    assert_eq!(listing(&data), before);
}

/// Two clusterings compared by ARI, NMI and overlap; a layout compared with
/// itself moves nothing; runs of different sizes are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_runs_over_http() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let mut c = config(&data);
    c.read_only = true;
    let (addr, _stop) = start(c).await;
    let base = format!("http://{addr}/api/datasets/pypi-10k");
    let client = reqwest::Client::new();
    let (s, same) = json(
        &client,
        format!("{base}/compare/clusters?left=cluster-001&right=cluster-001"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{same}");
    assert_eq!(
        (same["ari"].as_f64(), same["changed"].as_u64()),
        (Some(1.0), Some(0))
    );
    assert!((same["nmi"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    let (s, v) = json(
        &client,
        format!("{base}/compare/clusters?left=cluster-001&right=cluster-002"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let ari = v["ari"].as_f64().unwrap();
    assert!(ari > -1.0 && ari < 1.0, "{ari}");
    let counts = v["overlap"]["counts"].as_array().unwrap();
    let total: u64 = counts
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!((total, v["rows"].as_u64()), (10_000, Some(10_000)));
    assert!(v["changed"].as_u64().unwrap() > 0);

    let r = client
        .get(format!("{base}/compare/umaps?left=umap-001&right=umap-001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes.to_vec()), None)
            .unwrap();
    let mut rows = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let moved = batch
            .column_by_name("displacement")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow_array::Float32Array>()
            .unwrap();
        assert!(moved.values().iter().all(|&d| d < 1e-4));
        rows += batch.num_rows();
    }
    assert_eq!(rows, 10_000);
    let (s, v) = json(
        &client,
        format!(
            "http://{addr}/api/datasets/pypi-2k/compare/clusters?left=cluster-001&right=cluster-009"
        ),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
}

/// The step defaults a form shows are the core's (the CLI's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_defaults_are_the_cores() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    let (addr, _stop) = start(config(&root.path().join("data"))).await;
    let (s, v) = json(&reqwest::Client::new(), format!("http://{addr}/api/steps")).await;
    assert_eq!(s, StatusCode::OK);
    let umap = latentscope_core::umap::UmapParams::default();
    assert_eq!(v["umap"]["defaults"]["neighbors"], umap.n_neighbors as u64);
    assert_eq!(v["umap"]["defaults"]["min_dist"], 0.1);
    let hdbscan = latentscope_core::hdbscan::HdbscanParams::default();
    assert_eq!(
        v["cluster"]["defaults"]["samples"],
        hdbscan.min_cluster_size as u64
    );
    assert_eq!(
        v["embed"]["default_model"],
        latentscope_models::DEFAULT_MODEL
    );
    assert!(
        v["label"]["labelers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "keywords")
    );
    // The models on this machine, as `latentscope models` lists them (the
    // tests' setup fetches all-MiniLM-L6-v2 into latentscope's cache).
    let cached: Vec<String> = latentscope_models::locate::cached_models()
        .into_iter()
        .map(|(name, _)| format!("candle:{name}"))
        .collect();
    let (_, models) = json(&reqwest::Client::new(), format!("http://{addr}/api/models")).await;
    let candle = models["embedders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "candle:")
        .unwrap();
    // (A build without candle runs none of them.)
    let runnable = if candle["available"] == true {
        cached.clone()
    } else {
        Vec::new()
    };
    assert_eq!(candle["installed"], serde_json::json!(runnable));
    assert!(
        cached.iter().any(|c| c.ends_with("all-MiniLM-L6-v2")),
        "{cached:?}"
    );
}

/// Reads a whole SSE response into (id, event, data) triples.
async fn sse(
    client: &reqwest::Client,
    url: &str,
    last_event_id: Option<u64>,
) -> Vec<(u64, String, Value)> {
    let mut request = client.get(url);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(std::time::Duration::from_secs(120), r.text())
        .await
        .expect("the event stream ended")
        .unwrap();
    text.split("\n\n")
        .filter(|block| block.contains("data:"))
        .map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            (
                field("id:").parse().unwrap(),
                field("event:"),
                serde_json::from_str(&field("data:")).unwrap(),
            )
        })
        .collect()
}

/// A job end to end: its events in order, a final one naming the artifact,
/// a reconnect that resumes after Last-Event-ID, its record on disk; a
/// conflicting job is a 409; a cancelled job leaves no artifact and earlier
/// ones intact; a read-only server starts none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_with_live_progress() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    let (addr, _stop) = start(config(&data)).await;
    let base = format!("http://{addr}/api");
    let client = reqwest::Client::new();
    let post = |url: String, body: Value| post_json(&client, url, body);
    let umap = serde_json::json!({"step": "umap", "params": {"embedding": "embedding-001", "neighbors": 10, "seed": 7}});
    let (s, job) = post(format!("{base}/datasets/pypi-2k/jobs"), umap.clone()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    // The same step again while it runs: refused, naming the holder.
    let (s, v) = post(format!("{base}/datasets/pypi-2k/jobs"), umap.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("artifact_busy")),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains(&id));
    // Deleting what it reads: refused too.
    let (s, v) = post(
        format!("{base}/datasets/pypi-2k/jobs"),
        serde_json::json!({"step": "delete", "params": {"artifact": "embedding-001"}}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("artifact_busy")),
        "{v}"
    );

    let events = sse(&client, &format!("{base}/jobs/{id}/events"), None).await;
    let ids: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids in order: {ids:?}"
    );
    assert!(events.iter().any(|e| e.1 == "progress"));
    let last = events.last().unwrap();
    assert_eq!(
        (last.1.as_str(), last.2["artifact"].as_str()),
        ("done", Some("umap-002"))
    );
    assert!(data.join("pypi-2k/umaps/umap-002.json").is_file());
    let resumed = sse(
        &client,
        &format!("{base}/jobs/{id}/events"),
        Some(ids[ids.len() - 3]),
    )
    .await;
    assert_eq!(
        resumed.iter().map(|e| e.0).collect::<Vec<_>>(),
        ids[ids.len() - 2..].to_vec()
    );
    let (_, v) = json(&client, format!("{base}/jobs/{id}")).await;
    assert_eq!(
        (v["status"].as_str(), v["artifact"].as_str()),
        (Some("done"), Some("umap-002"))
    );
    let record: Value = serde_json::from_slice(
        &std::fs::read(data.join(format!("pypi-2k/jobs/{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["status"], "done");

    // Cancel: the umap stops, writes no artifact; the embedding is intact.
    let before = std::fs::read(data.join("pypi-2k/embeddings/embedding-001.parquet")).unwrap();
    let (_, job) = post(
        format!("{base}/datasets/pypi-2k/jobs"),
        serde_json::json!({"step": "umap", "params": {"embedding": "embedding-001", "neighbors": 30, "seed": 9}}),
    )
    .await;
    let id = job["id"].as_str().unwrap().to_string();
    let (s, _) = post(format!("{base}/jobs/{id}/cancel"), serde_json::json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let events = sse(&client, &format!("{base}/jobs/{id}/events"), None).await;
    assert_eq!(events.last().unwrap().1, "cancelled", "{events:?}");
    assert!(!data.join("pypi-2k/umaps/umap-003.json").exists());
    assert_eq!(
        std::fs::read(data.join("pypi-2k/embeddings/embedding-001.parquet")).unwrap(),
        before
    );

    // A step that fails ends with an error event naming why.
    let (_, job) = post(
        format!("{base}/datasets/pypi-2k/jobs"),
        serde_json::json!({"step": "cluster", "params": {"umap": "umap-009"}}),
    )
    .await;
    let events = sse(
        &client,
        &format!("{base}/jobs/{}/events", job["id"].as_str().unwrap()),
        None,
    )
    .await;
    let last = events.last().unwrap();
    assert_eq!(
        (last.1.as_str(), last.2["code"].as_str()),
        ("error", Some("not_found")),
        "{last:?}"
    );
    let (s, _) = post(
        format!("{base}/datasets/pypi-2k/jobs"),
        serde_json::json!({"step": "nope"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let mut c = config(&data);
    c.read_only = true;
    let (addr, _stop2) = start(c).await;
    let (s, v) = post(format!("http://{addr}/api/datasets/pypi-2k/jobs"), umap).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("read_only"))
    );
    // Another server lists the jobs from their records.
    let (s, v) = json(&client, format!("http://{addr}/api/datasets/pypi-2k/jobs")).await;
    assert_eq!(s, StatusCode::OK);
    let statuses: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 3, "{v}");
    for status in ["done", "cancelled", "error"] {
        assert!(statuses.contains(&status), "{statuses:?}");
    }
}

/// A `multipart/form-data` body with `fields` and one file; its content type.
fn form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "ls-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_form(
    client: &reqwest::Client,
    url: String,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> (StatusCode, Value) {
    let (content_type, body) = form(fields, file);
    let r = client
        .post(url)
        .header("content-type", content_type)
        .header("x-latentscope", "1")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

/// Follows a job to its end; its last summary.
async fn wait_job(client: &reqwest::Client, base: &str, id: &str) -> Value {
    for _ in 0..600 {
        let (_, v) = json(client, format!("{base}/jobs/{id}")).await;
        if v["status"] != "running" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end");
}

/// Upload with preview: garbage bytes, an empty file, a file that is not a
/// table and a table without the chosen column are 400s that keep nothing;
/// a CSV's preview guesses its text column; its ingest job makes the
/// dataset and removes the upload. Runs are named in a sidecar and deleted
/// with their dependents listed first; a failed job reruns. Settings save a
/// key outside the data directory and never answer its value. A read-only
/// server refuses every one of these writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_runs_and_settings_over_http() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // An upload a stopped server never finished: discarded at start.
    let abandoned = data.join(".uploads/.tmp-upload-1-1");
    std::fs::create_dir_all(&abandoned).unwrap();
    std::fs::write(abandoned.join("half.csv"), "name,summary\n").unwrap();
    let mut c = config(&data);
    c.settings_file = Some(root.path().join("config/latentscope/.env"));
    let (addr, _stop) = start(c.clone()).await;
    assert!(!abandoned.exists());
    let base = format!("http://{addr}/api");
    let client = reqwest::Client::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let all = std::fs::read_to_string(repo.join("data/pypi-10k.csv")).unwrap();
    let csv = all.lines().take(801).collect::<Vec<_>>().join("\n");
    let uploads = data.join(".uploads");
    let kept = || std::fs::read_dir(&uploads).map_or(0, |d| d.count());

    // Refused: nothing kept, a 400 naming the file.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (name, bytes, says) in [
        ("garbage.csv", &garbage[..], "garbage.csv"),
        ("empty.csv", &b""[..], "empty"),
        ("header-only.csv", &b"name,summary\n"[..], "header-only.csv"),
        ("notes.txt", &b"hello"[..], "not a table file"),
        ("rows.jsonl", &b"{\"a\": 1}\nnot json\n"[..], "rows.jsonl"),
    ] {
        let (s, v) = post_form(&client, format!("{base}/uploads"), &[], Some((name, bytes))).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_upload")),
            "{name}: {v}"
        );
        assert!(v["error"].as_str().unwrap().contains(says), "{name}: {v}");
        assert!(!v["error"].as_str().unwrap().contains(".uploads"), "{v}");
        assert_eq!(kept(), 0, "{name} left something in .uploads");
    }
    let (s, _) = post_form(&client, format!("{base}/uploads"), &[("x", "y")], None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Without our header a form is refused before it is read (a client of
    // its own: the server closes that connection).
    let (content_type, body) = form(&[], Some(("a.csv", csv.as_bytes())));
    let r = reqwest::Client::new()
        .post(format!("{base}/uploads"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A CSV: its preview.
    let (s, preview) = post_form(
        &client,
        format!("{base}/uploads"),
        &[],
        Some(("PyPI summaries.csv", csv.as_bytes())),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{preview}");
    assert_eq!(preview["rows_total"], 800);
    assert_eq!(preview["format"], "csv");
    assert_eq!(preview["dataset"], "PyPI-summaries");
    assert_eq!(preview["text_column"], "summary");
    assert_eq!(preview["rows"].as_array().unwrap().len(), 20);
    assert_eq!(
        preview["rows"][0]["name"].as_str(),
        all.lines().nth(1).unwrap().split(',').next()
    );
    let types: Vec<(&str, &str)> = preview["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        [
            ("name", "string"),
            ("summary", "string"),
            ("month", "string")
        ]
    );
    let upload = preview["upload"].as_str().unwrap().to_string();
    let (s, again) = json(&client, format!("{base}/uploads/{upload}")).await;
    assert_eq!((s, &again), (StatusCode::OK, &preview));

    // Ingest: a column it lacks is a 400 listing its columns; an id taken
    // is a 409; the job makes the dataset and removes the upload.
    let (s, v) = post_json(
        &client,
        format!("{base}/datasets"),
        serde_json::json!({"upload": upload, "text_column": "body"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("name, summary, month")
    );
    let (s, job) = post_json(
        &client,
        format!("{base}/datasets"),
        serde_json::json!({"upload": upload, "text_column": "summary", "dataset": "pypi-800"}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["step"], "ingest");
    let done = wait_job(&client, &base, job["id"].as_str().unwrap()).await;
    assert_eq!(
        (done["status"].as_str(), done["artifact"].as_str()),
        (Some("done"), Some("pypi-800")),
        "{done}"
    );
    assert!(data.join("pypi-800/meta.json").is_file());
    assert_eq!(kept(), 0, "the upload is removed once ingested");
    let (s, _) = json(&client, format!("{base}/uploads/{upload}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Upload and ingest in one multipart request (the guessed text column).
    let (s, job) = post_form(
        &client,
        format!("{base}/datasets"),
        &[("dataset", "pypi-800")],
        Some(("again.csv", csv.as_bytes())),
    )
    .await;
    assert_eq!(
        (s, job["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    assert_eq!(kept(), 0);
    let (s, job) = post_form(
        &client,
        format!("{base}/datasets"),
        &[],
        Some(("again.tsv", csv.replace(',', "\t").as_bytes())),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let done = wait_job(&client, &base, job["id"].as_str().unwrap()).await;
    assert_eq!(done["artifact"], "again", "{done}");
    assert_eq!(
        done["params"]["text_column"], "summary",
        "the guessed column"
    );

    // Runs: embed, two umaps, a clustering; names; dependents; delete.
    let step = |body: Value| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let (s, job) = post_json(&client, format!("{base}/datasets/pypi-800/jobs"), body).await;
            assert_eq!(s, StatusCode::ACCEPTED, "{job}");
            wait_job(&client, &base, job["id"].as_str().unwrap()).await
        }
    };
    assert_eq!(
        step(serde_json::json!({"step": "embed"})).await["artifact"],
        "embedding-001"
    );
    let umap =
        serde_json::json!({"step": "umap", "params": {"embedding": "embedding-001", "seed": 1}});
    assert_eq!(step(umap).await["artifact"], "umap-001");
    let cluster =
        step(serde_json::json!({"step": "cluster", "params": {"umap": "umap-001"}})).await;
    assert_eq!(cluster["artifact"], "cluster-001");
    let (s, v) = client
        .patch(format!("{base}/datasets/pypi-800/artifacts/umap-001"))
        .json(&serde_json::json!({"name": "first layout", "description": "seed 1\nthe defaults"}))
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.json::<Value>().await.unwrap()["name"], "first layout");
    let umap_json = std::fs::read(data.join("pypi-800/umaps/umap-001.json")).unwrap();
    let (_, shown) = json(&client, format!("{base}/datasets/pypi-800")).await;
    let entry = shown["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "umap-001")
        .unwrap()
        .clone();
    assert_eq!(
        (entry["name"].as_str(), entry["description"].as_str()),
        (Some("first layout"), Some("seed 1\nthe defaults"))
    );
    let (_, deps) = json(
        &client,
        format!("{base}/datasets/pypi-800/artifacts/umap-001/dependents"),
    )
    .await;
    assert_eq!(deps["dependents"], serde_json::json!(["cluster-001"]));
    let delete = |url: String| {
        let client = client.clone();
        async move {
            let r = client.delete(url).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, v) = delete(format!("{base}/datasets/pypi-800/artifacts/umap-001")).await;
    assert_eq!(
        (s, v["code"].as_str(), &v["dependents"]),
        (
            StatusCode::CONFLICT,
            Some("has_dependents"),
            &serde_json::json!(["cluster-001"])
        ),
        "{v}"
    );
    assert_eq!(
        std::fs::read(data.join("pypi-800/umaps/umap-001.json")).unwrap(),
        umap_json,
        "naming and a refused delete leave the artifact as it was"
    );
    let (s, v) = delete(format!(
        "{base}/datasets/pypi-800/artifacts/umap-001?with_dependents=true"
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["deleted"], serde_json::json!(["cluster-001", "umap-001"]));
    assert!(!data.join("pypi-800/umaps/umap-001.json").exists());
    assert!(
        !data.join("pypi-800/names.json").exists(),
        "its name goes with it"
    );

    // A failed job reruns with the same parameters.
    // (Numbers are never given out again: the next umap is umap-002.)
    let failed = step(serde_json::json!({"step": "cluster", "params": {"umap": "umap-002"}})).await;
    assert_eq!(failed["status"], "error", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("umap-002"),
        "{failed}"
    );
    let made = step(
        serde_json::json!({"step": "umap", "params": {"embedding": "embedding-001", "seed": 1}}),
    )
    .await;
    assert_eq!(made["artifact"], "umap-002");
    let (s, rerun) = post_json(
        &client,
        format!("{base}/jobs/{}/rerun", failed["id"].as_str().unwrap()),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{rerun}");
    assert_eq!(rerun["rerun_of"], failed["id"]);
    let rerun = wait_job(&client, &base, rerun["id"].as_str().unwrap()).await;
    assert_eq!(
        (rerun["status"].as_str(), rerun["artifact"].as_str()),
        (Some("done"), Some("cluster-002")),
        "{rerun}"
    );
    let (_, jobs) = json(&client, format!("{base}/jobs")).await;
    assert!(jobs.as_array().unwrap().len() >= 8, "{jobs}");
    // Parameters: every field of the step's parameters, none other.
    let (s, v) = post_json(
        &client,
        format!("{base}/datasets/pypi-800/jobs"),
        serde_json::json!({"step": "umap", "params": {"embedding": "embedding-001", "neighbours": 5}}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().contains("neighbours"), "{v}");
    let made = step(serde_json::json!({"step": "umap", "params": {"embedding": "embedding-001", "neighbors": 8, "spread": 2.0, "n_epochs": 50, "seed": 4, "init": "umap-002"}})).await;
    let record: Value = serde_json::from_slice(
        &std::fs::read(data.join(format!(
            "pypi-800/umaps/{}.json",
            made["artifact"].as_str().unwrap()
        )))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            record["neighbors"].as_u64(),
            record["params"]["spread"].as_f64(),
            record["params"]["init_from"].as_str()
        ),
        (Some(8), Some(2.0), Some("umap-002")),
        "{record}"
    );
    // The cluster defaults follow the row count, as the jobs use them.
    let (_, steps) = json(&client, format!("{base}/steps?dataset=pypi-800")).await;
    assert_eq!(
        steps["cluster"]["defaults"]["samples"], 7,
        "round(√800 / 4)"
    );
    assert_eq!(rerun["params"], serde_json::json!({"umap": "umap-002"}));
    let cluster: Value = serde_json::from_slice(
        &std::fs::read(data.join("pypi-800/clusters/cluster-002.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cluster["samples"], 7, "{cluster}");
    // A job whose server stopped while it ran: interrupted, its events end.
    std::fs::write(
        data.join("pypi-800/jobs/job-1-1.json"),
        serde_json::json!({"id": "job-1-1", "dataset": "pypi-800", "step": "cluster",
            "params": {"umap": "umap-002"}, "status": "running",
            "all_events": [{"id": 1, "kind": "log", "data": {"message": "cluster started"}}]})
        .to_string(),
    )
    .unwrap();
    let (_, v) = json(&client, format!("{base}/jobs/job-1-1")).await;
    assert_eq!(v["status"], "interrupted", "{v}");
    let events = sse(&client, &format!("{base}/jobs/job-1-1/events"), None).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        (events[1].1.as_str(), events[1].2["code"].as_str()),
        ("error", Some("interrupted"))
    );
    let (s, again) = post_json(
        &client,
        format!("{base}/jobs/job-1-1/rerun"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{again}");
    wait_job(&client, &base, again["id"].as_str().unwrap()).await;

    // Settings: a key saved outside the data directory, never answered.
    let secret = "sk-test-0123456789-never-echoed";
    let (s, v) = post_json(
        &client,
        format!("{base}/settings"),
        serde_json::json!({"name": "MISTRAL_API_KEY", "value": secret}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v.to_string().contains(secret));
    let key = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "MISTRAL_API_KEY")
        .unwrap();
    assert_eq!(
        (key["set"].as_bool(), key["source"].as_str()),
        (Some(true), Some("file"))
    );
    let file = root.path().join("config/latentscope/.env");
    assert!(std::fs::read_to_string(&file).unwrap().contains(secret));
    let (_, v) = post_json(
        &client,
        format!("{base}/settings"),
        serde_json::json!({"name": "LATENTSCOPE_ENDPOINT_LOCAL", "value": "http://127.0.0.1:1234/v1"}),
    )
    .await;
    assert!(
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "LATENTSCOPE_ENDPOINT_LOCAL"
                && e["value"] == "http://127.0.0.1:1234/v1"),
        "{v}"
    );
    let (s, _) = post_json(
        &client,
        format!("{base}/settings"),
        serde_json::json!({"name": "HOME", "value": "/tmp"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = json(&client, format!("{base}/settings")).await;
    assert!(!v.to_string().contains(secret));
    assert_eq!(v["writable"], true);
    for (path, _) in listing(&data) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the key",
            path.display()
        );
    }

    // Read-only: every write of these is refused, nothing changes.
    let mut ro = c.clone();
    ro.read_only = true;
    let (addr, _stop2) = start(ro).await;
    let rbase = format!("http://{addr}/api");
    let before = listing(&data);
    let settings_before = std::fs::read(&file).unwrap();
    let (s, v) = post_form(
        &client,
        format!("{rbase}/uploads"),
        &[],
        Some(("a.csv", csv.as_bytes())),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("read_only"))
    );
    let (s, _) = post_form(
        &client,
        format!("{rbase}/datasets"),
        &[],
        Some(("a.csv", csv.as_bytes())),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (s, _) in [
        post_json(
            &client,
            format!("{rbase}/datasets"),
            serde_json::json!({"upload": upload}),
        )
        .await,
        post_json(
            &client,
            format!("{rbase}/settings"),
            serde_json::json!({"name": "OPENAI_API_KEY", "value": "x"}),
        )
        .await,
        post_json(
            &client,
            format!("{rbase}/jobs/{}/rerun", failed["id"].as_str().unwrap()),
            serde_json::json!({}),
        )
        .await,
        delete(format!(
            "{rbase}/datasets/pypi-800/artifacts/umap-002?with_dependents=true"
        ))
        .await,
        delete(format!("{rbase}/uploads/{upload}")).await,
    ] {
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let r = client
        .patch(format!("{rbase}/datasets/pypi-800/artifacts/umap-002"))
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, v) = json(&client, format!("{rbase}/settings")).await;
    assert_eq!(v["writable"], false);
    assert_eq!(listing(&data), before);
    assert_eq!(std::fs::read(&file).unwrap(), settings_before);
}

/// A static site: the API's own answers as files, rows and text in chunks,
/// each row's nearest rows (as the server's exact search ranks them), the
/// explorer told where the site is; never a file from elsewhere in the data
/// directory; a folder that holds files is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_exported_as_a_static_site() {
    use latentscope_server::site::{SiteOptions, export_site};
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path());
    std::fs::write(data.join(".env"), "OPENAI_API_KEY=sk-site-secret").unwrap();
    std::fs::write(data.join("pypi-2k/.env"), "OPENAI_API_KEY=sk-site-secret").unwrap();
    let out = root.path().join("site");
    let site = export_site(
        &data,
        "pypi-2k",
        "scopes-001",
        &out,
        &SiteOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(site.rows, 2000);
    let read = |p: &str| std::fs::read(out.join(p)).unwrap();
    let meta: Value = serde_json::from_slice(&read("site.json")).unwrap();
    assert_eq!(
        (
            meta["rows"].as_u64(),
            meta["chunk_rows"].as_u64(),
            meta["neighbors_k"].as_u64()
        ),
        (Some(2000), Some(1000), Some(16))
    );
    // The files are what a server answers.
    let (addr, _stop) = start(config(&data)).await;
    let base = format!("http://{addr}/api/datasets/pypi-2k");
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec()
        }
    };
    assert_eq!(
        read("data/scope.json"),
        get(format!("{base}/scopes/scopes-001")).await
    );
    assert_eq!(
        read("data/points.arrow"),
        get(format!("{base}/scopes/scopes-001/points")).await
    );
    assert_eq!(
        read("data/columns/c1.arrow"),
        get(format!("{base}/columns/summary?scope=scopes-001")).await
    );
    let rows: Value = serde_json::from_slice(&read("data/rows/1.json")).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(
        (rows.len(), rows[0]["ls_index"].as_u64()),
        (1000, Some(1000))
    );
    let texts: Vec<String> = serde_json::from_slice(&read("data/text/1.json")).unwrap();
    assert_eq!(texts[5], rows[5]["summary"].as_str().unwrap_or(""));
    // Row 1234's neighbours: the exact search's ranking, itself left out.
    let (_, nn) = json(
        &client,
        format!("{base}/search/nn?scope=scopes-001&row=1234&k=17&exact=true"),
    )
    .await;
    let want: Vec<u32> = nn["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .filter(|&r| r != 1234)
        .take(16)
        .collect();
    let bin = read("data/neighbors/1.bin");
    let at = 234 * 16 * 4;
    let have: Vec<u32> = bin[at..at + 64]
        .chunks(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let same = have.iter().filter(|r| want.contains(r)).count();
    assert!(same >= 15, "{have:?} vs {want:?}");
    // Of the dataset's runs, only the scope's own chain.
    let dataset: Value = serde_json::from_slice(&read("data/dataset.json")).unwrap();
    let ids: Vec<&str> = dataset["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "embedding-001",
            "umap-001",
            "cluster-001",
            "cluster-001-labels-001",
            "scopes-001"
        ]
    );
    let html = String::from_utf8(read("index.html")).unwrap();
    assert!(html.contains("window.__LS_SITE__ = \"./\""));
    // Nothing but the site's own files.
    for (path, _) in listing(&out) {
        let relative = path
            .strip_prefix(&out)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            relative == "index.html"
                || relative == "site.json"
                || relative.starts_with("assets/")
                || relative.starts_with("data/"),
            "{relative}"
        );
        assert!(
            !String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains("sk-site-secret"),
            "{relative}"
        );
    }
    // A folder that holds files is refused, and left as it was.
    let before = listing(&out);
    let err = export_site(
        &data,
        "pypi-2k",
        "scopes-001",
        &out,
        &SiteOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "already_exists");
    assert_eq!(listing(&out), before);
    let err = export_site(
        &data,
        "pypi-2k",
        "scopes-009",
        &root.path().join("x"),
        &SiteOptions::default(),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, "not_found", "{err:?}");
    assert!(!root.path().join("x").exists());
}
