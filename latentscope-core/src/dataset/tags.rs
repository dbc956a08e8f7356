//! Tags: named sets of rows, one file per tag, `tags/<name>.indices`, holding
//! the row indices one per line (as the Python tool's `numpy.savetxt` writes
//! them). Every change rewrites the file atomically under the dataset lock.

use std::collections::BTreeSet;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::ids::RowIndex;

const TAGS: &str = "tags";
const SUFFIX: &str = ".indices";

fn validate_tag_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 200 {
        Some("it is longer than 200 bytes")
    } else if name.starts_with('.') {
        Some("it may not start with '.'")
    } else if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        Some("'/', '\\' and control characters are not allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidTagName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

impl Dataset {
    fn tag_key(&self, name: &str) -> Result<String> {
        validate_tag_name(name)?;
        Ok(self.key(&format!("{TAGS}/{name}{SUFFIX}")))
    }

    /// The tag names, sorted.
    pub fn tags(&self) -> Result<Vec<String>> {
        Ok(self
            .store()
            .list(&self.key(TAGS))?
            .into_iter()
            .filter(|e| !e.is_dir && !e.name.starts_with('.'))
            .filter_map(|e| e.name.strip_suffix(SUFFIX).map(str::to_string))
            .collect())
    }

    /// The rows of a tag, sorted. A tag that does not exist is an error that
    /// lists the tags there are.
    pub fn tag_rows(&self, name: &str) -> Result<Vec<RowIndex>> {
        let key = self.tag_key(name)?;
        let bytes = match self.store().get(&key) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => {
                return Err(Error::ArtifactNotFound {
                    dataset: self.id().to_string(),
                    id: format!("tag {name:?}"),
                    available: self.tags()?,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            // numpy may write "1.200000000000000000e+01" for float arrays.
            let row = line
                .parse::<u64>()
                .ok()
                .or_else(|| {
                    line.parse::<f64>()
                        .ok()
                        .filter(|v| *v >= 0.0 && v.fract() == 0.0)
                        .map(|v| v as u64)
                })
                .ok_or_else(|| {
                    Error::bad_input(
                        key.clone(),
                        format!("line {}: {line:?} is not a row index", i + 1),
                    )
                })?;
            rows.push(row);
        }
        rows.sort_unstable();
        rows.dedup();
        Ok(rows)
    }

    fn write_tag(&self, key: &str, rows: &BTreeSet<u64>) -> Result<()> {
        let mut text = String::with_capacity(rows.len() * 7);
        for r in rows {
            text.push_str(&r.to_string());
            text.push('\n');
        }
        Ok(self.store().put(key, text.as_bytes())?)
    }

    fn check_rows(&self, rows: &[RowIndex]) -> Result<()> {
        match rows.iter().find(|&&r| r >= self.rows()) {
            Some(&row) => Err(Error::RowOutOfRange {
                row,
                rows: self.rows(),
            }),
            None => Ok(()),
        }
    }

    /// Creates an empty tag (an existing tag is left as it is).
    pub fn create_tag(&self, name: &str) -> Result<()> {
        let key = self.tag_key(name)?;
        let _lock = self.lock()?;
        match self.store().put_if_absent(&key, b"") {
            Ok(()) | Err(latentscope_io::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Adds rows to a tag, creating it if needed; returns the tag's size.
    pub fn add_to_tag(&self, name: &str, rows: &[RowIndex]) -> Result<usize> {
        self.check_rows(rows)?;
        let key = self.tag_key(name)?;
        let _lock = self.lock()?;
        let mut set: BTreeSet<u64> = match self.tag_rows(name) {
            Ok(r) => r.into_iter().collect(),
            Err(Error::ArtifactNotFound { .. }) => BTreeSet::new(),
            Err(e) => return Err(e),
        };
        set.extend(rows);
        self.write_tag(&key, &set)?;
        Ok(set.len())
    }

    /// Removes rows from a tag; returns the tag's size.
    pub fn remove_from_tag(&self, name: &str, rows: &[RowIndex]) -> Result<usize> {
        let key = self.tag_key(name)?;
        let _lock = self.lock()?;
        let mut set: BTreeSet<u64> = self.tag_rows(name)?.into_iter().collect();
        for r in rows {
            set.remove(r);
        }
        self.write_tag(&key, &set)?;
        Ok(set.len())
    }

    /// Deletes a tag.
    pub fn delete_tag(&self, name: &str) -> Result<()> {
        let key = self.tag_key(name)?;
        let _lock = self.lock()?;
        self.tag_rows(name)?;
        Ok(self.store().delete(&key)?)
    }
}
