//! What the end-to-end tests of the `latentscope` binary share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test, without the data directory variable of the
/// machine running the tests.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_latentscope"));
    c.env_remove("LATENT_SCOPE_DATA");
    c
}

pub fn run(data: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

/// Starts `latentscope --data-dir <data> <args>`, waits until `ready()`
/// holds (then `settle` longer) and kills it with SIGKILL; panics if it
/// finishes first or `ready()` does not hold within `limit`.
pub fn kill_when(
    data: &Path,
    args: &[&str],
    limit: Duration,
    settle: Duration,
    ready: impl Fn() -> bool,
) {
    let mut command = bin();
    command.arg("--data-dir").arg(data).args(args);
    kill_command_when(command, limit, settle, ready);
}

/// Starts `command`, waits until `ready()` holds (then `settle` longer)
/// and kills it with SIGKILL, as [`kill_when`] does.
pub fn kill_command_when(
    mut command: Command,
    limit: Duration,
    settle: Duration,
    ready: impl Fn() -> bool,
) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{command:?} finished ({status}) before it could be killed");
        }
        assert!(
            started.elapsed() < limit,
            "{command:?}: not ready to kill after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(settle);
    child.kill().unwrap();
    child.wait().unwrap();
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The one `error:` line a failed command prints.
pub fn error_line(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected failure; stdout: {}",
        stdout(o)
    );
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line expected in: {err}");
    lines[0].to_string()
}

/// Embedding `id` of `dataset` in `data`, read back.
pub fn embedding(data: &Path, dataset: &str, id: &str) -> latentscope::io::Matrix {
    let store = std::sync::Arc::new(latentscope::io::LocalStore::new(data));
    let ds = latentscope::Dataset::open(store, dataset).unwrap();
    ds.read_embedding(id.parse().unwrap()).unwrap()
}

/// The binary with none of this machine's API settings: `home` as its
/// home, settings folder and working directory (so no `.env` of the
/// machine is read), and `retries` HTTP retries.
pub fn isolated(home: &Path, data: &Path, retries: u32) -> Command {
    let mut c = bin();
    for name in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "MISTRAL_API_KEY",
        "MISTRAL_BASE_URL",
        "OLLAMA_HOST",
        "OPENAI_COMPATIBLE_API_KEY",
        "OLLAMA_NUM_PARALLEL",
    ] {
        c.env_remove(name);
    }
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("LATENTSCOPE_HTTP_RETRIES", retries.to_string())
        .current_dir(home)
        .arg("--data-dir")
        .arg(data);
    c
}

/// A temporary folder with `data/` (the data directory, not yet made) and
/// `home/` (made: a home, settings folder and working directory for
/// [`isolated`]).
pub fn sandbox() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    (tmp, data, home)
}
