//! The artifact lifecycle every step shares: claim an id with the run's
//! parameters, hold that artifact's lock (never the dataset's), resume an
//! unfinished run with equal parameters, write files under temporary names
//! (the [`Store`](latentscope_io::Store) does that), checkpoint, and commit by
//! writing the `.json` last.
//!
//! On disk, beside the artifact's files in its folder:
//!
//! | file | what |
//! | --- | --- |
//! | `.<id>.claim` | the claim: step, parameters, parents and holder, as JSON; kept after the commit so that the number is never reused |
//! | `.<id>.lock` | the artifact's writer lock (an OS lock: released when its process dies) |
//! | `.<id>.checkpoint.json`, `.<id>.parts/` | a run's checkpoints, removed by the commit |
//! | `<id>.json` | the record, written last: the artifact exists once it does |

use std::fmt;

use latentscope_io::{AtomicWrite, WriterLock, json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::ids::{ArtifactId, ClusterId, LabelsId, NumberedId};

/// What a run is: its step, its parameters (compared to decide whether an
/// unfinished run can be resumed) and the artifacts it reads.
#[derive(Debug, Clone)]
pub struct RunSpec<'p, P: Serialize + ?Sized> {
    /// The step's name (`"embed"`, `"umap"`, …).
    pub step: &'static str,
    /// Everything that fixes the result.
    pub params: &'p P,
    /// The artifacts the run reads (their ids), so that deleting one of them
    /// while the run is live is refused.
    pub parents: Vec<String>,
    /// Resume an unfinished run with equal parameters (else always a new id).
    pub resume: bool,
}

impl<'p, P: Serialize + ?Sized> RunSpec<'p, P> {
    /// A run of `step` with `params`, resuming an unfinished equal one.
    pub fn new(step: &'static str, params: &'p P) -> Self {
        Self {
            step,
            params,
            parents: Vec::new(),
            resume: true,
        }
    }

    /// Records the artifacts the run reads.
    pub fn reading(mut self, parents: impl IntoIterator<Item = impl ToString>) -> Self {
        self.parents = parents.into_iter().map(|p| p.to_string()).collect();
        self
    }

    /// Never resumes: always a new id (imports, whose input is a file).
    pub fn fresh(mut self) -> Self {
        self.resume = false;
        self
    }
}

/// The claim file's body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claim {
    pub(crate) step: String,
    #[serde(default)]
    pub(crate) holder: String,
    #[serde(default)]
    pub(crate) parents: Vec<String>,
    #[serde(default)]
    pub(crate) params: Value,
}

/// Who holds a lock taken by this process, as [`Error::Busy`] reports it.
fn this_holder(step: &str) -> String {
    format!("a {step} run in process {}", std::process::id())
}

/// An artifact being written: its id claimed, its lock held. Write its files
/// with [`put`](Self::put) or [`writer`](Self::writer), keep checkpoints with
/// [`save_checkpoint`](Self::save_checkpoint), and finish with
/// [`commit`](Self::commit), which writes the `.json` last. Dropped without a
/// commit (an error, a cancel), it leaves the claim for a later run with the
/// same parameters to resume.
pub struct ArtifactRun<'a, I: ArtifactId> {
    ds: &'a Dataset,
    id: I,
    resumed: bool,
    lock: Option<WriterLock>,
}

impl<I: ArtifactId> fmt::Debug for ArtifactRun<'_, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtifactRun")
            .field("dataset", &self.ds.id())
            .field("id", &self.id.to_string())
            .field("resumed", &self.resumed)
            .finish()
    }
}

