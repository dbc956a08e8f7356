//! Every artifact of a dataset as data ([`Dataset::artifacts`]: what `show`
//! prints and the server serves), and deleting one with what was made from it
//! ([`Dataset::delete`]).

use std::collections::BTreeSet;

use latentscope_io::json;
use serde::Serialize;
use serde_json::Value;

use super::META_FILE;
use super::lifecycle::Claim;
use super::names::RunName;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::ids::{ArtifactId, ClusterId, EmbeddingId, LabelsId, ScopeId, UmapId};

/// The kinds of artifacts a dataset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// `embeddings/embedding-NNN`.
    Embedding,
    /// `umaps/umap-NNN`.
    Umap,
    /// `clusters/cluster-NNN`.
    Cluster,
    /// `clusters/cluster-NNN-labels-MMM`.
    Labels,
    /// `scopes/scopes-NNN`.
    Scope,
}

impl ArtifactKind {
    /// Every kind, in pipeline order.
    pub const ALL: [ArtifactKind; 5] = [
        ArtifactKind::Embedding,
        ArtifactKind::Umap,
        ArtifactKind::Cluster,
        ArtifactKind::Labels,
        ArtifactKind::Scope,
    ];

    /// The dataset sub-folder that holds this kind.
    pub fn folder(self) -> &'static str {
        match self {
            ArtifactKind::Embedding => EmbeddingId::FOLDER,
            ArtifactKind::Umap => UmapId::FOLDER,
            ArtifactKind::Cluster | ArtifactKind::Labels => ClusterId::FOLDER,
            ArtifactKind::Scope => ScopeId::FOLDER,
        }
    }

    /// The kind of an id as written (`umap-002`, `cluster-001-labels-002`).
    pub fn of(id: &str) -> Option<ArtifactKind> {
        if id.parse::<LabelsId>().is_ok() {
            Some(ArtifactKind::Labels)
        } else if id.parse::<EmbeddingId>().is_ok() {
            Some(ArtifactKind::Embedding)
        } else if id.parse::<UmapId>().is_ok() {
            Some(ArtifactKind::Umap)
        } else if id.parse::<ClusterId>().is_ok() {
            Some(ArtifactKind::Cluster)
        } else if id.parse::<ScopeId>().is_ok() {
            Some(ArtifactKind::Scope)
        } else {
            None
        }
    }

    /// The suffixes of this kind's files after its id (the `.json` first).
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            ArtifactKind::Embedding => &[".json", ".parquet", ".h5"],
            ArtifactKind::Umap => &[".json", ".parquet", ".png"],
            ArtifactKind::Cluster => &[".json", ".parquet", ".png", "-labels-default.parquet"],
            ArtifactKind::Labels => &[".json", ".parquet"],
            ArtifactKind::Scope => &[".json", ".parquet", "-input.parquet", "-transactions.json"],
        }
    }
}

/// Where an artifact stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum ArtifactState {
    /// Its `.json` is written: it can be read and used.
    Finished,
    /// A run claimed it and did not finish (it may be running, or resumable).
    Unfinished,
    /// Finished, but this build cannot read it (the reason says why).
    Unreadable(String),
}

/// One file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactFile {
    /// The file name in the kind's folder.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// One artifact of a dataset, as [`Dataset::artifacts`] lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ArtifactInfo {
    /// What kind it is.
    pub kind: ArtifactKind,
    /// Its id (`umap-002`).
    pub id: String,
    /// Finished, unfinished or unreadable.
    #[serde(flatten)]
    pub state: ArtifactState,
    /// The artifacts it was made from (a umap's embedding, a scope's four parts).
    pub parents: Vec<String>,
    /// Rows it covers, where its record says.
    pub rows: Option<u64>,
    /// Its files and their sizes.
    pub files: Vec<ArtifactFile>,
    /// Its record (the `.json` as written, our tool's or the Python tool's;
    /// for an unfinished run, its claim's parameters).
    pub record: Value,
    /// The display name and description given to it ([`Dataset::name_run`]).
    #[serde(flatten)]
    pub names: RunName,
}

