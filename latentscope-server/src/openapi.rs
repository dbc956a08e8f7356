//! The API described once: the OpenAPI document served at
//! `/api/openapi.json` is generated from the handlers' `#[utoipa::path]`
//! annotations as the router registers them ([`utoipa_axum`]), so a route
//! cannot be served without being described, nor described without being
//! served. `docs/api.md` is made from this document
//! (`cargo run --example api_doc`).
//!
//! The types here describe JSON answers that handlers build with `json!`.

use serde::Serialize;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{ContentBuilder, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

/// An error: `{error, code}` with a code of `docs/errors.md`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, naming the row, file or field.
    pub error: String,
    /// A stable code: `not_found`, `read_only`, `invalid_parameter`, …
    pub code: String,
}

/// `GET /api/version`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VersionInfo {
    /// The server's version.
    pub version: String,
    /// Whether the server refuses every write.
    pub read_only: bool,
    /// What this server can do (`points_arrow`, `lod`, `rows`, `tags`, `search_hnsw`, …).
    pub features: Vec<String>,
    /// The embedding models this build can run (`static:…`, `candle:…`).
    pub embedders: Vec<String>,
}

/// The answer of a similarity search.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NnResult {
    /// The nearest rows, nearest first.
    pub indices: Vec<u64>,
    /// Their cosine distances (1 − cosine similarity).
    pub distances: Vec<f32>,
    /// Which search answered: `exact` or `hnsw`.
    pub mode: String,
    /// The embedding searched.
    pub embedding: String,
    /// Time spent answering, in milliseconds.
    pub took_ms: f64,
}

/// The answer of a substring search.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TextResult {
    /// Matching rows, in row order.
    pub indices: Vec<u64>,
    /// How many rows match in all (`indices` stops at `limit`).
    pub total: u64,
    /// The column searched.
    pub column: String,
}

/// One distinct value of a column and how often it occurs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValueCount {
    /// The value (a string, number, boolean or null).
    #[schema(value_type = Value)]
    pub value: serde_json::Value,
    /// The rows holding it.
    pub count: u64,
}

/// A column's distinct values, most frequent first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ValuesResult {
    /// The column.
    pub column: String,
    /// How many distinct values it has.
    pub distinct: u64,
    /// The most frequent values (`limit` of them).
    pub values: Vec<ValueCount>,
}

/// A page of rows under a filter.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PageResult {
    /// Rows passing the filter.
    pub total: u64,
    /// The page: records with `ls_index` and the chosen columns.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Value>,
}

/// Adds the error answer to every operation, as the `default` response
/// (applied once every route is in the document).
pub(crate) struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = ResponseBuilder::new()
            .description("An error: `{error, code}` (docs/errors.md)")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "ErrorBody",
                    ))))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| RefOr::T(error.clone()));
            }
        }
    }
}

/// The document's frame: title, version, shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "latentscope",
        description = "The HTTP API of `latentscope serve`: datasets, scopes, points in level-of-detail order (Arrow IPC), rows, columns, filters, similarity search and tags."
    ),
    components(schemas(ErrorBody))
)]
pub(crate) struct ApiDoc;
