//! Shared helpers of the integration tests.
#![allow(dead_code)]

use mindpulse_models::{InstalledModel, Registry};
use std::path::PathBuf;
use std::process::Command;

/// True under `CI=true`, where a missing prerequisite fails instead of skipping.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (printing why) outside CI, fails under `CI=true`.
pub fn skip(why: &str) {
    if ci() {
        panic!("CI=true and {why}");
    }
    eprintln!("note: skipping: {why}");
}

/// The installed registry model `name` in `$MINDPULSE_MODELS`, or `None` after [`skip`].
pub fn installed(name: &str) -> Option<InstalledModel> {
    let dir = mindpulse_models::models_dir();
    match Registry::builtin().installed(name, &dir) {
        Ok(Some(m)) => Some(m),
        _ => {
            skip(&format!(
                "model {name} is not installed in {} (run `mindpulse models install {name}`; the test script installs them first)",
                dir.display()
            ));
            None
        }
    }
}

/// True when `python -m pip` runs.
pub fn have_pip() -> bool {
    let py = std::env::var_os("MINDPULSE_PYTHON").unwrap_or_else(|| "python3".into());
    Command::new(py)
        .args(["-m", "pip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// True when a C compiler `cc` runs.
pub fn have_cc() -> bool {
    Command::new("cc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The cached wheel of `name==version` (where `mindpulse models install` put it).
pub fn cached_wheel(name: &str, version: &str) -> Option<PathBuf> {
    mindpulse_models::wheel::find_cached(
        &mindpulse_models::cache_dir().join("wheels"),
        name,
        version,
    )
}
