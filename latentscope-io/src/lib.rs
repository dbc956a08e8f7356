//! Formats and storage for latentscope.
//!
//! # Brief overview
//!
//! - [`Store`] is the storage contract ([`LocalStore`] on disk,
//!   [`MemoryStore`] in memory): atomic writes, put-if-absent, listing and a
//!   per-dataset writer lock.
//! - [`read::open_table`] reads a user's CSV, TSV, Parquet or JSON Lines file
//!   as a stream of Arrow batches, inferring column types from the whole file.
//! - [`table`] writes and reads Parquet tables in a store; [`matrix`] stores
//!   embedding matrices as Parquet vector columns; [`json`] reads and writes
//!   metadata; [`npy`] reads and writes NumPy arrays.
//!
//! ```
//! use latentscope_io::{MemoryStore, Store};
//!
//! let store = MemoryStore::new();
//! store.put_if_absent("demo/a.json", b"{}")?;
//! assert!(store.put_if_absent("demo/a.json", b"{}").is_err());
//! assert_eq!(store.list("demo")?.len(), 1);
//! # Ok::<(), latentscope_io::Error>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod error;
#[cfg(feature = "hdf5")]
pub mod h5;
pub mod json;
pub mod matrix;
pub mod npy;
mod plain_vectors;
pub mod read;
pub mod store;
pub mod table;

pub use arrow_array;
pub use arrow_schema;
pub use error::{Error, Result};
pub use matrix::Matrix;
pub use store::{AtomicWrite, Blob, Entry, LocalStore, MemoryStore, Store, WriterLock};
