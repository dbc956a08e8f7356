#![no_main]
//! A `.npy` file read as vectors and as a layout: `latentscope_core::fuzz::npy`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| latentscope_core::fuzz::npy(data));
