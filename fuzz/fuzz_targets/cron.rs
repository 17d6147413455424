#![no_main]
//! `cron`: see mindpulse_fuzz::cron.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::cron(data));
