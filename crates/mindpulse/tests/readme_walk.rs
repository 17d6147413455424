//! The README's ten-minute walk, run as written: every command of every ` ```sh walk ` block
//! of `README.md`, in order, with `bash -euo pipefail -c` in one fresh temporary directory,
//! `mindpulse` on `PATH` being the binary under test. Each command must exit 0, and the walk
//! must hold at least [`MIN_COMMANDS`] commands, so an edit that breaks the walk (or drops its
//! blocks) fails here. Like the other scoring tests, it needs the two encoders installed
//! (`./scripts/test.sh` installs them).

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Fewer commands than this means the walk blocks were lost, not that the walk passed.
const MIN_COMMANDS: usize = 5;

/// The commands of the ` ```sh walk ` blocks of `markdown`, in order: blank lines and
/// comment lines skipped, lines ending in `\` joined with the next.
fn walk_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_walk = false;
    let mut pending = String::new();
    for (number, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        if !in_walk {
            if let Some(info) = trimmed.strip_prefix("```") {
                in_walk = info.split_whitespace().collect::<Vec<_>>() == ["sh", "walk"];
            }
            continue;
        }
        if trimmed.starts_with("```") {
            assert!(
                pending.is_empty(),
                "README line {}: a walk block ends inside a continued command: {pending}",
                number + 1
            );
            in_walk = false;
            continue;
        }
        if pending.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                pending.push_str(head.trim_end());
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    assert!(!in_walk, "README: a walk block is never closed");
    commands
}

/// A directory holding only a `mindpulse` link to the binary under test, for the front of
/// `PATH`.
fn bin_dir(root: &Path) -> PathBuf {
    let dir = root.join("bin");
    std::fs::create_dir(&dir).expect("create the bin directory");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_mindpulse"), dir.join("mindpulse"))
        .expect("link mindpulse");
    dir
}

#[test]
fn the_readme_walk_runs_as_written() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", readme_path.display()));
    let commands = walk_commands(&readme);
    assert!(
        commands.len() >= MIN_COMMANDS,
        "the README's ```sh walk blocks hold {} commands, expected at least {MIN_COMMANDS}: {commands:?}",
        commands.len()
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("walk");
    std::fs::create_dir(&work).expect("create the walk directory");
    let path = std::env::join_paths(std::iter::once(bin_dir(tmp.path())).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");

    for (i, command) in commands.iter().enumerate() {
        eprintln!("README walk {}/{}: {command}", i + 1, commands.len());
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c"])
            .arg(command)
            .current_dir(&work)
            .env("PATH", &path)
            // The walk's key stays in the temporary directory, not in the caller's home; the
            // models cache ($MINDPULSE_MODELS, default ~/.cache/mindpulse/models) is shared.
            .env("MINDPULSE_KEY_FILE", tmp.path().join("pseudonym.key"))
            .env("MINDPULSE_NO_PROGRESS", "1")
            .env_remove("MINDPULSE_DB")
            .env_remove("MINDPULSE_CONFIG")
            .env_remove("MINDPULSE_HEADS")
            .env_remove("MINDPULSE_PSEUDONYM_KEY")
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "README walk command {} of {} failed ({}): {command}\n--- stdout\n{}\n--- stderr\n{}",
            i + 1,
            commands.len(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn walk_blocks_are_told_apart_and_continued_lines_joined() {
    let markdown = "\
intro
```sh
mindpulse not-walk
```
```sh walk
# a comment

mindpulse init   # trailing comment
mindpulse score --limit 2 \\
    --batch-size 1
```
```toml
[trends]
```
```  sh   walk
mindpulse stats
```
";
    assert_eq!(
        walk_commands(markdown),
        [
            "mindpulse init   # trailing comment",
            "mindpulse score --limit 2 --batch-size 1",
            "mindpulse stats",
        ]
    );
}
