//! What the CLI tests of the heads, the score workers and `trends` share: running the
//! binary in a directory of its own (its own key file, none of the caller's mindpulse
//! environment) and insisting that a run succeeded.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `mindpulse --no-progress ARGS…` in `dir`, ready to run.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mindpulse"));
    c.current_dir(dir)
        .env("MINDPULSE_KEY_FILE", dir.join("pseudonym.key"))
        .env_remove("MINDPULSE_DB")
        .env_remove("MINDPULSE_CONFIG")
        .env_remove("MINDPULSE_HEADS")
        .arg("--no-progress")
        .args(args);
    c
}

/// Runs `mindpulse ARGS…` in `dir` to completion.
pub fn mindpulse(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run mindpulse")
}

/// The standard output of a run that must have succeeded (else both outputs, in the panic).
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
