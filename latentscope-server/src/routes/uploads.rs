//! Uploads and ingest (refused read-only): `POST /api/uploads` stores a
//! table and answers its preview, `GET /api/uploads/{upload}` shows it
//! again, `DELETE` discards it; `POST /api/datasets` ingests an upload (or
//! a file sent with it) as a job.

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::body::JsonObject;
use crate::error::{ApiError, ApiResult};
use crate::jobs::Ingest;
use crate::state::{AppState, blocking};
use crate::uploads::{self, Preview, UPLOADS_FOLDER};

/// The body of `POST /api/datasets` as JSON: ingest an upload.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct IngestRequest {
    /// The upload's id (from `POST /api/uploads`).
    #[schema(pattern = r"^upload-[0-9]{1,20}-[0-9]{1,20}$")]
    pub upload: String,
    /// The column holding the text (default: the preview's guess).
    pub text_column: Option<String>,
    /// The new dataset's id (default: the preview's suggestion).
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,128}$")]
    pub dataset: Option<String>,
}

/// The form of `POST /api/uploads` and of `POST /api/datasets` as multipart.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    /// The table: a .csv, .tsv, .parquet, .jsonl or .ndjson file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// (`POST /api/datasets` only) the text column.
    text_column: Option<String>,
    /// (`POST /api/datasets` only) the new dataset's id.
    dataset: Option<String>,
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new("payload_too_large", e.body_text())
    } else {
        ApiError::new("bad_upload", format!("the form: {}", e.body_text()))
    }
}

