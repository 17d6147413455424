#![no_main]
//! `import_jsonl`: see mindpulse_fuzz::import_jsonl.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::import_jsonl(data));
