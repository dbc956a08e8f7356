//! The router: every route of the read side (EXPLORER.md §4), the safety
//! checks around them, JSON 404 and 405 answers, and the pages.

mod columns;
mod files;
mod meta;
mod page;
mod rows;
pub(crate) mod scopes;
mod search;
mod tags;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::ApiError;
use crate::guard;
use crate::state::AppState;

/// The largest request body (JSON; uploads come with their own limit).
pub(crate) const MAX_BODY: usize = 16 << 20;

/// JSON 404 for any method on a path the API does not have; the page for
/// GET/HEAD elsewhere.
async fn fallback(state: axum::extract::State<Arc<AppState>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::no_route(method.as_str(), &path).into_response();
    }
    if method == Method::GET || method == Method::HEAD {
        return page::index(state).await.into_response();
    }
    ApiError::new(
        "method_not_allowed",
        format!("{method} {path}: pages take GET"),
    )
    .into_response()
}

/// JSON 405 for a method a route does not take.
async fn method_not_allowed(request: Request) -> Response {
    ApiError::new(
        "method_not_allowed",
        format!(
            "{} {} is not allowed",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}

/// The whole application.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/api/version", get(meta::version))
        .route("/api/datasets", get(meta::datasets))
        .route("/api/datasets/{ds}", get(meta::dataset))
        .route("/api/datasets/{ds}/scopes/{s}", get(scopes::scope))
        .route(
            "/api/datasets/{ds}/scopes/{s}/points",
            get(scopes::points_route),
        )
        .route(
            "/api/datasets/{ds}/rows",
            get(rows::rows_get).post(rows::rows_post),
        )
        .route("/api/datasets/{ds}/rows/page", post(columns::page))
        .route("/api/datasets/{ds}/filter", post(columns::filter))
        .route("/api/datasets/{ds}/columns/{col}", get(columns::one))
        .route(
            "/api/datasets/{ds}/columns/{col}/values",
            get(columns::values),
        )
        .route("/api/datasets/{ds}/search/nn", get(search::nn))
        .route("/api/datasets/{ds}/search/text", get(search::text))
        .route("/api/datasets/{ds}/tags", get(tags::list))
        .route("/api/datasets/{ds}/tags/{t}", get(tags::one))
        .route("/api/datasets/{ds}/files/{kind}/{file}", get(files::file))
        .route("/favicon.svg", get(page::favicon))
        .route("/favicon.ico", get(page::favicon))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(fallback);
    api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        guard::check,
    ))
    .layer(RequestBodyLimitLayer::new(MAX_BODY))
    .layer(CatchPanicLayer::custom(guard::panic_response))
    .with_state(state)
}
