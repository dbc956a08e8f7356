//! latentscope: see what is inside a text dataset through the lens of its
//! embeddings. Ingest a table, embed each row, project the vectors to 2-D,
//! cluster, label, and explore: every step recorded as flat files (Parquet,
//! JSON, PNG) in a data directory that the Python latent-scope also reads.
//!
//! # Brief overview
//!
//! This crate is the facade: it re-exports [`latentscope_core`] (the
//! [`Dataset`] handle, typed ids, steps and plugin traits), [`io`] (storage
//! and formats), [`models`] and [`server`], and ships the `latentscope`
//! command-line tool.
//!
//! ```
//! use std::sync::Arc;
//! use latentscope::ingest::{ingest_file, IngestOptions};
//! use latentscope::io::LocalStore;
//! use latentscope::{Dataset, NoProgress};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let csv = dir.path().join("pets.csv");
//! std::fs::write(&csv, "name,text\nTom,a grey cat\nRex,a loyal dog\n").unwrap();
//!
//! let store = Arc::new(LocalStore::new(dir.path().join("data")));
//! let ds = ingest_file(store.clone(), "pets", &csv, &IngestOptions::new("text"), &NoProgress)?;
//! assert_eq!(ds.rows(), 2);
//! assert_eq!(ds.meta().columns, ["name", "text"]);
//!
//! let again = Dataset::open(store, "pets")?;
//! assert_eq!(again.texts()?.texts, ["a grey cat", "a loyal dog"]);
//! # Ok::<(), latentscope::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub use latentscope_core::*;
pub use latentscope_io as io;
pub use latentscope_models as models;
pub use latentscope_server as server;

/// The types most programs use, and the built-in models:
/// `use latentscope::prelude::*;` (see `examples/pipeline.rs`).
pub mod prelude {
    pub use latentscope_core::prelude::*;
    pub use latentscope_models::{DEFAULT_MODEL, registry as embedders};
}
