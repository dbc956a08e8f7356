//! Ollama's own pieces: `OLLAMA_HOST` read as Ollama reads it, and the
//! models a local Ollama has (`GET /api/tags`).

use std::time::Duration;

use super::http::{ApiError, ErrorKind, HttpClient};
use super::retry::RetryPolicy;

/// The base URL of the Ollama at `host` (the value of `OLLAMA_HOST`), as
/// Ollama's `envconfig.Host` reads it: no scheme means http on port 11434,
/// an explicit `http://` means port 80 and `https://` port 443; a bare IP or
/// name gets the default port; `0.0.0.0` (listen everywhere) and `::` are
/// reached on loopback. Unset or empty: `http://127.0.0.1:11434`.
pub(super) fn host_url(host: Option<&str>) -> String {
    let raw = host.unwrap_or("").trim().trim_matches(['"', '\'']).trim();
    let (scheme, hostport, default_port) = match raw.split_once("://") {
        None => ("http", raw, "11434"),
        Some(("http", rest)) => ("http", rest, "80"),
        Some(("https", rest)) => ("https", rest, "443"),
        Some((other, rest)) => (other, rest, "11434"),
    };
    let (hostport, path) = match hostport.split_once('/') {
        Some((hp, path)) => (hp, format!("/{}", path.trim_end_matches('/'))),
        None => (hostport, String::new()),
    };
    let (mut host, mut port) = split_host_port(hostport)
        .unwrap_or_else(|| (hostport.trim_matches(['[', ']']).to_string(), String::new()));
    if host.is_empty() {
        host = "127.0.0.1".to_string();
    }
    if port.parse::<u16>().is_err() {
        port = default_port.to_string();
    }
    match host.as_str() {
        "0.0.0.0" => host = "127.0.0.1".to_string(),
        "::" => host = "::1".to_string(),
        _ => {}
    }
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let path = if path == "/" { String::new() } else { path };
    format!("{scheme}://{host}:{port}{path}")
}

/// `host:port` or `[v6]:port` split as Go's `net.SplitHostPort` does;
/// `None` when there is no port.
fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host.to_string(), port.to_string()));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None; // a bare IPv6 address
    }
    Some((host.to_string(), port.to_string()))
}

/// The models the Ollama at `base_url` has pulled (`GET /api/tags`), asked
/// once with a short timeout: an Ollama that is not running answers
/// quickly with an error.
pub async fn list_models(base_url: &str) -> Result<Vec<String>, ApiError> {
    let policy = RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    };
    let client = HttpClient::new(policy, Duration::from_secs(3))?;
    let body = client.get(&format!("{base_url}/api/tags"), None).await?;
    #[derive(serde::Deserialize)]
    struct Tags {
        #[serde(default)]
        models: Vec<Tag>,
    }
    #[derive(serde::Deserialize)]
    struct Tag {
        #[serde(default)]
        name: String,
        #[serde(default)]
        model: String,
    }
    let tags: Tags = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorKind::BadAnswer, format!("{base_url}/api/tags: {e}")))?;
    Ok(tags
        .models
        .into_iter()
        .map(|t| if t.name.is_empty() { t.model } else { t.name })
        .filter(|n| !n.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::host_url;

    #[test]
    fn ollama_host_is_read_as_ollama_reads_it() {
        let cases = [
            (None, "http://127.0.0.1:11434"),
            (Some(""), "http://127.0.0.1:11434"),
            (Some("1.2.3.4"), "http://1.2.3.4:11434"),
            (Some("example.com"), "http://example.com:11434"),
            (Some("example.com:56000"), "http://example.com:56000"),
            (Some("http://example.com"), "http://example.com:80"),
            (Some("https://example.com"), "https://example.com:443"),
            (
                Some("https://example.com:56000/path/"),
                "https://example.com:56000/path",
            ),
            (Some("0.0.0.0"), "http://127.0.0.1:11434"),
            (Some("0.0.0.0:8080"), "http://127.0.0.1:8080"),
            (Some(":1234"), "http://127.0.0.1:1234"),
            (Some("[::1]:5000"), "http://[::1]:5000"),
            (Some("::1"), "http://[::1]:11434"),
            (Some("\"localhost:7000\""), "http://localhost:7000"),
            (Some("example.com:notaport"), "http://example.com:11434"),
        ];
        for (input, expected) in cases {
            assert_eq!(host_url(input), expected, "OLLAMA_HOST={input:?}");
        }
    }
}
