//! The pages outside `/api`: until the explorer lands, `/` (and every
//! other page address, such as `/datasets/{ds}/explore/{s}`) is a plain page
//! listing the datasets and their scopes with thumbnails; and a favicon.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use latentscope_core::ScopeId;

use crate::state::AppState;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page: every dataset, its scopes with thumbnails, each linking to its
/// explore address.
pub(crate) async fn index(State(state): State<Arc<AppState>>) -> Html<String> {
    let mut body = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>latentscope</title>\
         <link rel=\"icon\" href=\"/favicon.svg\"><style>body{font:15px system-ui,sans-serif;margin:2em;color:#222}\
         @media(prefers-color-scheme:dark){body{background:#111;color:#ddd}a{color:#8cf}}\
         .scopes{display:flex;flex-wrap:wrap;gap:1em}.scope{width:200px}.scope img{width:200px;height:200px;border:1px solid #8884}</style>\
         </head><body><h1>latentscope</h1>",
    );
    if state.config.read_only {
        body.push_str("<p>read-only</p>");
    }
    match state.data.datasets() {
        Ok(all) if all.is_empty() => body.push_str(
            "<p>No datasets yet: <code>latentscope run my.csv --text-column text</code></p>",
        ),
        Ok(all) => {
            for meta in all {
                let Ok(ds) = state.dataset(&meta.id) else {
                    continue;
                };
                body.push_str(&format!(
                    "<h2>{}</h2><p>{} rows, text column <code>{}</code></p><div class=\"scopes\">",
                    esc(&meta.id),
                    meta.length,
                    esc(&meta.text_column)
                ));
                for id in ds.artifact_ids::<ScopeId>().unwrap_or_default() {
                    let Ok(scope) = ds.scope_meta(id) else {
                        continue;
                    };
                    body.push_str(&format!(
                        "<div class=\"scope\"><a href=\"/datasets/{ds}/explore/{id}\"><img alt=\"{id}\" src=\"/api/datasets/{ds}/files/umaps/{umap}.png\"><br>{label}</a> <small>{id}</small></div>",
                        ds = esc(ds.id()),
                        umap = scope.umap_id,
                        label = esc(&scope.label),
                    ));
                }
                body.push_str("</div>");
            }
        }
        Err(e) => body.push_str(&format!(
            "<p>cannot list the data directory: {}</p>",
            esc(&e.to_string())
        )),
    }
    body.push_str("</body></html>");
    Html(body)
}

/// The favicon: a scatter of dots.
const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#223\"/><circle cx=\"5\" cy=\"6\" r=\"1.6\" fill=\"#f6a\"/><circle cx=\"10\" cy=\"5\" r=\"1.6\" fill=\"#6cf\"/><circle cx=\"8\" cy=\"11\" r=\"1.6\" fill=\"#fd5\"/><circle cx=\"12\" cy=\"10\" r=\"1.2\" fill=\"#6cf\"/><circle cx=\"4\" cy=\"11\" r=\"1.2\" fill=\"#f6a\"/></svg>";

/// `GET /favicon.svg` and `/favicon.ico`.
pub(crate) async fn favicon() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}
