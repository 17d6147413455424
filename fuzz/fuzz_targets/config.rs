#![no_main]
//! `config`: see mindpulse_fuzz::config.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::config(data));
