//! Watching the numbers: alert rules run over the stored series (`scan`), one contiguous
//! series per group cut into detector input (`buckets`), and the webhook outbox
//! (`notify`). Shared by `mindpulse alerts scan`, `mindpulse schedule` (a scan after each
//! job) and `mindpulse forecast` (the same series).

pub mod buckets;
mod notify;
mod scan;

pub use notify::DeliveryReport;
pub use scan::{configured_rules, scan, FoundAlert, ScanSpec, Skipped};

/// A scan and the delivery of what it queued.
pub async fn scan_and_notify(
    store: &mindpulse_store::Store,
    spec: &ScanSpec<'_>,
    notifier: &mindpulse_notify::Notifier,
    deliver: bool,
) -> anyhow::Result<(Vec<FoundAlert>, Vec<Skipped>, DeliveryReport)> {
    let (found, skipped) = scan(store, spec).await?;
    notify::queue(store, notifier, &found).await?;
    let report = if deliver {
        notify::deliver_pending(store, notifier).await?
    } else {
        DeliveryReport::default()
    };
    Ok((found, skipped, report))
}

/// The scan `mindpulse schedule` runs after each job: every configured rule over the 14 days
/// before `now` (default: the clock), webhooks notified. Failures are logged, never fatal to
/// the scheduler.
pub async fn scan_after_job(
    ctx: &crate::context::Context,
    job: &str,
    now: Option<chrono::DateTime<chrono::Utc>>,
) {
    let result = async {
        let rules = configured_rules(&ctx.config);
        let zone = crate::zone::Zone::resolve(None, &ctx.config)?;
        let since = now.unwrap_or_else(chrono::Utc::now) - chrono::Duration::days(14);
        let spec = ScanSpec::new(&ctx.config, &rules, zone, Some(since), None);
        let notifier = mindpulse_notify::Notifier::new(ctx.config.alerts.webhooks.clone())?;
        let store = ctx.existing_store().await?;
        let r = scan_and_notify(&store, &spec, &notifier, true).await;
        store.close().await;
        r
    }
    .await;
    match result {
        Ok((found, skipped, delivery)) => {
            let new = found
                .iter()
                .filter(|a| a.change == mindpulse_store::AlertChange::New)
                .count();
            println!(
                "[{job}] alerts scan: {} in the last 14 days, {new} new; {} rule(s) skipped; notifications {} sent, {} pending",
                found.len(),
                skipped.len(),
                delivery.sent,
                delivery.pending
            );
        }
        Err(e) => eprintln!("[{job}] alerts scan failed: {e:#}"),
    }
}
