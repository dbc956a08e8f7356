//! Safety checks every request passes before its handler: the `Host` header
//! names this server (against DNS rebinding), a request from a page on
//! another site cannot change anything, and a panicking handler answers a
//! JSON 500 while the server goes on.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// The host part of a `Host` header (`127.0.0.1:5001` → `127.0.0.1`,
/// `[::1]:5001` → `::1`).
fn host_part(value: &str) -> &str {
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    value.rsplit_once(':').map_or(value, |(h, _)| h)
}

/// The hosts a request may name: loopback, and the address bound.
fn allowed_host(state: &AppState, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "127.0.0.1"
        || host == "localhost"
        || host == "::1"
        || host == state.config.host.to_ascii_lowercase()
}

/// The origins a request that writes may come from: the server's own.
fn allowed_origin(state: &AppState, origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse::<u16>().ok()),
        _ => (rest, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (allowed_host(state, host) && port == Some(state.config.port))
        || state.config.cors.as_deref() == Some(origin)
}

/// Refuses requests for another host, and requests that would change
/// something from another origin or without a JSON body.
pub(crate) async fn check(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let headers: &HeaderMap = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(host_part);
    match host {
        Some(h) if allowed_host(&state, h) => {}
        _ => {
            return ApiError::new(
                "forbidden",
                "the Host header does not name this server (127.0.0.1, localhost or --host)",
            )
            .into_response();
        }
    }
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
            && !allowed_origin(&state, origin)
        {
            return ApiError::new(
                "forbidden",
                format!("requests from {origin} may not call this server"),
            )
            .into_response();
        }
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"));
        let has_body = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l != "0");
        // Only a page of ours sends this header: another site's would need
        // a CORS preflight, which this server never grants.
        let ours = headers.contains_key("x-latentscope");
        if has_body && !json && !ours {
            return ApiError::new(
                "unsupported_media_type",
                "send JSON (Content-Type: application/json), or a form with the header X-Latentscope: 1",
            )
            .into_response();
        }
    }
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if api && response.status().is_client_error() && !is_json(&response) {
        response = as_json_error(response).await;
    }
    if let Some(origin) = &state.config.cors
        && let Ok(value) = origin.parse()
    {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    response
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"))
}

/// An error answered in plain text by axum itself (a query, path or JSON body
/// that does not parse) as the API's JSON `{error, code}`, same status.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    let code = match status.as_u16() {
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        _ => "invalid_parameter",
    };
    let text = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut error = ApiError::new(code, text).into_response();
    *error.status_mut() = status;
    error
}

/// The answer of a handler that panicked.
pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    ApiError::new(
        "internal",
        "the server failed on this request (a bug); it goes on",
    )
    .into_response()
}
