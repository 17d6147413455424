//! Who this process is, for the owners of leases, crawl jobs and runs (`host:pid:…`).

/// The machine's host name (`localhost` when it cannot be read).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    "localhost".into()
}

/// `host:pid`.
pub fn host_pid() -> String {
    format!("{}:{}", hostname(), std::process::id())
}
