#![no_main]
//! `weibo_search_html`: see mindpulse_fuzz::weibo_search_html.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mindpulse_fuzz::weibo_search_html(data));
