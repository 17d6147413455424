//! The polite client on its own: per-host delay, retries with backoff on 5xx, the
//! rate-limit back-off then stop, no redirects followed, and interrupts that cut a wait.

use mindpulse_crawl::http::{headers, Verdict};
use mindpulse_crawl::testing::{Behavior, Matcher, Resp, TestServer};
use mindpulse_crawl::{CrawlError, Fetcher, Politeness};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn accept(_: &mindpulse_crawl::http::Response) -> Verdict {
    Verdict::Accept
}

fn server() -> TestServer {
    let s = TestServer::start().unwrap();
    s.route(
        Matcher::new("/ok", &[]),
        Behavior::Respond(Resp::json("{}")),
    );
    s
}

#[tokio::test]
async fn one_host_is_asked_at_most_once_per_delay() {
    let a = server();
    let b = server();
    let polite = Politeness {
        delay_secs: 0.4,
        ..Politeness::for_tests()
    };
    let f = Fetcher::new(polite, Arc::new(AtomicBool::new(false))).unwrap();
    let h = headers(None, &[]);
    let t0 = Instant::now();
    for _ in 0..3 {
        f.get(&format!("{}/ok", a.base), &h, &accept).await.unwrap();
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(750),
        "{:?}",
        t0.elapsed()
    );
    // Another host has its own clock.
    let t1 = Instant::now();
    f.get(&format!("{}/ok", b.base), &h, &accept).await.unwrap();
    assert!(
        t1.elapsed() < Duration::from_millis(350),
        "{:?}",
        t1.elapsed()
    );
    assert_eq!(
        a.requests()[0].header("user-agent"),
        Some(mindpulse_crawl::config::DEFAULT_USER_AGENT)
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_given_up() {
    let s = server();
    let polite = Politeness {
        retries: 3,
        backoff_secs: 0.05,
        max_backoff_secs: 1.0,
        ..Politeness::for_tests()
    };
    let f = Fetcher::new(polite, Arc::new(AtomicBool::new(false))).unwrap();
    s.fault(
        Matcher::new("/ok", &[]),
        Behavior::Respond(Resp::status(503)),
        2,
    );
    let t0 = Instant::now();
    let r = f
        .get(&format!("{}/ok", s.base), &headers(None, &[]), &accept)
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "0.05 + 0.10 s of backoff: {:?}",
        t0.elapsed()
    );
    s.fault(
        Matcher::new("/ok", &[]),
        Behavior::Respond(Resp::status(500)),
        10,
    );
    let e = f
        .get(&format!("{}/ok", s.base), &headers(None, &[]), &accept)
        .await
        .unwrap_err();
    assert!(matches!(e, CrawlError::Failed { .. }), "{e}");
    assert!(
        e.to_string().contains("HTTP 500") && e.to_string().contains("4 tries"),
        "{e}"
    );
    assert_eq!(s.requests().len(), 3 + 4);
}

#[tokio::test]
async fn rate_limits_back_off_once_then_stop_and_redirects_are_not_followed() {
    let s = server();
    let f = Fetcher::new(Politeness::for_tests(), Arc::new(AtomicBool::new(false))).unwrap();
    s.fault(
        Matcher::new("/ok", &[]),
        Behavior::Respond(Resp::status(418)),
        1,
    );
    assert_eq!(
        f.get(&format!("{}/ok", s.base), &headers(None, &[]), &accept)
            .await
            .unwrap()
            .status,
        200,
        "one 418 is waited out"
    );
    s.fault(
        Matcher::new("/ok", &[]),
        Behavior::Respond(Resp::status(414)),
        2,
    );
    let e = f
        .get(&format!("{}/ok", s.base), &headers(None, &[]), &accept)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CrawlError::RateLimited { .. }) && e.stops_run(),
        "{e}"
    );
    s.fault(
        Matcher::new("/ok", &[]),
        Behavior::Respond(Resp::redirect("/elsewhere")),
        1,
    );
    let r = f
        .get(&format!("{}/ok", s.base), &headers(None, &[]), &accept)
        .await
        .unwrap();
    assert_eq!((r.status, r.location.as_deref()), (302, Some("/elsewhere")));
}

#[tokio::test]
async fn an_interrupt_cuts_the_wait_short() {
    let s = server();
    let cancel = Arc::new(AtomicBool::new(false));
    let polite = Politeness {
        delay_secs: 30.0,
        ..Politeness::for_tests()
    };
    let f = Fetcher::new(polite, cancel.clone()).unwrap();
    f.get(&format!("{}/ok", s.base), &headers(None, &[]), &accept)
        .await
        .unwrap();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.store(true, Ordering::SeqCst);
    });
    let t0 = Instant::now();
    let e = f
        .get(&format!("{}/ok", s.base), &headers(None, &[]), &accept)
        .await
        .unwrap_err();
    assert!(matches!(e, CrawlError::Cancelled));
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(s.requests().len(), 1, "no request after the interrupt");
}
