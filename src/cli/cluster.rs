//! `latentscope cluster <dataset> <umap> …`: HDBSCAN on a umap's points.

use anyhow::Result;
use latentscope::UmapId;
use latentscope::cluster::{ClusterOptions, default_hdbscan_params};
use latentscope::hdbscan::{ClusterSelectionMethod, HdbscanParams};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The umap to cluster (e.g. umap-001).
    umap: String,
    /// Smallest cluster [default: from the row count, e.g. 25 for 10k rows]
    #[arg(long)]
    min_cluster_size: Option<usize>,
    /// Neighbours for the core distance [default: min(5, min-cluster-size)]
    #[arg(long)]
    min_samples: Option<usize>,
    /// Merge clusters closer than this (cluster_selection_epsilon)
    #[arg(long, default_value_t = 0.0)]
    epsilon: f64,
    /// Cluster selection: excess of mass (eom) or leaf
    #[arg(long, value_enum, default_value_t = SelectionArg::Eom)]
    method: SelectionArg,
    /// Assign noise to the nearest cluster instead of an "Unclustered" cluster
    #[arg(long)]
    assign_noise: bool,
    /// Threads [default: all cores]
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SelectionArg {
    /// Excess of mass: the most persistent clusters.
    Eom,
    /// Leaf: the finest clusters of the condensed tree.
    Leaf,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let umap: UmapId = args.umap.parse()?;
    let defaults = default_hdbscan_params(ds.rows() as usize);
    let mcs = args.min_cluster_size.unwrap_or(defaults.min_cluster_size);
    let ms = args.min_samples.unwrap_or(mcs.min(5));
    let params = HdbscanParams::new(mcs)
        .with_min_samples(ms)
        .with_cluster_selection_epsilon(args.epsilon)
        .with_method(match args.method {
            SelectionArg::Eom => ClusterSelectionMethod::Eom,
            SelectionArg::Leaf => ClusterSelectionMethod::Leaf,
        });
    eprintln!(
        "hdbscan: min_cluster_size {mcs}{}, min_samples {ms}{}, epsilon {}, method {:?}",
        if args.min_cluster_size.is_none() {
            format!(" (default for {} rows)", ds.rows())
        } else {
            String::new()
        },
        if args.min_samples.is_none() {
            " (default)"
        } else {
            ""
        },
        args.epsilon,
        args.method,
    );
    let mut options = ClusterOptions::default();
    options.assign_noise = args.assign_noise;
    options.threads = args.threads;
    let bars = Bars::new("steps");
    let result = ds.cluster(umap, &params, &options, &bars);
    bars.finish();
    let id = result?;
    let meta = ds.cluster_meta(id)?;
    let share = 100.0 * meta.n_noise as f64 / ds.rows().max(1) as f64;
    let noise = match meta.unclustered_cluster {
        Some(c) => format!("kept as cluster {c} \"Unclustered\""),
        None if meta.assign_noise => "assigned to the nearest cluster".to_string(),
        None => "none".to_string(),
    };
    outln!(
        "{id}: {} clusters, {} noise points ({share:.1}%) {noise}; clustering {:.3}s, step {:.2}s",
        meta.n_clusters,
        meta.n_noise,
        meta.cluster_seconds.unwrap_or(0.0),
        meta.seconds.unwrap_or(0.0)
    );
    Ok(())
}
