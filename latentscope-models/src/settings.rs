//! Settings kept outside every data directory: API keys and the endpoints
//! of API providers, in the environment or in
//! `$XDG_CONFIG_HOME/latentscope/.env` (default `~/.config/latentscope/.env`,
//! one `NAME=value` per line, readable by its owner only). The environment
//! wins over the file. Values are never logged; callers show names only.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The API keys latentscope's providers read.
pub const KEY_NAMES: [&str; 6] = [
    "OPENAI_API_KEY",
    "MISTRAL_API_KEY",
    "OPENAI_COMPATIBLE_API_KEY",
    "VOYAGE_API_KEY",
    "COHERE_API_KEY",
    "TOGETHER_API_KEY",
];

/// The endpoints of providers that can be moved (an OpenAI-compatible
/// server, another Ollama host).
pub const ENDPOINT_NAMES: [&str; 3] = ["OPENAI_BASE_URL", "MISTRAL_BASE_URL", "OLLAMA_HOST"];

/// The prefix of a named OpenAI-compatible endpoint
/// (`LATENTSCOPE_ENDPOINT_LMSTUDIO=http://localhost:1234/v1`).
pub const ENDPOINT_PREFIX: &str = "LATENTSCOPE_ENDPOINT_";

/// Where a setting's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The process environment.
    Environment,
    /// The settings file.
    File,
    /// A `.env` file in the current directory (where the Python tool's
    /// `ls-init` writes one).
    WorkingDirectory,
    /// A `.env` file in the data directory (old Python data directories).
    DataDirectory,
}

impl Source {
    /// `environment`, `file`, `./.env` or `data directory`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Environment => "environment",
            Source::File => "file",
            Source::WorkingDirectory => "./.env",
            Source::DataDirectory => "data directory",
        }
    }
}

/// A setting that cannot be saved.
#[derive(Debug)]
pub enum SettingsError {
    /// A name or value that is not allowed; the message says why.
    Invalid(String),
    /// No settings file can be placed (neither `XDG_CONFIG_HOME` nor `HOME`).
    NoConfigDir,
    /// Reading or writing the file failed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Invalid(m) => f.write_str(m),
            SettingsError::NoConfigDir => {
                f.write_str("no settings folder: set XDG_CONFIG_HOME or HOME")
            }
            SettingsError::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for SettingsError {}

/// The settings file: `$XDG_CONFIG_HOME/latentscope/.env`, else
/// `$HOME/.config/latentscope/.env`.
pub fn config_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("latentscope").join(".env"))
}

/// Whether `name` may be saved: a key or endpoint name above, or a named
/// endpoint (`LATENTSCOPE_ENDPOINT_` and upper-case letters, digits, `_`).
pub fn is_known_name(name: &str) -> bool {
    KEY_NAMES.contains(&name)
        || ENDPOINT_NAMES.contains(&name)
        || name.strip_prefix(ENDPOINT_PREFIX).is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() <= 64
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// Whether `name` holds a secret (a key) rather than an address.
pub fn is_secret(name: &str) -> bool {
    KEY_NAMES.contains(&name) || name.ends_with("_KEY") || name.ends_with("_TOKEN")
}

fn unquote(value: &str) -> String {
    let v = value.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let mut out = String::new();
        let mut chars = v[1..v.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// The `NAME=value` pairs of a `.env` text (comments, blank lines and
/// `export ` prefixes allowed; surrounding quotes removed).
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            Some((name.trim().to_string(), unquote(value)))
        })
        .collect()
}

/// The settings in `file` (none when it is missing or unreadable).
pub fn read_file(file: Option<&Path>) -> Vec<(String, String)> {
    file.and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// A setting's value and where it came from: the environment first, then
/// the settings file ([`config_file`]). Empty values count as unset.
pub fn lookup(name: &str) -> Option<(String, Source)> {
    lookup_in(config_file().as_deref(), name)
}

/// [`lookup`] with the settings file at `file`.
pub fn lookup_in(file: Option<&Path>, name: &str) -> Option<(String, Source)> {
    if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        return Some((v, Source::Environment));
    }
    read_file(file)
        .into_iter()
        .rev()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| (v, Source::File))
}

/// Where an API provider finds a setting (a key, an endpoint), in order:
/// the environment, a `.env` in the current directory, the settings file
/// ([`config_file`]), then a `.env` in `data_dir` (read only, for data
/// directories the Python tool made). Empty values count as unset.
pub fn find(name: &str, data_dir: Option<&Path>) -> Option<(String, Source)> {
    let in_file = |file: &Path, source: Source| {
        read_file(Some(file))
            .into_iter()
            .rev()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| (v, source))
    };
    if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        return Some((v, Source::Environment));
    }
    in_file(Path::new(".env"), Source::WorkingDirectory)
        .or_else(|| config_file().and_then(|f| in_file(&f, Source::File)))
        .or_else(|| data_dir.and_then(|d| in_file(&d.join(".env"), Source::DataDirectory)))
}

