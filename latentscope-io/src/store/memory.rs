//! [`MemoryStore`]: everything in memory, for tests and in-memory apps.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::{AtomicWrite, Blob, Entry, Store, WriterLock, is_temporary, validate_key};
use crate::error::{Error, Result};

/// A [`Store`] that keeps every object in memory. Cloning shares the contents.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<BTreeMap<String, Bytes>>>,
    locks: Arc<Mutex<HashSet<String>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn objects(&self) -> MutexGuard<'_, BTreeMap<String, Bytes>> {
        // A poisoned map is still consistent: every mutation is one insert or remove.
        self.objects.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Display for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory")
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Bytes> {
        validate_key(key)?;
        self.objects()
            .get(key)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                path: key.to_string(),
            })
    }

    fn open(&self, key: &str) -> Result<Blob> {
        self.get(key).map(Blob::Bytes)
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<()> {
        validate_key(key)?;
        self.objects()
            .insert(key.to_string(), Bytes::copy_from_slice(data));
        Ok(())
    }

    fn put_if_absent(&self, key: &str, data: &[u8]) -> Result<()> {
        validate_key(key)?;
        let mut objects = self.objects();
        if objects.contains_key(key) {
            return Err(Error::AlreadyExists {
                path: key.to_string(),
            });
        }
        objects.insert(key.to_string(), Bytes::copy_from_slice(data));
        Ok(())
    }

    fn writer(&self, key: &str) -> Result<Box<dyn AtomicWrite>> {
        validate_key(key)?;
        Ok(Box::new(MemoryWriter {
            store: self.clone(),
            key: key.to_string(),
            buf: Vec::new(),
        }))
    }

    fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        let start = if prefix.is_empty() {
            String::new()
        } else {
            validate_key(prefix)?;
            format!("{prefix}/")
        };
        let mut seen = BTreeSet::new();
        for key in self.objects().keys() {
            let Some(rest) = key.strip_prefix(&start) else {
                continue;
            };
            let (name, is_dir) = match rest.split_once('/') {
                Some((dir, _)) => (dir, true),
                None => (rest, false),
            };
            if !is_temporary(name) {
                seen.insert(Entry {
                    name: name.to_string(),
                    is_dir,
                });
            }
        }
        Ok(seen.into_iter().collect())
    }

    fn exists(&self, key: &str) -> Result<bool> {
        validate_key(key)?;
        Ok(self.objects().contains_key(key))
    }

    fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        self.objects().remove(key);
        Ok(())
    }

    fn lock(&self, key: &str) -> Result<WriterLock> {
        validate_key(key)?;
        let mut held = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(key.to_string()) {
            return Err(Error::Locked {
                path: key.to_string(),
                holder: "another writer in this process".to_string(),
            });
        }
        Ok(WriterLock::new(Box::new(MemoryLockGuard {
            locks: Arc::clone(&self.locks),
            key: key.to_string(),
        })))
    }
}

struct MemoryLockGuard {
    locks: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Drop for MemoryLockGuard {
    fn drop(&mut self) {
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

struct MemoryWriter {
    store: MemoryStore,
    key: String,
    buf: Vec<u8>,
}

impl Write for MemoryWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl AtomicWrite for MemoryWriter {
    fn commit(self: Box<Self>) -> Result<()> {
        let MemoryWriter { store, key, buf } = *self;
        store.objects().insert(key, Bytes::from(buf));
        Ok(())
    }
}
