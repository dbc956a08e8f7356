//! JSON request bodies: the body must be a JSON object (serde would also
//! take a struct written as an array, which the API's schema does not
//! allow), and every failure answers a JSON 400/413/415 naming the field.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON object body deserialized as `T`.
#[derive(Debug)]
pub(crate) struct JsonObject<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonObject<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(|e| {
                let code = match e.status().as_u16() {
                    413 => "payload_too_large",
                    415 => "unsupported_media_type",
                    _ => "invalid_parameter",
                };
                ApiError::new(code, e.body_text())
            })?;
        if !value.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        serde_json::from_value(value)
            .map(JsonObject)
            .map_err(|e| ApiError::bad_request(format!("the body: {e}")))
    }
}
