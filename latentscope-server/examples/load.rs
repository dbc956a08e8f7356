//! A bounded load test of a running server: N requests, C at a time, mixing
//! the routes the explorer calls (scope, points, rows, filters, text and
//! similarity search), then p50/p99 per route and the error count.
//!
//! `cargo run --release -p latentscope-server --example load -- http://127.0.0.1:5001 <dataset> <scope> [N] [C]`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (base, ds, scope) = (&args[1], &args[2], &args[3]);
    let n: usize = args.get(4).map_or(Ok(2000), |s| s.parse())?;
    let c: usize = args.get(5).map_or(Ok(32), |s| s.parse())?;
    let client = reqwest::Client::new();
    let meta: serde_json::Value = client
        .get(format!("{base}/api/datasets/{ds}/scopes/{scope}"))
        .send()
        .await?
        .json()
        .await?;
    let rows = meta["rows"].as_u64().unwrap_or(1).max(1);
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
                let (route, request) = match i % 6 {
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
                    _ => ("search/nn", client.get(format!("{base}/api/datasets/{ds}/search/nn?scope={scope}&query={word}&k=50"))),
                };
                let t = Instant::now();
                let ok = match request.send().await {
                    Ok(resp) => {
                        let good = resp.status().is_success();
                        good && resp.bytes().await.is_ok()
                    }
                    Err(_) => false,
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
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
