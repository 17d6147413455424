//! The scheduler: runs crawl jobs at the times their cron expressions name (local time),
//! one at a time (a job never overlaps another or itself: a fire time that passes while
//! another job runs starts as soon as that one ends, once), each with its own time cap,
//! until interrupted.

use crate::config::ScheduledJob;
use crate::cron::{Cron, CronError};
use chrono::{DateTime, Local, TimeZone};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A job with its parsed expression.
#[derive(Debug, Clone)]
pub struct Planned {
    pub job: ScheduledJob,
    pub cron: Cron,
}

/// Parses every job's cron expression.
pub fn plan(jobs: &[ScheduledJob]) -> Result<Vec<Planned>, CronError> {
    jobs.iter()
        .map(|j| {
            Ok(Planned {
                job: j.clone(),
                cron: Cron::parse(&j.cron)?,
            })
        })
        .collect()
}

/// The next local fire time of `cron` after `after` (skipping times a DST gap removes).
pub fn next_fire(cron: &Cron, after: DateTime<Local>) -> Option<DateTime<Local>> {
    let mut t = after.naive_local();
    for _ in 0..4 {
        let n = cron.next_after(t)?;
        if let Some(local) = Local.from_local_datetime(&n).earliest() {
            return Some(local);
        }
        t = n;
    }
    None
}

/// How the scheduler loop should behave.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScheduleOptions {
    /// Run every job once right away, then follow the schedule.
    pub run_now: bool,
    /// Stop after this many job runs.
    pub max_runs: Option<usize>,
}

/// Runs `run_one` for each job when due, until `cancel` is set (or `max_runs` is reached).
/// Returns the number of runs.
pub async fn run_schedule<F, Fut>(
    jobs: &[Planned],
    cancel: Arc<AtomicBool>,
    opts: ScheduleOptions,
    mut run_one: F,
) -> usize
where
    F: FnMut(&Planned) -> Fut,
    Fut: Future<Output = ()>,
{
    let now = Local::now();
    let mut next: Vec<Option<DateTime<Local>>> = jobs
        .iter()
        .map(|p| {
            if opts.run_now {
                Some(now)
            } else {
                next_fire(&p.cron, now)
            }
        })
        .collect();
    let mut runs = 0usize;
    loop {
        if cancel.load(Ordering::Relaxed) || opts.max_runs.is_some_and(|m| runs >= m) {
            return runs;
        }
        let Some((i, at)) = next
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .min_by_key(|(i, t)| (*t, *i))
        else {
            tracing::warn!("no job has a future fire time; the scheduler stops");
            return runs;
        };
        let job = &jobs[i];
        tracing::info!(job = %job.job.name, cron = %job.cron, "next run at {}", at.format("%Y-%m-%d %H:%M %Z"));
        loop {
            if cancel.load(Ordering::Relaxed) {
                return runs;
            }
            let left = at - Local::now();
            match left.to_std() {
                Ok(d) if d > Duration::ZERO => {
                    tokio::time::sleep(d.min(Duration::from_millis(250))).await
                }
                _ => break,
            }
        }
        let late = Local::now() - at;
        if late > chrono::Duration::minutes(1) {
            tracing::warn!(job = %job.job.name, "starting {} min late (the previous job was still running)", late.num_minutes());
        }
        run_one(job).await;
        runs += 1;
        next[i] = next_fire(&job.cron, Local::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScheduleConfig;
    use std::sync::Mutex;

    #[tokio::test]
    async fn runs_now_in_order_without_overlap_and_stops() {
        let mut jobs = ScheduleConfig::default().effective_jobs();
        jobs.push(ScheduledJob {
            name: "second".into(),
            cron: "*/5 * * * *".into(),
            kind: "mastodon".into(),
            max_minutes: Some(1.0),
            instance: None,
            tag: None,
        });
        let planned = plan(&jobs).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let busy = Arc::new(AtomicBool::new(false));
        let n = run_schedule(
            &planned,
            Arc::new(AtomicBool::new(false)),
            ScheduleOptions {
                run_now: true,
                max_runs: Some(2),
            },
            |p| {
                let log = log.clone();
                let busy = busy.clone();
                let name = p.job.name.clone();
                async move {
                    assert!(!busy.swap(true, Ordering::SeqCst), "overlapping runs");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    log.lock().unwrap().push(name);
                    busy.store(false, Ordering::SeqCst);
                }
            },
        )
        .await;
        assert_eq!(n, 2);
        assert_eq!(
            *log.lock().unwrap(),
            vec!["weibo".to_string(), "second".to_string()]
        );
        assert!(plan(&[ScheduledJob {
            cron: "bad".into(),
            ..jobs[0].clone()
        }])
        .is_err());
    }

    #[tokio::test]
    async fn an_interrupt_stops_the_wait() {
        let planned = plan(&ScheduleConfig::default().effective_jobs()).unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            c.store(true, Ordering::SeqCst);
        });
        let n = run_schedule(&planned, cancel, ScheduleOptions::default(), |_| async {}).await;
        assert_eq!(n, 0);
    }
}