/// Every setting set in the environment or the file at `file`, with its
/// source (the known names, and every named endpoint in either).
pub fn all_set_in(file: Option<&Path>) -> Vec<(String, String, Source)> {
    let mut names: Vec<String> = KEY_NAMES
        .iter()
        .chain(ENDPOINT_NAMES.iter())
        .map(|n| n.to_string())
        .collect();
    let extra = std::env::vars()
        .map(|(n, _)| n)
        .chain(read_file(file).into_iter().map(|(n, _)| n))
        .filter(|n| n.starts_with(ENDPOINT_PREFIX) && is_known_name(n));
    for n in extra {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
        .into_iter()
        .filter_map(|n| lookup_in(file, &n).map(|(v, s)| (n, v, s)))
        .collect()
}

fn quoted(value: &str) -> String {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@+=,~".contains(c))
    {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Saves `name=value` to the settings file at `path` (replacing an earlier
/// line of that name, keeping the others and comments), or removes the line
/// when `value` is `None` or empty. Written under a temporary name and
/// renamed, readable by its owner only. Endpoint values must be http(s)
/// URLs (`OLLAMA_HOST` may be a bare `host:port`, as Ollama reads it).
pub fn save_to(path: &Path, name: &str, value: Option<&str>) -> Result<(), SettingsError> {
    if !is_known_name(name) {
        return Err(SettingsError::Invalid(format!(
            "name {name:?}: one of {}, {}, or {ENDPOINT_PREFIX}<NAME> (A-Z, 0-9, _)",
            KEY_NAMES.join(", "),
            ENDPOINT_NAMES.join(", ")
        )));
    }
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    if let Some(v) = value {
        if v.len() > 4096 || v.chars().any(char::is_control) {
            return Err(SettingsError::Invalid(format!(
                "the value of {name}: one line, at most 4096 bytes"
            )));
        }
        let url = !is_secret(name) && name != "OLLAMA_HOST";
        if url && !(v.starts_with("http://") || v.starts_with("https://")) {
            return Err(SettingsError::Invalid(format!(
                "the value of {name}: an http:// or https:// URL"
            )));
        }
    }
    let io = |e| SettingsError::Io(path.to_path_buf(), e);
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    let mut lines: Vec<String> = old
        .lines()
        .filter(|line| {
            let l = line.trim();
            let l = l.strip_prefix("export ").unwrap_or(l);
            l.split_once('=').is_none_or(|(n, _)| n.trim() != name)
        })
        .map(str::to_string)
        .collect();
    if let Some(v) = value {
        lines.push(format!("{name}={}", quoted(v)));
    }
    let dir = path
        .parent()
        .ok_or_else(|| SettingsError::Invalid(format!("{}: no folder", path.display())))?;
    create_private_dir(dir).map_err(|e| SettingsError::Io(dir.to_path_buf(), e))?;
    let tmp = dir.join(".env.tmp");
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    let mut file = private_file(&tmp).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_key_replaces_its_line_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latentscope/.env");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "# mine\nexport OPENAI_API_KEY=old\nOTHER=1\n").unwrap();
        save_to(&path, "OPENAI_API_KEY", Some("sk-new \"q\"")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# mine\nOTHER=1\n"), "{text}");
        let pairs = parse(&text);
        assert_eq!(
            pairs.last().unwrap(),
            &("OPENAI_API_KEY".into(), "sk-new \"q\"".into())
        );
        save_to(&path, "OPENAI_API_KEY", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\nOTHER=1\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn unknown_names_and_endpoints_that_are_not_urls_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        for (name, value) in [
            ("PATH", "/tmp"),
            ("LATENTSCOPE_ENDPOINT_", "http://x"),
            ("LATENTSCOPE_ENDPOINT_lower", "http://x"),
            ("LATENTSCOPE_ENDPOINT_LMSTUDIO", "file:///etc/passwd"),
            ("OPENAI_API_KEY", "two\nlines"),
        ] {
            assert!(
                matches!(
                    save_to(&path, name, Some(value)),
                    Err(SettingsError::Invalid(_))
                ),
                "{name}"
            );
        }
        assert!(!path.exists());
        save_to(
            &path,
            "LATENTSCOPE_ENDPOINT_LMSTUDIO",
            Some("http://localhost:1234/v1"),
        )
        .unwrap();
        assert_eq!(
            parse(&std::fs::read_to_string(&path).unwrap()),
            vec![(
                "LATENTSCOPE_ENDPOINT_LMSTUDIO".to_string(),
                "http://localhost:1234/v1".to_string()
            )]
        );
    }
}
