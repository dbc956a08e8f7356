//! `latentscope import-umap <dataset> <file>`.

use std::path::PathBuf;

use anyhow::Result;
use latentscope::{NumberedId, UmapId};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// A .npy or .parquet file with one point per input row.
    file: PathBuf,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let bars = Bars::new("points");
    let result = ds.import_umap(&args.file, &bars);
    bars.finish();
    let id = result?;
    outln!(
        "{id}: {} points from {} (scaled to [-1, 1]; thumbnail {}/{}/{id}.png)",
        ds.rows(),
        args.file.display(),
        ds.id(),
        UmapId::FOLDER
    );
    Ok(())
}
