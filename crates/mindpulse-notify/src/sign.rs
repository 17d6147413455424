//! Signatures: Feishu/Lark, DingTalk and the generic JSON format's HMAC header.
//!
//! * Feishu/Lark custom bot ("签名校验", <https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot>):
//!   `string_to_sign = "{timestamp}\n{secret}"`, then HMAC-SHA256 **keyed with
//!   `string_to_sign`** over an empty message, then base64 (standard alphabet). The
//!   timestamp is in **seconds** and must be within an hour of the server's clock; both go
//!   in the JSON body as `"timestamp"` (a string) and `"sign"`. A mismatch answers HTTP 200
//!   with `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from
//!   current time"}`. (Some third-party SDKs key the HMAC with the secret instead, which is
//!   DingTalk's rule and fails on Feishu.)
//! * DingTalk custom robot ("加签", <https://open.dingtalk.com/document/robots/customize-robot-security-settings>):
//!   `string_to_sign = "{timestamp}\n{secret}"`, HMAC-SHA256 **keyed with the secret**
//!   over `string_to_sign`, base64, then URL-encoded; the timestamp is in
//!   **milliseconds**. Both are appended to the webhook URL as `&timestamp=…&sign=…`.
//!   A mismatch answers `{"errcode":310000,"errmsg":"sign not match…"}`.
//! * Generic JSON: `X-Mindpulse-Timestamp: {unix seconds}` and
//!   `X-Mindpulse-Signature: sha256={hex(HMAC-SHA256(key = secret, "{timestamp}.{body}"))}`,
//!   the scheme GitHub/Stripe-style receivers verify (compare in constant time, reject
//!   stale timestamps).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `message` keyed with `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of every length: `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of every length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Feishu/Lark: `base64(HMAC-SHA256(key = "{timestamp}\n{secret}", message = ""))`,
/// `timestamp` in seconds.
pub fn feishu_sign(timestamp_secs: i64, secret: &str) -> String {
    let key = format!("{timestamp_secs}\n{secret}");
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key.as_bytes(), b""))
}

/// DingTalk: `base64(HMAC-SHA256(key = secret, message = "{timestamp}\n{secret}"))`,
/// `timestamp` in milliseconds. Not yet URL-encoded: the query builder does that.
pub fn dingtalk_sign(timestamp_ms: i64, secret: &str) -> String {
    let message = format!("{timestamp_ms}\n{secret}");
    base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(secret.as_bytes(), message.as_bytes()))
}

/// Generic JSON: `sha256=` + lowercase hex of `HMAC-SHA256(key = secret, "{timestamp}.{body}")`.
pub fn json_signature(timestamp_secs: i64, body: &[u8], secret: &str) -> String {
    let mut message = Vec::with_capacity(body.len() + 24);
    message.extend_from_slice(timestamp_secs.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    let mac = hmac_sha256(secret.as_bytes(), &message);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in mac {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signatures_are_base64_of_32_bytes() {
        assert_eq!(feishu_sign(1_599_360_473, "s").len(), 44);
        assert_eq!(dingtalk_sign(1_599_360_473_000, "SECxyz").len(), 44);
        assert!(json_signature(1, b"{}", "k").starts_with("sha256="));
        assert_eq!(json_signature(1, b"{}", "k").len(), 7 + 64);
    }
}
