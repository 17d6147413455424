//! `mindpulse init`: create or migrate the schema, create the pseudonym key.

use crate::context::Context;
use std::process::ExitCode;

pub async fn run(ctx: &Context) -> anyhow::Result<ExitCode> {
    let key = ctx.key_for_init()?;
    let store = mindpulse_store::Store::connect(&ctx.db_url).await?;
    let applied = store.migrate().await?;
    ctx.check_key(&store, &key.fingerprint()).await?;
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
    if !ctx.key_file_from_flag
        && std::env::var(crate::context::KEY_ENV)
            .map(|v| !v.trim().is_empty())
            .unwrap_or(false)
    {
        println!("pseudonym key: from {}", crate::context::KEY_ENV);
    } else {
        println!("pseudonym key: {}", ctx.key_file.display());
    }
    println!("pseudonym key fingerprint: {}", key.fingerprint());
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
