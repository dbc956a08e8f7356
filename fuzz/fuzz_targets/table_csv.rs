#![no_main]
//! A csv file ingested: `latentscope_core::fuzz::table`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| latentscope_core::fuzz::table("csv", data));
