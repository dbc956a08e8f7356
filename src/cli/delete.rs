//! `latentscope delete <dataset> [<artifact-id>] [--with-dependents]`.

use anyhow::Result;

use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The artifact to delete (embedding-001, umap-002, cluster-003,
    /// cluster-003-labels-001, scopes-001); without it, the whole dataset.
    artifact: Option<String>,
    /// Also delete what was made from it (for a dataset: all its artifacts).
    #[arg(long)]
    with_dependents: bool,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    match args.artifact {
        Some(id) => {
            for gone in ds.delete(&id, args.with_dependents)? {
                outln!("deleted {}/{gone}", args.dataset);
            }
        }
        None => {
            ds.delete_dataset(args.with_dependents)?;
            outln!("deleted dataset {:?}", args.dataset);
        }
    }
    Ok(())
}
