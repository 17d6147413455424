//! Reading an account's password at the terminal (not echoed), from standard input or
//! from an environment variable, and checking account names: what `users` and
//! `serve --admin` share. A password is never a command-line argument (arguments show in
//! process lists and shell histories).

use anyhow::{bail, Context as _};
use mindpulse_serve::auth::hash_password;
use std::io::{BufRead as _, IsTerminal as _, Write as _};

/// Names are short and plain, so that they show safely everywhere.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!("account name {name:?}: expected 1–64 letters, digits, '.', '_' or '-'");
    }
    Ok(())
}

/// The password from the environment variable, or one line of standard input (not echoed
/// when standard input is a terminal).
pub fn read_password(env: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = env {
        return std::env::var(var).with_context(|| {
            format!("--password-env {var}: the variable is not set (or not UTF-8)")
        });
    }
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("password: ");
        let _ = std::io::stderr().flush();
    }
    let _echo = terminal.then(NoEcho::new);
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    if terminal {
        eprintln!();
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Turns the terminal's echo off while alive.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> NoEcho {
        // SAFETY: tcgetattr/tcsetattr on standard input with a zeroed termios the call fills.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return NoEcho(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) != 0 {
                return NoEcho(None);
            }
            NoEcho(Some(saved))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(saved) = self.0 {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}

/// The Argon2id PHC string of the password read as [`read_password`] reads it.
pub async fn hashed(env: Option<&str>) -> anyhow::Result<String> {
    let password = read_password(env)?;
    Ok(tokio::task::spawn_blocking(move || hash_password(&password)).await??)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        assert!(check_name("lin.wei-2_a").is_ok());
        for bad in ["", "a b", "<script>", "名字", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_come_from_the_named_variable() {
        std::env::set_var("MP_TEST_PASSWORD_INPUT", "from-the-environment");
        assert_eq!(
            read_password(Some("MP_TEST_PASSWORD_INPUT")).unwrap(),
            "from-the-environment"
        );
        assert!(read_password(Some("MP_TEST_PASSWORD_UNSET_1"))
            .unwrap_err()
            .to_string()
            .contains("not set"));
    }
}
