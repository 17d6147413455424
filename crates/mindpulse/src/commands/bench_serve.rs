//! `mindpulse bench serve`: how fast the web interface answers on a large database. Builds
//! (or, with `--reuse`, reopens) the database of `bench trends` (default 1,000,000 posts
//! over 90 days, every post scored, rollups built), starts `mindpulse serve` as a user would
//! (a child process on a free port), signs in over HTTP, and drives the overview page and
//! the trend API with ApacheBench (`ab`, from Debian's apache2-utils; keep-alive) at each
//! concurrency (default 1, 8 and 32), printing requests/s and the p50/p95/p99 latencies,
//! once with the server's trend cache off (every request computed) and once with the
//! default 30 s cache.
//! The peer in the same run is the CLI: the same trend query as `mindpulse trends --json`
//! in a new process (median of 3), whose answer the API's must equal.

use crate::measure::run_measured;
use anyhow::{bail, Context as _};
use clap::Args;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};

#[derive(Debug, Args)]
pub struct BenchServeArgs {
    /// Posts to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub posts: u64,
    /// Days the posts span.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Requests per measurement (at least 4 per concurrent client).
    #[arg(long, default_value_t = 100)]
    pub requests: usize,
    /// Concurrency levels (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub concurrency: Vec<usize>,
    /// Keep the files here (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The server's trend cache, in seconds (`serve --cache-secs`); each setting is a run
    /// of its own, in order.
    #[arg(long, value_delimiter = ',', default_value = "0,30")]
    pub cache_secs: Vec<u64>,
    /// Use the database an earlier `bench trends` or `bench serve` left in --dir.
    #[arg(long, requires = "dir")]
    pub reuse: bool,
}

/// The server child, stopped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 exchange over a fresh connection: (status, Set-Cookie values, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookies: &str,
    body: &str,
) -> anyhow::Result<(u16, Vec<String>, String)> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !cookies.is_empty() {
        req.push_str(&format!("Cookie: {cookies}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().split(';').next().unwrap_or_default().to_string())
        })
        .collect();
    Ok((status, cookies, rest.to_string()))
}

/// Signs in as `name`; returns the session cookie (`mp_session=…`).
fn sign_in(addr: &str, name: &str, password: &str) -> anyhow::Result<String> {
    let (_, cookies, page) = http(addr, "GET", "/login", "", "")?;
    let login_cookie = cookies
        .iter()
        .find(|c| c.starts_with("mp_login="))
        .context("no sign-in cookie")?;
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("no sign-in token in the form")?;
    let body = format!("name={name}&password={password}&csrf={token}");
    let (status, cookies, _) = http(addr, "POST", "/login", login_cookie, &body)?;
    match cookies.iter().find(|c| c.starts_with("mp_session=")) {
        Some(c) if status == 303 => Ok(c.clone()),
        _ => bail!("signing in failed (HTTP {status})"),
    }
}

/// What one `ab` run measured.
struct AbResult {
    per_second: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    failed: u64,
}

