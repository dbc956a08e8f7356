//! `latentscope label <dataset> <cluster-id> [--labeler keywords]`.

use std::time::Instant;

use anyhow::Result;
use latentscope::label::LabelerRegistry;
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
    /// Context about the dataset for the labeler
    #[arg(long)]
    context: Option<String>,
}

pub(crate) async fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let cluster: ClusterId = args.cluster.parse()?;
    ds.require(cluster)?;
    let started = Instant::now();
    let labeler = LabelerRegistry::default().resolve(&args.labeler, &ds)?;
    let mut options = LabelOptions::default();
    options.context = args.context.unwrap_or_default();
    let bars = Bars::new("clusters");
    let result = ds.label(cluster, labeler.as_ref(), &options, &bars).await;
    bars.finish();
    let id = result?;
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