impl Dataset {
    /// Starts writing an artifact of kind `I` (an embedding, a umap, a
    /// clustering, a scope): resumes the newest unfinished run with equal
    /// parameters whose writer died, or claims the next free id.
    ///
    /// Two runs conflict only when both would write the same artifact: when
    /// the unfinished run with equal parameters is still live, this answers
    /// [`Error::Busy`] naming it and its holder.
    pub fn begin<I: NumberedId + ArtifactId, P: Serialize + ?Sized>(
        &self,
        spec: &RunSpec<'_, P>,
    ) -> Result<ArtifactRun<'_, I>> {
        self.begin_in(spec, &format!("{}-", I::PREFIX), I::new)
    }

    /// Starts writing a labels artifact of `cluster`
    /// (`cluster-NNN-labels-MMM`), as [`begin`](Self::begin) does.
    pub fn begin_labels<P: Serialize + ?Sized>(
        &self,
        cluster: ClusterId,
        spec: &RunSpec<'_, P>,
    ) -> Result<ArtifactRun<'_, LabelsId>> {
        self.begin_in(spec, &format!("{cluster}-labels-"), |n| {
            LabelsId::new(cluster, n)
        })
    }

    fn begin_in<I: ArtifactId, P: Serialize + ?Sized>(
        &self,
        spec: &RunSpec<'_, P>,
        prefix: &str,
        make: impl Fn(u32) -> I,
    ) -> Result<ArtifactRun<'_, I>> {
        let store = self.store().as_ref();
        let folder = self.key(I::FOLDER);
        let claim = Claim {
            step: spec.step.to_string(),
            holder: this_holder(spec.step),
            parents: spec.parents.clone(),
            params: serde_json::to_value(spec.params).map_err(|e| Error::InvalidParameter {
                name: "params".into(),
                value: spec.step.into(),
                reason: format!("cannot be recorded as JSON: {e}"),
            })?,
        };
        let mut highest = 0;
        let mut unfinished = Vec::new();
        let entries = store.list(&folder)?;
        let finished = |name: &str| entries.iter().any(|e| e.name == format!("{name}.json"));
        for e in &entries {
            let name = e.name.trim_start_matches('.');
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            let Ok(n) = digits.parse::<u32>() else {
                continue;
            };
            highest = highest.max(n);
            let id = make(n);
            if spec.resume && e.name == format!(".{id}.claim") && !finished(&id.to_string()) {
                unfinished.push((n, id));
            }
        }
        // The newest unfinished run with equal parameters: resume it, or
        // refuse when its writer is alive.
        unfinished.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        for (_, id) in unfinished {
            let Ok(body) = store.get(&format!("{folder}/.{id}.claim")) else {
                continue;
            };
            let Ok(earlier) = serde_json::from_slice::<Claim>(&body) else {
                continue;
            };
            if earlier.step != claim.step || earlier.params != claim.params {
                continue;
            }
            return match store.lock(&format!("{folder}/.{id}.lock")) {
                Ok(lock) => {
                    let body = json::to_json_bytes(&folder, &claim)?;
                    store.put(&format!("{folder}/.{id}.claim"), &body)?;
                    Ok(ArtifactRun {
                        ds: self,
                        id,
                        resumed: true,
                        lock: Some(lock),
                    })
                }
                Err(latentscope_io::Error::Locked { .. }) => Err(Error::Busy {
                    artifact: id.to_string(),
                    holder: earlier.holder,
                }),
                Err(e) => Err(e.into()),
            };
        }
        // A new id: take its lock first, then the claim, so that a resuming
        // run never finds a fresh claim without its writer.
        let body = json::to_json_bytes(&folder, &claim)?;
        let mut n = highest + 1;
        loop {
            let id = make(n);
            n += 1;
            let lock = match store.lock(&format!("{folder}/.{id}.lock")) {
                Ok(lock) => lock,
                Err(latentscope_io::Error::Locked { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            match store.put_if_absent(&format!("{folder}/.{id}.claim"), &body) {
                Ok(()) => {
                    return Ok(ArtifactRun {
                        ds: self,
                        id,
                        resumed: false,
                        lock: Some(lock),
                    });
                }
                Err(latentscope_io::Error::AlreadyExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl<'a, I: ArtifactId> ArtifactRun<'a, I> {
    /// The artifact's id.
    pub fn id(&self) -> I {
        self.id
    }

    /// True when this run took over an unfinished run with equal parameters.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The dataset being written.
    pub fn dataset(&self) -> &'a Dataset {
        self.ds
    }

    /// The store key of the artifact's file `<id><suffix>` (suffix
    /// `.parquet`, `.png`, …).
    pub fn key(&self, suffix: &str) -> String {
        self.ds.key(&format!("{}/{}{suffix}", I::FOLDER, self.id))
    }

    /// The store key of a private file of this run, `.<id><suffix>`
    /// (checkpoints, parts), removed by the commit.
    pub fn private_key(&self, suffix: &str) -> String {
        self.ds.key(&format!("{}/.{}{suffix}", I::FOLDER, self.id))
    }

    /// Writes the file `<id><suffix>` atomically.
    pub fn put(&self, suffix: &str, data: &[u8]) -> Result<()> {
        Ok(self.ds.store().put(&self.key(suffix), data)?)
    }

    /// Starts a streaming atomic write of `<id><suffix>`, first removing what
    /// an earlier, killed writer of that file left behind.
    pub fn writer(&self, suffix: &str) -> Result<Box<dyn AtomicWrite>> {
        let key = self.key(suffix);
        self.discard_abandoned(suffix)?;
        Ok(self.ds.store().writer(&key)?)
    }

    /// Removes what an earlier, killed writer of `<id><suffix>` left behind
    /// (its temporary file); safe because this run holds the artifact's lock.
    pub fn discard_abandoned(&self, suffix: &str) -> Result<()> {
        Ok(self
            .ds
            .store()
            .discard_abandoned_writes(&self.key(suffix))?)
    }

    /// The last checkpoint saved by this artifact's runs, if one is readable.
    pub fn load_checkpoint<T: DeserializeOwned>(&self) -> Option<T> {
        let key = self.private_key(".checkpoint.json");
        let store = self.ds.store().as_ref();
        if !store.exists(&key).ok()? {
            return None;
        }
        json::read_json(store, &key).ok()
    }

    /// Saves a checkpoint (atomically) for a resumed run to start from.
    pub fn save_checkpoint<T: Serialize>(&self, state: &T) -> Result<()> {
        let store = self.ds.store().as_ref();
        Ok(json::write_json(
            store,
            &self.private_key(".checkpoint.json"),
            state,
        )?)
    }

    /// Commits the artifact: writes its record, `<id>.json`, last, then
    /// removes the checkpoints and the lock file. Returns the id.
    pub fn commit<M: Serialize>(mut self, record: &M) -> Result<I> {
        let store = self.ds.store().as_ref();
        json::write_json(store, &self.key(".json"), record)?;
        // The artifact exists now; what follows is tidying.
        let _ = store.delete(&self.private_key(".checkpoint.json"));
        let parts = self.private_key(".parts");
        if let Ok(entries) = store.list(&parts) {
            for part in entries {
                let _ = store.delete(&format!("{parts}/{}", part.name));
            }
        }
        drop(self.lock.take());
        let _ = store.delete(&self.private_key(".lock"));
        Ok(self.id)
    }
}
