//! UMAP, HDBSCAN, PCA and convex hulls on plain [`ndarray`] arrays.
//!
//! The algorithms behind [latentscope](https://github.com/latentscope/latentscope-rs),
//! usable alone by any Rust program: no I/O, no async runtime, no Arrow. Each
//! entry point takes a matrix view, its parameters and a [`Progress`]
//! callback (which can cancel), and returns a typed result or a typed error.
//!
//! - [`umap::umap`]: a complete UMAP (approximate kNN graph by NN-descent,
//!   fuzzy simplicial set, spectral or PCA start, parallel SGD with negative
//!   sampling), cosine or Euclidean.
//! - [`hdbscan::hdbscan`]: exact HDBSCAN\* (core distances, mutual-reachability
//!   spanning tree, condensed tree, excess-of-mass or leaf selection,
//!   `cluster_selection_epsilon`).
//! - [`pca::pca`]: principal components by a blocked covariance product and a
//!   symmetric eigendecomposition (faer).
//! - [`hull::convex_hull`]: 2-D convex hulls as vertex indices.
//!
//! Work runs on the current rayon pool; run it inside
//! [`rayon::ThreadPool::install`] to choose the number of threads.
//!
//! ```
//! use latentscope_algorithms::hdbscan::{hdbscan, HdbscanParams};
//! use latentscope_algorithms::umap::{umap, UmapParams};
//! use latentscope_algorithms::NoProgress;
//! use ndarray::Array2;
//!
//! // Three groups of 100 rows, each group strong on its own 5 of 15 dimensions.
//! let x = Array2::from_shape_fn((300, 15), |(i, j)| {
//!     if j / 5 == i % 3 { 1.0 + ((i * 2654435761 + j * 40503) % 1000) as f32 * 3e-4 } else { 0.05 }
//! });
//! let mut params = UmapParams::default();
//! params.seed = Some(42);
//! let layout = umap(x.view(), &params, &NoProgress)?.embedding; // 300 × 2
//! let clusters = hdbscan(layout.view(), &HdbscanParams::new(15), &NoProgress)?;
//! // No cluster mixes rows of two groups.
//! for c in 0..clusters.n_clusters as i64 {
//!     let mut groups: Vec<usize> =
//!         (0..300).filter(|&i| clusters.labels[i] == c).map(|i| i % 3).collect();
//!     groups.dedup();
//!     assert_eq!(groups.len(), 1);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod compare;
pub mod hdbscan;
pub mod hull;
pub mod pca;
pub mod progress;
pub mod umap;

pub use progress::{NoProgress, Progress, ProgressEvent};
