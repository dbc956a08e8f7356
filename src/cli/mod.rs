//! Command-line parsing and the commands. Only the binary prints.

mod progress;
mod show;
mod steps;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use latentscope::cluster::{ClusterOptions, default_hdbscan_params};
use latentscope::hdbscan::{ClusterSelectionMethod, HdbscanParams};
use latentscope::ingest::{IngestOptions, ingest_file};
use latentscope::io::{LocalStore, Store};
use latentscope::project::{PcaReducer, ProjectOptions};
use latentscope::umap::{Init, Metric, UmapParams};
use latentscope::{Dataset, EmbedConfig, EmbedOptions, EmbeddingId, NumberedId, UmapId};

use progress::Bars;

/// The environment variable that names the data directory.
const DATA_ENV: &str = "LATENT_SCOPE_DATA";
/// The data directory when neither `--data-dir` nor the variable is given.
const DEFAULT_DATA_DIR: &str = "./latent-scope-data";

/// See what is inside a text dataset through its embeddings.
#[derive(Debug, Parser)]
#[command(name = "latentscope", version, about, long_about = None)]
struct Cli {
    /// The data directory [default: $LATENT_SCOPE_DATA, else ./latent-scope-data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest a CSV, TSV, Parquet or JSON Lines file as a new dataset.
    Ingest {
        /// The new dataset's id: letters, digits, '_' and '-'.
        dataset: String,
        /// The file to read (.csv, .tsv, .parquet, .jsonl, .ndjson).
        file: PathBuf,
        /// The column that holds the text to embed.
        #[arg(long, value_name = "COLUMN")]
        text_column: String,
    },
    /// List the datasets in the data directory.
    Datasets,
    /// Record precomputed vectors (.npy rows × dims, or Parquet) as an embedding.
    ImportEmbedding {
        /// The dataset.
        dataset: String,
        /// A .npy or .parquet file with one vector per input row.
        file: PathBuf,
    },
    /// Record a 2-D layout made elsewhere (.npy n × 2, or Parquet with x, y) as a umap.
    ImportUmap {
        /// The dataset.
        dataset: String,
        /// A .npy or .parquet file with one point per input row.
        file: PathBuf,
    },
    /// List the embedding models this build can use, and the models cached on this machine.
    Models,
    /// Embed the dataset's text column into a new embedding (resumes an interrupted run of the same model and options).
    Embed {
        /// The dataset.
        dataset: String,
        /// The model: a spec such as candle:sentence-transformers/all-MiniLM-L6-v2, candle:/path/to/dir (`latentscope models` lists them)
        #[arg(long, default_value = latentscope::models::DEFAULT_MODEL)]
        model: String,
        /// Text put before every row [default: the model's own document prompt, usually none]
        #[arg(long)]
        prefix: Option<String>,
        /// Rows per batch [default: the model's, 32 for candle]
        #[arg(long)]
        batch_size: Option<usize>,
        /// Keep only the first D dimensions, renormalised (Matryoshka models)
        #[arg(long, value_name = "D")]
        dimensions: Option<usize>,
        /// Truncate texts to this many tokens [default: the model's max_seq_length]
        #[arg(long)]
        max_tokens: Option<usize>,
        /// Threads [default: all cores]
        #[arg(long)]
        threads: Option<usize>,
        /// Seconds of work between checkpoints that an interrupted run resumes from (0: after every part of 64 batches)
        #[arg(long, default_value_t = 5.0)]
        checkpoint_seconds: f64,
    },
    /// Distil a static embedding model (model2vec format) from a BERT-family sentence model.
    Distill {
        /// The teacher: a candle model spec or directory (candle:sentence-transformers/all-MiniLM-L6-v2)
        #[arg(long = "from", value_name = "MODEL")]
        teacher: String,
        /// Output dimensions (PCA components)
        #[arg(long, default_value_t = 256)]
        dims: usize,
        /// The directory to write
        #[arg(long)]
        out: PathBuf,
        /// Storage: float16 (model2vec's default), int8 (per-row scales), float32
        #[arg(long, default_value = "float16")]
        precision: String,
        /// SIF coefficient of the token weights
        #[arg(long, default_value_t = 1e-4)]
        sif: f64,
        /// Refine the token vectors against the teacher's sentence vectors of this table's rows (keep them apart from rows you measure on)
        #[arg(long, value_name = "FILE")]
        refine_on: Option<PathBuf>,
        /// The text column of --refine-on
        #[arg(long, default_value = "text")]
        refine_column: String,
        /// Ridge coefficient of the refinement (× rows)
        #[arg(long, default_value_t = 1e-6)]
        ridge: f64,
    },
    /// Project an embedding to 2-D with UMAP (or PCA).
    Umap {
        /// The dataset.
        dataset: String,
        /// The embedding to project (e.g. embedding-001).
        embedding: String,
        /// Neighbours per point (UMAP n_neighbors)
        #[arg(long, default_value_t = 25)]
        neighbors: usize,
        /// How tightly points pack (UMAP min_dist)
        #[arg(long, default_value_t = 0.1)]
        min_dist: f32,
        /// The scale of the embedded points (UMAP spread)
        #[arg(long, default_value_t = 1.0)]
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
    },
    /// Cluster a umap's 2-D points with HDBSCAN.
    Cluster {
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
    },
    /// Name each cluster of a clustering (keywords: class-based TF-IDF, offline).
    Label {
        /// The dataset.
        dataset: String,
        /// The clustering to label (e.g. cluster-001).
        cluster: String,
        /// The labeler
        #[arg(long, default_value = "keywords")]
        labeler: String,
        /// Context about the dataset for the labeler
        #[arg(long)]
        context: Option<String>,
    },
    /// Combine an embedding, umap, clustering and labels into a named scope (what the explorer opens).
    Scope {
        /// The dataset.
        dataset: String,
        /// The embedding (e.g. embedding-001).
        embedding: String,
        /// The umap made from it (e.g. umap-001).
        umap: String,
        /// The clustering of that umap (e.g. cluster-001).
        cluster: String,
        /// Its labels: cluster-001-labels-001, a number, or "default".
        labels: String,
        /// The scope's name
        #[arg(long)]
        label: String,
        /// A longer description
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a dataset's artifacts: every embedding, umap, clustering, labels and scope, with parameters and parents.
    Show {
        /// The dataset.
        dataset: String,
    },
    /// Run the whole pipeline on a file: ingest → embed → umap → cluster → label → scope.
    Run {
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
    },
    /// Run the whole pipeline on the dataset latentscope ships (10,000 PyPI package summaries).
    Demo {
        /// The embedding model
        #[arg(long, default_value = latentscope::models::DEFAULT_MODEL)]
        model: String,
    },
    /// List, add to, remove from or delete tags (named sets of rows).
    Tag {
        /// The dataset.
        dataset: String,
        #[command(subcommand)]
        action: TagAction,
    },
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

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SelectionArg {
    /// Excess of mass: the most persistent clusters.
    Eom,
    /// Leaf: the finest clusters of the condensed tree.
    Leaf,
}

#[derive(Debug, Subcommand)]
enum TagAction {
    /// List the tags and their sizes.
    List,
    /// Add rows to a tag (created if needed).
    Add {
        /// The tag name.
        name: String,
        /// Row indices.
        #[arg(required = true)]
        rows: Vec<u64>,
    },
    /// Remove rows from a tag.
    Remove {
        /// The tag name.
        name: String,
        /// Row indices.
        #[arg(required = true)]
        rows: Vec<u64>,
    },
    /// Delete a tag.
    Delete {
        /// The tag name.
        name: String,
    },
}

/// Resolves the data directory and says which source it came from.
fn data_dir(flag: Option<PathBuf>) -> (PathBuf, &'static str) {
    if let Some(dir) = flag {
        return (dir, "--data-dir");
    }
    match std::env::var_os(DATA_ENV) {
        Some(dir) if !dir.is_empty() => (PathBuf::from(dir), DATA_ENV),
        _ => (PathBuf::from(DEFAULT_DATA_DIR), "default"),
    }
}

pub(crate) fn run() -> Result<()> {
    let cli = Cli::parse();
    let (dir, source) = data_dir(cli.data_dir);
    eprintln!("data directory: {} (from {source})", dir.display());
    let store: Arc<dyn Store> = Arc::new(LocalStore::new(&dir));
    match cli.command {
        Command::Ingest {
            dataset,
            file,
            text_column,
        } => ingest(store, &dataset, &file, &text_column),
        Command::Datasets => datasets(store.as_ref()),
        Command::ImportEmbedding { dataset, file } => {
            let ds = Dataset::open(store, &dataset)?;
            let bars = Bars::new("rows");
            let id: EmbeddingId = ds.import_embedding(&file, &bars)?;
            bars.finish();
            let meta = ds.embedding_meta(id)?;
            println!(
                "{id}: {} rows × {} dims from {}",
                ds.rows(),
                meta.dimensions,
                file.display()
            );
            Ok(())
        }
        Command::ImportUmap { dataset, file } => {
            let ds = Dataset::open(store, &dataset)?;
            let bars = Bars::new("points");
            let id: UmapId = ds.import_umap(&file, &bars)?;
            bars.finish();
            println!(
                "{id}: {} points from {} (scaled to [-1, 1]; thumbnail {}/{}/{id}.png)",
                ds.rows(),
                file.display(),
                ds.id(),
                UmapId::FOLDER
            );
            Ok(())
        }
        Command::Tag { dataset, action } => tag(store, &dataset, action),
        Command::Models => models(),
        Command::Distill {
            teacher,
            dims,
            out,
            precision,
            sif,
            refine_on,
            refine_column,
            ridge,
        } => steps::distill(
            &teacher,
            dims,
            &out,
            &precision,
            sif,
            refine_on
                .as_deref()
                .map(|f| (f, refine_column.as_str(), ridge)),
        ),
        Command::Label {
            dataset,
            cluster,
            labeler,
            context,
        } => steps::label(store, &dataset, &cluster, &labeler, context),
        Command::Scope {
            dataset,
            embedding,
            umap,
            cluster,
            labels,
            label,
            description,
        } => steps::scope(
            store,
            &dataset,
            &embedding,
            &umap,
            &cluster,
            &labels,
            &label,
            &description,
        ),
        Command::Show { dataset } => show::show(store, &dataset),
        Command::Run {
            file,
            text_column,
            model,
            dataset,
        } => steps::run(store, &dir, &file, &text_column, &model, dataset),
        Command::Demo { model } => steps::demo(store, &dir, &model),
        Command::Embed {
            dataset,
            model,
            prefix,
            batch_size,
            dimensions,
            max_tokens,
            threads,
            checkpoint_seconds,
        } => {
            let ds = Dataset::open(store, &dataset)?;
            let config = EmbedConfig::default()
                .with_threads(threads)
                .with_max_tokens(max_tokens)
                .with_dimensions(dimensions);
            let loading = Instant::now();
            let embedder = latentscope::models::registry().resolve(&model, &config)?;
            let spec = embedder.spec().clone();
            eprintln!(
                "model {} loaded in {:.2}s: {} dims, max {} tokens{}",
                spec.spec_string(),
                loading.elapsed().as_secs_f64(),
                spec.dimensions,
                spec.max_tokens.map_or("?".to_string(), |t| t.to_string()),
                if spec.normalized { ", normalised" } else { "" }
            );
            let options = EmbedOptions::default()
                .with_prefix(prefix)
                .with_batch_size(batch_size)
                .with_checkpoint_seconds(checkpoint_seconds)
                .with_model_spec(Some(model.clone()));
            let bars = Bars::new("rows");
            let result = futures::executor::block_on(ds.embed(embedder.as_ref(), &options, &bars));
            bars.finish();
            let outcome = result?;
            let meta = ds.embedding_meta(outcome.id)?;
            let fresh = outcome.rows - outcome.resumed_rows;
            if outcome.resumed_rows > 0 {
                eprintln!(
                    "resumed {}: {} rows were already embedded by an interrupted run",
                    outcome.id, outcome.resumed_rows
                );
            }
            println!(
                "{}: {} rows × {} dims with {model} in {:.2}s ({:.0} rows/s){}",
                outcome.id,
                outcome.rows,
                meta.dimensions,
                outcome.seconds,
                fresh as f64 / outcome.seconds.max(1e-9),
                match meta.null_count {
                    Some(n) if n > 0 => format!("; {n} null texts embedded as empty text"),
                    _ => String::new(),
                }
            );
            Ok(())
        }
        Command::Umap {
            dataset,
            embedding,
            neighbors,
            min_dist,
            spread,
            metric,
            epochs,
            seed,
            init,
            method,
            threads,
        } => {
            let ds = Dataset::open(store, &dataset)?;
            let embedding: EmbeddingId = embedding.parse()?;
            let mut options = ProjectOptions::default();
            options.threads = threads;
            let started = Instant::now();
            let bars = Bars::new("");
            let result = match method {
                ReducerArg::Pca => ds.project(embedding, &PcaReducer, &options, &bars),
                ReducerArg::Umap => {
                    let mut params = UmapParams::default();
                    params.n_neighbors = neighbors;
                    params.min_dist = min_dist;
                    params.spread = spread;
                    params.metric = match metric {
                        MetricArg::Cosine => Metric::Cosine,
                        MetricArg::Euclidean => Metric::Euclidean,
                    };
                    params.n_epochs = epochs;
                    let seed = seed.unwrap_or_else(fresh_seed);
                    params.seed = Some(seed);
                    params.init = match init.as_str() {
                        "spectral" => Init::Spectral,
                        "pca" => Init::Pca,
                        "random" => Init::Random,
                        other => {
                            let from: UmapId = other
                                .parse()
                                .context("--init takes spectral, pca, random or a umap id")?;
                            let layout = ds.read_umap(from)?;
                            options.init_from = Some(from);
                            Init::Coordinates(ndarray_from_layout(&layout.xy)?)
                        }
                    };
                    eprintln!(
                        "umap: n_neighbors {neighbors}, min_dist {min_dist}, spread {spread}, metric {metric:?}, seed {seed}, init {init}"
                    );
                    ds.project(embedding, &params, &options, &bars)
                }
            };
            bars.finish();
            let id = result?;
            let meta = ds.umap_meta(id)?;
            println!(
                "{id}: {} points from {embedding} ({}) in {:.2}s; thumbnail {}/{}/{id}.png",
                ds.rows(),
                meta.params
                    .get("init_used")
                    .and_then(|v| v.as_str())
                    .unwrap_or(meta.method.as_deref().unwrap_or("")),
                started.elapsed().as_secs_f64(),
                ds.id(),
                UmapId::FOLDER
            );
            Ok(())
        }
        Command::Cluster {
            dataset,
            umap,
            min_cluster_size,
            min_samples,
            epsilon,
            method,
            assign_noise,
            threads,
        } => {
            let ds = Dataset::open(store, &dataset)?;
            let umap: UmapId = umap.parse()?;
            let defaults = default_hdbscan_params(ds.rows() as usize);
            let mcs = min_cluster_size.unwrap_or(defaults.min_cluster_size);
            let ms = min_samples.unwrap_or(mcs.min(5));
            let params = HdbscanParams::new(mcs)
                .with_min_samples(ms)
                .with_cluster_selection_epsilon(epsilon)
                .with_method(match method {
                    SelectionArg::Eom => ClusterSelectionMethod::Eom,
                    SelectionArg::Leaf => ClusterSelectionMethod::Leaf,
                });
            eprintln!(
                "hdbscan: min_cluster_size {mcs}{}, min_samples {ms}{}, epsilon {epsilon}, method {method:?}",
                if min_cluster_size.is_none() {
                    format!(" (default for {} rows)", ds.rows())
                } else {
                    String::new()
                },
                if min_samples.is_none() {
                    " (default)"
                } else {
                    ""
                },
            );
            let mut options = ClusterOptions::default();
            options.assign_noise = assign_noise;
            options.threads = threads;
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
            println!(
                "{id}: {} clusters, {} noise points ({share:.1}%) {noise}; clustering {:.3}s, step {:.2}s",
                meta.n_clusters,
                meta.n_noise,
                meta.cluster_seconds.unwrap_or(0.0),
                meta.seconds.unwrap_or(0.0)
            );
            Ok(())
        }
    }
}

fn ingest(store: Arc<dyn Store>, id: &str, file: &Path, text_column: &str) -> Result<()> {
    let started = Instant::now();
    let bars = Bars::new("rows");
    let result = ingest_file(store, id, file, &IngestOptions::new(text_column), &bars);
    bars.finish();
    let ds = result.with_context(|| format!("cannot ingest {}", file.display()))?;
    let meta = ds.meta();
    println!(
        "ingested {} rows × {} columns from {} as dataset {:?} in {:.2}s (text column: {})",
        meta.length,
        meta.columns.len(),
        file.display(),
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
            println!(
                "  {column:<24} {:<8} {} distinct, {} null{extra}",
                c.kind,
                c.unique_values_count,
                c.null_count.unwrap_or(0)
            );
        }
    }
    Ok(())
}

fn datasets(store: &dyn Store) -> Result<()> {
    let all = Dataset::list(store)?;
    if all.is_empty() {
        println!(
            "no datasets yet; make one with `latentscope ingest <dataset> <file> --text-column <column>`"
        );
        return Ok(());
    }
    println!(
        "{:<24} {:>10} {:>8}  {:<16} created",
        "dataset", "rows", "columns", "text column"
    );
    for m in all {
        println!(
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

fn tag(store: Arc<dyn Store>, dataset: &str, action: TagAction) -> Result<()> {
    let ds = Dataset::open(store, dataset)?;
    match action {
        TagAction::List => {
            let tags = ds.tags()?;
            if tags.is_empty() {
                println!("no tags in {dataset}");
            }
            for t in tags {
                println!("{t}\t{} rows", ds.tag_rows(&t)?.len());
            }
        }
        TagAction::Add { name, rows } => {
            let n = ds.add_to_tag(&name, &rows)?;
            println!("tag {name:?} now has {n} rows");
        }
        TagAction::Remove { name, rows } => {
            let n = ds.remove_from_tag(&name, &rows)?;
            println!("tag {name:?} now has {n} rows");
        }
        TagAction::Delete { name } => {
            ds.delete_tag(&name)?;
            println!("deleted tag {name:?}");
        }
    }
    Ok(())
}

/// A seed for runs that were given none: printed and recorded, so the run can be repeated.
fn models() -> Result<()> {
    let registry = latentscope::models::registry();
    println!("Model specs this build understands:");
    for entry in registry.entries() {
        match &entry.missing_feature {
            None => println!("  {:<10} {}", entry.spec, entry.description),
            Some(feature) => println!(
                "  {:<10} (not in this build: cargo feature `{feature}`) {}",
                entry.spec, entry.description
            ),
        }
        for example in &entry.examples {
            println!("             e.g. {example}");
        }
    }
    println!("Default: {}", latentscope::models::DEFAULT_MODEL);
    let cached = latentscope::models::locate::cached_models();
    if cached.is_empty() {
        println!(
            "No models cached on this machine (scripts/fetch-model fetches all-MiniLM-L6-v2)."
        );
    } else {
        println!("Cached on this machine:");
        for (name, dir) in cached {
            println!("  {name:<45} {}", dir.display());
        }
    }
    Ok(())
}

fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0);
    (nanos ^ (std::process::id() as u64) << 20) % 1_000_000
}

fn ndarray_from_layout(xy: &[f32]) -> Result<latentscope::ndarray::Array2<f32>> {
    latentscope::ndarray::Array2::from_shape_vec((xy.len() / 2, 2), xy.to_vec())
        .context("layout shape")
}
