#![no_main]
//! One artifact file of a small dataset replaced, then everything that reads
//! it: `latentscope_core::fuzz::artifact_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| latentscope_core::fuzz::artifact_file(data));
