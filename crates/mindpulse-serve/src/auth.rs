//! Who may do what: roles, Argon2id password hashes, sessions with their CSRF tokens, and
//! the login rate limit.
//!
//! - Passwords are hashed with Argon2id (RustCrypto's defaults: 19 MiB, 2 passes, 1 lane,
//!   a random 16-byte salt) into a PHC string; only that string is stored.
//! - A session is a random 256-bit token in an HttpOnly, SameSite=Strict cookie (Secure when
//!   the server is told it sits behind TLS); the server keeps the sessions in memory (a
//!   restart logs everyone out) and expires them after 12 hours.
//! - Every state-changing request carries the session's CSRF token (a hidden form field or the
//!   `X-CSRF-Token` header), compared in constant time. The login form has its own
//!   double-submit token (a cookie and a field), so a site cannot log a browser in.
//! - Failed logins are limited per client address and per account name: after 5 failures in
//!   10 minutes further attempts are refused (429) until the window passes.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use rand::RngCore as _;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads every page and the API.
    Viewer,
    /// Also reviews alerts.
    Reviewer,
    /// Also everything a reviewer does (accounts are managed with `mindpulse users`).
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    /// Reviewers and admins change alerts.
    pub fn can_review(self) -> bool {
        self >= Role::Reviewer
    }
}

/// Why a password cannot be set.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PasswordError {
    #[error("the password is too short: at least {MIN_PASSWORD} characters")]
    TooShort,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// The Argon2id PHC string of `password` (a fresh random salt each time).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// True when `password` matches the PHC string (false for a malformed string).
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A PHC string to verify against when the account does not exist, so that a wrong name
/// takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-at-all").unwrap_or_default())
}

/// 32 random bytes from the OS generator, as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality that takes the same time wherever the strings differ.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One signed-in browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    expires: Instant,
}

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The sessions of this server process.
#[derive(Debug, Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session; returns its token.
    pub fn start(&self, user: &str, role: Role) -> String {
        let token = random_token();
        let session = Session {
            user: user.to_string(),
            role,
            csrf: random_token(),
            expires: Instant::now() + SESSION_TTL,
        };
        let mut map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        map.insert(token.clone(), session);
        token
    }

    /// The live session of `token`.
    pub fn get(&self, token: &str) -> Option<Session> {
        let map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    /// Ends the session of `token`.
    pub fn end(&self, token: &str) {
        let mut map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(token);
    }
}

/// Failed logins allowed per key in one window.
pub const MAX_FAILURES: u32 = 5;
/// Keys (addresses and names) kept before passed windows are swept.
const MAX_KEYS: usize = 10_000;
/// The window of the login limit.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);

/// Failed logins per client address and per account name.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    fn keys(ip: Option<IpAddr>, name: &str) -> [String; 2] {
        [
            format!("ip:{}", ip.map(|i| i.to_string()).unwrap_or_default()),
            format!("name:{}", name.to_lowercase()),
        ]
    }

    /// False when either the address or the name has used up its failures in the window.
    pub fn allowed(&self, ip: Option<IpAddr>, name: &str) -> bool {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        Self::keys(ip, name).iter().all(|k| match map.get(k) {
            Some((n, since)) if now.duration_since(*since) < FAILURE_WINDOW => *n < MAX_FAILURES,
            _ => true,
        })
    }

    /// Counts a failed attempt. Windows that have passed are forgotten once many keys are
    /// kept, so that attempts with ever new names cannot grow the table without bound.
    pub fn failed(&self, ip: Option<IpAddr>, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_KEYS {
            map.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        }
        for k in Self::keys(ip, name) {
            let e = map.entry(k).or_insert((0, now));
            if now.duration_since(e.1) >= FAILURE_WINDOW {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }

    /// Forgets the name's failures after a successful login (the address keeps its count).
    pub fn succeeded(&self, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&format!("name:{}", name.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse battery!", &h));
        assert!(!verify_password("anything", "not a phc string"));
        assert_ne!(h, hash_password("correct horse battery").unwrap(), "salted");
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert!(!verify_password("x", dummy_hash()));
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same_token(&a, &a.clone()));
        assert!(!same_token(&a, &b));
        assert!(!same_token(&a, &a[..63]));
        assert!(!same_token("", ""));
    }

    #[test]
    fn sessions_start_and_end() {
        let s = Sessions::default();
        let t = s.start("lin", Role::Reviewer);
        let got = s.get(&t).unwrap();
        assert_eq!((got.user.as_str(), got.role), ("lin", Role::Reviewer));
        assert_eq!(got.csrf.len(), 64);
        assert!(s.get("nope").is_none());
        s.end(&t);
        assert!(s.get(&t).is_none());
    }

    #[test]
    fn roles_order_their_rights() {
        assert!(!Role::Viewer.can_review());
        assert!(Role::Reviewer.can_review() && Role::Admin.can_review());
        assert_eq!(Role::parse("reviewer"), Some(Role::Reviewer));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn logins_are_limited_per_address_and_per_name() {
        let l = LoginLimiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(l.allowed(Some(ip), "lin"));
            l.failed(Some(ip), "lin");
        }
        assert!(!l.allowed(Some(ip), "lin"));
        assert!(!l.allowed(Some(ip), "ann"), "the address is limited");
        assert!(!l.allowed(Some(other), "LIN"), "the name is limited");
        assert!(l.allowed(Some(other), "ann"));
        l.succeeded("lin");
        assert!(l.allowed(Some(other), "lin"));
        assert!(!l.allowed(Some(ip), "lin"));
    }
}
