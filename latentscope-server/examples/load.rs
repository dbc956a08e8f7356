//! A bounded load test of a running server: N requests, C at a time, mixing
//! the routes the explorer calls (scope, points, rows, filters, text and
//! similarity search), then p50/p99 per route and the error count. With
//! `tags` (a writable server), tag writes join the mix: rows added to three
//! tags and rows (added first) removed from them, each row by one request;
//! at the end every tag must hold exactly the rows expected (no lost write).
//!
//! `cargo run --release -p latentscope-server --example load -- http://127.0.0.1:5001 <dataset> <scope> [N] [C] [tags]`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (base, ds, scope) = (&args[1], &args[2], &args[3]);
    let n: usize = args.get(4).map_or(Ok(2000), |s| s.parse())?;
    let c: usize = args.get(5).map_or(Ok(32), |s| s.parse())?;
    let tags = args.get(6).is_some_and(|a| a == "tags");
    let kinds = if tags { 8 } else { 6 };
    let client = reqwest::Client::new();
    let meta: serde_json::Value = client
        .get(format!("{base}/api/datasets/{ds}/scopes/{scope}"))
        .send()
        .await?
        .json()
        .await?;
    let rows = meta["rows"].as_u64().unwrap_or(1).max(1);
    // Tag writes: request i adds row i (kind 6) or removes row n + i (kind
    // 7, added beforehand) in tag `load-<i % 3>`.
    let tag_of = |i: usize| format!("load-{}", i % 3);
    let mut expected: BTreeMap<String, std::collections::BTreeSet<u64>> = BTreeMap::new();
    if tags {
        assert!((2 * n) as u64 <= rows, "tags: the dataset needs 2 N rows");
        for t in 0..3 {
            let name = format!("load-{t}");
            client
                .delete(format!("{base}/api/datasets/{ds}/tags/{name}"))
                .send()
                .await?;
            let seeded: Vec<usize> = (0..n)
                .filter(|i| i % 3 == t && i % kinds == 7)
                .map(|i| n + i)
                .collect();
            let r = client
                .post(format!("{base}/api/datasets/{ds}/tags/{name}/add"))
                .json(&serde_json::json!({"indices": seeded}))
                .send()
                .await?;
            assert!(r.status().is_success(), "seeding {name}: {}", r.status());
            expected.insert(name, std::collections::BTreeSet::new());
        }
        for i in (0..n).filter(|i| i % kinds == 6) {
            expected.get_mut(&tag_of(i)).map(|s| s.insert(i as u64));
        }
    }
    let words = [
        "data", "web", "python", "image", "test", "cli", "api", "learning",
    ];
    let started = Instant::now();
    let results: Vec<(&'static str, Duration, bool)> = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let r = (i as u64 * 7919) % rows;
            let word = words[i % words.len()];
            async move {
                let tag = format!("load-{}", i % 3);
                let (route, request) = match i % kinds {
                    0 => ("scope", client.get(format!("{base}/api/datasets/{ds}/scopes/{scope}"))),
                    1 => ("points", client.get(format!("{base}/api/datasets/{ds}/scopes/{scope}/points"))),
                    2 => ("rows", client.get(format!("{base}/api/datasets/{ds}/rows?indices={r},{}", (r + 1) % rows))),
                    3 => (
                        "filter",
                        client
                            .post(format!("{base}/api/datasets/{ds}/filter"))
                            .json(&serde_json::json!({"filters": [{"column": "summary", "op": "contains", "value": word}]})),
                    ),
                    4 => ("search/text", client.get(format!("{base}/api/datasets/{ds}/search/text?query={word}&limit=100"))),
                    5 => ("search/nn", client.get(format!("{base}/api/datasets/{ds}/search/nn?scope={scope}&query={word}&k=50"))),
                    6 => (
                        "tags/add",
                        client
                            .post(format!("{base}/api/datasets/{ds}/tags/{tag}/add"))
                            .json(&serde_json::json!({"indices": [i]})),
                    ),
                    _ => (
                        "tags/remove",
                        client
                            .post(format!("{base}/api/datasets/{ds}/tags/{tag}/remove"))
                            .json(&serde_json::json!({"indices": [n + i]})),
                    ),
                };
                let t = Instant::now();
                let ok = match request.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        if !status.is_success() {
                            eprintln!("{route}: {status} {}", resp.text().await.unwrap_or_default());
                            false
                        } else {
                            resp.bytes().await.is_ok()
                        }
                    }
                    Err(e) => {
                        eprintln!("{route}: {e}");
                        false
                    }
                };
                (route, t.elapsed(), ok)
            }
        })
        .buffer_unordered(c)
        .collect()
        .await;
    let wall = started.elapsed();
    let mut by_route: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut errors = 0;
    for (route, d, ok) in &results {
        by_route.entry(route).or_default().push(*d);
        errors += usize::from(!ok);
    }
    println!(
        "{n} requests, {c} at a time, {:.1} s, {errors} errors",
        wall.as_secs_f64()
    );
    println!("| route | requests | p50 | p99 |");
    println!("| --- | --- | --- | --- |");
    for (route, mut times) in by_route {
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!(
            "| {route} | {} | {:.1} ms | {:.1} ms |",
            times.len(),
            at(0.5).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0
        );
    }
    let mut lost = 0;
    for (name, want) in &expected {
        let bytes = client
            .get(format!("{base}/api/datasets/{ds}/tags/{name}"))
            .send()
            .await?
            .bytes()
            .await?;
        let mut have = std::collections::BTreeSet::new();
        for batch in arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)? {
            let batch = batch?;
            let index = batch
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::UInt32Array>()
                .ok_or("the tag's index column is not u32")?;
            have.extend(index.values().iter().map(|&v| u64::from(v)));
        }
        let missing = want.difference(&have).count();
        let extra = have.difference(want).count();
        println!(
            "tag {name}: {} rows expected, {} held, {missing} missing, {extra} not removed",
            want.len(),
            have.len()
        );
        lost += missing + extra;
    }
    if errors > 0 || lost > 0 {
        std::process::exit(1);
    }
    Ok(())
}
