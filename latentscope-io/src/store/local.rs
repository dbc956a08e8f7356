//! [`LocalStore`]: a directory on the local disk.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::{AtomicWrite, Blob, Entry, Store, WriterLock, is_temporary, validate_key};
use crate::error::{Error, Result};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A [`Store`] over a directory. Writes go to a temporary sibling
/// (`.<name>.<pid>.<n>.tmp`) that is renamed into place, so a reader or a
/// crash never sees a partial file. Locks are OS file locks (`flock`), which
/// the kernel releases when the holding process exits, however it exits.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root`. The directory is created on the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// A store over a file's directory, and the file's key in it: how a
    /// user's local file is read with the store-based table functions.
    pub fn for_file(path: &Path) -> (Self, String) {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        (Self::new(dir), file)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The local file path of `key`.
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn temp_sibling(path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
    }

    fn create_parent(path: &Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        Ok(())
    }

    fn write_temp(path: &Path, data: &[u8]) -> Result<PathBuf> {
        Self::create_parent(path)?;
        let tmp = Self::temp_sibling(path);
        let result = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        Ok(tmp)
    }
}

impl fmt::Display for LocalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root.display())
    }
}

impl Store for LocalStore {
    fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.path_of(key).ok()
    }

    fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.path_of(key)?;
        fs::read(&path)
            .map(Bytes::from)
            .map_err(|e| Error::io(&path, e))
    }

    fn open(&self, key: &str) -> Result<Blob> {
        let path = self.path_of(key)?;
        File::open(&path)
            .map(Blob::File)
            .map_err(|e| Error::io(&path, e))
    }

    fn put(&self, key: &str, data: &[u8]) -> Result<()> {
        let path = self.path_of(key)?;
        let tmp = Self::write_temp(&path, data)?;
        fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(&path, e)
        })
    }

    fn put_if_absent(&self, key: &str, data: &[u8]) -> Result<()> {
        let path = self.path_of(key)?;
        let tmp = Self::write_temp(&path, data)?;
        // A hard link fails if the destination exists, atomically.
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::AlreadyExists {
                path: path.display().to_string(),
            }),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn writer(&self, key: &str) -> Result<Box<dyn AtomicWrite>> {
        let path = self.path_of(key)?;
        Self::create_parent(&path)?;
        let tmp = Self::temp_sibling(&path);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(Box::new(LocalWriter {
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            tmp,
            path,
            written: 0,
            flushed_to_disk: 0,
        }))
    }

    fn list(&self, prefix: &str) -> Result<Vec<Entry>> {
        let dir = if prefix.is_empty() {
            self.root.clone()
        } else {
            self.path_of(prefix)?
        };
        let read = match fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut out = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_temporary(&name) {
                continue;
            }
            let is_dir = entry
                .file_type()
                .map_err(|e| Error::io(entry.path(), e))?
                .is_dir();
            out.push(Entry { name, is_dir });
        }
        out.sort();
        Ok(out)
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let path = self.path_of(key)?;
        path.try_exists().map_err(|e| Error::io(&path, e))
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                // As in an object store, a prefix with no keys left does not exist.
                let mut dir = path.parent();
                while let Some(d) = dir {
                    if d == self.root || fs::remove_dir(d).is_err() {
                        break;
                    }
                    dir = d.parent();
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    fn discard_abandoned_writes(&self, key: &str) -> Result<()> {
        let path = self.path_of(key)?;
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Ok(());
        };
        let prefix = format!(".{}.", name.to_string_lossy());
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let file = entry.file_name();
            let file = file.to_string_lossy();
            // `temp_sibling`'s names: `.<name>.<pid>.<counter>.tmp`.
            let ours = file
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .and_then(|middle| middle.split_once('.'))
                .is_some_and(|(pid, n)| {
                    [pid, n]
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                });
            if ours {
                match fs::remove_file(entry.path()) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::io(entry.path(), e));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn lock(&self, key: &str) -> Result<WriterLock> {
        let path = self.path_of(key)?;
        Self::create_parent(&path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                // Record the holder for the message a second writer gets.
                let _ = file.set_len(0);
                let _ = file.rewind();
                let _ = write!(file, "{}", std::process::id());
                Ok(WriterLock::new(Box::new(file)))
            }
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                Err(Error::Locked {
                    path: path.display().to_string(),
                    holder: if holder.is_empty() {
                        "unknown".to_string()
                    } else {
                        format!("process {holder}")
                    },
                })
            }
            Err(fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

struct LocalWriter {
    out: Option<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    /// Bytes accepted so far.
    written: u64,
    /// Bytes whose write-back to disk has been started.
    flushed_to_disk: u64,
}

/// Bytes between write-back requests (see [`LocalWriter::write_behind`]).
const WRITE_BEHIND_BYTES: u64 = 32 << 20;

impl LocalWriter {
    /// Asks the kernel to start writing the bytes already handed to it, so a
    /// large artifact goes to disk while the step is still computing and the
    /// `fsync` at commit waits only for the tail (Linux; elsewhere the
    /// commit's `fsync` does it all).
    fn write_behind(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(out) = &self.out {
            use std::os::fd::AsRawFd;
            let in_file = self.written - out.buffer().len() as u64;
            if in_file >= self.flushed_to_disk + WRITE_BEHIND_BYTES {
                let (start, len) = (self.flushed_to_disk, in_file - self.flushed_to_disk);
                // SAFETY: a plain system call on a file descriptor this writer
                // owns; it reads no memory. A failure only means the commit's
                // fsync does the work, so its result is ignored.
                unsafe {
                    libc::sync_file_range(
                        out.get_ref().as_raw_fd(),
                        start as libc::off64_t,
                        len as libc::off64_t,
                        libc::SYNC_FILE_RANGE_WRITE,
                    );
                }
                self.flushed_to_disk = in_file;
            }
        }
    }
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match &mut self.out {
            Some(out) => out.write(buf)?,
            None => return Err(std::io::Error::other("writer already committed")),
        };
        self.written += n as u64;
        self.write_behind();
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl AtomicWrite for LocalWriter {
    fn commit(mut self: Box<Self>) -> Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let file = out
            .into_inner()
            .map_err(|e| Error::io(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        drop(file);
        fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
