//! Where model files are found: a local directory, latentscope's model cache
//! (filled by `scripts/fetch-model` or `latentscope distill`), or the
//! HuggingFace hub cache that Python tools share.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use latentscope_core::EmbedError;

/// latentscope's model cache: `$LATENTSCOPE_MODELS`, else
/// `$XDG_CACHE_HOME/latentscope/models`, else `~/.cache/latentscope/models`.
pub fn models_cache() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("LATENTSCOPE_MODELS") {
        return Some(PathBuf::from(dir));
    }
    let cache = env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("latentscope").join("models"))
}

/// The HuggingFace hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn hf_hub_cache() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("HF_HUB_CACHE") {
        return Some(PathBuf::from(dir));
    }
    if let Some(home) = env::var_os("HF_HOME") {
        return Some(PathBuf::from(home).join("hub"));
    }
    env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"))
}

/// Resolves a model name to a directory: an existing path as is; a hub id
/// (`org/name`) in latentscope's cache, then in the HuggingFace cache (the
/// snapshot `refs/main` names, else the newest). `needs` is a file the
/// directory must hold to count (e.g. `config.json`).
pub fn find_model_dir(name: &str, needs: &str) -> Result<PathBuf, EmbedError> {
    let path = Path::new(name);
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    if path.is_absolute() || name.starts_with('.') || name.starts_with('~') {
        return Err(EmbedError::ModelNotFound {
            model: name.to_string(),
            message: "no such directory".to_string(),
        });
    }
    let mut looked = Vec::new();
    if let Some(cache) = models_cache() {
        let dir = cache.join(name);
        if dir.join(needs).is_file() {
            return Ok(dir);
        }
        looked.push(dir.display().to_string());
    }
    if let Some(hub) = hf_hub_cache() {
        let repo = hub.join(format!("models--{}", name.replace('/', "--")));
        if let Some(dir) = hf_snapshot(&repo, needs) {
            return Ok(dir);
        }
        looked.push(repo.display().to_string());
    }
    Err(EmbedError::ModelNotFound {
        model: name.to_string(),
        message: format!(
            "not in {} (the HuggingFace hub is not contacted by this build; put the model's files in one of those places{})",
            looked.join(" or "),
            if name == "sentence-transformers/all-MiniLM-L6-v2" {
                ", e.g. with scripts/fetch-model"
            } else {
                ""
            }
        ),
    })
}

fn hf_snapshot(repo: &Path, needs: &str) -> Option<PathBuf> {
    let snapshots = repo.join("snapshots");
    if let Ok(rev) = fs::read_to_string(repo.join("refs/main")) {
        let dir = snapshots.join(rev.trim());
        if dir.join(needs).is_file() {
            return Some(dir);
        }
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(&snapshots)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join(needs).is_file())
        .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

/// Checks that `dir` holds each of `files`, naming the first one missing.
pub fn require_files(dir: &Path, files: &[&str]) -> Result<(), EmbedError> {
    for f in files {
        if !dir.join(f).is_file() {
            return Err(EmbedError::MissingFile {
                dir: dir.display().to_string(),
                file: f.to_string(),
            });
        }
    }
    Ok(())
}

/// Reads and parses a JSON file of a model directory.
pub fn read_json(dir: &Path, file: &str) -> Result<serde_json::Value, EmbedError> {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).map_err(|e| EmbedError::InvalidModel {
        model: dir.display().to_string(),
        message: format!("cannot read {file}: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| EmbedError::InvalidModel {
        model: dir.display().to_string(),
        message: format!("{file} is not valid JSON: {e}"),
    })
}

/// The models found in latentscope's cache and the HuggingFace cache, as
/// (hub id, directory).
pub fn cached_models() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    if let Some(cache) = models_cache() {
        for org in read_dirs(&cache) {
            for model in read_dirs(&org) {
                if model.join("config.json").is_file() {
                    let name = format!(
                        "{}/{}",
                        org.file_name().unwrap_or_default().to_string_lossy(),
                        model.file_name().unwrap_or_default().to_string_lossy()
                    );
                    found.push((name, model));
                }
            }
        }
    }
    if let Some(hub) = hf_hub_cache() {
        for repo in read_dirs(&hub) {
            let name = repo
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            if let Some(id) = name.strip_prefix("models--")
                && let Some(dir) = hf_snapshot(&repo, "config.json")
            {
                found.push((id.replacen("--", "/", 1), dir));
            }
        }
    }
    found
}

fn read_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}
