//! `latentscope ingest <dataset> <file> --text-column <col>`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use latentscope::ingest::{IngestOptions, ingest_file};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The new dataset's id: letters, digits, '_' and '-'.
    dataset: String,
    /// The file to read (.csv, .tsv, .parquet, .jsonl, .ndjson).
    file: PathBuf,
    /// The column that holds the text to embed.
    #[arg(long, value_name = "COLUMN")]
    text_column: String,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let started = Instant::now();
    let bars = Bars::new("rows");
    let result = ingest_file(
        ctx.store.clone(),
        &args.dataset,
        &args.file,
        &IngestOptions::new(&args.text_column),
        &bars,
    );
    bars.finish();
    let ds = result.with_context(|| format!("cannot ingest {}", args.file.display()))?;
    let meta = ds.meta();
    outln!(
        "ingested {} rows × {} columns from {} as dataset {:?} in {:.2}s (text column: {})",
        meta.length,
        meta.columns.len(),
        args.file.display(),
        ds.id(),
        started.elapsed().as_secs_f64(),
        meta.text_column
    );
    for column in &meta.columns {
        if let Some(c) = meta.column_metadata.get(column) {
            let mut extra = String::new();
            if let Some(cats) = &c.categories {
                extra = format!(", {} categories", cats.len());
            }
            if let Some(extent) = &c.extent {
                extra = format!(", range {} to {}", extent[0], extent[1]);
            }
            if c.url == Some(true) {
                extra.push_str(if c.image == Some(true) {
                    ", image links"
                } else {
                    ", links"
                });
            }
            outln!(
                "  {column:<24} {:<8} {} distinct, {} null{extra}",
                c.kind,
                c.unique_values_count,
                c.null_count.unwrap_or(0)
            );
        }
    }
    Ok(())
}
