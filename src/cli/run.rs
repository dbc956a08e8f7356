//! `latentscope run <file> --text-column <col>` and `latentscope demo`: the
//! whole pipeline in one command (the library's `pipeline::run`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use latentscope::ingest::dataset_id_for;
use latentscope::io::Store;
use latentscope::pipeline::{RunConfig, RunReport, RunState, run_state};

use super::progress::Bars;
use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The file (.csv, .tsv, .parquet, .jsonl).
    file: PathBuf,
    /// The column that holds the text.
    #[arg(long, value_name = "COLUMN")]
    text_column: String,
    /// The embedding model (`latentscope models` lists them)
    #[arg(long, default_value = latentscope::models::DEFAULT_MODEL)]
    model: String,
    /// The dataset id [default: the file name without extension]
    #[arg(long)]
    dataset: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// The embedding model
    #[arg(long, default_value = latentscope::models::DEFAULT_MODEL)]
    model: String,
}

pub(crate) async fn execute_run(ctx: &Context, args: RunArgs) -> Result<()> {
    let (store, data_dir, file) = (ctx.store.clone(), ctx.dir.as_path(), args.file.as_path());
    let dataset = args.dataset.unwrap_or_else(|| dataset_id_for(file));
    let config = RunConfig::new(file, &args.text_column, &args.model)?;
    match run_state(&store, &dataset, &config)? {
        RunState::Fresh => eprintln!("run: {} → dataset {dataset:?}", file.display()),
        RunState::Unfinished(_) => eprintln!(
            "run: dataset {dataset:?} holds an unfinished run of this file with these parameters; continuing it (finished steps are reused)"
        ),
        RunState::Finished(scope) => bail!(
            "dataset {dataset:?} already holds a finished run of {} ({scope}); see it with `latentscope show {dataset}`, or pass --dataset to run again under another id",
            file.display()
        ),
    }
    pipeline(store, data_dir, &dataset, &config).await
}

async fn pipeline(
    store: Arc<dyn Store>,
    data_dir: &Path,
    dataset: &str,
    config: &RunConfig,
) -> Result<()> {
    let started = Instant::now();
    let embedders = latentscope::models::registry();
    let bars = Bars::new("units");
    let result = latentscope::pipeline::run(store, dataset, config, &embedders, &bars).await;
    bars.finish();
    let report = result?;
    summary(&report, data_dir, started.elapsed().as_secs_f64())
}

fn summary(r: &RunReport, data_dir: &Path, seconds: f64) -> Result<()> {
    outln!(
        "{}: {} rows → {} clusters, {:.1}% noise, in {seconds:.1}s{}",
        r.dataset,
        r.rows,
        r.clusters,
        100.0 * r.noise as f64 / r.rows.max(1) as f64,
        if r.resumed {
            " (continued an interrupted run)"
        } else {
            ""
        }
    );
    let store = Arc::new(latentscope::io::LocalStore::new(data_dir));
    if let Ok(ds) = latentscope::Dataset::open(store, &r.dataset)
        && let Some(umap) = r.steps.iter().find(|s| s.step == "umap")
        && let Ok(id) = umap.id.parse()
        && let Ok(meta) = ds.umap_meta(id)
        && let Some(note) = super::umap::small_data_note(&meta)
    {
        eprintln!("{note}");
    }
    for s in &r.steps {
        let time = if s.reused {
            "reused".to_string()
        } else {
            format!("{:.2}s", s.seconds)
        };
        outln!("  {:<8} {:<26} {time:>9}", s.step, s.id);
    }
    outln!(
        "scope {} is in {}/{}/scopes/",
        r.scope,
        data_dir.display(),
        r.dataset
    );
    outln!("next: latentscope show {}", r.dataset);
    outln!(
        "explore: latentscope serve, then http://127.0.0.1:5001/datasets/{}/explore/{}",
        r.dataset,
        r.scope
    );
    Ok(())
}

/// The dataset the repository ships, inside the binary so `demo` needs no files.
const DEMO_CSV: &[u8] = include_bytes!("../../data/pypi-10k.csv");
/// The demo's dataset id.
const DEMO_DATASET: &str = "pypi-10k-demo";

pub(crate) async fn execute_demo(ctx: &Context, args: DemoArgs) -> Result<()> {
    let (store, data_dir, model) = (ctx.store.clone(), ctx.dir.as_path(), args.model.as_str());
    let csv: PathBuf = data_dir.join(".latentscope-demo").join("pypi-10k.csv");
    if std::fs::read(&csv).map(|b| b != DEMO_CSV).unwrap_or(true) {
        std::fs::create_dir_all(csv.parent().unwrap_or(data_dir))?;
        std::fs::write(&csv, DEMO_CSV)?;
    }
    let config = RunConfig::new(&csv, "summary", model)?;
    match run_state(&store, DEMO_DATASET, &config)? {
        RunState::Finished(scope) => {
            outln!(
                "the demo already ran: dataset {DEMO_DATASET:?} in {} ({scope}); see it with `latentscope show {DEMO_DATASET}`",
                data_dir.display()
            );
            return Ok(());
        }
        RunState::Unfinished(_) => eprintln!("demo: continuing the interrupted demo run"),
        RunState::Fresh => eprintln!(
            "demo: 10,000 PyPI package summaries (shipped with latentscope) → dataset {DEMO_DATASET:?}, model {model}"
        ),
    }
    pipeline(store, data_dir, DEMO_DATASET, &config).await
}
