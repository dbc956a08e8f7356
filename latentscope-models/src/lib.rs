//! Embedder and labeler backends for latentscope.
//!
//! # Brief overview
//!
//! This crate will hold the built-in static embedding model, the candle
//! transformer backend for BERT-family sentence models, and the API providers
//! (OpenAI, Mistral, Ollama, any OpenAI-compatible endpoint), each behind a
//! cargo feature. Every backend implements the plugin traits of
//! [`latentscope_core`], so a third party can write its own with that crate
//! alone. No backend is built yet.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub use latentscope_core;
