//! `latentscope scope <dataset> <embedding> <umap> <cluster> <labels> --label L`.

use std::time::Instant;

use anyhow::Result;
use latentscope::scope::ScopeParts;
use latentscope::{ClusterId, LabelsId, NumberedId, ScopeId};

use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The embedding (e.g. embedding-001).
    embedding: String,
    /// The umap made from it (e.g. umap-001).
    umap: String,
    /// The clustering of that umap (e.g. cluster-001).
    cluster: String,
    /// Its labels: cluster-001-labels-001, a number, or "default".
    labels: String,
    /// The scope's name
    #[arg(long)]
    label: String,
    /// A longer description
    #[arg(long, default_value = "")]
    description: String,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let cluster: ClusterId = args.cluster.parse()?;
    let parts = ScopeParts::new(
        args.embedding.parse()?,
        args.umap.parse()?,
        cluster,
        LabelsId::parse_for(cluster, &args.labels)?,
    );
    let started = Instant::now();
    let id = ds.create_scope(&parts, &args.label, &args.description)?;
    outln!(
        "{id}: {:?} = {} → {} → {} → {} ({} rows) in {:.2}s; files in {}/{}/",
        args.label,
        parts.embedding,
        parts.umap,
        parts.cluster,
        parts.labels,
        ds.rows(),
        started.elapsed().as_secs_f64(),
        ds.id(),
        ScopeId::FOLDER
    );
    Ok(())
}
