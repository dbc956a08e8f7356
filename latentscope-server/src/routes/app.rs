//! The explorer app: the built front end (`web/dist`, embedded in the binary
//! at compile time, or read from [`ServeConfig::web_dir`] while developing
//! it) for every page address outside `/api`. A path naming a file of the
//! build serves that file; any other page address (`/`,
//! `/datasets/{ds}/explore/{s}`, …) serves `index.html`, whose script reads
//! the address. Without a built app the plain listing of [`super::page`]
//! answers instead.
//!
//! [`ServeConfig::web_dir`]: crate::ServeConfig::web_dir

use std::borrow::Cow;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use crate::state::AppState;

/// The explorer as built by `npm run build` in `latentscope-server/web`.
static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/web/dist");

/// The media type of a built file, by its extension.
fn media_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The path inside the build that `path` names, if it is a plain relative
/// path (no `..`, `.`-files, backslashes or empty segments).
fn build_path(path: &str) -> Option<&str> {
    let relative = path.strip_prefix('/')?;
    let plain = !relative.is_empty()
        && relative
            .split('/')
            .all(|s| !s.is_empty() && !s.starts_with('.') && !s.contains('\\'));
    plain.then_some(relative)
}

/// One file of the build, from the development directory or the binary.
fn built_file(state: &AppState, relative: &str) -> Option<Cow<'static, [u8]>> {
    match &state.config.web_dir {
        Some(dir) => std::fs::read(dir.join(relative)).ok().map(Cow::Owned),
        None => DIST.get_file(relative).map(|f| Cow::Borrowed(f.contents())),
    }
}

/// Every file of the explorer's build (relative path, contents), for a
/// static site: the embedded build, or `web_dir`'s.
pub(crate) fn built_files(state: &AppState) -> crate::error::ApiResult<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    match &state.config.web_dir {
        Some(dir) => {
            let mut stack = vec![dir.clone()];
            while let Some(d) = stack.pop() {
                let entries = std::fs::read_dir(&d).map_err(|e| {
                    crate::error::ApiError::new("io", format!("{}: {e}", d.display()))
                })?;
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if let Ok(relative) = path.strip_prefix(dir) {
                        let bytes = std::fs::read(&path).map_err(|e| {
                            crate::error::ApiError::new("io", format!("{}: {e}", path.display()))
                        })?;
                        out.push((relative.to_string_lossy().replace('\\', "/"), bytes));
                    }
                }
            }
        }
        None => {
            let mut stack = vec![&DIST];
            while let Some(d) = stack.pop() {
                for file in d.files() {
                    out.push((
                        file.path().to_string_lossy().replace('\\', "/"),
                        file.contents().to_vec(),
                    ));
                }
                stack.extend(d.dirs());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn file_response(relative: &str, bytes: Cow<'static, [u8]>) -> Response {
    // Vite names the files under assets/ by their content: cache them for
    // good; everything else (index.html) is checked each time.
    let cache = if relative.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type(relative)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// GET/HEAD of a page address: a file of the build, or the app's
/// `index.html` for the addresses the app routes itself.
pub(crate) async fn page(state: Arc<AppState>, path: &str) -> Response {
    if let Some(relative) = build_path(path)
        && let Some(bytes) = built_file(&state, relative)
    {
        return file_response(relative, bytes);
    }
    if path.starts_with("/assets/") {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "no such file",
        )
            .into_response();
    }
    match built_file(&state, "index.html") {
        Some(bytes) => file_response("index.html", bytes),
        None => super::page::index(axum::extract::State(state))
            .await
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_name_a_built_file() {
        assert_eq!(
            build_path("/assets/index-abc.js"),
            Some("assets/index-abc.js")
        );
        assert_eq!(build_path("/index.html"), Some("index.html"));
        for bad in [
            "/",
            "/../etc/passwd",
            "/assets/../x",
            "/.env",
            "//x",
            "/a\\b",
            "x",
        ] {
            assert_eq!(build_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn built_files_have_their_media_type() {
        assert_eq!(media_type("assets/a.js"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(media_type("x.unknown"), "application/octet-stream");
    }
}
