#![no_main]
//! `import_csv`: see mindpulse_fuzz::import_csv.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::import_csv(data));
