//! `mindpulse init`: create or migrate the schema, create the pseudonym key.

use crate::context::Context;
use std::process::ExitCode;

pub async fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    let _key = ctx.key(true)?;
    let store = mindpulse_store::Store::connect(&ctx.db_url).await?;
    let applied = store.migrate().await?;
    let versions = store.applied_versions().await?;
    if applied.is_empty() {
        println!(
            "{}: schema is current (version {})",
            store.url(),
            versions.last().copied().unwrap_or(0)
        );
    } else {
        println!("{}: applied migrations {:?}", store.url(), applied);
    }
    if std::env::var(crate::context::KEY_ENV)
        .map(|v| !v.trim().is_empty())
        .unwrap_or(false)
    {
        println!("pseudonym key: from {}", crate::context::KEY_ENV);
    } else {
        println!("pseudonym key: {}", ctx.key_file.display());
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
