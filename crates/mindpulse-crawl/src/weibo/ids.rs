//! Weibo post ids: the numeric `mid` and its base62 `bid` (the id in post URLs).
//!
//! mid → bid: split the decimal string from the right into 7-digit groups, write each in
//! base62 (`0-9a-zA-Z`), left-pad every group but the first to 4 characters.

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn encode62(mut n: u64) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(ALPHABET[(n % 62) as usize]);
        n /= 62;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn decode62(s: &str) -> Option<u64> {
    let mut n: u64 = 0;
    for b in s.bytes() {
        let d = ALPHABET.iter().position(|&a| a == b)? as u64;
        n = n.checked_mul(62)?.checked_add(d)?;
    }
    Some(n)
}

/// The bid of a numeric mid; None when `mid` is not all digits.
pub fn mid_to_bid(mid: &str) -> Option<String> {
    if mid.is_empty() || !mid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bytes = mid.as_bytes();
    let mut groups = Vec::new();
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(7);
        groups.push(&mid[start..end]);
        end = start;
    }
    groups.reverse();
    let mut out = String::new();
    for (i, g) in groups.iter().enumerate() {
        let enc = encode62(g.parse().ok()?);
        if i > 0 {
            out.push_str(&"0".repeat(4usize.saturating_sub(enc.len())));
        }
        out.push_str(&enc);
    }
    Some(out)
}

/// The mid of a bid; None when `bid` is not base62.
pub fn bid_to_mid(bid: &str) -> Option<String> {
    if bid.is_empty() || !bid.is_ascii() {
        return None;
    }
    let mut groups = Vec::new();
    let mut end = bid.len();
    while end > 0 {
        let start = end.saturating_sub(4);
        groups.push(&bid[start..end]);
        end = start;
    }
    groups.reverse();
    let mut out = String::new();
    for (i, g) in groups.iter().enumerate() {
        let n = decode62(g)?;
        if i > 0 {
            out.push_str(&format!("{n:07}"));
        } else {
            out.push_str(&n.to_string());
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_pairs_round_trip() {
        for (mid, bid) in [
            ("4299399859880269", "GFHQlFsjb"),
            ("4804608494665869", "M1VT3jzNX"),
            ("3501756485200075", "z0JH2lOMb"),
            ("5349862107251384", "RkV8KuqpO"),
        ] {
            assert_eq!(mid_to_bid(mid).as_deref(), Some(bid), "{mid}");
            assert_eq!(bid_to_mid(bid).as_deref(), Some(mid), "{bid}");
        }
        assert_eq!(mid_to_bid("12a"), None);
        assert_eq!(bid_to_mid("a-b"), None);
    }
}
