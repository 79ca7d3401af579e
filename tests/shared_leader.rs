//! The scaler leader's lease on a redis-server of the test's own: one holder at a time writes the (fake)
//! Heroku formation, a follower's write is refused, a stale leader's write is refused by the fence after a new
//! leader took the lease, and a new leader takes over within one lease when the old one stops renewing.

mod support;

use drainscale::scaler::backend::formation::HerokuFormation;
use drainscale::scaler::backend::heroku::{Heroku, HerokuSettings};
use drainscale::scaler::backend::{Backend, BackendError};
use drainscale::shared::fenced::Fenced;
use drainscale::shared::lease::Lease;
use drainscale::shared::{Keys, Redis, SharedConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fake_heroku::FakeHeroku;
use support::redis::RedisServer;

const LEASE: Duration = Duration::from_secs(2);

fn lease(url: &str, instance: &str) -> Arc<Lease> {
    let cfg = SharedConfig {
        lease: LEASE,
        timeout: Duration::from_millis(300),
        ..SharedConfig::default()
    };
    let redis = Arc::new(Redis::connect(&url.into(), &cfg).unwrap());
    Arc::new(Lease::new(
        redis,
        Keys::new("shop"),
        instance.into(),
        cfg.lease,
        cfg.timeout,
    ))
}

fn formation(fake: &FakeHeroku) -> Arc<dyn Backend> {
    let mut settings = HerokuSettings::new(&fake.url, "shop", "tok-1");
    settings.cache_ttl = Duration::ZERO;
    settings.max_attempts = 1;
    Arc::new(HerokuFormation::new(
        Arc::new(Heroku::new(settings).unwrap()),
        None,
    ))
}

fn fenced(err: Result<u32, BackendError>) -> bool {
    matches!(err, Err(BackendError::Fenced { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_writes_and_a_stale_one_is_fenced_off() {
    let redis = RedisServer::start();
    let fake = FakeHeroku::start("shop", "tok-1", &[("web", 1)]).await;
    let (a, b) = (lease(&redis.url(), "a"), lease(&redis.url(), "b"));
    let (fa, fb) = (
        Fenced::new(formation(&fake), a.clone()),
        Fenced::new(formation(&fake), b.clone()),
    );
    assert_eq!(a.tick().await.unwrap().fence, Some(1));
    let seen_by_b = b.tick().await.unwrap();
    assert_eq!(seen_by_b.fence, None);
    assert_eq!(seen_by_b.holder.as_deref(), Some("a 1"));

    assert!(fenced(fb.set("web", 2).await), "a follower may not write");
    assert!(fake.writes().is_empty());
    assert_eq!(fa.set("web", 2).await.unwrap(), 2);
    assert_eq!(fake.writes(), vec![("web".to_string(), 2)]);
    // Reads go through on every instance.
    assert_eq!(fb.current("web").await.unwrap(), 2);

    // The leader stalls past its lease (here: the lease is gone at once) and b takes over with fence 2.
    assert!(redis.cli(&["DEL", "drainscale:{shop}:lease"]).is_some());
    assert_eq!(b.tick().await.unwrap().fence, Some(2));
    assert!(a.token().is_some(), "a's own clock still trusts its lease");
    assert!(fenced(fa.set("web", 5).await), "the stale leader's write");
    assert_eq!(fake.writes().len(), 1);
    assert_eq!(fb.set("web", 4).await.unwrap(), 4);
    assert_eq!(fake.quantity("web"), Some(4));
    // a learns it lost the lease on its next renewal.
    assert_eq!(a.tick().await.unwrap().fence, None);
    assert_eq!(fa.refused.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_takes_over_within_one_lease() {
    let redis = RedisServer::start();
    let (old, next) = (lease(&redis.url(), "old"), lease(&redis.url(), "next"));
    assert_eq!(old.tick().await.unwrap().fence, Some(1));
    // `old` dies: it never renews again. `next` renews every third of a lease, as the task does.
    let died = Instant::now();
    let deadline = died + LEASE + LEASE / 2;
    loop {
        if next.tick().await.unwrap().fence == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "no takeover within a lease");
        tokio::time::sleep(LEASE / 3).await;
    }

    // A release hands over at once.
    next.release().await;
    let third = lease(&redis.url(), "third");
    assert_eq!(third.tick().await.unwrap().fence, Some(3));
}
