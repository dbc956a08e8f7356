//! The router: every route of the read side (EXPLORER.md §4), the safety
//! checks around them, JSON 404 and 405 answers, and the pages.

mod app;
pub(crate) use app::built_files;
mod artifacts;
mod columns;
mod compare;
mod curate;
mod export;
mod files;
mod jobs;
mod meta;
mod page;
mod rows;
pub(crate) use rows::cell;
pub(crate) mod scopes;
mod search;
mod settings;
mod steps;
mod tags;
mod uploads;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::{Modify as _, OpenApi as _};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::guard;
use crate::openapi::ApiDoc;
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
        return app::page(state.0, &path).await;
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

/// Every API route with its description: registered and described together.
fn api() -> OpenApiRouter<Arc<AppState>> {
    api_json().merge(api_uploads())
}

/// The routes that take uploads (their own body limit).
fn api_uploads() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(meta::datasets, uploads::create))
        .routes(routes!(uploads::upload))
        .routes(routes!(uploads::preview, uploads::discard))
}

/// Every other route (JSON bodies up to [`MAX_BODY`]).
fn api_json() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(meta::version))
        .routes(routes!(steps::steps))
        .routes(routes!(steps::models))
        .routes(routes!(settings::get, settings::save))
        .routes(routes!(jobs::all))
        .routes(routes!(jobs::start, jobs::list))
        .routes(routes!(jobs::one))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::rerun))
        .routes(routes!(jobs::events))
        .routes(routes!(meta::dataset))
        .routes(routes!(artifacts::name, artifacts::delete))
        .routes(routes!(artifacts::dependents))
        .routes(routes!(scopes::scope))
        .routes(routes!(scopes::points_route))
        .routes(routes!(rows::rows_get, rows::rows_post))
        .routes(routes!(columns::page))
        .routes(routes!(columns::filter))
        .routes(routes!(columns::one))
        .routes(routes!(columns::values))
        .routes(routes!(search::nn))
        .routes(routes!(search::text))
        .routes(routes!(tags::list, tags::create))
        .routes(routes!(tags::one, tags::delete))
        .routes(routes!(tags::add))
        .routes(routes!(tags::remove))
        .routes(routes!(export::export_post, export::export_get))
        .routes(routes!(curate::curate))
        .routes(routes!(compare::umaps))
        .routes(routes!(compare::clusters))
        .routes(routes!(files::file))
}

/// The OpenAPI document of every route, as JSON.
pub(crate) fn openapi_json() -> String {
    let mut doc = api().into_openapi();
    crate::openapi::ErrorResponses.modify(&mut doc);
    doc.to_pretty_json().unwrap_or_default()
}

/// `GET /api/openapi.json`.
async fn openapi_route() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        DOC.get_or_init(openapi_json).clone(),
    )
        .into_response()
}

/// Reads what the first requests will ask for into the caches: every
/// scope's points (in LOD order) and each dataset's input table (up to a
/// size). Errors are left for the requests to report.
pub(crate) fn warm(state: &AppState) {
    const MAX_INPUT_BYTES: u64 = 512 << 20;
    let Ok(all) = state.data.datasets() else {
        return;
    };
    for meta in all {
        let Ok(ds) = state.dataset(&meta.id) else {
            continue;
        };
        for id in ds
            .artifact_ids::<latentscope_core::ScopeId>()
            .unwrap_or_default()
            .into_iter()
            .rev()
        {
            let _ = scopes::points(state, &ds, id);
        }
        let input = state.path_of(&ds.key(latentscope_core::dataset::INPUT_FILE));
        if std::fs::metadata(&input).is_ok_and(|m| m.len() <= MAX_INPUT_BYTES) {
            let _ = state.input(&ds);
        }
    }
}

/// The whole application.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let (json, _) = api_json().split_for_parts();
    let (uploads, _) = api_uploads().split_for_parts();
    let upload_limit = usize::try_from(state.config.max_upload_bytes.saturating_add(1 << 20))
        .unwrap_or(usize::MAX);
    let api = json
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .merge(uploads.layer(RequestBodyLimitLayer::new(upload_limit)))
        .route("/api/openapi.json", get(openapi_route))
        .route("/favicon.svg", get(page::favicon))
        .route("/favicon.ico", get(page::favicon))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(fallback);
    api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        guard::check,
    ))
    .layer(CatchPanicLayer::custom(guard::panic_response))
    .with_state(state)
}
