//! Settings: `GET /api/settings` names the API keys that are set (never
//! their values) and the providers' endpoints; `POST /api/settings` saves
//! one to the settings file outside the data directory
//! (`$XDG_CONFIG_HOME/latentscope/.env`), only on a loopback server that
//! may write. Models: `GET /api/models`, what this build can run.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use latentscope_models::settings::{self, SettingsError};
use serde::{Deserialize, Serialize};

use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// An API key: whether it is set, and where (never its value).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeyState {
    /// `OPENAI_API_KEY`, …
    name: String,
    /// Whether it is set.
    set: bool,
    /// `environment` or `file`, when set.
    source: Option<&'static str>,
}

/// A provider's endpoint: an address, not a secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EndpointState {
    /// `OPENAI_BASE_URL`, `OLLAMA_HOST` or `LATENTSCOPE_ENDPOINT_<NAME>`.
    name: String,
    /// Its value, when set.
    value: Option<String>,
    /// `environment` or `file`, when set.
    source: Option<&'static str>,
}

/// `GET /api/settings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Settings {
    /// The API keys, set or not.
    keys: Vec<KeyState>,
    /// The endpoints, set or not, and every named endpoint.
    endpoints: Vec<EndpointState>,
    /// The settings file (outside the data directory).
    config_file: Option<String>,
    /// The data directory served.
    data_dir: String,
    /// Whether `POST /api/settings` may save here (a loopback server that
    /// is not read-only).
    writable: bool,
}

/// The body of `POST /api/settings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct SettingChange {
    /// A key or endpoint name (see `GET /api/settings`), or
    /// `LATENTSCOPE_ENDPOINT_<NAME>` for a new OpenAI-compatible endpoint.
    #[schema(pattern = r"^[A-Z][A-Z0-9_]{0,99}$")]
    name: String,
    /// The value; empty or null removes it from the file.
    value: Option<String>,
}

fn current(state: &AppState) -> Settings {
    let file = state.config.settings_file.as_deref();
    let set = settings::all_set_in(file);
    let found = |name: &str| set.iter().find(|(n, _, _)| n == name);
    let keys = settings::KEY_NAMES
        .iter()
        .map(|&name| KeyState {
            name: name.to_string(),
            set: found(name).is_some(),
            source: found(name).map(|(_, _, s)| s.as_str()),
        })
        .collect();
    let mut names: Vec<&str> = settings::ENDPOINT_NAMES.to_vec();
    for (n, _, _) in &set {
        if n.starts_with(settings::ENDPOINT_PREFIX) && !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    let endpoints = names
        .into_iter()
        .map(|name| EndpointState {
            name: name.to_string(),
            value: found(name).map(|(_, v, _)| v.clone()),
            source: found(name).map(|(_, _, s)| s.as_str()),
        })
        .collect();
    Settings {
        keys,
        endpoints,
        config_file: file.map(|p| p.display().to_string()),
        data_dir: state.config.data_dir.display().to_string(),
        writable: !state.config.read_only && state.config.is_loopback(),
    }
}

#[utoipa::path(get, path = "/api/settings", tag = "settings", responses((status = 200, description = "Which API keys are set (names only) and the endpoints", body = Settings)))]
/// The settings: key names, endpoints, the settings file and data directory.
pub(crate) async fn get(State(state): State<Arc<AppState>>) -> Json<Settings> {
    Json(current(&state))
}

#[utoipa::path(post, path = "/api/settings", tag = "settings", request_body = SettingChange, responses((status = 200, description = "Saved to the settings file; the settings as `GET` shows them (no value of a key)", body = Settings)))]
/// Saves (or removes) one key or endpoint in the settings file.
pub(crate) async fn save(
    State(state): State<Arc<AppState>>,
    JsonObject(change): JsonObject<SettingChange>,
) -> ApiResult<Json<Settings>> {
    state.require_writable()?;
    if !state.config.is_loopback() {
        return Err(ApiError::new(
            "forbidden",
            "settings are saved only by a server bound to loopback (127.0.0.1)",
        ));
    }
    let file = state
        .config
        .settings_file
        .clone()
        .ok_or_else(|| ApiError::new("io", SettingsError::NoConfigDir.to_string()))?;
    if file.starts_with(&state.config.data_dir) {
        return Err(ApiError::new(
            "forbidden",
            format!(
                "the settings file {} is inside the data directory: set XDG_CONFIG_HOME elsewhere",
                file.display()
            ),
        ));
    }
    crate::state::blocking(move || {
        settings::save_to(&file, &change.name, change.value.as_deref()).map_err(|e| match e {
            SettingsError::Invalid(m) => ApiError::bad_request(m),
            SettingsError::NoConfigDir | SettingsError::Io(..) => {
                ApiError::new("io", e.to_string())
            }
        })
    })
    .await?;
    Ok(Json(current(&state)))
}
