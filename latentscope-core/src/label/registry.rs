//! Labelers by spec string, as [`EmbedderRegistry`](crate::EmbedderRegistry)
//! resolves embedders: `keywords` is built in; a provider crate registers
//! `openai:…`, `ollama:…` and the like, and a program its own.

use std::fmt;
use std::sync::Arc;

use super::Labeler;
use super::keywords::KeywordsLabeler;
use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// Makes a labeler for a spec (the whole spec string, e.g.
/// `openai:gpt-4o-mini`) over a dataset (which a fitted labeler reads).
pub type LabelerFactory = Arc<dyn Fn(&str, &Dataset) -> Result<Box<dyn Labeler>> + Send + Sync>;

/// One registered kind of labeler.
#[derive(Clone)]
#[non_exhaustive]
pub struct LabelerEntry {
    /// The name (`keywords`) or provider prefix (`openai`) it answers.
    pub name: String,
    /// One line for `latentscope models`.
    pub description: String,
    factory: LabelerFactory,
}

impl fmt::Debug for LabelerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LabelerEntry")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish()
    }
}

/// Resolves labeler specs (`keywords`, `<provider>:<model>`) to labelers.
#[derive(Debug, Clone)]
pub struct LabelerRegistry {
    entries: Vec<LabelerEntry>,
}

impl Default for LabelerRegistry {
    /// The built-in labelers: `keywords`.
    fn default() -> Self {
        let mut r = Self::empty();
        r.register(
            "keywords",
            "class-based TF-IDF keywords of each cluster (offline, instant)",
            Arc::new(|_, ds: &Dataset| {
                let texts = ds.texts()?.texts;
                Ok(Box::new(KeywordsLabeler::fit(&texts)) as Box<dyn Labeler>)
            }),
        );
        r
    }
}

impl LabelerRegistry {
    /// A registry with no labelers.
    pub fn empty() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Registers (or replaces) the labeler answering `name`: a spec equal to
    /// it, or `name:<anything>`.
    pub fn register(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        factory: LabelerFactory,
    ) {
        let name = name.into();
        self.entries.retain(|e| e.name != name);
        self.entries.push(LabelerEntry {
            name,
            description: description.into(),
            factory,
        });
    }

    /// The registered labelers.
    pub fn entries(&self) -> &[LabelerEntry] {
        &self.entries
    }

    /// Makes the labeler a spec names, over `ds`.
    pub fn resolve(&self, spec: &str, ds: &Dataset) -> Result<Box<dyn Labeler>> {
        let head = spec.split_once(':').map_or(spec, |(p, _)| p);
        match self
            .entries
            .iter()
            .find(|e| e.name == spec || e.name == head)
        {
            Some(e) => (e.factory)(spec, ds),
            None => Err(Error::invalid_parameter(
                "labeler",
                spec,
                format!(
                    "this build knows: {}",
                    self.entries
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}
