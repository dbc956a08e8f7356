//! `GET /api/steps`: each step's parameters with their defaults (the core's,
//! the same the CLI uses) and ranges, and the embedders and labelers this
//! build can run — what a form to start a step needs.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use latentscope_core::cluster::default_hdbscan_params;

use crate::error::ApiResult;
use crate::state::AppState;
use latentscope_core::hdbscan::HdbscanParams;
use latentscope_core::label::LabelOptions;
use latentscope_core::umap::UmapParams;
use serde::Serialize;
use serde_json::{Value, json};

/// One model or labeler a step can use.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Choice {
    /// The spec to pass (`static:minilm`, `candle:`, `keywords`).
    name: String,
    /// What it is.
    description: String,
    /// Specs a user can type.
    examples: Vec<String>,
    /// Whether this build can run it (else the feature it lacks says why).
    available: bool,
    /// Why not, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Specs that run on this machine without a download (for `candle:`,
    /// the models found in latentscope's and the HuggingFace caches).
    installed: Vec<String>,
}

/// Each step's defaults, ranges and choices.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Steps {
    /// embed: the default model and the embedders.
    #[schema(value_type = Object)]
    embed: Value,
    /// umap: parameters (`neighbors`, `min_dist`, …) with defaults and ranges.
    #[schema(value_type = Object)]
    umap: Value,
    /// cluster: HDBSCAN's parameters with defaults and ranges.
    #[schema(value_type = Object)]
    cluster: Value,
    /// label: options and the labelers.
    #[schema(value_type = Object)]
    label: Value,
}

/// Defaults as JSON, through text so that an `f32` 0.1 reads 0.1.
fn defaults<T: Serialize>(value: &T) -> Value {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

/// The embedders and labelers this build can run.
fn choices() -> (Vec<Choice>, Vec<Choice>) {
    let cached: Vec<String> = latentscope_models::locate::cached_models()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let embedders = latentscope_models::registry()
        .entries()
        .iter()
        .map(|e| Choice {
            installed: match e.spec.as_str() {
                "candle:" if e.missing_feature.is_none() => {
                    cached.iter().map(|n| format!("candle:{n}")).collect()
                }
                _ => Vec::new(),
            },
            name: e.spec.clone(),
            description: e.description.clone(),
            examples: e.examples.clone(),
            available: e.missing_feature.is_none() && missing_key(&e.spec).is_none(),
            reason: e
                .missing_feature
                .as_ref()
                .map(|f| format!("this build lacks the `{f}` feature"))
                .or_else(|| missing_key(&e.spec)),
        })
        .collect();
    let labelers = latentscope_models::labelers()
        .entries()
        .iter()
        .map(|e| Choice {
            name: e.name.clone(),
            description: e.description.clone(),
            examples: vec![e.name.clone()],
            available: missing_key(&e.name).is_none(),
            reason: missing_key(&e.name),
            installed: Vec::new(),
        })
        .collect();
    (embedders, labelers)
}

/// Why an API provider cannot run here: its key is not set (named, never
/// its value).
fn missing_key(spec: &str) -> Option<String> {
    let provider = latentscope_models::providers::Provider::from_name(spec.trim_end_matches(':'))?;
    let variable = provider
        .key_variable()
        .filter(|_| provider.key_required())?;
    latentscope_models::settings::find(variable, None)
        .is_none()
        .then(|| format!("no API key: set {variable} (the settings page saves it)"))
}

/// `GET /api/models`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Models {
    /// The embedders (`embed`'s `model`).
    embedders: Vec<Choice>,
    /// The labelers (`label`'s `labeler`).
    labelers: Vec<Choice>,
}

#[utoipa::path(get, path = "/api/models", tag = "meta", responses((status = 200, description = "The embedders and labelers this build can run (as in `GET /api/steps`)", body = Models)))]
/// The embedders and labelers.
pub(crate) async fn models() -> Json<Models> {
    let (embedders, labelers) = choices();
    Json(Models {
        embedders,
        labelers,
    })
}

/// `GET /api/steps` query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StepsQuery {
    /// A dataset: the cluster defaults for its row count.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,128}$")]
    dataset: Option<String>,
}

#[utoipa::path(get, path = "/api/steps", tag = "meta", params(StepsQuery), responses((status = 200, description = "Each step's parameters with their defaults and ranges, and the embedders and labelers this build can run", body = Steps)))]
/// Each step's parameters, defaults, ranges and choices.
pub(crate) async fn steps(
    State(state): State<Arc<AppState>>,
    Query(query): Query<StepsQuery>,
) -> ApiResult<Json<Steps>> {
    // HDBSCAN's defaults depend on the row count (the CLI's and the jobs').
    let rows = match &query.dataset {
        Some(ds) => Some(state.dataset(ds)?.rows()),
        None => None,
    };
    let cluster_defaults = match rows {
        Some(rows) => defaults(&default_hdbscan_params(rows as usize)),
        None => defaults(&HdbscanParams::default()),
    };
    let (embedders, labelers) = choices();
    Ok(Json(Steps {
        embed: json!({
            "default_model": latentscope_models::DEFAULT_MODEL,
            "embedders": embedders,
        }),
        umap: json!({
            "defaults": defaults(&UmapParams::default()),
            "ranges": {
                "neighbors": {"min": 2, "max": 200},
                "min_dist": {"min": 0.0, "max": "spread"},
                "spread": {"min_exclusive": 0.0},
                "negative_sample_rate": {"min": 0, "max": 1000},
                "n_epochs": {"min": 1},
            },
            "methods": ["umap", "pca"],
            "metrics": ["cosine", "euclidean"],
            "inits": ["spectral", "pca", "random", "umap-NNN"],
        }),
        cluster: json!({
            "defaults": cluster_defaults,
            "defaults_for_rows": rows,
            "samples_rule": "min_cluster_size (samples) is round(√rows / 4), between 5 and 1000, and min_samples at most 5, unless given",
            "ranges": {
                "samples": {"min": 2},
                "min_samples": {"min": 1},
                "cluster_selection_epsilon": {"min": 0.0},
            },
            "cluster_selection_methods": ["eom", "leaf"],
        }),
        label: json!({
            "defaults": defaults(&LabelOptions::default()),
            "labelers": labelers,
        }),
    }))
}
