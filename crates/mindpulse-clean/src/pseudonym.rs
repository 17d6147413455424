//! Pseudonyms for user ids: a keyed BLAKE3 hash, so the same user gets the same pseudonym
//! in every import made with the same key, and nobody without the key can recompute or
//! brute-force the mapping (user ids are small, guessable spaces).
//!
//! The key lives in a file (64 hex characters, mode 0600), created on first use. Losing it
//! breaks linkage between old and new imports; leaking it lets anyone test guesses of ids.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Context string for deriving a key from a passphrase.
const DERIVE_CONTEXT: &str = "mindpulse pseudonym key v1";

/// Errors reading or creating a key file; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read pseudonym key file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot create pseudonym key file {}: {source}", path.display())]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "pseudonym key file {} is invalid: expected exactly 64 hex characters (32 bytes) \
         and an optional newline",
        path.display()
    )]
    Invalid { path: PathBuf },
    #[error("cannot read random bytes from {}: {source}", path.display())]
    Random { path: PathBuf, source: io::Error },
    #[error(
        "the pseudonym key passphrase is too weak: {why}; give 64 hex characters or a \
         passphrase of at least {MIN_PASSPHRASE_BYTES} bytes with at least \
         {MIN_PASSPHRASE_DISTINCT} different characters"
    )]
    Weak { why: String },
}

/// Shortest passphrase accepted from the environment (bytes).
pub const MIN_PASSPHRASE_BYTES: usize = 32;
/// Fewest different characters in an accepted passphrase (rules out `aaaa…`, `1212…`).
pub const MIN_PASSPHRASE_DISTINCT: usize = 10;

/// 32-byte secret key for pseudonyms. Its `Debug` output does not show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct PseudonymKey([u8; 32]);

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

