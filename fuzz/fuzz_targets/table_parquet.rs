#![no_main]
//! A parquet file ingested: `latentscope_core::fuzz::table`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| latentscope_core::fuzz::table("parquet", data));
