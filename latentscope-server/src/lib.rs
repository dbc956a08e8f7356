//! The latentscope HTTP API (axum) over a data directory, and (to come) the
//! web explorer it serves.
//!
//! # Brief overview
//!
//! - [`serve`] binds 127.0.0.1:5001 (or what [`ServeConfig`] says) and
//!   serves until the process ends; [`router`] is the application alone, for
//!   tests and embedding.
//! - Per-point data goes out as Arrow IPC streams: a scope's points in
//!   level-of-detail order ([`lod`]), a tag's rows.
//! - Errors are JSON `{error, code}` with the codes of `docs/errors.md`.
//! - Safe by default: loopback only, a `Host` that names the server, no
//!   write from another origin, nothing served outside the data directory,
//!   `--read-only` refuses every write and writes nothing.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod body;
pub mod error;
mod guard;
pub mod jobs;
pub mod lod;
mod openapi;
mod routes;
pub mod search;
pub mod site;
mod stamp;
pub mod state;
pub mod uploads;
mod whole;

use std::sync::Arc;

pub use error::{ApiError, ApiResult};
pub use latentscope_models;
pub use state::{AppState, ServeConfig};

/// The application for `config`: every route with its safety checks.
pub fn router(config: ServeConfig) -> axum::Router {
    routes::router(Arc::new(AppState::new(config)))
}

/// The OpenAPI document of every route (what `/api/openapi.json` serves).
pub fn openapi_json() -> String {
    routes::openapi_json()
}

/// `docs/api.md`: the OpenAPI document as Markdown.
pub fn api_markdown() -> String {
    let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap_or_default();
    openapi::markdown(&doc)
}

/// Binds `config.host:config.port` and serves until the process ends (or
/// `shutdown` resolves). Returns the address bound once listening, through
/// `on_listening`.
pub async fn serve(
    config: ServeConfig,
    on_listening: impl FnOnce(std::net::SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if !config.read_only {
        uploads::discard_abandoned(&config.data_dir);
    }
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await?;
    let address = listener.local_addr()?;
    // The port bound (a free one when 0 was asked) is the one our own pages use.
    let mut config = config;
    config.port = address.port();
    on_listening(address);
    let state = Arc::new(AppState::new(config));
    let app = routes::router(state.clone());
    // Read every scope's points and each dataset's rows while the first
    // browser loads the page, so the first map and hover need not wait.
    tokio::task::spawn_blocking(move || routes::warm(&state));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
