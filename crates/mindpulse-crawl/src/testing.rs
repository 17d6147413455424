//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: serves fixture files by path and
//! significant query parameters (from a fixtures `INDEX.json`), records every request
//! (path, decoded query, headers), and injects faults per route: any status, a
//! redirect, a hang (the client times out), or a truncated body. std only.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A canned response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Resp {
        Resp {
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn json(body: &str) -> Resp {
        Resp::new(200, "application/json; charset=utf-8", body)
    }

    pub fn html(body: &str) -> Resp {
        Resp::new(200, "text/html; charset=utf-8", body)
    }

    pub fn status(status: u16) -> Resp {
        Resp::new(
            status,
            "text/html; charset=utf-8",
            format!("<html><body>HTTP {status}</body></html>"),
        )
    }

    pub fn redirect(location: &str) -> Resp {
        let mut r = Resp::new(302, "text/html; charset=utf-8", "");
        r.headers.push(("Location".into(), location.into()));
        r
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Resp {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What the server does for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behavior {
    Respond(Resp),
    /// Accept, say nothing for this long, then close (the client should time out first).
    Hang(Duration),
    /// Send the headers with the full length but only half of the body, then close.
    Truncate(Resp),
}

/// A parameter value meaning "this parameter must not be present".
pub const ABSENT: &str = "<absent>";

/// A request matcher: the path and the query parameters that must be present with these
/// values (or, with the value [`ABSENT`], must not be present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Matcher {
    pub fn new(path: &str, params: &[(&str, &str)]) -> Matcher {
        Matcher {
            path: path.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn matches(&self, path: &str, query: &[(String, String)]) -> bool {
        self.path == path
            && self.params.iter().all(|(k, v)| {
                if v == ABSENT {
                    !query.iter().any(|(qk, _)| qk == k)
                } else {
                    query.iter().any(|(qk, qv)| qk == k && qv == v)
                }
            })
    }
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub path: String,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
    /// When the request arrived.
    pub at: std::time::Instant,
}

impl Logged {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: Vec<(Matcher, Behavior)>,
    /// Faults: used before routes, each a limited number of times.
    faults: Vec<(Matcher, Behavior, usize)>,
    log: Vec<Logged>,
}

/// The server; stops when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl TestServer {
    /// An empty server (every request is a 404 until routes are added).
    pub fn start() -> std::io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &st);
                });
            }
        });
        Ok(TestServer {
            base: format!("http://{addr}"),
            state,
            stop,
            addr,
        })
    }

    /// A server with the routes of `dir/INDEX.json`:
    /// `{"routes":[{"path":"/weibo","params":{"q":"#x#","page":"1"},"status":200,
    /// "type":"text/html","file":"p1.html","headers":{"Location":"…"}}]}`.
    /// `{BASE}` in a file or header is replaced by the server's base URL.
    pub fn from_index(dir: &Path) -> std::io::Result<TestServer> {
        let server = TestServer::start()?;
        server.load_index(dir)?;
        Ok(server)
    }

    /// Adds the routes of `dir/INDEX.json`.
    pub fn load_index(&self, dir: &Path) -> std::io::Result<()> {
        let text = std::fs::read_to_string(dir.join("INDEX.json"))?;
        let index: serde_json::Value =
            serde_json::from_str(&text).map_err(std::io::Error::other)?;
        let routes = index
            .get("routes")
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default();
        for r in routes {
            let path = r
                .get("path")
                .and_then(|p| p.as_str())
                .unwrap_or("/")
                .to_string();
            let params: Vec<(String, String)> = r
                .get("params")
                .and_then(|p| p.as_object())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let status = r.get("status").and_then(|s| s.as_u64()).unwrap_or(200) as u16;
            let ctype = r
                .get("type")
                .and_then(|s| s.as_str())
                .unwrap_or("application/json; charset=utf-8");
            let body = match r.get("file").and_then(|f| f.as_str()) {
                Some(f) => std::fs::read_to_string(dir.join(f))?.replace("{BASE}", &self.base),
                None => String::new(),
            };
            let mut resp = Resp::new(status, ctype, body);
            if let Some(h) = r.get("headers").and_then(|h| h.as_object()) {
                for (k, v) in h {
                    resp.headers.push((
                        k.clone(),
                        v.as_str().unwrap_or("").replace("{BASE}", &self.base),
                    ));
                }
            }
            self.route(Matcher { path, params }, Behavior::Respond(resp));
        }
        Ok(())
    }

    /// Adds a route; among matching routes the one with most parameters wins, then the latest.
    pub fn route(&self, m: Matcher, b: Behavior) {
        if let Ok(mut s) = self.state.lock() {
            s.routes.push((m, b));
        }
    }

    /// Serves `b` instead of the route for the next `times` matching requests.
    pub fn fault(&self, m: Matcher, b: Behavior, times: usize) {
        if let Ok(mut s) = self.state.lock() {
            s.faults.push((m, b, times));
        }
    }

    pub fn clear_faults(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.faults.clear();
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().map(|s| s.log.clone()).unwrap_or_default()
    }

    pub fn clear_log(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.log.clear();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        403 => "Forbidden",
        404 => "Not Found",
        414 => "URI Too Long",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let behavior = {
        let mut s = state
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        s.log.push(Logged {
            path: path.clone(),
            query: query.clone(),
            headers,
            at: std::time::Instant::now(),
        });
        let fault = s
            .faults
            .iter_mut()
            .find(|(m, _, n)| *n > 0 && m.matches(&path, &query))
            .map(|(_, b, n)| {
                *n -= 1;
                b.clone()
            });
        fault.or_else(|| {
            let mut best: Option<(usize, usize)> = None;
            for (i, (m, _)) in s.routes.iter().enumerate() {
                if m.matches(&path, &query) && best.is_none_or(|(n, _)| m.params.len() >= n) {
                    best = Some((m.params.len(), i));
                }
            }
            best.map(|(_, i)| s.routes[i].1.clone())
        })
    };
    let mut out = conn;
    match behavior.unwrap_or_else(|| Behavior::Respond(Resp::new(404, "text/plain", "not found"))) {
        Behavior::Respond(r) => write_resp(&mut out, &r, r.body.len()),
        Behavior::Truncate(r) => write_resp(&mut out, &r, r.body.len() / 2),
        Behavior::Hang(d) => {
            std::thread::sleep(d);
            Ok(())
        }
    }
}

fn write_resp(out: &mut TcpStream, r: &Resp, send: usize) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(&r.body[..send.min(r.body.len())])?;
    out.flush()?;
    let _ = out.shutdown(std::net::Shutdown::Both);
    Ok(())
}
