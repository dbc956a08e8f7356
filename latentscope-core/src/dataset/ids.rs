//! Typed artifact ids that print and parse the on-disk names the Python
//! latent-scope uses: `embedding-001`, `umap-002`, `cluster-003`,
//! `cluster-003-labels-001` / `cluster-003-labels-default`, `scopes-004`.
//!
//! Numbers are allocated by the [`Dataset`](crate::Dataset) and never reused.
//!
//! ```
//! use latentscope_core::{EmbeddingId, LabelsId, ClusterId};
//!
//! let id: EmbeddingId = "embedding-007".parse()?;
//! assert_eq!(id.number(), 7);
//! assert_eq!(id.to_string(), "embedding-007");
//! let labels: LabelsId = "cluster-002-labels-default".parse()?;
//! assert_eq!(labels.cluster(), ClusterId::new(2));
//! assert!("umap-1".parse::<EmbeddingId>().is_err());
//! # Ok::<(), latentscope_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A row's index: its 0-based position in `input.parquet`, the key of every
/// artifact.
pub type RowIndex = u64;

/// A cluster's number within one clustering (`-1` is noise in raw labels);
/// not to be confused with [`ClusterId`], which names a clustering.
pub type ClusterIndex = i64;

/// Any artifact's id: where the artifact's files live.
pub trait ArtifactId: Copy + Eq + fmt::Display + Send + Sync {
    /// The dataset sub-folder that holds these artifacts (`"umaps"`).
    const FOLDER: &'static str;
}

/// An artifact id made of a kind prefix and a number (`umap-002`).
pub trait NumberedId: Copy + Eq + Ord + fmt::Display + FromStr<Err = Error> {
    /// The name prefix (`"umap"`).
    const PREFIX: &'static str;
    /// The dataset sub-folder that holds these artifacts (`"umaps"`).
    const FOLDER: &'static str;
    /// The id with this number.
    fn new(number: u32) -> Self;
    /// The id's number.
    fn number(self) -> u32;
}

/// Parses `<prefix>-<digits>` (at least three digits, as written).
fn parse_numbered(s: &str, prefix: &str, kind: &'static str) -> Result<u32, Error> {
    let bad = || Error::InvalidId {
        id: s.to_string(),
        expected: kind,
    };
    let digits = s
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .ok_or_else(bad)?;
    if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits.parse().map_err(|_| bad())
}

macro_rules! numbered_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $folder:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl ArtifactId for $name {
            const FOLDER: &'static str = $folder;
        }

        impl NumberedId for $name {
            const PREFIX: &'static str = $prefix;
            const FOLDER: &'static str = $folder;
            fn new(number: u32) -> Self {
                Self(number)
            }
            fn number(self) -> u32 {
                self.0
            }
        }

        impl $name {
            /// The id with this number.
            pub fn new(number: u32) -> Self {
                Self(number)
            }

            /// The id's number.
            pub fn number(self) -> u32 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{:03}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                parse_numbered(s, $prefix, $example).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

numbered_id!(
    /// An embedding artifact: `embeddings/embedding-NNN.*`.
    EmbeddingId, "embedding", "embeddings", "an embedding id like embedding-001"
);
numbered_id!(
    /// A 2-D layout artifact: `umaps/umap-NNN.*`.
    UmapId, "umap", "umaps", "a umap id like umap-001"
);
numbered_id!(
    /// A clustering artifact: `clusters/cluster-NNN.*`.
    ClusterId, "cluster", "clusters", "a cluster id like cluster-001"
);
numbered_id!(
    /// A scope: `scopes/scopes-NNN.*`.
    ScopeId, "scopes", "scopes", "a scope id like scopes-001"
);

/// A set of cluster labels: `clusters/cluster-NNN-labels-MMM.parquet`, or the
/// default labels the cluster step writes, `cluster-NNN-labels-default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelsId {
    cluster: ClusterId,
    number: Option<u32>,
}

impl ArtifactId for LabelsId {
    const FOLDER: &'static str = "clusters";
}

impl LabelsId {
    /// The labels numbered `number` of `cluster`.
    pub fn new(cluster: ClusterId, number: u32) -> Self {
        Self {
            cluster,
            number: Some(number),
        }
    }

    /// The default labels of `cluster`.
    pub fn default_for(cluster: ClusterId) -> Self {
        Self {
            cluster,
            number: None,
        }
    }

    /// Parses the labels of `cluster` as a user names them: a full id
    /// (`cluster-001-labels-002`), a number (`2`) or `default`.
    pub fn parse_for(cluster: ClusterId, text: &str) -> Result<Self, Error> {
        if text == "default" {
            return Ok(Self::default_for(cluster));
        }
        if let Ok(n) = text.parse::<u32>() {
            return Ok(Self::new(cluster, n));
        }
        text.parse()
    }

    /// The clustering these labels name.
    pub fn cluster(self) -> ClusterId {
        self.cluster
    }

    /// The number, or `None` for the default labels.
    pub fn number(self) -> Option<u32> {
        self.number
    }

    /// The form a scope records in `cluster_labels_id`: `"default"` or the full id.
    pub fn scope_form(self) -> String {
        match self.number {
            None => "default".to_string(),
            Some(_) => self.to_string(),
        }
    }
}

impl fmt::Display for LabelsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number {
            Some(n) => write!(f, "{}-labels-{n:03}", self.cluster),
            None => write!(f, "{}-labels-default", self.cluster),
        }
    }
}

impl FromStr for LabelsId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidId {
            id: s.to_string(),
            expected: "a labels id like cluster-001-labels-001 or cluster-001-labels-default",
        };
        let (cluster, rest) = s.split_once("-labels-").ok_or_else(bad)?;
        let cluster: ClusterId = cluster.parse().map_err(|_| bad())?;
        if rest == "default" {
            return Ok(Self::default_for(cluster));
        }
        let n = parse_numbered(&format!("l-{rest}"), "l", "").map_err(|_| bad())?;
        Ok(Self::new(cluster, n))
    }
}

impl Serialize for LabelsId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LabelsId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A dataset's id, checked ([`validate_dataset_id`]): one safe path
/// component, so a request can never name a file outside the data directory.
///
/// ```
/// use latentscope_core::ids::DatasetId;
/// let id: DatasetId = "pypi-10k".parse()?;
/// assert_eq!(id.as_str(), "pypi-10k");
/// assert!("../etc".parse::<DatasetId>().is_err());
/// # Ok::<(), latentscope_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatasetId(String);

impl DatasetId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DatasetId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        validate_dataset_id(s)?;
        Ok(Self(s.to_string()))
    }
}

impl AsRef<str> for DatasetId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for DatasetId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DatasetId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Checks a dataset id: 1–128 characters from `[A-Za-z0-9_-]`, so that it is
/// one safe path component everywhere (no `/`, `..`, spaces or dots).
pub fn validate_dataset_id(id: &str) -> Result<(), Error> {
    let reason = if id.is_empty() {
        Some("it is empty")
    } else if id.len() > 128 {
        Some("it is longer than 128 characters")
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Some("only letters, digits, '_' and '-' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidDatasetId {
            id: id.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}
