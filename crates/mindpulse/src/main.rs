//! The `mindpulse` binary: parses the command line, sets up logging, and wires the
//! stages (collect → clean → store → …) together. The work itself lives in the crates.

mod asking;
mod bench_corpus;
mod bench_db;
mod chat_llm;
mod cli;
mod commands;
use mindpulse_config as config;
mod context;
mod forecasting;
mod llm_args;
mod measure;
mod output_file;
mod password_input;
mod post_filter;
mod post_json;
mod progress;
mod render;
mod retrieve;
mod scoring;
mod series;
mod tabular;
mod topic_views;
mod watch;
mod zone;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        // `mindpulse export | head`: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: many library errors already
/// put their cause in their own message (`cannot read {path}: {source}`), and anyhow's
/// `{:#}` would print it again.
fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // A cause a message embeds is its tail (`…: {source}`); a cause whose words merely
        // occur somewhere in the message is still shown.
        if text.is_empty() || message.ends_with(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// Whether an error comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let io = cause.downcast_ref::<std::io::Error>().or_else(|| {
            cause
                .downcast_ref::<csv::Error>()
                .and_then(|c| match c.kind() {
                    csv::ErrorKind::Io(io) => Some(io),
                    _ => None,
                })
        });
        let json = cause
            .downcast_ref::<serde_json::Error>()
            .and_then(|j| j.io_error_kind());
        io.map(|io| io.kind()).or(json) == Some(std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(global: &cli::GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    // sqlx reports slow statements as warnings; a bulk import's index build is one by
    // design, so they show only with -vv.
    let sqlx_level = if global.verbose >= 2 { "warn" } else { "error" };
    let filter = EnvFilter::try_from_env("MINDPULSE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx={sqlx_level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if global.log_json {
        builder.json().init();
    } else {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        builder
            .with_target(false)
            .without_time()
            .with_ansi(ansi)
            .init();
    }
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read data.csv: {source}")]
    struct Wrapped {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Wrapped { source: io }).context("import failed");
        assert_eq!(
            error_message(&e),
            "import failed: cannot read data.csv: no such file"
        );
        let plain = anyhow::anyhow!("disk full").context("export failed");
        assert_eq!(error_message(&plain), "export failed: disk full");
        let echo = anyhow::anyhow!("full").context("disk full check failed");
        assert_eq!(error_message(&echo), "disk full check failed: full");
    }
}
