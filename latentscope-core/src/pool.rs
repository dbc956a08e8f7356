//! The local rayon pool every CPU-bound step runs in (never the global pool).

use crate::error::{Error, Result};

/// Builds a local rayon pool with `threads` threads (all cores when `None`).
pub(crate) fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .thread_name(|i| format!("latentscope-{i}"))
        .build()
        .map_err(|e| Error::invalid_parameter("threads", threads.unwrap_or(0), e.to_string()))
}
