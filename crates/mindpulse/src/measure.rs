//! Measuring for the benchmarks: wall time and peak memory of a child process (a peer run
//! in the same benchmark) and of this process.

use anyhow::bail;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs a command to completion; returns stdout, wall seconds and the child's peak RSS (MiB).
pub fn run_measured(mut cmd: Command) -> anyhow::Result<(String, f64, f64)> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet reaped (std's Child is not waited on).
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if rc < 0 {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{:?} failed (status {status}): {stdout}", cmd.get_program());
    }
    Ok((stdout, seconds, usage.ru_maxrss as f64 / 1024.0))
}

/// Peak resident memory of this process so far, in MiB (0 where /proc is unavailable).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The Python of the benchmarks' peers (pynssp, statsforecast, NetworkX, igraph): `arg`
/// (`--python` or `MINDPULSE_STATS_PYTHON`) when given, else what
/// `scripts/setup_stats_venv.sh` prints (it creates the cached venv the first time).
pub fn stats_python(arg: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    venv_python("setup_stats_venv.sh", arg)
}

/// The Python of BERTopic (`bench topics`): `arg` when given, else what
/// `scripts/setup_topics_venv.sh` prints.
pub fn topics_python(arg: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    venv_python("setup_topics_venv.sh", arg)
}

/// `arg`, else the last line a venv setup script of `scripts/` prints.
fn venv_python(script: &str, arg: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context as _;
    if let Some(p) = arg {
        return Ok(p.to_path_buf());
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(script);
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("").trim().to_string();
    anyhow::ensure!(!last.is_empty(), "{} printed no python", script.display());
    Ok(std::path::PathBuf::from(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_child_and_reports_failure() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo hello"]);
        let (out, secs, rss) = run_measured(cmd).unwrap();
        assert_eq!(out.trim(), "hello");
        assert!(secs >= 0.0);
        assert!(rss > 0.0);
        let mut bad = Command::new("sh");
        bad.args(["-c", "exit 3"]);
        assert!(run_measured(bad).is_err());
        assert!(peak_rss_mib() > 0.0);
    }
}
