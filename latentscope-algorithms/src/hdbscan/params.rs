//! Parameters of an HDBSCAN run.

use super::error::HdbscanError;

/// How flat clusters are chosen from the condensed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum ClusterSelectionMethod {
    /// Excess of mass: pick the clusters with the greatest total stability.
    #[default]
    Eom,
    /// Pick the leaves of the condensed cluster tree.
    Leaf,
}

/// Parameters of [`hdbscan`](super::hdbscan); the defaults match the Python
/// `hdbscan` package (`min_cluster_size = 5`, `min_samples = None`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct HdbscanParams {
    /// Smallest group of points that counts as a cluster (at least 2; written
    /// `samples`, as the Python latent-scope names it).
    #[cfg_attr(feature = "serde", serde(rename = "samples"))]
    pub min_cluster_size: usize,
    /// Neighbourhood size for core distances: the distance to the
    /// `min_samples`-th nearest other point. `None` means `min_cluster_size`.
    pub min_samples: Option<usize>,
    /// Clusters born below this distance are merged upwards (0 disables).
    pub cluster_selection_epsilon: f64,
    /// How flat clusters are selected.
    #[cfg_attr(feature = "serde", serde(rename = "cluster_selection_method"))]
    pub method: ClusterSelectionMethod,
    /// Let excess of mass return the whole data set as one cluster.
    pub allow_single_cluster: bool,
    /// Excess of mass never selects a cluster larger than this (`None`: no limit).
    pub max_cluster_size: Option<usize>,
}

impl Default for HdbscanParams {
    fn default() -> Self {
        Self::new(5)
    }
}

impl HdbscanParams {
    /// Default parameters with the given minimum cluster size.
    pub fn new(min_cluster_size: usize) -> Self {
        Self {
            min_cluster_size,
            min_samples: None,
            cluster_selection_epsilon: 0.0,
            method: ClusterSelectionMethod::Eom,
            allow_single_cluster: false,
            max_cluster_size: None,
        }
    }

    /// Sets `min_samples`.
    pub fn with_min_samples(mut self, min_samples: usize) -> Self {
        self.min_samples = Some(min_samples);
        self
    }

    /// Sets `cluster_selection_epsilon`.
    pub fn with_cluster_selection_epsilon(mut self, epsilon: f64) -> Self {
        self.cluster_selection_epsilon = epsilon;
        self
    }

    /// Sets the cluster selection method.
    pub fn with_method(mut self, method: ClusterSelectionMethod) -> Self {
        self.method = method;
        self
    }

    /// Sets `allow_single_cluster`.
    pub fn with_allow_single_cluster(mut self, allow: bool) -> Self {
        self.allow_single_cluster = allow;
        self
    }

    /// Sets `max_cluster_size`.
    pub fn with_max_cluster_size(mut self, max_cluster_size: Option<usize>) -> Self {
        self.max_cluster_size = max_cluster_size;
        self
    }

    /// The effective `min_samples` (`min_cluster_size` when unset).
    pub fn effective_min_samples(&self) -> usize {
        self.min_samples.unwrap_or(self.min_cluster_size)
    }

    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), HdbscanError> {
        if self.min_cluster_size < 2 {
            return Err(HdbscanError::InvalidParameter {
                name: "min_cluster_size",
                value: self.min_cluster_size.to_string(),
                reason: "must be at least 2",
            });
        }
        if let Some(ms) = self.min_samples
            && ms < 1
        {
            return Err(HdbscanError::InvalidParameter {
                name: "min_samples",
                value: ms.to_string(),
                reason: "must be at least 1",
            });
        }
        let eps = self.cluster_selection_epsilon;
        if !eps.is_finite() || eps < 0.0 {
            return Err(HdbscanError::InvalidParameter {
                name: "cluster_selection_epsilon",
                value: eps.to_string(),
                reason: "must be finite and non-negative",
            });
        }
        if let Some(m) = self.max_cluster_size
            && m < 1
        {
            return Err(HdbscanError::InvalidParameter {
                name: "max_cluster_size",
                value: m.to_string(),
                reason: "must be at least 1 (use None for no limit)",
            });
        }
        Ok(())
    }
}
