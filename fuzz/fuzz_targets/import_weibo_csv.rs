#![no_main]
//! `import_weibo_csv`: see mindpulse_fuzz::import_weibo_csv.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::import_weibo_csv(data));
