//! Command-line parsing and dispatch. Each command is a file of its own with
//! its arguments (`Args`) and its body (`execute`); the work itself is in the
//! library. Only the binary prints: results on stdout (through [`outln!`], so
//! that a closed pipe ends the command quietly), progress and notes on stderr.

mod cluster;
mod datasets;
mod delete;
mod distill;
mod embed;
mod export_site;
mod import_embedding;
mod import_umap;
mod index;
mod ingest;
mod label;
mod models;
mod progress;
mod run;
mod scope;
mod serve;
mod show;
mod tag;
mod umap;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::{Parser, Subcommand};
use latentscope::Dataset;
use latentscope::io::{LocalStore, Store};

/// Prints a line on stdout; a write error (a closed pipe) returns from the
/// command with it, and `main` treats a closed pipe as success.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}
pub(crate) use outln;

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
    Ingest(ingest::Args),
    /// List the datasets in the data directory.
    Datasets,
    /// Record precomputed vectors (.npy rows × dims, or Parquet) as an embedding.
    ImportEmbedding(import_embedding::Args),
    /// Record a 2-D layout made elsewhere (.npy n × 2, or Parquet with x, y) as a umap.
    ImportUmap(import_umap::Args),
    /// List the embedding models and labelers this build can use, the models cached on this machine, the API providers with keys and a local Ollama's models.
    Models,
    /// Embed the dataset's text column into a new embedding (resumes an interrupted run of the same model and options).
    Embed(embed::Args),
    /// Distil a static embedding model (model2vec format) from a BERT-family sentence model.
    Distill(distill::Args),
    /// Project an embedding to 2-D with UMAP (or PCA).
    Umap(umap::Args),
    /// Cluster a umap's 2-D points with HDBSCAN.
    Cluster(cluster::Args),
    /// Name each cluster of a clustering (keywords: class-based TF-IDF, offline).
    Label(label::Args),
    /// Combine an embedding, umap, clustering and labels into a named scope (what the explorer opens).
    Scope(scope::Args),
    /// Show a dataset's artifacts: every embedding, umap, clustering, labels and scope, with parameters and parents.
    Show(show::Args),
    /// Delete an artifact (and, if asked, what was made from it), or a whole dataset.
    Delete(delete::Args),
    /// Run the whole pipeline on a file: ingest → embed → umap → cluster → label → scope.
    Run(run::RunArgs),
    /// Run the whole pipeline on the dataset latentscope ships (10,000 PyPI package summaries).
    Demo(run::DemoArgs),
    /// List, add to, remove from or delete tags (named sets of rows).
    Tag(tag::Args),
    /// Serve the data directory over HTTP: the API and the map in a browser.
    Serve(serve::Args),
    /// Build an embedding's similarity-search graph (HNSW) ahead of time, for `serve`.
    Index(index::Args),
    /// Write a scope and the explorer as a static site (plain files any web server serves).
    ExportSite(export_site::Args),
}

/// What every command gets: the data directory and its store.
pub(crate) struct Context {
    /// The data directory.
    pub(crate) dir: PathBuf,
    /// The store over it.
    pub(crate) store: Arc<dyn Store>,
}

impl Context {
    /// Opens a dataset of the data directory.
    pub(crate) fn open(&self, dataset: &str) -> Result<Dataset> {
        Ok(Dataset::open(self.store.clone(), dataset)?)
    }
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

/// Parses the command line and runs the command on a Tokio runtime.
pub(crate) fn run() -> Result<()> {
    let cli = Cli::parse();
    let (dir, source) = match &cli.command {
        Command::Serve(args) if args.dir().is_some() => (
            args.dir().cloned().unwrap_or_default(),
            "the DATA_DIR argument",
        ),
        _ => data_dir(cli.data_dir.clone()),
    };
    eprintln!("data directory: {} (from {source})", dir.display());
    let ctx = Context {
        store: Arc::new(LocalStore::new(&dir)),
        dir,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("latentscope-io")
        .build()?;
    runtime.block_on(dispatch(&ctx, cli.command))
}

async fn dispatch(ctx: &Context, command: Command) -> Result<()> {
    match command {
        Command::Ingest(args) => ingest::execute(ctx, args),
        Command::Datasets => datasets::execute(ctx),
        Command::ImportEmbedding(args) => import_embedding::execute(ctx, args),
        Command::ImportUmap(args) => import_umap::execute(ctx, args),
        Command::Models => models::execute(ctx).await,
        Command::Embed(args) => embed::execute(ctx, args).await,
        Command::Distill(args) => distill::execute(args),
        Command::Umap(args) => umap::execute(ctx, args),
        Command::Cluster(args) => cluster::execute(ctx, args),
        Command::Label(args) => label::execute(ctx, args).await,
        Command::Scope(args) => scope::execute(ctx, args),
        Command::Show(args) => show::execute(ctx, args),
        Command::Delete(args) => delete::execute(ctx, args),
        Command::Run(args) => run::execute_run(ctx, args).await,
        Command::Demo(args) => run::execute_demo(ctx, args).await,
        Command::Tag(args) => tag::execute(ctx, args),
        Command::Serve(args) => serve::execute(ctx, args).await,
        Command::Index(args) => index::execute(ctx, args),
        Command::ExportSite(args) => export_site::execute(ctx, args).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // clap's own checks (unique ids, valid defaults), which it otherwise
        // runs only in debug builds.
        super::Cli::command().debug_assert();
    }
}