fn ab(url: &str, cookie: &str, requests: usize, concurrency: usize) -> anyhow::Result<AbResult> {
    let mut cmd = Command::new("ab");
    cmd.args(["-q", "-k", "-n"])
        .arg(requests.max(concurrency * 4).to_string())
        .arg("-c")
        .arg(concurrency.to_string())
        .arg("-H")
        .arg(format!("Cookie: {cookie}"))
        .arg(url);
    let (out, _, _) = run_measured(cmd).context("running ab")?;
    let number = |prefix: &str| -> Option<f64> {
        out.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.trim_start()[prefix.len()..].split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    let failed = number("Failed requests:").unwrap_or(0.0) as u64
        + number("Non-2xx responses:").unwrap_or(0.0) as u64;
    match (
        number("Requests per second:"),
        number("50%"),
        number("95%"),
        number("99%"),
    ) {
        (Some(per_second), Some(p50), Some(p95), Some(p99)) => Ok(AbResult {
            per_second,
            p50,
            p95,
            p99,
            failed,
        }),
        _ => bail!("could not read ab's output:\n{out}"),
    }
}

/// Starts `mindpulse serve` on a free port with the trend cache at `cache_secs`; returns it
/// and its address.
fn start_server(
    exe: &std::path::Path,
    db: &str,
    cache_secs: u64,
) -> anyhow::Result<(Server, String)> {
    let mut child = Command::new(exe)
        .args([
            "--no-progress",
            "-q",
            "--db",
            db,
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--cache-secs",
        ])
        .arg(cache_secs.to_string())
        .env("MINDPULSE_PSEUDONYM_KEY", crate::bench_db::KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting mindpulse serve")?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line)?;
    }
    let server = Server(child);
    let base = line
        .trim()
        .strip_prefix("serving on http://")
        .map(|s| s.trim_end_matches('/').to_string())
        .with_context(|| format!("the server did not start: {line:?}"))?;

    Ok((server, base))
}

pub async fn run(args: BenchServeArgs) -> anyhow::Result<ExitCode> {
    if Command::new("ab").arg("-V").output().is_err() {
        bail!("bench serve drives the server with ApacheBench: install it (Debian: apt-get install apache2-utils)");
    }
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        bail!("--concurrency: expected levels of 1 or more, e.g. 1,8,32");
    }
    let (dir, _tmp) = crate::bench_db::work_dir(args.dir.as_deref())?;
    let exe = std::env::current_exe()?;
    let prepared = crate::bench_db::prepare(&dir, args.posts, args.days, args.reuse).await?;
    let db = prepared.url.clone();
    let password = "bench-password-not-secret";
    {
        let store = mindpulse_store::Store::open(&db).await?;
        if store.user("bench").await?.is_none() {
            let hash = mindpulse_serve::auth::hash_password(password)?;
            store.add_user("bench", "viewer", &hash).await?;
        }
        store.close().await;
    }
    println!(
        "bench serve: {} posts over {} days in SQLite ({}), every post scored, rollups built; `mindpulse serve` in a child process, driven by ApacheBench (keep-alive) on this machine\n",
        prepared.posts,
        args.days,
        prepared.path.display()
    );
    if !prepared.setup.is_empty() {
        println!("| setup | seconds |\n|---|---:|");
        for (what, s) in &prepared.setup {
            println!("| {what} | {s:.1} |");
        }
        println!();
    }
    let targets: [(&str, &str, Option<&[&str]>); 5] = [
        (
            "overview page `/` (volume + 4 dimensions by day with forecasts, alerts, runs)",
            "/",
            None,
        ),
        (
            "`/api/trends` (volume by day)",
            "/api/trends",
            Some(&["trends", "--json"]),
        ),
        (
            "`/api/trends?metric=depression` (corrected, 95 % CI, by day)",
            "/api/trends?metric=depression",
            Some(&["trends", "--metric", "depression", "--json"]),
        ),
        (
            "`/api/trends?metric=depression&group=lang`",
            "/api/trends?metric=depression&group=lang",
            Some(&[
                "trends",
                "--metric",
                "depression",
                "--group",
                "lang",
                "--json",
            ]),
        ),
        (
            "`/api/trends?metric=depression&by=week&group=topic`",
            "/api/trends?metric=depression&by=week&group=topic",
            Some(&[
                "trends",
                "--metric",
                "depression",
                "--by",
                "week",
                "--group",
                "topic",
                "--json",
            ]),
        ),
    ];
    println!("| request | trend cache | concurrency | requests | req/s | p50 (ms) | p95 (ms) | p99 (ms) | failed | peer: `mindpulse trends` process (ms) | same answer |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|");
    let mut peers: std::collections::HashMap<&str, (String, &str)> = Default::default();
    for &cache in &args.cache_secs {
        let (server, base) = start_server(&exe, &db, cache)?;
        let cookie = sign_in(&base, "bench", password)?;
        let cache_label = if cache == 0 {
            "off".to_string()
        } else {
            format!("{cache} s")
        };
        for (label, path, cli) in targets {
            let (status, _, answer) = http(&base, "GET", path, &cookie, "")?;
            if status != 200 {
                bail!("{path}: HTTP {status}");
            }
            let (peer, same) = match (cli, peers.get(path)) {
                (Some(a), None) => {
                    let (secs, out) = crate::bench_db::median_run(&exe, &db, a, 3)?;
                    let ms = secs * 1000.0;
                    let same = serde_json::from_str::<serde_json::Value>(out.trim()).ok()
                        == serde_json::from_str::<serde_json::Value>(answer.trim()).ok();
                    let v = (format!("{ms:.0}"), if same { "yes" } else { "NO" });
                    peers.insert(path, v.clone());
                    v
                }
                (Some(_), Some(known)) => known.clone(),
                (None, _) => ("–".to_string(), "–"),
            };
            for &c in &args.concurrency {
                let r = ab(&format!("http://{base}{path}"), &cookie, args.requests, c)?;
                println!(
                "| {label} | {cache_label} | {c} | {} | {:.1} | {:.0} | {:.0} | {:.0} | {} | {peer} | {same} |",
                args.requests.max(c * 4),
                r.per_second,
                r.p50,
                r.p95,
                r.p99,
                r.failed
            );
            }
        }
        drop(server);
    }
    Ok(ExitCode::SUCCESS)
}
