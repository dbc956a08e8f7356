//! `latentscope index <dataset> <embedding>`: builds the HNSW graph a server
//! searches embeddings above 150k rows with, ahead of time, into
//! `<dataset>/indexes/` (a server otherwise builds it in memory on the first
//! search, answering exactly meanwhile).

use anyhow::Result;
use latentscope::EmbeddingId;
use latentscope::server::search::hnsw::{HnswParams, IndexError, write_index};

use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    /// The embedding (embedding-001).
    embedding: EmbeddingId,
    /// Neighbours kept per node (M)
    #[arg(long, default_value_t = HnswParams::default().connections)]
    connections: usize,
    /// Candidates explored while building
    #[arg(long, default_value_t = HnswParams::default().ef_construction)]
    ef_construction: usize,
    /// Candidates explored while searching
    #[arg(long, default_value_t = HnswParams::default().ef_search)]
    ef_search: usize,
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    let params = HnswParams {
        connections: args.connections,
        ef_construction: args.ef_construction,
        ef_search: args.ef_search,
    };
    let record = write_index(&ctx.dir, &ds, args.embedding, params, &|done, all| {
        eprint!("\rindex: {done}/{all} rows");
    })
    .map_err(|e| match e {
        // The core's own error, so the exit code says what kind it is.
        IndexError::Read(e) => anyhow::Error::from(e),
        other => other.into(),
    })?;
    eprintln!();
    outln!(
        "indexed {}/{}: {} rows × {} in {:.1} s → {}/indexes/{}.hnsw.graph",
        args.dataset,
        record.embedding,
        record.rows,
        record.dimensions,
        record.build_seconds,
        args.dataset,
        record.embedding
    );
    Ok(())
}
