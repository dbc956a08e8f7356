#![no_main]
//! A parquet file ingested: `latentscope_core::fuzz::table`. The parquet
//! crate panics on some corrupt pages; latentscope-io catches those inside
//! its guarded read and reports the file, so they are let through here
//! (libFuzzer's hook would abort on a caught panic too); every other panic
//! still counts.
use std::sync::Once;

static QUIET_PARQUET: Once = Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    QUIET_PARQUET.call_once(|| {
        let abort_on_panic = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !latentscope_core::latentscope_io::table::in_guarded_read() {
                abort_on_panic(info);
            }
        }));
    });
    latentscope_core::fuzz::table("parquet", data)
});
