//! The latentscope HTTP API and web explorer.
//!
//! # Brief overview
//!
//! This crate will serve a data directory over HTTP (axum, 127.0.0.1:5001 by
//! default) with a JSON API for datasets, artifacts, rows, search, tags and
//! jobs, and embed the built web explorer. Nothing is served yet.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub use latentscope_models;