impl ArtifactInfo {
    /// The total size of its files in bytes.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The parents an artifact's record names.
fn parents_of(kind: ArtifactKind, id: &str, record: &Value) -> Vec<String> {
    let field = |k: &str| record[k].as_str().map(str::to_string);
    let mut parents: Vec<String> = match kind {
        ArtifactKind::Embedding => Vec::new(),
        ArtifactKind::Umap => field("embedding_id")
            .into_iter()
            .chain(record["params"]["init_from"].as_str().map(str::to_string))
            .collect(),
        ArtifactKind::Cluster => field("umap_id").into_iter().collect(),
        ArtifactKind::Labels => id
            .parse::<LabelsId>()
            .map(|l| vec![l.cluster().to_string()])
            .unwrap_or_default(),
        ArtifactKind::Scope => {
            let cluster = field("cluster_id");
            let labels = match (field("cluster_labels_id"), &cluster) {
                (Some(l), Some(c)) if l == "default" => Some(format!("{c}-labels-default")),
                (Some(l), _) => Some(l),
                (None, _) => None,
            };
            // The default labels are part of their clustering.
            let labels = labels.filter(|l| !l.ends_with("-labels-default"));
            [field("embedding_id"), field("umap_id"), cluster, labels]
                .into_iter()
                .flatten()
                .collect()
        }
    };
    parents.dedup();
    parents
}

impl Dataset {
    /// Every artifact of the dataset, ours or the Python tool's, in pipeline
    /// order then by id: finished, unfinished (a claim without a `.json`) and
    /// unreadable ones (LanceDB vectors, an `.h5` this build cannot read, a
    /// `.json` that does not parse), each with its parents, rows, files and
    /// record.
    pub fn artifacts(&self) -> Result<Vec<ArtifactInfo>> {
        let store = self.store().as_ref();
        // A sidecar that does not parse names nothing here.
        let run_names = self.run_names().unwrap_or_default();
        let mut out = Vec::new();
        let mut listed = BTreeSet::new();
        for kind in ArtifactKind::ALL {
            let folder = kind.folder();
            if !listed.insert(folder) && kind != ArtifactKind::Labels {
                continue;
            }
            let entries = store.list(&self.key(folder))?;
            let names: BTreeSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            let mut ids: BTreeSet<String> = BTreeSet::new();
            for name in &names {
                let stem = name
                    .strip_prefix('.')
                    .and_then(|n| n.strip_suffix(".claim"))
                    .or_else(|| name.strip_suffix(".json"))
                    .or_else(|| name.strip_suffix(".parquet"));
                if let Some(stem) = stem
                    && ArtifactKind::of(stem) == Some(kind)
                {
                    ids.insert(stem.to_string());
                }
            }
            for id in ids {
                let has = |suffix: &str| names.contains(format!("{id}{suffix}").as_str());
                let finished = has(".json")
                    || (kind == ArtifactKind::Labels && id.ends_with("-labels-default"));
                if kind == ArtifactKind::Labels && id.ends_with("-labels-default") {
                    continue; // part of its clustering
                }
                if !finished && !names.contains(format!(".{id}.claim").as_str()) {
                    continue; // a stray file, not an artifact
                }
                // This build reads Parquet vectors, and HDF5 ones with the feature.
                let readable_vectors = has(".parquet") || (cfg!(feature = "hdf5") && has(".h5"));
                let (state, record) = if finished {
                    let key = self.key(&format!("{folder}/{id}.json"));
                    match json::read_json::<Value>(store, &key) {
                        Ok(v) => {
                            let state = match kind {
                                ArtifactKind::Embedding if !readable_vectors => {
                                    ArtifactState::Unreadable(if has(".h5") {
                                        "HDF5 vectors: this build has no `hdf5` feature".into()
                                    } else {
                                        "no vectors here (the Python tool 1.0 keeps them in LanceDB, which latentscope cannot read)".into()
                                    })
                                }
                                _ => ArtifactState::Finished,
                            };
                            (state, v)
                        }
                        Err(e) => (ArtifactState::Unreadable(e.to_string()), Value::Null),
                    }
                } else {
                    let key = self.key(&format!("{folder}/.{id}.claim"));
                    let claim = json::read_json::<Claim>(store, &key).ok();
                    let record = claim.map(|c| c.params).unwrap_or(Value::Null);
                    (ArtifactState::Unfinished, record)
                };
                let mut files = Vec::new();
                for suffix in kind.suffixes() {
                    let name = format!("{id}{suffix}");
                    if names.contains(name.as_str()) {
                        let bytes = store
                            .open(&self.key(&format!("{folder}/{name}")))
                            .map(|b| b.len())
                            .unwrap_or(0);
                        files.push(ArtifactFile { name, bytes });
                    }
                }
                let parents = parents_of(kind, &id, &record);
                let rows = record["rows"]
                    .as_u64()
                    .or_else(|| record["length"].as_u64());
                let names = run_names.get(&id).cloned().unwrap_or_default();
                out.push(ArtifactInfo {
                    kind,
                    id,
                    state,
                    parents,
                    rows,
                    files,
                    record,
                    names,
                });
            }
        }
        out.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        Ok(out)
    }