/// Receives a multipart form: its `file` is written under a temporary
/// folder, read whole for its preview, and the folder renamed into place;
/// on any error nothing is kept. Returns the preview and the other fields.
async fn receive(
    state: &AppState,
    mut form: Multipart,
) -> ApiResult<(Preview, HashMap<String, String>)> {
    let root = state.config.data_dir.join(UPLOADS_FOLDER);
    let id = uploads::new_id();
    let tmp = root.join(format!(".tmp-{id}"));
    let result = async {
        let mut fields = HashMap::new();
        let mut file: Option<(std::path::PathBuf, String)> = None;
        while let Some(mut field) = form.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_string();
            if name != "file" {
                let text = field.text().await.map_err(multipart_error)?;
                if text.len() > 1024 {
                    return Err(ApiError::bad_request(format!("{name}: at most 1024 bytes")));
                }
                fields.insert(name, text);
                continue;
            }
            if file.is_some() {
                return Err(ApiError::new("bad_upload", "send one file per upload"));
            }
            let sent = field.file_name().unwrap_or_default().to_string();
            let (safe, _) = uploads::safe_name(&sent)?;
            tokio::fs::create_dir_all(&tmp)
                .await
                .map_err(|e| ApiError::new("io", format!("{}: {e}", tmp.display())))?;
            let path = tmp.join(&safe);
            let io = |e: std::io::Error| ApiError::new("io", format!("{}: {e}", path.display()));
            let mut out = tokio::fs::File::create(&path).await.map_err(io)?;
            let mut size = 0u64;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                size += chunk.len() as u64;
                if size > state.config.max_upload_bytes {
                    return Err(ApiError::new(
                        "payload_too_large",
                        format!(
                            "{sent:?}: over the upload limit of {} MB",
                            state.config.max_upload_bytes >> 20
                        ),
                    ));
                }
                out.write_all(&chunk).await.map_err(io)?;
            }
            out.flush().await.map_err(io)?;
            if size == 0 {
                return Err(ApiError::new("bad_upload", format!("{sent:?} is empty")));
            }
            file = Some((path, sent));
        }
        let (path, sent) =
            file.ok_or_else(|| ApiError::new("bad_upload", "the form has no `file` field"))?;
        let dataset = uploads::free_dataset_id(&state.config.data_dir, &sent);
        let upload = id.clone();
        let preview = blocking(move || uploads::preview(&path, &upload, &sent, dataset)).await?;
        let body = serde_json::to_vec_pretty(&preview)
            .map_err(|e| ApiError::new("internal", e.to_string()))?;
        std::fs::write(tmp.join("preview.json"), body)
            .map_err(|e| ApiError::new("io", format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, root.join(&id))
            .map_err(|e| ApiError::new("io", format!("{}: {e}", root.display())))?;
        Ok((preview, fields))
    }
    .await;
    if result.is_err() {
        drain(&mut form).await;
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Reads the rest of a form and drops it, so that an answer sent before the
/// whole request was read does not break the client's connection.
async fn drain(form: &mut Multipart) {
    while let Ok(Some(mut field)) = form.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

#[utoipa::path(post, path = "/api/uploads", tag = "uploads", request_body(content = UploadForm, content_type = "multipart/form-data", description = "The table as the form's `file` field; send the header `X-Latentscope: 1`"), responses((status = 201, description = "Stored; its preview: rows, columns and their types, the first rows, a guessed text column", body = Preview)))]
/// Stores an uploaded table and answers its preview.
pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Preview>)> {
    let mut form = form.map_err(|e| ApiError::new("bad_upload", e.body_text()))?;
    if let Err(e) = state.require_writable() {
        drain(&mut form).await;
        return Err(e);
    }
    let (preview, _) = receive(&state, form).await?;
    Ok((StatusCode::CREATED, Json(preview)))
}

#[utoipa::path(get, path = "/api/uploads/{upload}", tag = "uploads", params(("upload" = String, Path, description = "The upload id", pattern = r"^upload-[0-9]{1,20}-[0-9]{1,20}$")), responses((status = 200, description = "The upload's preview", body = Preview)))]
/// An upload's preview.
pub(crate) async fn preview(
    State(state): State<Arc<AppState>>,
    Path(upload): Path<String>,
) -> ApiResult<Json<Preview>> {
    let dir = uploads::folder(&state.config.data_dir, &upload)?;
    Ok(Json(uploads::read_preview(&dir)?))
}

#[utoipa::path(delete, path = "/api/uploads/{upload}", tag = "uploads", params(("upload" = String, Path, description = "The upload id", pattern = r"^upload-[0-9]{1,20}-[0-9]{1,20}$")), responses((status = 204, description = "Discarded")))]
/// Discards an upload.
pub(crate) async fn discard(
    State(state): State<Arc<AppState>>,
    Path(upload): Path<String>,
) -> ApiResult<StatusCode> {
    state.require_writable()?;
    let dir = uploads::folder(&state.config.data_dir, &upload)?;
    std::fs::remove_dir_all(&dir)
        .map_err(|e| ApiError::new("io", format!("{}: {e}", dir.display())))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks an ingest of `upload` and starts it as a job.
pub(crate) fn start_ingest(
    state: &AppState,
    upload: &str,
    text_column: Option<&str>,
    dataset: Option<&str>,
    rerun_of: Option<String>,
) -> ApiResult<Arc<crate::jobs::Job>> {
    let data_dir = &state.config.data_dir;
    let dir = uploads::folder(data_dir, upload)?;
    let preview = uploads::read_preview(&dir)?;
    let text_column = match text_column.or(preview.text_column.as_deref()) {
        Some(c) => c.to_string(),
        None => {
            return Err(ApiError::bad_request(format!(
                "text_column: {:?} has no column of strings to embed",
                preview.name
            )));
        }
    };
    let names = || {
        preview
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match preview.columns.iter().find(|c| c.name == text_column) {
        None => {
            return Err(ApiError::bad_request(format!(
                "text_column: {:?} has no column {text_column:?}; its columns: {}",
                preview.name,
                names()
            )));
        }
        Some(c) if c.kind != "string" => {
            return Err(ApiError::bad_request(format!(
                "text_column: {text_column:?} holds {} values, not text; the text columns: {}",
                c.kind,
                preview.text_columns.join(", ")
            )));
        }
        Some(_) => {}
    }
    let dataset = dataset.unwrap_or(&preview.dataset).to_string();
    latentscope_core::ids::validate_dataset_id(&dataset)?;
    if data_dir.join(&dataset).join("meta.json").exists() {
        return Err(ApiError::new(
            "already_exists",
            format!("dataset {dataset:?} exists; choose another id"),
        ));
    }
    let ingest = Ingest {
        upload: upload.to_string(),
        file: uploads::file_of(&dir)?,
        dataset,
        text_column,
    };
    state
        .jobs
        .start_ingest(state.data.store().clone(), data_dir, ingest, rerun_of)
}

#[utoipa::path(post, path = "/api/datasets", tag = "uploads", request_body(content((IngestRequest = "application/json"), (UploadForm = "multipart/form-data")), description = "An upload to ingest (JSON), or a file with it (multipart, with the header `X-Latentscope: 1`)"), responses((status = 202, description = "The ingest job, started (step `ingest`; its artifact is the new dataset's id)", body = Object)))]
/// Ingests an upload (or a file sent with the request) as a new dataset.
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("multipart/form-data"));
    let job = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::new("bad_upload", e.body_text()))?;
        if let Err(e) = state.require_writable() {
            drain(&mut form).await;
            return Err(e);
        }
        let (preview, fields) = receive(&state, form).await?;
        let started = start_ingest(
            &state,
            &preview.upload,
            fields.get("text_column").map(String::as_str),
            fields.get("dataset").map(String::as_str),
            None,
        );
        if started.is_err() {
            let dir = state
                .config
                .data_dir
                .join(UPLOADS_FOLDER)
                .join(&preview.upload);
            let _ = std::fs::remove_dir_all(FsPath::new(&dir));
        }
        started?
    } else {
        let JsonObject(body) = JsonObject::<IngestRequest>::from_request(request, &state).await?;
        state.require_writable()?;
        start_ingest(
            &state,
            &body.upload,
            body.text_column.as_deref(),
            body.dataset.as_deref(),
            None,
        )?
    };
    Ok((StatusCode::ACCEPTED, Json(job.summary())))
}
