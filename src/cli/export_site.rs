//! `latentscope export-site <dataset> <scope> <dir>`: the explorer and one
//! scope's data as plain files that any static host serves (GitHub Pages, a
//! bucket, `python3 -m http.server`): read-only, with hover, filters,
//! substring search, the table and "rows like this row" working without a
//! server. `docs/site.md` describes the files.

use std::path::PathBuf;

use anyhow::Result;
use latentscope::server::site::{SiteOptions, export_site};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The scope (scopes-001).
    scope: String,
    /// The folder to write (missing or empty, unless --force).
    dir: PathBuf,
    /// Nearest rows kept per row for "rows like this row" (0: none).
    #[arg(long, default_value_t = SiteOptions::default().neighbors)]
    neighbors: usize,
    /// Replace the folder if it holds files.
    #[arg(long)]
    force: bool,
}

pub(crate) async fn execute(ctx: &Context, args: Args) -> Result<()> {
    let mut options = SiteOptions::default();
    options.neighbors = args.neighbors;
    options.replace = args.force;
    let bars = Bars::new("rows");
    let started = std::time::Instant::now();
    let site = export_site(
        &ctx.dir,
        &args.dataset,
        &args.scope,
        &args.dir,
        &options,
        &bars,
    )
    .await;
    bars.finish();
    let site = site?;
    outln!(
        "wrote {}: {} rows, {} files, {:.1} MB in {:.1} s; serve it with any static server, e.g. `python3 -m http.server -d {}`",
        site.dir.display(),
        site.rows,
        site.files,
        site.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        site.dir.display()
    );
    Ok(())
}
