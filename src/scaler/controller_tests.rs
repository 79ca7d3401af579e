//! Unit tests of a controller pass: Dynosaur's combine-and-clamp case, and the safety rules (a failed or
//! stale input never scales down, fallbacks, recovery), with a manual clock and in-memory input and backend.

use super::*;
use crate::scaler::backend::{BackendError, BackendFuture};
use crate::scaler::clock::{Clock, ManualClock};
use crate::scaler::input::{ready, Conversion, Retrieval};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// An input whose next answer the test sets.
#[derive(Clone)]
struct Scripted {
    answer: Arc<Mutex<Result<f64, InputError>>>,
    calls: Arc<AtomicUsize>,
    conversion: Conversion,
}

impl Scripted {
    fn new(value: f64, per_dyno: f64) -> Self {
        Scripted {
            answer: Arc::new(Mutex::new(Ok(value))),
            calls: Arc::new(AtomicUsize::new(0)),
            conversion: Conversion::PerDyno(per_dyno),
        }
    }
    fn set(&self, answer: Result<f64, InputError>) {
        *self.answer.lock().unwrap() = answer;
    }
}

impl Input for Scripted {
    fn retrieve(&self, _now: Tick) -> Retrieval<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        ready(self.answer.lock().unwrap().clone())
    }
    fn unit(&self) -> &str {
        "things"
    }
    fn conversion(&self) -> &Conversion {
        &self.conversion
    }
}

/// A formation in memory that counts writes and can be made to fail.
#[derive(Default)]
struct Memory {
    count: Mutex<u32>,
    writes: AtomicUsize,
    fail_writes: Mutex<bool>,
}

