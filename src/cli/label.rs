//! `latentscope label <dataset> <cluster-id> [--labeler keywords]`.

use std::time::Instant;

use anyhow::Result;
use latentscope::{ClusterId, LabelOptions};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The clustering to label (e.g. cluster-001).
    cluster: String,
    /// The labeler (`latentscope models` lists them)
    #[arg(long, default_value = "keywords")]
    labeler: String,
    /// Context about the dataset for the labeler (an LLM gets it in its system prompt)
    #[arg(long)]
    context: Option<String>,
    /// Labels asked for at once [default: 4; a local Ollama: OLLAMA_NUM_PARALLEL, else 1]
    #[arg(long)]
    concurrency: Option<usize>,
    /// Show what an LLM labeler would be sent (requests, tokens) and cost, without sending anything
    #[arg(long)]
    dry_run: bool,
}

pub(crate) async fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let cluster: ClusterId = args.cluster.parse()?;
    ds.require(cluster)?;
    let started = Instant::now();
    #[cfg(any(
        feature = "openai",
        feature = "mistral",
        feature = "ollama",
        feature = "openai-compatible"
    ))]
    if args.dry_run
        && let Some(labeler) =
            latentscope::models::providers::labeler::LlmLabeler::estimator(&args.labeler)
    {
        let mut options = LabelOptions::default();
        options.context = args.context.clone().unwrap_or_default();
        return dry_run(&ds, cluster, &labeler, &options, &args.labeler);
    }
    let labeler = latentscope::models::labelers().resolve(&args.labeler, &ds)?;
    let mut options = LabelOptions::default();
    options.context = args.context.clone().unwrap_or_default();
    if let Some(c) = args.concurrency {
        options.concurrency = c.max(1);
    }
    if args.dry_run {
        return dry_run(&ds, cluster, labeler.as_ref(), &options, &args.labeler);
    }
    let bars = Bars::new("clusters");
    let result = ds.label(cluster, labeler.as_ref(), &options, &bars).await;
    bars.finish();
    let id = result?;
    let record = ds.labels_meta(id)?;
    report_llm(&record.extra);
    let rows = ds.read_labels(id)?;
    outln!(
        "{id}: {} labels by {} in {:.2}s",
        rows.len(),
        args.labeler,
        started.elapsed().as_secs_f64()
    );
    let mut biggest: Vec<_> = rows.iter().collect();
    biggest.sort_by_key(|r| std::cmp::Reverse(r.indices.len()));
    for r in biggest.iter().take(10) {
        outln!("  {:>6} rows  {}", r.indices.len(), r.label);
    }
    Ok(())
}

/// What an LLM labeler used, and which clusters kept their keywords.
fn report_llm(extra: &serde_json::Map<String, serde_json::Value>) {
    if let Some(u) = extra.get("usage") {
        let n = |k: &str| u[k].as_u64().unwrap_or(0);
        eprintln!(
            "{} requests ({} retried), {} prompt + {} answer tokens, answers as {}; {} groups of colliding labels asked to rename",
            n("requests"),
            n("retries"),
            n("prompt_tokens"),
            n("completion_tokens"),
            u["answer_mode"].as_str().unwrap_or("?"),
            n("rename_groups")
        );
    }
    if let Some(serde_json::Value::Array(fallbacks)) = extra.get("fallbacks") {
        for f in fallbacks {
            eprintln!(
                "cluster {} kept its keyword label: {}",
                f["cluster"],
                f["error"].as_str().unwrap_or_default()
            );
        }
    }
    if let Some(e) = extra.get("distinguish_error").and_then(|e| e.as_str()) {
        eprintln!("the second pass kept the first labels: {e}");
    }
}

/// `--dry-run`: requests, tokens and the estimated cost of an LLM labeler.
fn dry_run(
    ds: &latentscope::Dataset,
    cluster: ClusterId,
    labeler: &dyn latentscope::label::Labeler,
    options: &LabelOptions,
    spec: &str,
) -> Result<()> {
    let e = ds.label_estimate(cluster, labeler, options)?;
    if e.requests == 0 {
        outln!(
            "{spec}: {} clusters; nothing is sent and nothing is paid",
            e.clusters
        );
        return Ok(());
    }
    outln!(
        "{spec}: {} clusters in {} requests (and one more per group of colliding labels), {} prompt tokens, at most {} answer tokens",
        e.clusters,
        e.requests,
        e.prompt_tokens,
        e.max_answer_tokens
    );
    let prices = latentscope::models::providers::prices::AS_OF;
    let price = spec
        .split_once(':')
        .and_then(|(p, m)| latentscope::models::providers::prices::price(p, m));
    match price {
        Some(p) if p.input == 0.0 && p.output == 0.0 => {
            outln!("estimated cost: nothing (a local model)")
        }
        Some(p) => outln!(
            "estimated cost: at most ${:.4} (prices as of {prices}; check the provider's page)",
            latentscope::models::providers::prices::cost(p, e.prompt_tokens, e.max_answer_tokens)
        ),
        None => outln!("estimated cost: unknown ({spec} is not in the price table of {prices})"),
    }
    Ok(())
}
