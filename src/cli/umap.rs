//! `latentscope umap <dataset> <embedding> …`: the 2-D step (UMAP or PCA),
//! written as a `umap-NNN` artifact.

use std::time::Instant;

use anyhow::Result;
use latentscope::project::{PcaReducer, ProjectOptions};
use latentscope::umap::{Metric, UmapParams};
use latentscope::{EmbeddingId, NumberedId, UmapId};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The embedding to project (e.g. embedding-001).
    embedding: String,
    /// Neighbours per point (UMAP n_neighbors)
    #[arg(long, default_value_t = UmapParams::default().n_neighbors)]
    neighbors: usize,
    /// How tightly points pack (UMAP min_dist)
    #[arg(long, default_value_t = UmapParams::default().min_dist)]
    min_dist: f32,
    /// The scale of the embedded points (UMAP spread)
    #[arg(long, default_value_t = UmapParams::default().spread)]
    spread: f32,
    /// Distance between vectors
    #[arg(long, value_enum, default_value_t = MetricArg::Cosine)]
    metric: MetricArg,
    /// Optimisation epochs [default: 500 up to 10,000 rows, else 200]
    #[arg(long)]
    epochs: Option<usize>,
    /// Random seed [default: a fresh one, printed and recorded]
    #[arg(long)]
    seed: Option<u64>,
    /// Initial layout: spectral, pca, random, or an earlier umap id (e.g. umap-001) to align with
    #[arg(long, default_value = "spectral")]
    init: String,
    /// umap (default) or pca (fast, linear)
    #[arg(long, value_enum, default_value_t = ReducerArg::Umap)]
    method: ReducerArg,
    /// Threads [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MetricArg {
    /// Cosine distance (for sentence embeddings).
    Cosine,
    /// Euclidean distance.
    Euclidean,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReducerArg {
    /// UMAP: non-linear, keeps neighbourhoods.
    Umap,
    /// PCA: linear, fast, deterministic.
    Pca,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let embedding: EmbeddingId = args.embedding.parse()?;
    let mut options = ProjectOptions::default();
    options.threads = args.threads;
    let started = Instant::now();
    let bars = Bars::new("");
    let result = match args.method {
        ReducerArg::Pca => ds.project(embedding, &PcaReducer, &options, &bars),
        ReducerArg::Umap => {
            let start = ds.umap_start(&args.init)?;
            options.init_from = start.from;
            let mut params = UmapParams::default();
            params.n_neighbors = args.neighbors;
            params.min_dist = args.min_dist;
            params.spread = args.spread;
            params.metric = match args.metric {
                MetricArg::Cosine => Metric::Cosine,
                MetricArg::Euclidean => Metric::Euclidean,
            };
            params.n_epochs = args.epochs;
            params.seed = args.seed;
            params.init = start.init;
            eprintln!(
                "umap: n_neighbors {}, min_dist {}, spread {}, metric {:?}, seed {}, init {}",
                args.neighbors,
                args.min_dist,
                args.spread,
                args.metric,
                args.seed
                    .map_or("fresh (recorded)".to_string(), |s| s.to_string()),
                args.init
            );
            ds.project(embedding, &params, &options, &bars)
        }
    };
    bars.finish();
    let id = result?;
    let meta = ds.umap_meta(id)?;
    if let Some(note) = small_data_note(&meta) {
        eprintln!("{note}");
    }
    outln!(
        "{id}: {} points from {embedding} ({}{}) in {:.2}s; thumbnail {}/{}/{id}.png",
        ds.rows(),
        meta.params
            .get("init_used")
            .and_then(|v| v.as_str())
            .unwrap_or(meta.method.as_deref().unwrap_or("")),
        meta.seed.map_or(String::new(), |s| format!(", seed {s}")),
        started.elapsed().as_secs_f64(),
        ds.id(),
        UmapId::FOLDER
    );
    Ok(())
}

/// What a layout of few rows did differently (fewer neighbours than asked,
/// or no UMAP at all), from its record.
pub(crate) fn small_data_note(meta: &latentscope::project::UmapMeta) -> Option<String> {
    let p = &meta.params;
    let used = p.get("n_neighbors_used")?.as_u64()?;
    let asked = p.get("neighbors").and_then(|v| v.as_u64()).unwrap_or(used);
    let init = p
        .get("init_used")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if used == 0 {
        return Some(format!(
            "note: too few rows for UMAP (fewer than {}): laid out by {init}",
            latentscope::umap::MIN_ROWS
        ));
    }
    (used < asked).then(|| {
        format!(
            "note: only {} rows: UMAP used {used} neighbours instead of {asked} (as umap-learn does)",
            used + 1
        )
    })
}
