//! The storage contract: where datasets and artifacts live.
//!
//! A [`Store`] maps `/`-separated relative keys (`pypi-10k/input.parquet`) to
//! bytes. It is shaped so that an object store (S3, GCS, Azure) can implement
//! it later without a rename: every write is atomic per key (readers see the
//! old bytes or the new, never a part), [`Store::put_if_absent`] is how ids are
//! claimed, and [`Store::lock`] gives one writer per dataset.
//!
//! [`LocalStore`] is the default (a directory on disk); [`MemoryStore`] keeps
//! everything in memory for tests and for apps that never touch the disk.

mod local;
mod memory;

pub use local::LocalStore;
pub use memory::MemoryStore;

use std::fmt;
use std::fs::File;
use std::io::Write;

use bytes::Bytes;

use crate::error::{Error, Result};

/// One entry of a [`Store::list`] answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The entry's name inside the listed prefix (no `/`).
    pub name: String,
    /// True when the entry is a "directory" (a prefix of other keys).
    pub is_dir: bool,
}

/// The storage contract (see the [module docs](self)).
///
/// Keys are relative, `/`-separated, with no empty, `.` or `..` component.
/// Names starting with `.` are private to the store and the dataset machinery
/// (locks, id claims); names `.<name>.<pid>.<n>.tmp` are writes in progress,
/// which [`Store::list`] never shows.
pub trait Store: Send + Sync + fmt::Debug + fmt::Display {
    /// Reads the whole object.
    fn get(&self, key: &str) -> Result<Bytes>;

    /// Opens the object for random access (Parquet readers read the footer first).
    fn open(&self, key: &str) -> Result<Blob>;

    /// Writes the object atomically, replacing any previous one.
    fn put(&self, key: &str, data: &[u8]) -> Result<()>;

    /// Writes the object only if the key does not exist yet; otherwise
    /// [`Error::AlreadyExists`]. Atomic: two callers never both succeed.
    fn put_if_absent(&self, key: &str, data: &[u8]) -> Result<()>;

    /// Starts a streaming atomic write: nothing is visible at `key` until
    /// [`AtomicWrite::commit`]; dropping the writer without committing
    /// discards what was written.
    fn writer(&self, key: &str) -> Result<Box<dyn AtomicWrite>>;

    /// Lists the immediate children of `prefix` ("" for the top level),
    /// sorted by name, without writes in progress. A missing prefix lists nothing.
    fn list(&self, prefix: &str) -> Result<Vec<Entry>>;

    /// True when an object exists at `key`.
    fn exists(&self, key: &str) -> Result<bool>;

    /// Removes the object; removing a missing key is not an error. A prefix
    /// left with no keys disappears from listings.
    fn delete(&self, key: &str) -> Result<()>;

    /// The object's path on this machine's file system, for a store that
    /// keeps its objects as files (libraries that read only files, HDF5).
    fn local_path(&self, key: &str) -> Option<std::path::PathBuf> {
        let _ = key;
        None
    }

    /// Takes the exclusive writer lock named by `key` (for a dataset:
    /// `<dataset>/.lock`). A second writer gets [`Error::Locked`] at once.
    /// The lock is released when the guard drops, or when the process holding
    /// it dies: a crashed writer never leaves it stuck.
    fn lock(&self, key: &str) -> Result<WriterLock>;

    /// Removes what writers of `key` left behind when they died before
    /// committing (a killed step's temporary file can be gigabytes). Call it
    /// only while holding the lock that guards `key`'s writers, so that no
    /// live write is touched. Stores with nothing to leave behind keep the
    /// default, which does nothing.
    fn discard_abandoned_writes(&self, key: &str) -> Result<()> {
        let _ = key;
        Ok(())
    }
}

/// A streaming write that becomes visible only on [`commit`](AtomicWrite::commit).
pub trait AtomicWrite: Write + Send {
    /// Makes the written bytes visible at the key, atomically.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// An object opened for random access: a file on disk or bytes in memory.
#[derive(Debug)]
pub enum Blob {
    /// A local file.
    File(File),
    /// Bytes held in memory.
    Bytes(Bytes),
}

impl Blob {
    /// The object's size in bytes.
    pub fn len(&self) -> u64 {
        parquet::file::reader::Length::len(self)
    }

    /// True when the object is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl parquet::file::reader::Length for Blob {
    fn len(&self) -> u64 {
        match self {
            Blob::File(f) => parquet::file::reader::Length::len(f),
            Blob::Bytes(b) => b.len() as u64,
        }
    }
}

impl parquet::file::reader::ChunkReader for Blob {
    type T = Box<dyn std::io::Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(match self {
            Blob::File(f) => Box::new(f.get_read(start)?),
            Blob::Bytes(b) => Box::new(b.get_read(start)?),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            Blob::File(f) => f.get_bytes(start, length),
            Blob::Bytes(b) => b.get_bytes(start, length),
        }
    }
}

/// Holds a store's writer lock; dropping it releases the lock.
pub struct WriterLock {
    _guard: Box<dyn Send + Sync>,
}

impl WriterLock {
    /// Wraps a backend's guard object, whose `Drop` releases the lock.
    pub fn new(guard: Box<dyn Send + Sync>) -> Self {
        Self { _guard: guard }
    }
}

impl fmt::Debug for WriterLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriterLock")
    }
}

/// Checks that `key` is a relative `/`-separated path that stays inside the store.
pub fn validate_key(key: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty key");
    }
    if key.starts_with('/') || key.contains('\\') {
        return bad("keys are relative and use '/'");
    }
    for part in key.split('/') {
        match part {
            "" => return bad("empty path component"),
            "." | ".." => return bad("'.' and '..' are not allowed"),
            _ if part.contains('\0') => return bad("NUL byte"),
            _ => {}
        }
    }
    Ok(())
}

/// Joins key parts with `/`.
pub fn join_key(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// True for the temporary name of a write in progress (`.<name>.<pid>.<n>.tmp`).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}
