//! `latentscope datasets`.

use anyhow::Result;
use latentscope::Dataset;

use super::{Context, outln};

pub(crate) fn execute(ctx: &Context) -> Result<()> {
    let all = Dataset::list(ctx.store.as_ref())?;
    if all.is_empty() {
        outln!(
            "no datasets yet; make one with `latentscope ingest <dataset> <file> --text-column <column>`"
        );
        return Ok(());
    }
    outln!(
        "{:<24} {:>10} {:>8}  {:<16} created",
        "dataset",
        "rows",
        "columns",
        "text column"
    );
    for m in all {
        outln!(
            "{:<24} {:>10} {:>8}  {:<16} {}",
            m.id,
            m.length,
            m.columns.len(),
            m.text_column,
            m.created_at.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
