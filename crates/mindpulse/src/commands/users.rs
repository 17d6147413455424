//! `mindpulse users add|list|set|remove`: the accounts of the web interface. A role is
//! viewer (reads everything), reviewer (also reviews alerts) or admin. The password is read
//! from standard input (one line; not echoed when it is a terminal) or from the environment
//! variable named by --password-env, hashed with Argon2id, and only the hash is stored; it
//! is never an argument (arguments show in process lists and shell histories).

use crate::context::Context;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};
use mindpulse_serve::auth::{hash_password, Role};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Viewer,
    Reviewer,
    Admin,
}

impl RoleArg {
    fn role(self) -> Role {
        match self {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Reviewer => Role::Reviewer,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub command: UsersCommand,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add an account (the password from standard input or --password-env).
    Add(AddArgs),
    /// List the accounts (name, role, created).
    List(ListArgs),
    /// Change an account's role or password.
    Set(SetArgs),
    /// Remove an account.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// Read the password from this environment variable instead of standard input.
    #[arg(long)]
    pub password_env: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The account name (letters, digits, `.`, `_`, `-`; at most 64).
    pub name: String,
    #[arg(long, value_enum)]
    pub role: RoleArg,
    #[command(flatten)]
    pub password: PasswordArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print exactly one JSON array on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    pub name: String,
    /// The new role.
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// Set a new password (from standard input or --password-env).
    #[arg(long)]
    pub new_password: bool,
    #[command(flatten)]
    pub password: PasswordArgs,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    pub name: String,
}

pub async fn run(ctx: &Context, args: UsersArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        UsersCommand::Add(a) => add(ctx, a).await,
        UsersCommand::List(a) => list(ctx, a).await,
        UsersCommand::Set(a) => set(ctx, a).await,
        UsersCommand::Remove(a) => remove(ctx, a).await,
    }
}

/// Names are short and plain, so that they show safely everywhere.
fn check_name(name: &str) -> anyhow::Result<()> {
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
fn read_password(args: &PasswordArgs) -> anyhow::Result<String> {
    if let Some(var) = &args.password_env {
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

async fn hashed(args: &PasswordArgs) -> anyhow::Result<String> {
    let password = read_password(args)?;
    Ok(tokio::task::spawn_blocking(move || hash_password(&password)).await??)
}

async fn add(ctx: &Context, args: AddArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let hash = hashed(&args.password).await?;
    let store = ctx.store().await?;
    let added = store
        .add_user(&args.name, args.role.role().name(), &hash)
        .await;
    store.close().await;
    if !added? {
        bail!(
            "an account named {} exists: change it with `mindpulse users set`",
            args.name
        );
    }
    eprintln!("added {} ({})", args.name, args.role.role().name());
    Ok(ExitCode::SUCCESS)
}

async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let users = store.users().await;
    store.close().await;
    let users = users?;
    if args.json {
        println!("{}", serde_json::to_string(&users)?);
        return Ok(ExitCode::SUCCESS);
    }
    if users.is_empty() {
        println!(
            "no accounts: add one with `mindpulse users add NAME --role viewer|reviewer|admin`"
        );
    }
    for u in &users {
        println!(
            "{:<24} {:<9} {}",
            u.name,
            u.role,
            u.created_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn set(ctx: &Context, args: SetArgs) -> anyhow::Result<ExitCode> {
    if args.role.is_none() && !args.new_password {
        bail!("nothing to change: give --role and/or --new-password");
    }
    let hash = if args.new_password {
        Some(hashed(&args.password).await?)
    } else {
        None
    };
    let store = ctx.existing_store().await?;
    let changed = store
        .update_user(
            &args.name,
            args.role.map(|r| r.role().name()),
            hash.as_deref(),
        )
        .await;
    store.close().await;
    if !changed? {
        bail!("no account named {}", args.name);
    }
    eprintln!("changed {}", args.name);
    Ok(ExitCode::SUCCESS)
}

async fn remove(ctx: &Context, args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.existing_store().await?;
    let removed = store.remove_user(&args.name).await;
    store.close().await;
    if !removed? {
        bail!("no account named {}", args.name);
    }
    eprintln!(
        "removed {} (its open sessions end when the server restarts)",
        args.name
    );
    Ok(ExitCode::SUCCESS)
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
}
