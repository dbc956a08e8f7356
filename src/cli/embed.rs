//! `latentscope embed <dataset> [--model SPEC] …`.

use std::time::Instant;

use anyhow::Result;
use latentscope::{EmbedConfig, EmbedOptions};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The model: a spec such as candle:sentence-transformers/all-MiniLM-L6-v2, candle:/path/to/dir, openai:text-embedding-3-small, ollama:nomic-embed-text, openai-compatible:MODEL@http://host:port/v1 (`latentscope models` lists them)
    #[arg(long, default_value = latentscope::models::DEFAULT_MODEL)]
    model: String,
    /// Text put before every row [default: the model's own document prompt, usually none]
    #[arg(long)]
    prefix: Option<String>,
    /// Rows per batch [default: the model's, 32 for candle]
    #[arg(long)]
    batch_size: Option<usize>,
    /// Requests in flight at once [default: the model's: 1 for local models, 4 for OpenAI, OLLAMA_NUM_PARALLEL for Ollama]
    #[arg(long)]
    concurrency: Option<usize>,
    /// Show what an API model would be sent (requests, tokens) and cost, without sending anything
    #[arg(long)]
    dry_run: bool,
    /// Keep only the first D dimensions, renormalised (Matryoshka models); API models are asked for D dimensions
    #[arg(long, value_name = "D")]
    dimensions: Option<usize>,
    /// Truncate texts to this many tokens [default: the model's max_seq_length]
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Threads [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds of work between checkpoints that an interrupted run resumes from (0: after every part of 64 batches; API models checkpoint every batch)
    #[arg(long, default_value_t = 5.0)]
    checkpoint_seconds: f64,
    /// The vectors' file: parquet, or h5 (HDF5, as the Python tool 0.x keeps them; needs the `hdf5` feature)
    #[arg(long, default_value = "parquet", value_parser = ["parquet", "h5"])]
    format: String,
}

pub(crate) async fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    if args.dry_run {
        return dry_run(&ds, &args);
    }
    let config = EmbedConfig::default()
        .with_threads(args.threads)
        .with_max_tokens(args.max_tokens)
        .with_dimensions(args.dimensions)
        .with_data_dir(Some(ctx.dir.clone()));
    let loading = Instant::now();
    let embedder = latentscope::models::registry().resolve(&args.model, &config)?;
    let spec = embedder.spec().clone();
    eprintln!(
        "model {} loaded in {:.2}s: {} dims, max {} tokens{}",
        spec.spec_string(),
        loading.elapsed().as_secs_f64(),
        if spec.dimensions == 0 {
            "? (from the first answer)".to_string()
        } else {
            spec.dimensions.to_string()
        },
        spec.max_tokens.map_or("?".to_string(), |t| t.to_string()),
        if spec.normalized { ", normalised" } else { "" }
    );
    let options = EmbedOptions::default()
        .with_prefix(args.prefix)
        .with_batch_size(args.batch_size)
        .with_concurrency(args.concurrency)
        .with_checkpoint_seconds(args.checkpoint_seconds)
        .with_model_spec(Some(args.model.clone()));
    let bars = Bars::new("rows");
    let result = ds.embed(embedder.as_ref(), &options, &bars).await;
    bars.finish();
    let outcome = result?;
    if args.format == "h5" {
        keep_as_h5(&ds, outcome.id)?;
    }
    let meta = ds.embedding_meta(outcome.id)?;
    if let Some(usage) = meta.extra.get("api_usage") {
        let n = |k: &str| usage[k].as_u64().unwrap_or(0);
        eprintln!(
            "{}: {} requests, {} retried ({} rate limited, {:.1} s waiting), {} tokens{}",
            spec.provider,
            n("requests"),
            n("retries"),
            n("rate_limited"),
            usage["waited_seconds"].as_f64().unwrap_or(0.0),
            n("tokens"),
            match n("truncated_texts") {
                0 => String::new(),
                t => format!(", {t} texts cut to the model's token limit"),
            }
        );
    }
    let fresh = outcome.rows - outcome.resumed_rows;
    if outcome.resumed_rows > 0 {
        eprintln!(
            "resumed {}: {} rows were already embedded by an interrupted run",
            outcome.id, outcome.resumed_rows
        );
    }
    outln!(
        "{}: {} rows × {} dims with {} in {:.2}s ({:.0} rows/s){}",
        outcome.id,
        outcome.rows,
        meta.dimensions,
        args.model,
        outcome.seconds,
        fresh as f64 / outcome.seconds.max(1e-9),
        match meta.null_count {
            Some(n) if n > 0 => format!("; {n} null texts embedded as empty text"),
            _ => String::new(),
        }
    );
    Ok(())
}

/// `--dry-run`: what an API model would be sent and what it would cost.
fn dry_run(ds: &latentscope::Dataset, args: &Args) -> Result<()> {
    let texts = ds.texts()?.texts;
    let prefix = args.prefix.clone().unwrap_or_default();
    let texts: Vec<String> = if prefix.is_empty() {
        texts
    } else {
        texts.iter().map(|t| format!("{prefix}{t}")).collect()
    };
    let Some(e) = latentscope::models::providers::estimate(
        &args.model,
        &texts,
        args.batch_size,
        args.max_tokens,
    ) else {
        outln!(
            "{}: {} rows; a local model: nothing is sent and nothing is paid",
            args.model,
            texts.len()
        );
        return Ok(());
    };
    let approx = if e.tokens_exact { "" } else { "about " };
    outln!(
        "{}:{}: {} rows in {} requests, {approx}{} tokens{}",
        e.provider,
        e.model,
        e.rows,
        e.requests,
        e.tokens,
        match e.truncated {
            0 => String::new(),
            t => format!(" ({t} texts cut to the model's token limit)"),
        }
    );
    match e.cost_usd {
        Some(cost) => outln!(
            "estimated cost: ${cost:.4} (prices as of {}; check the provider's page)",
            e.prices_as_of
        ),
        None => outln!(
            "estimated cost: unknown ({} is not in the price table of {})",
            e.model,
            e.prices_as_of
        ),
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn keep_as_h5(ds: &latentscope::Dataset, id: latentscope::EmbeddingId) -> Result<()> {
    Ok(ds.store_embedding_as_h5(id)?)
}

#[cfg(not(feature = "hdf5"))]
fn keep_as_h5(_: &latentscope::Dataset, id: latentscope::EmbeddingId) -> Result<()> {
    Err(latentscope::Error::Unsupported {
        file: format!("{id}.h5"),
        reason: "--format h5 needs the `hdf5` cargo feature, which this build does not have (the embedding is kept as Parquet)".to_string(),
    }
    .into())
}
