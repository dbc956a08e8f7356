//! A local server speaking OpenAI's and Ollama's wire formats, for trying
//! the API providers without an account (and for the figures in
//! docs/benchmarks.md): `cargo run --release -p latentscope-models
//! --features fake-server --example fake_provider -- [every] [delay_ms]`
//! rate-limits one request in `every` (0: none) and answers after
//! `delay_ms`. Point `OPENAI_BASE_URL` at `<url>/v1` or `OLLAMA_HOST` at
//! `<url>`; it prints its request log when stopped with Enter.

use latentscope_models::providers::fake::{Call, FakeServer, Reply};

fn main() -> std::io::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let every = args.first().copied().unwrap_or(0) as usize;
    let delay = args.get(1).copied().unwrap_or(0);
    let server = FakeServer::start(move |call: &Call| {
        let reply = if every > 0 && call.n % every == every - 1 {
            Reply::status(
                429,
                r#"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#,
            )
            .header("retry-after-ms", "5")
        } else {
            Reply::Answer
        };
        if delay > 0 {
            reply.after_ms(delay)
        } else {
            reply
        }
    })?;
    println!("{}", server.url());
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let calls = server.calls();
    let status = |s: u16| calls.iter().filter(|c| c.status == s).count();
    let inputs: usize = calls
        .iter()
        .filter(|c| c.status == 200)
        .map(|c| c.inputs().len())
        .sum();
    println!(
        "{} requests: {} answered ({inputs} texts), {} rate limited",
        calls.len(),
        status(200),
        status(429)
    );
    Ok(())
}