impl Backend for Memory {
    fn current<'a>(&'a self, _p: &'a str) -> BackendFuture<'a, u32> {
        let n = *self.count.lock().unwrap();
        Box::pin(async move { Ok(n) })
    }
    fn set<'a>(&'a self, _p: &'a str, target: u32) -> BackendFuture<'a, u32> {
        Box::pin(async move {
            if *self.fail_writes.lock().unwrap() {
                return Err(BackendError::File {
                    path: "mem".into(),
                    message: "disk full".into(),
                });
            }
            self.writes.fetch_add(1, Ordering::SeqCst);
            *self.count.lock().unwrap() = target;
            Ok(target)
        })
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

const INTERVAL: Duration = Duration::from_secs(10);
const PERIOD: Duration = Duration::from_secs(60);

fn slot(name: &str, input: &Scripted, fallback: Option<u32>, clock: &ManualClock) -> InputSlot {
    InputSlot::new(
        name.into(),
        "scripted",
        String::new(),
        Box::new(input.clone()),
        INTERVAL,
        PERIOD,
        fallback,
        Duration::from_secs(300),
        clock.tick().mono,
    )
}

fn controller(
    min: u32,
    max: u32,
    policy: Policy,
    inputs: Vec<InputSlot>,
    backend: Arc<Memory>,
) -> Controller {
    Controller::new(
        "web".into(),
        "web".into(),
        min,
        max,
        vec![],
        policy,
        inputs,
        backend,
    )
}

fn no_cooldown() -> Policy {
    Policy {
        down_cooldown: Duration::ZERO,
        ..Policy::default()
    }
}

#[tokio::test]
async fn combines_the_max_and_clamps_like_dynosaur() {
    // Dynosaur's case: two plugins at 10 and 33 with 2 per dyno combine to 17; min 3 / max 27.
    let clock = ManualClock::default();
    let (a, b) = (Scripted::new(10.0, 2.0), Scripted::new(33.0, 2.0));
    let backend = Arc::new(Memory::default());
    let mut c = controller(
        3,
        27,
        no_cooldown(),
        vec![slot("a", &a, None, &clock), slot("b", &b, None, &clock)],
        backend.clone(),
    );
    let r = c.pass(clock.tick()).await;
    assert_eq!(
        r.inputs.iter().map(|i| i.estimate).collect::<Vec<_>>(),
        [Some(5), Some(17)]
    );
    assert_eq!(
        (r.current, r.estimate, r.actual),
        (Some(0), Some(17), Some(17))
    );
    assert_eq!(r.change.as_ref().map(|c| (c.from, c.to)), Some((0, 17)));

    b.set(Ok(80.0));
    clock.advance(INTERVAL);
    assert_eq!(c.pass(clock.tick()).await.actual, Some(27));
    // The window still holds 80: the estimate stays at max for the hysteresis period.
    b.set(Ok(0.0));
    a.set(Ok(0.0));
    clock.advance(INTERVAL);
    assert_eq!(c.pass(clock.tick()).await.actual, Some(27));
    // After the period has passed the window holds only zeros: down to min.
    for _ in 0..6 {
        clock.advance(INTERVAL);
        c.pass(clock.tick()).await;
    }
    assert_eq!(*backend.count.lock().unwrap(), 3);
}

#[tokio::test]
async fn values_are_cached_for_the_interval() {
    let clock = ManualClock::default();
    let a = Scripted::new(10.0, 2.0);
    let mut c = controller(
        1,
        10,
        no_cooldown(),
        vec![slot("a", &a, None, &clock)],
        Arc::new(Memory::default()),
    );
    c.pass(clock.tick()).await;
    clock.advance(Duration::from_secs(5));
    c.pass(clock.tick()).await;
    assert_eq!(a.calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(5));
    c.pass(clock.tick()).await;
    assert_eq!(a.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_input_never_scales_down_and_recovers() {
    let clock = ManualClock::default();
    let a = Scripted::new(20.0, 2.0);
    let backend = Arc::new(Memory::default());
    let mut c = controller(
        2,
        30,
        no_cooldown(),
        vec![slot("a", &a, None, &clock)],
        backend.clone(),
    );
    assert_eq!(c.pass(clock.tick()).await.actual, Some(10));

    // The source fails for 20 minutes: Dynosaur would have pushed -1 and scaled to min.
    a.set(Err(InputError::Unavailable("API down".into())));
    let mut healths = Vec::new();
    for _ in 0..120 {
        clock.advance(INTERVAL);
        let r = c.pass(clock.tick()).await;
        assert_eq!(
            r.actual,
            Some(10),
            "scaled while the input was failing: {r:?}"
        );
        healths.push(r.inputs[0].health);
    }
    assert_eq!(healths[0], Health::Stale);
    assert_eq!(*healths.last().unwrap(), Health::Outage);
    assert_eq!(backend.writes.load(Ordering::SeqCst), 1);

    // Recovery is automatic: low values are believed again once the input is OK and the window has passed.
    a.set(Ok(4.0));
    for _ in 0..8 {
        clock.advance(INTERVAL);
        c.pass(clock.tick()).await;
    }
    assert_eq!(*backend.count.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_stale_input_blocks_scale_down_even_when_another_is_low() {
    let clock = ManualClock::default();
    let (a, b) = (Scripted::new(20.0, 2.0), Scripted::new(4.0, 2.0));
    a.set(Err(InputError::Stale(
        "the drain has received nothing for 300s".into(),
    )));
    let backend = Arc::new(Memory::default());
    *backend.count.lock().unwrap() = 10;
    let mut c = controller(
        1,
        30,
        no_cooldown(),
        vec![slot("a", &a, None, &clock), slot("b", &b, None, &clock)],
        backend.clone(),
    );
    for _ in 0..30 {
        let r = c.pass(clock.tick()).await;
        assert_eq!((r.actual, r.estimate), (Some(10), Some(2)));
        assert!(
            r.reason.contains("blocked") && r.reason.contains("a ("),
            "{}",
            r.reason
        );
        clock.advance(INTERVAL);
    }
    // Scale-up still works while an input is stale.
    b.set(Ok(50.0));
    assert_eq!(c.pass(clock.tick()).await.actual, Some(25));
    assert_eq!(backend.writes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fallback_applies_in_outage_and_only_raises() {
    let clock = ManualClock::default();
    let a = Scripted::new(0.0, 2.0);
    a.set(Err(InputError::Unavailable("never worked".into())));
    let backend = Arc::new(Memory::default());
    *backend.count.lock().unwrap() = 2;
    let mut c = controller(
        1,
        30,
        no_cooldown(),
        vec![slot("a", &a, Some(8), &clock)],
        backend.clone(),
    );
    let r = c.pass(clock.tick()).await;
    assert_eq!((r.actual, r.inputs[0].health), (Some(2), Health::Stale));
    clock.advance(Duration::from_secs(300));
    let r = c.pass(clock.tick()).await;
    assert_eq!(
        (r.actual, r.inputs[0].health, r.inputs[0].fallback_used),
        (Some(8), Health::Outage, true)
    );
    // Sticky while in outage: no flapping back.
    clock.advance(INTERVAL);
    assert_eq!(c.pass(clock.tick()).await.actual, Some(8));
}

#[tokio::test]
async fn a_failed_write_is_reported_and_not_counted_as_a_change() {
    let clock = ManualClock::default();
    let a = Scripted::new(20.0, 2.0);
    let backend = Arc::new(Memory::default());
    *backend.fail_writes.lock().unwrap() = true;
    let mut c = controller(
        1,
        30,
        no_cooldown(),
        vec![slot("a", &a, None, &clock)],
        backend.clone(),
    );
    let r = c.pass(clock.tick()).await;
    assert!(
        r.error.as_deref().is_some_and(|e| e.contains("disk full")),
        "{r:?}"
    );
    assert_eq!((r.actual, r.change.is_none()), (Some(0), true));
    assert!(c.last_change().is_none());
}

#[tokio::test]
async fn schedules_override_min() {
    let clock = ManualClock::starting_at("2026-11-23T09:00:00Z".parse().unwrap()); // a Monday
    let a = Scripted::new(2.0, 2.0);
    let backend = Arc::new(Memory::default());
    let mut c = controller(
        1,
        30,
        no_cooldown(),
        vec![slot("a", &a, None, &clock)],
        backend.clone(),
    );
    c.schedules = vec![crate::scaler::schedule::Schedule::from_config(
        &serde_yaml_ng::from_str(
            "{name: office, days: [weekdays], start: '08:00', end: '18:00', min: 5}",
        )
        .unwrap(),
        0,
    )
    .unwrap()];
    let r = c.pass(clock.tick()).await;
    assert_eq!(
        (r.actual, r.bounds.schedule.as_deref()),
        (Some(5), Some("office"))
    );
    clock.advance(Duration::from_secs(9 * 3600)); // 18:00: the schedule has ended
    assert_eq!(c.pass(clock.tick()).await.actual, Some(1));
}

#[tokio::test]
async fn a_target_input_does_not_reapply_an_old_value_to_a_grown_count() {
    // p95 300 ms against a 200 ms target at 4 dynos: 6. Once at 6 the p95 is back on target: stay at 6, even
    // though 300 is still in the hysteresis window (re-applying it to 6 would ask for 9, then 14, ...).
    let clock = ManualClock::default();
    let mut p95 = Scripted::new(300.0, 1.0);
    p95.conversion = Conversion::Target {
        target: 200.0,
        tolerance: 0.1,
    };
    let backend = Arc::new(Memory::default());
    *backend.count.lock().unwrap() = 4;
    let mut c = controller(
        1,
        30,
        no_cooldown(),
        vec![slot("p95", &p95, None, &clock)],
        backend.clone(),
    );
    assert_eq!(c.pass(clock.tick()).await.actual, Some(6));
    p95.set(Ok(200.0));
    for _ in 0..5 {
        clock.advance(INTERVAL);
        assert_eq!(c.pass(clock.tick()).await.actual, Some(6));
    }
    assert_eq!(backend.writes.load(Ordering::SeqCst), 1);
}

/// A scripted input whose source starts again each UTC day, like Papertrail's volume.
struct Daily(Scripted);

impl Input for Daily {
    fn retrieve(&self, now: Tick) -> Retrieval<'_> {
        self.0.retrieve(now)
    }
    fn unit(&self) -> &str {
        "bytes"
    }
    fn conversion(&self) -> &Conversion {
        &self.0.conversion
    }
    fn window_epoch(&self, wall: Timestamp) -> Option<i64> {
        Some(wall.as_second().div_euclid(86_400))
    }
}

#[tokio::test]
async fn a_new_epoch_clears_the_window_and_yesterdays_values_stop_counting() {
    let clock = ManualClock::starting_at("2026-12-03T23:59:40Z".parse().unwrap());
    let input = Scripted::new(40.0, 2.0);
    let daily = InputSlot::new(
        "daily".into(),
        "scripted",
        String::new(),
        Box::new(Daily(input.clone())),
        INTERVAL,
        PERIOD,
        None,
        Duration::from_secs(300),
        clock.tick().mono,
    );
    let plain_input = Scripted::new(40.0, 2.0);
    let backend = Arc::new(Memory::default());
    let mut c = controller(0, 50, no_cooldown(), vec![daily], backend.clone());
    let mut p = controller(
        0,
        50,
        no_cooldown(),
        vec![slot("plain", &plain_input, None, &clock)],
        Arc::new(Memory::default()),
    );
    assert_eq!(c.pass(clock.tick()).await.estimate, Some(20));
    assert_eq!(p.pass(clock.tick()).await.estimate, Some(20));
    // 23:59:50, same day: 10 is under the window's max.
    clock.advance(INTERVAL);
    input.set(Ok(10.0));
    plain_input.set(Ok(10.0));
    assert_eq!(c.pass(clock.tick()).await.estimate, Some(20));
    assert_eq!(p.pass(clock.tick()).await.estimate, Some(20));
    // 00:00:00 UTC, still inside the 60 s window: the daily input forgets yesterday, the plain one does not.
    clock.advance(INTERVAL);
    let r = c.pass(clock.tick()).await;
    assert_eq!((r.inputs[0].max, r.estimate), (Some(10.0), Some(5)));
    assert_eq!(r.actual, Some(5));
    assert_eq!(p.pass(clock.tick()).await.estimate, Some(20));
}