    /// The artifacts made from `id`, directly or through others, in the
    /// order they must be deleted (the furthest first).
    pub fn dependents(&self, id: &str) -> Result<Vec<String>> {
        Ok(dependents_in(&self.artifacts()?, id))
    }

    /// Deletes an artifact (`umap-002`, `cluster-001-labels-002`, …): its
    /// `.json` first, so that it is gone as a whole, then its files. Refuses
    /// with [`Error::HasDependents`] when other artifacts were made from it,
    /// unless `with_dependents`, which deletes them first; with
    /// [`Error::Busy`] when a live run writes it or reads it. Its number is
    /// never given out again. `input.parquet` is never touched.
    pub fn delete(&self, id: &str, with_dependents: bool) -> Result<Vec<String>> {
        ArtifactKind::of(id).ok_or_else(|| Error::InvalidId {
            id: id.to_string(),
            expected: "an artifact id like embedding-001, umap-001, cluster-001, cluster-001-labels-001 or scopes-001",
        })?;
        if id.ends_with("-labels-default") {
            return Err(Error::invalid_parameter(
                "id",
                id,
                "the default labels are part of their clustering; delete the clustering",
            ));
        }
        let all = self.artifacts()?;
        if !all.iter().any(|a| a.id == id) {
            return Err(Error::ArtifactNotFound {
                dataset: self.id().to_string(),
                id: id.to_string(),
                available: all.iter().map(|a| a.id.clone()).collect(),
            });
        }
        let dependents = dependents_in(&all, id);
        if !dependents.is_empty() && !with_dependents {
            return Err(Error::HasDependents {
                artifact: id.to_string(),
                dependents,
            });
        }
        let mut deleted = Vec::new();
        for d in dependents.iter().chain(std::iter::once(&id.to_string())) {
            if let Some(kind) = ArtifactKind::of(d) {
                self.delete_one(kind, d)?;
                deleted.push(d.clone());
            }
        }
        self.forget_names(&deleted)?;
        Ok(deleted)
    }

    /// Deletes one artifact's files under its lock, refusing when a live run
    /// reads it.
    fn delete_one(&self, kind: ArtifactKind, id: &str) -> Result<()> {
        let store = self.store().as_ref();
        let folder = self.key(kind.folder());
        let lock = match store.lock(&format!("{folder}/.{id}.lock")) {
            Ok(lock) => lock,
            Err(latentscope_io::Error::Locked { holder, .. }) => {
                return Err(Error::Busy {
                    artifact: id.to_string(),
                    holder,
                });
            }
            Err(e) => return Err(e.into()),
        };
        if let Some((reader, claim)) = self.live_readers(id)?.into_iter().next() {
            return Err(Error::Busy {
                artifact: id.to_string(),
                holder: format!("{} (making {reader})", claim.holder),
            });
        }
        for suffix in kind.suffixes() {
            store.delete(&format!("{folder}/{id}{suffix}"))?;
        }
        let parts = format!("{folder}/.{id}.parts");
        for part in store.list(&parts)? {
            store.delete(&format!("{parts}/{}", part.name))?;
        }
        store.delete(&format!("{folder}/.{id}.checkpoint.json"))?;
        store.discard_abandoned_writes(&format!("{folder}/{id}.parquet"))?;
        // The claim becomes a tombstone: the number is never given out again,
        // and nothing lists or resumes it.
        let claim = format!("{folder}/.{id}.claim");
        if let Ok(body) = store.get(&claim) {
            store.put(&format!("{folder}/.{id}.deleted"), &body)?;
        } else {
            store.put(&format!("{folder}/.{id}.deleted"), b"{}")?;
        }
        store.delete(&claim)?;
        drop(lock);
        store.delete(&format!("{folder}/.{id}.lock"))?;
        Ok(())
    }

