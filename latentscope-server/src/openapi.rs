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
    /// `artifact_busy`: who holds the artifact (a job id or a process).
    #[schema(nullable = false)]
    pub holder: Option<String>,
    /// `has_dependents`: the artifacts made from the one asked to delete.
    #[schema(nullable = false)]
    pub dependents: Option<Vec<String>>,
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

/// `docs/api.md`: the OpenAPI document as a page to read (every route with
/// its parameters, body and answers). Made by `cargo run --example api_doc`;
/// a test keeps the committed page current.
pub(crate) fn markdown(doc: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").trim().replace('\n', " ");
    let _ = writeln!(
        out,
        "# The HTTP API of `latentscope serve`\n\n\
         Generated from the code (`cargo run -p latentscope-server --example api_doc > docs/api.md`); \
         the same description is served as OpenAPI 3.1 at `/api/openapi.json`. \
         Errors are JSON `{{error, code}}` with the codes of [errors.md](errors.md). \
         Per-point data is Arrow IPC (`application/vnd.apache.arrow.stream`), never JSON.\n"
    );
    let schema_name = |s: &serde_json::Value| -> String {
        if let Some(r) = s.get("$ref").and_then(|r| r.as_str()) {
            return format!("`{}`", r.rsplit('/').next().unwrap_or(r));
        }
        match s.get("type").and_then(|t| t.as_str()) {
            Some("array") => format!("array of {}", {
                let items = &s["items"];
                if let Some(r) = items.get("$ref").and_then(|r| r.as_str()) {
                    format!("`{}`", r.rsplit('/').next().unwrap_or(r))
                } else {
                    items
                        .get("type")
                        .and_then(|t| t.as_str())
                        .unwrap_or("any")
                        .to_string()
                }
            }),
            Some(t) => t.to_string(),
            None => "any".into(),
        }
    };
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let _ = writeln!(out, "## `{} {path}`\n", method.to_uppercase());
            let summary = text(&op["summary"]);
            if !summary.is_empty() {
                let _ = writeln!(out, "{summary}\n");
            }
            let description = text(&op["description"]);
            if !description.is_empty() {
                let _ = writeln!(out, "{description}\n");
            }
            if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                let _ = writeln!(
                    out,
                    "| parameter | in | type | required | description |\n|---|---|---|---|---|"
                );
                for p in params {
                    let mut ty = schema_name(&p["schema"]);
                    if let Some(pattern) = p["schema"]["pattern"].as_str() {
                        let _ = write!(ty, ", pattern `{}`", pattern.replace('|', "\\|"));
                    }
                    let _ = writeln!(
                        out,
                        "| `{}` | {} | {ty} | {} | {} |",
                        text(&p["name"]),
                        text(&p["in"]),
                        if p["required"].as_bool() == Some(true) {
                            "yes"
                        } else {
                            "no"
                        },
                        text(&p["description"]).replace('|', "\\|"),
                    );
                }
                out.push('\n');
            }
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for (media, c) in content {
                    let _ = writeln!(out, "Body: `{media}`, {}\n", schema_name(&c["schema"]));
                }
            }
            if let Some(responses) = op["responses"].as_object() {
                for (status, r) in responses {
                    let media: Vec<String> = r["content"]
                        .as_object()
                        .map(|c| {
                            c.iter()
                                .map(|(m, c)| format!("`{m}` {}", schema_name(&c["schema"])))
                                .collect()
                        })
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "- **{status}**: {}{}",
                        text(&r["description"]),
                        if media.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", media.join(", "))
                        }
                    );
                }
                out.push('\n');
            }
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        let _ = writeln!(out, "## Schemas\n");
        for (name, s) in schemas {
            let _ = writeln!(out, "### `{name}`\n");
            let description = text(&s["description"]);
            if !description.is_empty() {
                let _ = writeln!(out, "{description}\n");
            }
            if let Some(props) = s["properties"].as_object() {
                let required: Vec<&str> = s["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| field | type | required | description |\n|---|---|---|---|"
                );
                for (field, p) in props {
                    let _ = writeln!(
                        out,
                        "| `{field}` | {} | {} | {} |",
                        schema_name(p),
                        if required.contains(&field.as_str()) {
                            "yes"
                        } else {
                            "no"
                        },
                        text(&p["description"]).replace('|', "\\|"),
                    );
                }
                out.push('\n');
            }
        }
    }
    out
}
