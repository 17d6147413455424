#![no_main]
//! `import_reddit`: see mindpulse_fuzz::import_reddit.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::import_reddit(data));
