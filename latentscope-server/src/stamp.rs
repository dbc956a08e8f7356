//! Ids the server makes for things it keeps (jobs, uploads):
//! `<prefix>-<milliseconds since the epoch>-<n>`, in the order they were
//! made, and safe to use as a file or folder name once checked.

use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A new id with `prefix` (`job`, `upload`).
pub(crate) fn new_id(prefix: &str) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{prefix}-{ms}-{}", NEXT.fetch_add(1, Ordering::SeqCst) + 1)
}

/// Whether `id` has the form [`new_id`] makes with `prefix`.
pub(crate) fn is_id(id: &str, prefix: &str) -> bool {
    let Some(rest) = id.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let mut parts = rest.split('-');
    let digits = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_ids_check_and_others_do_not() {
        let id = new_id("job");
        assert!(is_id(&id, "job") && !is_id(&id, "upload"));
        for bad in [
            "job-1",
            "job-1-2-3",
            "job-a-1",
            "job--1",
            "job-1-",
            "../job-1-2",
            "job-1-2/x",
        ] {
            assert!(!is_id(bad, "job"), "{bad}");
        }
    }
}
