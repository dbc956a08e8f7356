//! Parameters of a UMAP run.

use super::error::UmapError;

/// Distance between input rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Metric {
    /// `1 - cos(x, y)`.
    #[default]
    Cosine,
    /// `|x - y|`.
    Euclidean,
}

/// How the 2-D layout is initialised before optimisation.
///
/// With the `serde` feature it is written as its name (`"spectral"`, `"pca"`,
/// `"random"`, `"coordinates"`); the coordinates themselves are not written
/// (record where they came from instead), so `"coordinates"` cannot be read
/// back.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Init {
    /// Spectral embedding of the fuzzy graph (falls back to PCA when that is not possible).
    #[default]
    Spectral,
    /// The first two principal components of the input.
    Pca,
    /// Uniform random coordinates.
    Random,
    /// An earlier layout (n x 2) to align the new run with.
    Coordinates(ndarray::Array2<f32>),
}

/// Settings of [`umap`](super::umap); start from [`UmapParams::default`] and change fields.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct UmapParams {
    /// Size of the local neighbourhood (written `neighbors`, as the Python latent-scope names it), counting the point itself as umap-learn does (default 25, as the `latentscope` command and `run` use; umap-learn uses 15).
    #[cfg_attr(feature = "serde", serde(rename = "neighbors"))]
    pub n_neighbors: usize,
    /// Minimum distance between points in the layout (default 0.1).
    pub min_dist: f32,
    /// Scale of the embedded points (default 1.0).
    pub spread: f32,
    /// Input distance (default cosine).
    pub metric: Metric,
    /// Optimisation epochs; `None` means 500 for up to 10,000 rows and 200 above.
    pub n_epochs: Option<usize>,
    /// Seed for reproducible runs; `None` seeds from the clock.
    pub seed: Option<u64>,
    /// Initial layout (default spectral).
    pub init: Init,
    /// Negative samples per positive sample (default 5).
    pub negative_sample_rate: usize,
    /// Initial learning rate (default 1.0).
    pub learning_rate: f32,
    /// Weight of the repulsive term (default 1.0).
    pub repulsion_strength: f32,
}

impl Init {
    /// The name it is recorded under.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Spectral => "spectral",
            Init::Pca => "pca",
            Init::Random => "random",
            Init::Coordinates(_) => "coordinates",
        }
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Init {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Init {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        match name.as_ref() {
            "spectral" => Ok(Init::Spectral),
            "pca" => Ok(Init::Pca),
            "random" => Ok(Init::Random),
            other => Err(serde::de::Error::custom(format!(
                "init {other:?}: expected spectral, pca or random (coordinates are given, not read)"
            ))),
        }
    }
}

impl Default for UmapParams {
    fn default() -> Self {
        Self {
            n_neighbors: 25,
            min_dist: 0.1,
            spread: 1.0,
            metric: Metric::Cosine,
            n_epochs: None,
            seed: None,
            init: Init::Spectral,
            negative_sample_rate: 5,
            learning_rate: 1.0,
            repulsion_strength: 1.0,
        }
    }
}

fn invalid(name: &'static str, value: impl std::fmt::Display, reason: &'static str) -> UmapError {
    UmapError::InvalidParameter {
        name,
        value: value.to_string(),
        reason,
    }
}

impl UmapParams {
    /// Checks every parameter's range (the input's shape is checked by [`umap`](super::umap)).
    pub fn validate(&self) -> Result<(), UmapError> {
        if self.n_neighbors < 2 {
            return Err(invalid(
                "n_neighbors",
                self.n_neighbors,
                "must be at least 2",
            ));
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return Err(invalid(
                "spread",
                self.spread,
                "must be finite and positive",
            ));
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0) {
            return Err(invalid(
                "min_dist",
                self.min_dist,
                "must be finite and non-negative",
            ));
        }
        if self.min_dist > self.spread {
            return Err(invalid("min_dist", self.min_dist, "must not exceed spread"));
        }
        if self.n_epochs == Some(0) {
            return Err(invalid("n_epochs", 0, "must be at least 1"));
        }
        if self.negative_sample_rate > 1000 {
            return Err(invalid(
                "negative_sample_rate",
                self.negative_sample_rate,
                "must be at most 1000",
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid(
                "learning_rate",
                self.learning_rate,
                "must be finite and positive",
            ));
        }
        if !(self.repulsion_strength.is_finite() && self.repulsion_strength >= 0.0) {
            return Err(invalid(
                "repulsion_strength",
                self.repulsion_strength,
                "must be finite and non-negative",
            ));
        }
        if let Init::Coordinates(c) = &self.init {
            if c.ncols() != 2 {
                return Err(invalid(
                    "init",
                    format!("{} columns", c.ncols()),
                    "coordinates must have 2 columns",
                ));
            }
            if c.iter().any(|v| !v.is_finite()) {
                return Err(invalid("init", "non-finite", "coordinates must be finite"));
            }
        }
        Ok(())
    }

    /// The epoch count used for `n` rows.
    pub fn epochs_for(&self, n: usize) -> usize {
        self.n_epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 })
    }
}
