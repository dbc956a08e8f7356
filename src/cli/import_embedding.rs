//! `latentscope import-embedding <dataset> <file>`.

use std::path::PathBuf;

use anyhow::Result;

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// A .npy or .parquet file with one vector per input row.
    file: PathBuf,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let bars = Bars::new("rows");
    let result = ds.import_embedding(&args.file, &bars);
    bars.finish();
    let id = result?;
    let meta = ds.embedding_meta(id)?;
    outln!(
        "{id}: {} rows × {} dims from {}",
        ds.rows(),
        meta.dimensions,
        args.file.display()
    );
    Ok(())
}
