//! Display names and descriptions for runs, kept in one sidecar file,
//! `<dataset>/names.json` (`{"umap-002": {"name": …, "description": …}}`),
//! so that naming a run never rewrites its artifact. The Python tool reads
//! only the files it knows and ignores this one; `show` prints the names.
//! Every change rewrites the file atomically under the dataset lock.

use std::collections::BTreeMap;

use latentscope_io::json;
use serde::{Deserialize, Serialize};

use super::artifacts::ArtifactKind;
use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// The sidecar file of run names, in the dataset's folder.
pub const NAMES_FILE: &str = "names.json";

/// The longest name, in characters.
const MAX_NAME: usize = 200;
/// The longest description, in characters.
const MAX_DESCRIPTION: usize = 10_000;

/// A run's display name and description (either may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunName {
    /// A short name shown beside the id.
    #[serde(default)]
    pub name: Option<String>,
    /// A longer description.
    #[serde(default)]
    pub description: Option<String>,
}

impl RunName {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.description.is_none()
    }
}

/// `Some("")` clears, `Some(text)` sets (trimmed), `None` keeps.
fn apply(field: &mut Option<String>, change: Option<&str>) {
    if let Some(text) = change {
        let text = text.trim();
        *field = (!text.is_empty()).then(|| text.to_string());
    }
}

fn check(what: &str, text: Option<&str>, max: usize, one_line: bool) -> Result<()> {
    let Some(text) = text else { return Ok(()) };
    if text.chars().count() > max {
        return Err(Error::invalid_parameter(
            what,
            format!("{} characters", text.chars().count()),
            format!("at most {max} characters"),
        ));
    }
    let bad = |c: char| c.is_control() && !(!one_line && (c == '\n' || c == '\t'));
    if text.chars().any(bad) {
        return Err(Error::invalid_parameter(
            what,
            text.escape_debug(),
            if one_line {
                "one line of text, without control characters"
            } else {
                "text without control characters other than newlines and tabs"
            },
        ));
    }
    Ok(())
}

impl Dataset {
    /// The names and descriptions given to runs, by artifact id. A missing
    /// sidecar is no names; one that does not parse is an error (`bad_input`)
    /// naming the file.
    pub fn run_names(&self) -> Result<BTreeMap<String, RunName>> {
        let key = self.key(NAMES_FILE);
        if !self.store().exists(&key)? {
            return Ok(BTreeMap::new());
        }
        Ok(json::read_json(self.store().as_ref(), &key)?)
    }

    /// Names or describes run `id` (`Some("")` clears a field, `None` keeps
    /// it) and returns what it has now. The artifact must exist; its files
    /// are not touched.
    pub fn name_run(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<RunName> {
        ArtifactKind::of(id).ok_or_else(|| Error::InvalidId {
            id: id.to_string(),
            expected: "an artifact id like embedding-001, umap-001, cluster-001, cluster-001-labels-001 or scopes-001",
        })?;
        check("name", name, MAX_NAME, true)?;
        check("description", description, MAX_DESCRIPTION, false)?;
        let _lock = self.lock()?;
        let all = self.artifacts()?;
        if !all.iter().any(|a| a.id == id) {
            return Err(Error::ArtifactNotFound {
                dataset: self.id().to_string(),
                id: id.to_string(),
                available: all.iter().map(|a| a.id.clone()).collect(),
            });
        }
        let mut names = self.run_names()?;
        let entry = names.entry(id.to_string()).or_default();
        apply(&mut entry.name, name);
        apply(&mut entry.description, description);
        let now = entry.clone();
        self.write_names(names)?;
        Ok(now)
    }

    /// Drops the names of `ids` (after they are deleted); a sidecar that
    /// does not parse is left as it is.
    pub(crate) fn forget_names(&self, ids: &[String]) -> Result<()> {
        let _lock = self.lock()?;
        let Ok(mut names) = self.run_names() else {
            return Ok(());
        };
        let before = names.len();
        names.retain(|id, _| !ids.contains(id));
        if names.len() != before {
            self.write_names(names)?;
        }
        Ok(())
    }

    fn write_names(&self, mut names: BTreeMap<String, RunName>) -> Result<()> {
        names.retain(|_, n| !n.is_empty());
        let key = self.key(NAMES_FILE);
        if names.is_empty() {
            return Ok(self.store().delete(&key)?);
        }
        let body = serde_json::to_vec_pretty(&names)
            .map_err(|e| Error::Internal(format!("names.json: {e}")))?;
        Ok(self.store().put(&key, &body)?)
    }
}
