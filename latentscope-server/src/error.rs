//! Errors as the API answers them: a JSON body `{error, code}` with the
//! status and code of `docs/errors.md`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latentscope_core::error::status_of;

/// An error answered as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (`not_found`, `read_only`, …).
    pub code: &'static str,
    /// The message, naming what was wrong.
    pub message: String,
    /// Fields added to the body beside `error` and `code` (a busy
    /// artifact's `holder`, a delete's `dependents`).
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    /// An error with a code of `docs/errors.md` (its status follows).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status_of(code))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
            extra: serde_json::Map::new(),
        }
    }

    /// The same error with `key: value` added to its body.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// 404 for a path the API does not have.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new("not_found", format!("no route {method} {path}"))
    }

    /// 403 for a write on a read-only server.
    pub fn read_only() -> Self {
        Self::new(
            "read_only",
            "this server is read-only (--read-only): it changes nothing",
        )
    }

    /// 400 for a request that cannot be understood.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new("invalid_parameter", message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The CLI exit status of its code (`docs/errors.md`).
    pub fn exit_code(&self) -> u8 {
        latentscope_core::error::exit_code_of(self.code)
    }
}

impl From<latentscope_core::Error> for ApiError {
    fn from(e: latentscope_core::Error) -> Self {
        let error = Self::new(e.code(), e.to_string());
        match e {
            latentscope_core::Error::Busy { artifact, holder } => {
                error.with("artifact", artifact).with("holder", holder)
            }
            latentscope_core::Error::HasDependents {
                artifact,
                dependents,
            } => error
                .with("artifact", artifact)
                .with("dependents", dependents),
            _ => error,
        }
    }
}

impl From<latentscope_core::latentscope_io::Error> for ApiError {
    fn from(e: latentscope_core::latentscope_io::Error) -> Self {
        latentscope_core::Error::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.extra;
        body.insert("error".into(), self.message.into());
        body.insert("code".into(), self.code.into());
        (self.status, Json(body)).into_response()
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
