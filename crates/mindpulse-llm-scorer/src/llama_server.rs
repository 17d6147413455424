//! A llama.cpp OpenAI-compatible server (`python -m llama_cpp.server`, the PyPI package
//! `llama-cpp-python[server]` that `scripts/setup_llama_server.sh` installs into a cached
//! venv) started on 127.0.0.1 for the tests and the benchmark, and stopped on drop.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The env var that names the venv's python explicitly.
pub const PYTHON_ENV: &str = "MINDPULSE_LLAMA_PYTHON";

/// The python of the cached venv: `$MINDPULSE_LLAMA_PYTHON`, else
/// `${MINDPULSE_CACHE:-$HOME/.cache/mindpulse}/venv-llama/bin/python`, when it exists.
pub fn find_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(PYTHON_ENV).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    let cache = std::env::var_os("MINDPULSE_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("mindpulse"))
        })?;
    let p = cache.join("venv-llama").join("bin").join("python");
    p.exists().then_some(p)
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot start {python}: {source}")]
    Spawn {
        python: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the llama.cpp server exited before it was ready ({status}); its log:\n{log}")]
    Exited { status: String, log: String },
    #[error("the llama.cpp server was not ready after {0:?}; its log:\n{1}")]
    NotReady(Duration, String),
    #[error("no free port: {0}")]
    Port(std::io::Error),
}

/// A running server; killed when dropped.
pub struct LlamaServer {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    /// The model id it serves (its alias).
    pub model: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> Result<u16, ServerError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(ServerError::Port)?;
    Ok(l.local_addr().map_err(ServerError::Port)?.port())
}

fn tail(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl LlamaServer {
    /// Starts `python -m llama_cpp.server` on a free port with `threads` threads and
    /// waits until `GET /v1/models` answers.
    pub async fn start(
        python: &Path,
        model: &Path,
        alias: &str,
        threads: usize,
        n_ctx: usize,
        ready_timeout: Duration,
    ) -> Result<LlamaServer, ServerError> {
        let port = free_port()?;
        let dir = tempfile::tempdir().map_err(ServerError::Port)?;
        let log = dir.path().join("server.log");
        let log_file = std::fs::File::create(&log).map_err(ServerError::Port)?;
        let log_err = log_file.try_clone().map_err(ServerError::Port)?;
        let mut cmd = Command::new(python);
        cmd.args(["-m", "llama_cpp.server", "--model"])
            .arg(model)
            .args(["--model_alias", alias])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--n_threads", &threads.max(1).to_string()])
            .args(["--n_threads_batch", &threads.max(1).to_string()])
            .args(["--n_ctx", &n_ctx.to_string()])
            .args(["--seed", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err));
        let child = cmd.spawn().map_err(|source| ServerError::Spawn {
            python: python.display().to_string(),
            source,
        })?;
        let mut server = LlamaServer {
            child,
            port,
            base_url: format!("http://127.0.0.1:{port}/v1"),
            model: alias.to_string(),
            log,
            _dir: dir,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ServerError::Port(std::io::Error::other(e)))?;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(ServerError::Exited {
                    status: status.to_string(),
                    log: tail(&server.log),
                });
            }
            if let Ok(r) = client
                .get(format!("{}/models", server.base_url))
                .send()
                .await
            {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            if started.elapsed() > ready_timeout {
                return Err(ServerError::NotReady(ready_timeout, tail(&server.log)));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