impl PseudonymKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PseudonymKey(bytes)
    }

    /// A key from a secret given on the command line or in the environment: 64 hex
    /// characters are used as the key itself; anything else is a passphrase from which the
    /// key is derived (BLAKE3 `derive_key`). Surrounding whitespace is ignored.
    pub fn from_secret(s: &str) -> Self {
        let s = s.trim();
        match parse_hex32(s) {
            Some(bytes) => PseudonymKey(bytes),
            None => PseudonymKey(blake3::derive_key(DERIVE_CONTEXT, s.as_bytes())),
        }
    }

    /// [`PseudonymKey::from_secret`] for a secret a user typed: 64 hex characters, or a
    /// passphrase long and varied enough that guessing it is not easier than guessing ids.
    pub fn from_user_secret(s: &str) -> Result<Self, KeyError> {
        let s = s.trim();
        if parse_hex32(s).is_none() {
            let distinct = s.chars().collect::<std::collections::HashSet<_>>().len();
            if s.len() < MIN_PASSPHRASE_BYTES {
                return Err(KeyError::Weak {
                    why: format!("{} bytes", s.len()),
                });
            }
            if distinct < MIN_PASSPHRASE_DISTINCT {
                return Err(KeyError::Weak {
                    why: format!("only {distinct} different characters"),
                });
            }
        }
        Ok(Self::from_secret(s))
    }

    /// A public name for the key: a keyed hash that tells two keys apart without revealing
    /// either (32 hex characters). Databases store it to refuse a writer with another key.
    pub fn fingerprint(&self) -> String {
        let h = blake3::keyed_hash(&self.0, b"mindpulse pseudonym key fingerprint v1");
        crate::normalize::hex(&h.as_bytes()[..16])
    }

    /// A fresh random key from `/dev/urandom`.
    pub fn generate() -> Result<Self, KeyError> {
        let path = Path::new("/dev/urandom");
        let mut bytes = [0u8; 32];
        fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|source| KeyError::Random {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(PseudonymKey(bytes))
    }

    /// Reads a key file (64 hex characters, surrounding whitespace allowed).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        warn_if_readable_by_others(path);
        parse_hex32(text.trim())
            .map(PseudonymKey)
            .ok_or_else(|| KeyError::Invalid {
                path: path.to_path_buf(),
            })
    }

    /// Loads the key file, or creates it with a fresh key (mode 0600, parent directories
    /// created) when it does not exist. Returns the key and whether it was created. Safe
    /// against another process creating the file at the same time: the loser reads the
    /// winner's key.
    pub fn load_or_create(path: &Path) -> Result<(PseudonymKey, bool), KeyError> {
        match Self::load(path) {
            Ok(key) => return Ok((key, false)),
            Err(KeyError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            // Another process may be writing the file right now.
            Err(KeyError::Invalid { .. }) if looks_partially_written(path) => {
                return Ok((Self::load_written_by_other(path)?, false));
            }
            Err(e) => return Err(e),
        }
        let create_err = |source| KeyError::Create {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(create_err)?;
        }
        let key = Self::generate()?;
        // Write the key to a private file of its own, then link it into place: the link
        // either creates `path` with the whole key in it or fails because another process
        // got there first. No reader can see a half-written key, however long a writer is
        // descheduled between creating and filling the file.
        let tmp = path.with_file_name(format!(
            ".{}.{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            &key.to_hex()[..16]
        ));
        let written = create_new_private(&tmp).and_then(|mut file| {
            file.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
            file.sync_all()
        });
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp);
            return Err(create_err(source));
        }
        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created new pseudonym key file");
                Ok((key, true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Ok((Self::load_written_by_other(path)?, false))
            }
            Err(source) => Err(create_err(source)),
        }
    }

    /// Loads a key file another process has just created, waiting briefly while it is
    /// still being written.
    fn load_written_by_other(path: &Path) -> Result<Self, KeyError> {
        let mut last = None;
        for _ in 0..50 {
            match Self::load(path) {
                Ok(key) => return Ok(key),
                Err(e @ KeyError::Invalid { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(last.unwrap_or_else(|| KeyError::Invalid {
            path: path.to_path_buf(),
        }))
    }

    /// The key as 64 lowercase hex characters (what the key file holds).
    pub fn to_hex(&self) -> String {
        crate::normalize::hex(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(unix)]
fn create_new_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_new_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", meta.permissions().mode() & 0o777),
                "pseudonym key file is accessible by other users; chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// A key file that is shorter than a key but holds nothing but hex digits so far.
fn looks_partially_written(path: &Path) -> bool {
    fs::read(path).is_ok_and(|b| b.len() < 64 && b.iter().all(u8::is_ascii_hexdigit))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
    }
    Some(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Where the key lives unless told otherwise: `$MINDPULSE_KEY_FILE`, else
/// `$XDG_DATA_HOME/mindpulse/pseudonym.key`, else `~/.local/share/mindpulse/pseudonym.key`
/// (and `./mindpulse/pseudonym.key` when there is no home directory either).
pub fn default_key_path() -> PathBuf {
    key_path_from_env(|name| std::env::var_os(name))
}

fn key_path_from_env(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> PathBuf {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(p) = var("MINDPULSE_KEY_FILE") {
        return PathBuf::from(p);
    }
    // The XDG spec says relative values are to be ignored.
    let data_home = var("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))
        .unwrap_or_default();
    data_home.join("mindpulse").join("pseudonym.key")
}

/// Maps raw user ids to pseudonyms with a secret key.
#[derive(Debug, Clone)]
pub struct Pseudonymizer {
    key: PseudonymKey,
}

impl Pseudonymizer {
    pub fn new(key: PseudonymKey) -> Self {
        Pseudonymizer { key }
    }

    /// The key's public fingerprint ([`PseudonymKey::fingerprint`]).
    pub fn key_fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    /// `u_` + 20 hex characters (80 bits) of keyed BLAKE3 over the platform (trimmed,
    /// lowercased) and the id.
    ///
    /// Ids are case-sensitive; only surrounding whitespace and one leading `@`, `u/` or
    /// `/u/` are stripped, so `@alice`, `u/alice` and `alice` on one platform are the same
    /// user while `Alice` is another. The same id on two platforms gives two pseudonyms.
    pub fn pseudonym(&self, platform: &str, raw_id: &str) -> String {
        let mut h = self.hasher_for(platform);
        h.update(canonical_id(raw_id).as_bytes());
        let digest = h.finalize();
        let mut out = String::with_capacity(22);
        out.push_str("u_");
        out.push_str(&crate::normalize::hex(&digest.as_bytes()[..10]));
        out
    }

    /// Keyed hasher primed with the platform and a NUL separator.
    fn hasher_for(&self, platform: &str) -> blake3::Hasher {
        let mut h = blake3::Hasher::new_keyed(&self.key.0);
        let platform = platform.trim();
        if platform.bytes().any(|b| b.is_ascii_uppercase()) {
            h.update(platform.to_ascii_lowercase().as_bytes());
        } else {
            h.update(platform.as_bytes());
        }
        h.update(b"\0");
        h
    }

    /// Keyed hash over any parts, for identifiers derived from private data (so that a
    /// stored hash cannot be checked against guesses without the key). `domain` separates
    /// uses; parts are length-prefixed.
    pub(crate) fn keyed_digest(&self, domain: &str, parts: &[&[u8]]) -> blake3::Hash {
        let mut h = blake3::Hasher::new_keyed(&self.key.0);
        h.update(domain.as_bytes());
        h.update(b"\0");
        for p in parts {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        h.finalize()
    }
}

/// The id as hashed: trimmed, one leading `@`, `/u/` or `u/` removed.
pub fn canonical_id(raw_id: &str) -> &str {
    let id = raw_id.trim();
    id.strip_prefix('@')
        .or_else(|| id.strip_prefix("/u/"))
        .or_else(|| id.strip_prefix("u/"))
        .unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PseudonymKey {
        PseudonymKey::from_secret("test secret")
    }

    #[test]
    fn weak_passphrases_are_refused_and_fingerprints_tell_keys_apart() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(PseudonymKey::from_user_secret(hex).is_ok());
        for weak in [
            "correct horse",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "12121212121212121212121212121212",
        ] {
            let e = PseudonymKey::from_user_secret(weak).unwrap_err();
            assert!(e.to_string().contains("too weak"), "{weak}: {e}");
        }
        let good = "the staff room kettle whistles at 7:15 each morning";
        assert_eq!(
            PseudonymKey::from_user_secret(good).unwrap(),
            PseudonymKey::from_secret(good)
        );
        let (a, b) = (key(), PseudonymKey::from_secret("another secret"));
        assert_eq!(a.fingerprint(), key().fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 32);
        assert!(!a.fingerprint().contains(&a.to_hex()[..8]));
    }

    #[test]
    fn from_secret_hex_or_passphrase() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let k = PseudonymKey::from_secret(hex);
        assert_eq!(k.as_bytes()[1], 0x11);
        assert_eq!(k.as_bytes()[31], 0xff);
        assert_eq!(k.to_hex(), hex.to_lowercase());
        let p = PseudonymKey::from_secret("correct horse");
        assert_eq!(p, PseudonymKey::from_secret(" correct horse\n"));
        assert_ne!(p, PseudonymKey::from_secret("correct horse2"));
        // 63 hex characters is a passphrase, not a key.
        let short = PseudonymKey::from_secret(&hex[1..]);
        assert_ne!(short.as_bytes()[..], k.as_bytes()[..]);
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let k = PseudonymKey::from_bytes([0xab; 32]);
        let dbg = format!("{k:?} {:?}", Pseudonymizer::new(k.clone()));
        assert!(!dbg.contains("ab"), "{dbg}");
        assert!(!dbg.contains("171"), "{dbg}");
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_canonical() {
        let p = Pseudonymizer::new(key());
        let a = p.pseudonym("weibo", "1234567890");
        assert_eq!(a.len(), 22);
        assert!(a.starts_with("u_"));
        assert_eq!(a, p.pseudonym("Weibo ", " 1234567890 "));
        assert_ne!(a, p.pseudonym("reddit", "1234567890"));
        assert_eq!(
            p.pseudonym("reddit", "u/spez"),
            p.pseudonym("reddit", "spez")
        );
        assert_eq!(
            p.pseudonym("reddit", "/u/spez"),
            p.pseudonym("reddit", "@spez")
        );
        assert_ne!(p.pseudonym("reddit", "Spez"), p.pseudonym("reddit", "spez"));
        let other = Pseudonymizer::new(PseudonymKey::from_secret("other"));
        assert_ne!(a, other.pseudonym("weibo", "1234567890"));
        // Platform and id are separated: ("ab", "c") differs from ("a", "bc").
        assert_ne!(p.pseudonym("ab", "c"), p.pseudonym("a", "bc"));
    }

    #[test]
    fn generate_gives_distinct_keys() {
        let a = PseudonymKey::generate().unwrap();
        let b = PseudonymKey::generate().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn load_or_create_creates_once_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/pseudonym.key");
        let (k1, created) = PseudonymKey::load_or_create(&path).unwrap();
        assert!(created);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (k2, created) = PseudonymKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(k1, k2);
        assert_eq!(PseudonymKey::load(&path).unwrap(), k1);
    }

    #[test]
    fn racing_creators_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/pseudonym.key");
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || PseudonymKey::load_or_create(&path).unwrap())
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        assert!(results.iter().all(|(k, _)| *k == results[0].0));
    }

    #[test]
    fn invalid_key_file_is_rejected_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        fs::write(&path, "not a key\n").unwrap();
        let err = PseudonymKey::load_or_create(&path).unwrap_err();
        assert!(matches!(err, KeyError::Invalid { .. }));
        let msg = err.to_string();
        assert!(msg.contains("bad.key"), "{msg}");
        assert!(msg.contains("64 hex"), "{msg}");
        let missing = PseudonymKey::load(&dir.path().join("missing.key")).unwrap_err();
        assert!(missing.to_string().contains("missing.key"));
    }

    #[test]
    fn default_key_path_follows_env_then_xdg_then_home() {
        use std::collections::HashMap;
        use std::ffi::OsString;
        let path = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, OsString> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect();
            key_path_from_env(|name| vars.get(name).cloned())
        };
        let all = [
            ("MINDPULSE_KEY_FILE", "/etc/mp.key"),
            ("XDG_DATA_HOME", "/data"),
            ("HOME", "/home/a"),
        ];
        assert_eq!(path(&all), PathBuf::from("/etc/mp.key"));
        assert_eq!(
            path(&all[1..]),
            PathBuf::from("/data/mindpulse/pseudonym.key")
        );
        assert_eq!(
            path(&[("XDG_DATA_HOME", "relative"), ("HOME", "/home/a")]),
            PathBuf::from("/home/a/.local/share/mindpulse/pseudonym.key")
        );
        assert_eq!(
            path(&[("MINDPULSE_KEY_FILE", ""), ("HOME", "/home/a")]),
            PathBuf::from("/home/a/.local/share/mindpulse/pseudonym.key")
        );
        assert_eq!(path(&[]), PathBuf::from("mindpulse/pseudonym.key"));
        assert!(
            default_key_path().ends_with("pseudonym.key")
                || std::env::var_os("MINDPULSE_KEY_FILE").is_some()
        );
    }
}
