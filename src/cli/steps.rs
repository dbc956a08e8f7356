//! `label`, `scope`, `run` and `demo`: the steps after clustering and the
//! whole pipeline in one command.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use latentscope::io::Store;
use latentscope::label::keywords::KeywordsLabeler;
use latentscope::pipeline::{RunConfig, RunReport, RunState, run_state};
use latentscope::scope::ScopeParts;
use latentscope::{ClusterId, Dataset, EmbedConfig, LabelOptions, LabelsId, ScopeId};

use super::progress::Bars;

/// The labelers this build has.
const LABELERS: &[&str] = &["keywords"];

pub(crate) fn label(
    store: Arc<dyn Store>,
    dataset: &str,
    cluster: &str,
    labeler: &str,
    context: Option<String>,
) -> Result<()> {
    let ds = Dataset::open(store, dataset)?;
    let cluster: ClusterId = cluster.parse()?;
    ds.require(cluster)?;
    if labeler != "keywords" {
        bail!(
            "unknown labeler {labeler:?}; this build has: {} (LLM labelers come with the API providers)",
            LABELERS.join(", ")
        );
    }
    let started = Instant::now();
    let (texts, _) = ds.texts()?;
    let keywords = KeywordsLabeler::fit(&texts);
    let mut options = LabelOptions::default();
    options.context = context.unwrap_or_default();
    let bars = Bars::new("clusters");
    let result = futures::executor::block_on(ds.label(cluster, &keywords, &options, &bars));
    bars.finish();
    let id = result?;
    let rows = ds.read_labels(id)?;
    println!(
        "{id}: {} labels by {labeler} in {:.2}s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    let mut biggest: Vec<&latentscope::cluster::ClusterLabelRow> = rows.iter().collect();
    biggest.sort_by_key(|r| std::cmp::Reverse(r.indices.len()));
    for r in biggest.iter().take(10) {
        println!("  {:>6} rows  {}", r.indices.len(), r.label);
    }
    Ok(())
}

/// Parses a labels id: `cluster-001-labels-002`, `default`, or a number.
fn labels_id(cluster: ClusterId, text: &str) -> Result<LabelsId> {
    if text == "default" {
        return Ok(LabelsId::default_for(cluster));
    }
    if let Ok(n) = text.parse::<u32>() {
        return Ok(LabelsId::new(cluster, n));
    }
    Ok(text.parse()?)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn scope(
    store: Arc<dyn Store>,
    dataset: &str,
    embedding: &str,
    umap: &str,
    cluster: &str,
    labels: &str,
    label: &str,
    description: &str,
) -> Result<()> {
    let ds = Dataset::open(store, dataset)?;
    let cluster: ClusterId = cluster.parse()?;
    let parts = ScopeParts::new(
        embedding.parse()?,
        umap.parse()?,
        cluster,
        labels_id(cluster, labels)?,
    );
    let started = Instant::now();
    let id = ds.create_scope(&parts, label, description)?;
    println!(
        "{id}: {:?} = {} → {} → {} → {} ({} rows) in {:.2}s; files in {}/{}/",
        label,
        parts.embedding,
        parts.umap,
        parts.cluster,
        parts.labels,
        ds.rows(),
        started.elapsed().as_secs_f64(),
        ds.id(),
        <ScopeId as latentscope::NumberedId>::FOLDER
    );
    Ok(())
}

/// A dataset id from a file name: its stem with other characters as '-'.
fn dataset_from_file(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() {
        "dataset".to_string()
    } else {
        id
    }
}

pub(crate) fn run(
    store: Arc<dyn Store>,
    data_dir: &Path,
    file: &Path,
    text_column: &str,
    model: &str,
    dataset: Option<String>,
) -> Result<()> {
    let dataset = dataset.unwrap_or_else(|| dataset_from_file(file));
    let config = RunConfig::new(file, text_column, model)?;
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
    pipeline(store, data_dir, &dataset, &config)
}

fn pipeline(
    store: Arc<dyn Store>,
    data_dir: &Path,
    dataset: &str,
    config: &RunConfig,
) -> Result<()> {
    let started = Instant::now();
    let embedder =
        latentscope::models::registry().resolve(&config.model, &EmbedConfig::default())?;
    let bars = Bars::new("units");
    let result = futures::executor::block_on(latentscope::pipeline::run(
        store,
        dataset,
        config,
        embedder.as_ref(),
        &bars,
    ));
    bars.finish();
    let report = result?;
    summary(&report, data_dir, started.elapsed().as_secs_f64());
    Ok(())
}

fn summary(r: &RunReport, data_dir: &Path, seconds: f64) {
    println!(
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
    for s in &r.steps {
        let time = if s.reused {
            "reused".to_string()
        } else {
            format!("{:.2}s", s.seconds)
        };
        println!("  {:<8} {:<26} {time:>9}", s.step, s.id);
    }
    println!(
        "scope {} is in {}/{}/scopes/",
        r.scope,
        data_dir.display(),
        r.dataset
    );
    println!("next: latentscope show {}", r.dataset);
}

/// The dataset the repository ships, inside the binary so `demo` needs no files.
const DEMO_CSV: &[u8] = include_bytes!("../../data/pypi-10k.csv");
/// The demo's dataset id.
const DEMO_DATASET: &str = "pypi-10k-demo";

pub(crate) fn demo(store: Arc<dyn Store>, data_dir: &Path, model: &str) -> Result<()> {
    let csv: PathBuf = data_dir.join(".latentscope-demo").join("pypi-10k.csv");
    if std::fs::read(&csv).map(|b| b != DEMO_CSV).unwrap_or(true) {
        std::fs::create_dir_all(csv.parent().unwrap_or(data_dir))?;
        std::fs::write(&csv, DEMO_CSV)?;
    }
    let config = RunConfig::new(&csv, "summary", model)?;
    match run_state(&store, DEMO_DATASET, &config)? {
        RunState::Finished(scope) => {
            println!(
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
    pipeline(store, data_dir, DEMO_DATASET, &config)
}

#[cfg(feature = "candle")]
pub(crate) fn distill(
    teacher: &str,
    dims: usize,
    out: &Path,
    precision: &str,
    sif: f64,
    refine: Option<(&Path, &str, f64)>,
) -> Result<()> {
    use latentscope::models::candle::CandleEmbedder;
    use latentscope::models::static_model::distill::{DistillOptions, Precision, distill};
    let precision = match precision {
        "float16" | "f16" => Precision::F16,
        "int8" | "i8" => Precision::I8,
        "float32" | "f32" => Precision::F32,
        other => bail!("unknown precision {other:?}; use float16, int8 or float32"),
    };
    if out.join("model.safetensors").exists() {
        bail!(
            "{} already holds a model; choose another --out",
            out.display()
        );
    }
    let started = Instant::now();
    let name = teacher.strip_prefix("candle:").unwrap_or(teacher);
    let model = CandleEmbedder::load(name, &EmbedConfig::default())?;
    let mut options = DistillOptions::new(dims);
    options.precision = precision;
    options.sif_coefficient = sif;
    let bars = Bars::new("tokens");
    let result = distill(&model, &options, &bars);
    bars.finish();
    let mut distilled = result?;
    let mut record = serde_json::Map::new();
    if let Some((file, column, ridge)) = refine {
        // The training rows, read like any input (a dataset in memory).
        let store = Arc::new(latentscope::io::MemoryStore::new());
        let train = latentscope::ingest::ingest_file(
            store,
            "train",
            file,
            &latentscope::ingest::IngestOptions::new(column),
            &latentscope::NoProgress,
        )?;
        let (texts, _) = train.texts()?;
        let bars = Bars::new("rows");
        let result = distilled.refine(&model, &texts, ridge, &bars);
        bars.finish();
        let report = result?;
        eprintln!(
            "refined on {} rows of {} (ridge {ridge}): mean cosine to the teacher on them {:.4}",
            report.rows,
            file.display(),
            report.train_cosine
        );
        record.insert(
            "refinement".into(),
            serde_json::json!({
                "method": "least-squares linear map from the static sentence vectors to the teacher's, folded into the table (tokenlearn-style, closed form)",
                "train_file": file.file_name().map(|f| f.to_string_lossy().to_string()),
                "train_column": column,
                "train_rows": report.rows,
                "ridge": ridge,
                "train_cosine": report.train_cosine,
            }),
        );
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    record.insert("command".into(), command.into());
    record.insert("seconds".into(), started.elapsed().as_secs_f64().into());
    distilled.save(out, &record)?;
    println!(
        "distilled {} tokens × {dims} dims ({}) from {name} in {:.1}s into {} (PCA kept {:.1}% of the variance{}); use it with --model static:{}",
        distilled.tokens.len(),
        precision.name(),
        started.elapsed().as_secs_f64(),
        out.display(),
        100.0 * distilled.explained_variance,
        if refine.is_some() { ", refined" } else { "" },
        out.display()
    );
    Ok(())
}

#[cfg(not(feature = "candle"))]
pub(crate) fn distill(
    _: &str,
    _: usize,
    _: &Path,
    _: &str,
    _: f64,
    _: Option<(&Path, &str, f64)>,
) -> Result<()> {
    bail!("distilling needs the cargo feature `candle`, which this build does not have")
}