    /// Live runs (their writer holds the lock) whose claim says they read `id`.
    fn live_readers(&self, id: &str) -> Result<Vec<(String, Claim)>> {
        let store = self.store().as_ref();
        let mut live = Vec::new();
        let mut seen = BTreeSet::new();
        for kind in ArtifactKind::ALL {
            let folder = self.key(kind.folder());
            if !seen.insert(folder.clone()) {
                continue;
            }
            let entries = store.list(&folder)?;
            for e in &entries {
                let Some(run) = e
                    .name
                    .strip_prefix('.')
                    .and_then(|n| n.strip_suffix(".claim"))
                else {
                    continue;
                };
                if entries.iter().any(|f| f.name == format!("{run}.json")) {
                    continue;
                }
                let Ok(claim) = json::read_json::<Claim>(store, &format!("{folder}/{}", e.name))
                else {
                    continue;
                };
                if !claim.parents.iter().any(|p| p == id) {
                    continue;
                }
                // A lock we can take belongs to a writer that died.
                match store.lock(&format!("{folder}/.{run}.lock")) {
                    Ok(_released) => {}
                    Err(latentscope_io::Error::Locked { .. }) => {
                        live.push((run.to_string(), claim))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(live)
    }

    /// Deletes the whole dataset: refuses with [`Error::HasDependents`] while
    /// it holds artifacts, unless `with_artifacts`. `meta.json` goes first, so
    /// the dataset is gone as a whole before its files are.
    pub fn delete_dataset(self, with_artifacts: bool) -> Result<()> {
        let all = self.artifacts()?;
        let finished: Vec<String> = all
            .iter()
            .filter(|a| a.state != ArtifactState::Unfinished)
            .map(|a| a.id.clone())
            .collect();
        if !finished.is_empty() && !with_artifacts {
            return Err(Error::HasDependents {
                artifact: format!("dataset {:?}", self.id()),
                dependents: finished,
            });
        }
        for a in all.iter().rev() {
            if a.state != ArtifactState::Unfinished {
                self.delete_one(a.kind, &a.id)?;
            }
        }
        let store = self.store().as_ref();
        store.delete(&self.key(META_FILE))?;
        remove_tree(store, self.id())
    }
}

/// Removes every key under `prefix`.
fn remove_tree(store: &dyn latentscope_io::Store, prefix: &str) -> Result<()> {
    for e in store.list(prefix)? {
        let key = format!("{prefix}/{}", e.name);
        if e.is_dir {
            remove_tree(store, &key)?;
        } else {
            store.delete(&key)?;
        }
    }
    Ok(())
}

/// The artifacts of `all` made from `id`, directly or through others, the
/// furthest first.
fn dependents_in(all: &[ArtifactInfo], id: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut frontier = vec![id.to_string()];
    while let Some(parent) = frontier.pop() {
        for a in all {
            let child = a.parents.contains(&parent)
                || (a.kind == ArtifactKind::Labels
                    && parent.parse::<ClusterId>().is_ok()
                    && a.id.starts_with(&format!("{parent}-labels-")));
            if child && !found.contains(&a.id) && a.id != id {
                found.push(a.id.clone());
                frontier.push(a.id.clone());
            }
        }
    }
    // Scopes, then labels, clusters, umaps: children before parents.
    found.sort_by_key(|d| std::cmp::Reverse(ArtifactKind::of(d)));
    found
}
