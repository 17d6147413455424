//! `mindpulse users add|list|set|remove`: the accounts of the web interface. A role is
//! viewer (reads everything), reviewer (also reviews alerts) or admin. The password is read
//! from standard input (one line; not echoed when it is a terminal) or from the environment
//! variable named by --password-env, hashed with Argon2id, and only the hash is stored; it
//! is never an argument (arguments show in process lists and shell histories).

use crate::context::Context;
use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use mindpulse_serve::auth::Role;
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

async fn hashed(args: &PasswordArgs) -> anyhow::Result<String> {
    crate::password_input::hashed(args.password_env.as_deref()).await
}

async fn add(ctx: &Context, args: AddArgs) -> anyhow::Result<ExitCode> {
    crate::password_input::check_name(&args.name)?;
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
