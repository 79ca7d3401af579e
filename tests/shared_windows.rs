//! The shared windows on a redis-server of the test's own: three instances sharing traffic agree with one
//! in-memory store fed the same traffic, each bucket is exported by exactly one of them, and a Redis that is
//! killed, restarted or stalled mid-run loses nothing that was held and counts nothing twice.

mod support;

use drainscale::logplex::parse_body;
use drainscale::shared::{Keys, Redis, SharedConfig};
use drainscale::window::redis::RedisStore;
use drainscale::window::{
    EventSink, FlushedBucket, FlushedValue, Query, Signal, Store, WindowConfig, WindowReader,
    WindowStore,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::redis::RedisServer;
use tokio::sync::watch;

const RES: Duration = Duration::from_millis(300);

fn windows() -> WindowConfig {
    WindowConfig {
        resolution: RES,
        retention: Duration::from_secs(30),
        grace: Duration::from_millis(100),
        ..WindowConfig::default()
    }
}

fn shared_cfg() -> SharedConfig {
    SharedConfig {
        lease: Duration::from_secs(2),
        timeout: Duration::from_millis(300),
        ..SharedConfig::default()
    }
}

struct Instance {
    store: Arc<RedisStore>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Instance {
    fn start(url: &str, name: &str) -> Instance {
        let cfg = shared_cfg();
        let redis = Arc::new(Redis::connect(&url.into(), &cfg).unwrap());
        let store = Arc::new(RedisStore::new(
            windows(),
            cfg,
            redis,
            Keys::new("shop"),
            name.to_string(),
            true,
        ));
        let (stop, mut rx) = watch::channel(false);
        let task = tokio::spawn(store.clone().run_until(async move {
            let _ = rx.wait_for(|s| *s).await;
        }));
        Instance { store, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn now_micros() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

fn frame(line: &str) -> String {
    format!("{} {line}\n", line.len() + 1)
}

fn ts(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .unwrap()
        .to_string()
}

/// Router and app lines at `at` (Unix micros), line `i` of a run: statuses, service times, counts, measures,
/// samples and distinct members that differ from line to line.
fn line(i: usize, at: i64) -> String {
    let t = ts(at);
    if i.is_multiple_of(3) {
        let status = [200, 200, 503, 404][i % 4];
        let service = 1 + (i * 37) % 900;
        frame(&format!(
            "<158>1 {t} host heroku router - at=info method=GET path=/ host=shop dyno=web.{} connect={}ms service={service}ms status={status} bytes=10",
            i % 3 + 1,
            i % 5
        ))
    } else {
        frame(&format!(
            "<13>1 {t} host app web.1 - count#jobs={} measure#db.query={}ms unique#users=u{} source=web",
            i % 4 + 1,
            (i * 13) % 500,
            i % 7
        ))
    }
}

fn ingest(sink: &dyn EventSink, body: &str, now: i64) {
    let mut events = parse_body(body.as_bytes());
    sink.ingest(&mut events, now);
}

/// (bucket start, name, source) -> value.
type Exported = BTreeMap<(i64, String, Option<String>), FlushedValue>;

fn collect(buckets: &[FlushedBucket], into: &mut Exported) -> usize {
    let mut dup = 0;
    for b in buckets {
        for s in &b.series {
            if into
                .insert((b.start, s.name.clone(), s.source.clone()), s.value.clone())
                .is_some()
            {
                dup += 1;
            }
        }
    }
    dup
}

fn requests(e: &Exported) -> f64 {
    e.iter()
        .filter(|((_, n, _), _)| n == "router.requests")
        .map(|(_, v)| match v {
            FlushedValue::Count(n) => *n,
            _ => 0.0,
        })
        .sum()
}

async fn poll(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_agree_with_one_memory_store() {
    let redis = RedisServer::start();
    let instances: Vec<Instance> = ["a", "b", "c"]
        .iter()
        .map(|n| Instance::start(&redis.url(), n))
        .collect();
    let memory = Store::new(windows());
    let now = now_micros();
    let res = RES.as_micros() as i64;
    let n = 600;
    let mut parts = vec![String::new(); 3];
    let mut all = String::new();
    for i in 0..n {
        let l = line(i, now - res * (i as i64 % 2));
        parts[i % 3].push_str(&l);
        all.push_str(&l);
    }
    for (inst, body) in instances.iter().zip(&parts) {
        ingest(&*inst.store, body, now);
    }
    ingest(&memory, &all, now);
    let mut reference = Exported::new();
    collect(&memory.flush_all(now).buckets, &mut reference);
    let want = requests(&reference);
    assert_eq!(want, (n / 3) as f64);

    let mut shared = Exported::new();
    let mut duplicates = 0;
    poll("every bucket exported", Duration::from_secs(20), || {
        for inst in &instances {
            duplicates += collect(&inst.store.flush(now_micros()).buckets, &mut shared);
        }
        requests(&shared) >= want && shared.len() >= reference.len()
    })
    .await;
    assert_eq!(duplicates, 0, "a bucket was exported twice");
    assert_eq!(
        shared.keys().collect::<Vec<_>>(),
        reference.keys().collect::<Vec<_>>()
    );
    for (key, want) in &reference {
        let got = &shared[key];
        match (want, got) {
            (FlushedValue::Count(a), FlushedValue::Count(b)) => {
                assert!(close(*a, *b, 1e-9), "{key:?}: {a} vs {b}")
            }
            (FlushedValue::Unique(a), FlushedValue::Unique(b)) => assert_eq!(a, b, "{key:?}"),
            (FlushedValue::Sample(a), FlushedValue::Sample(b)) => assert_eq!(a, b, "{key:?}"),
            (FlushedValue::Measure(a), FlushedValue::Measure(b)) => {
                assert_eq!(a.count, b.count, "{key:?}");
                assert!(close(a.sum, b.sum, 1e-9), "{key:?}");
                assert_eq!((a.min, a.max), (b.min, b.max), "{key:?}");
                for (x, y) in [(a.median, b.median), (a.p95, b.p95), (a.p99, b.p99)] {
                    assert!(close(x, y, 0.02), "{key:?}: {x} vs {y}");
                }
            }
            _ => panic!("{key:?}: {want:?} vs {got:?}"),
        }
    }
    let exports: u64 = instances
        .iter()
        .map(|i| i.store.shared_stats().exports)
        .sum();
    assert!(exports >= 2, "the two buckets were exported");

    // The scaler's reads on any instance see the merged traffic.
    let p99 = Query {
        signal: Signal::ServiceTime { quantile: 0.99 },
        span: Duration::from_secs(10),
    };
    let want = memory.read(&p99).unwrap().value.unwrap();
    for inst in &instances {
        let mut got = None;
        poll("the merged view", Duration::from_secs(10), || {
            got = inst.store.read(&p99).ok().and_then(|r| r.value);
            got.is_some()
        })
        .await;
        assert!(close(got.unwrap(), want, 0.02), "{got:?} vs {want}");
    }
    for inst in instances {
        inst.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_holds_pushes_and_counts_them_once_when_it_returns() {
    let mut redis = RedisServer::start();
    let inst = Instance::start(&redis.url(), "solo");
    let store = inst.store.clone();
    let body = |n: usize, at: i64| (0..n).map(|i| line(i * 3, at)).collect::<String>();
    let mut exported = Exported::new();
    let take = |exported: &mut Exported| {
        collect(&store.flush(now_micros()).buckets, exported);
        requests(exported)
    };

    ingest(&*store, &body(30, now_micros()), now_micros());
    poll("the first bucket exported", Duration::from_secs(20), || {
        take(&mut exported) >= 30.0
    })
    .await;

    redis.kill();
    let down_at = now_micros();
    ingest(&*store, &body(50, down_at), down_at);
    poll("a push held", Duration::from_secs(10), || {
        store.shared_stats().pushes_held > 0
    })
    .await;
    let rate = Query {
        signal: Signal::RequestRate,
        span: Duration::from_secs(10),
    };
    poll(
        "reads fail while Redis is away",
        Duration::from_secs(10),
        || store.read(&rate).is_err(),
    )
    .await;
    assert!(store.redis().down().is_some());
    assert_eq!(
        take(&mut exported),
        30.0,
        "nothing exported while Redis is down"
    );

    redis.restart();
    poll("held pushes sent", Duration::from_secs(20), || {
        store.shared_stats().pushes_held == 0
    })
    .await;
    poll("the held bucket exported", Duration::from_secs(20), || {
        take(&mut exported) >= 80.0
    })
    .await;
    assert_eq!(take(&mut exported), 80.0);
    poll("reads answer again", Duration::from_secs(10), || {
        store.read(&rate).is_ok()
    })
    .await;
    inst.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_counts_the_lines_once() {
    let redis = RedisServer::start();
    let inst = Instance::start(&redis.url(), "slow");
    let store = inst.store.clone();
    // Every client waits 1s: the push's 300ms timeout passes, Redis applies it afterwards, and the repeat
    // finds its sequence number already there.
    let at = now_micros();
    assert!(redis.cli(&["CLIENT", "PAUSE", "1200", "ALL"]).is_some());
    ingest(
        &*store,
        &(0..40).map(|i| line(i * 3, at)).collect::<String>(),
        at,
    );
    poll("a failed push", Duration::from_secs(20), || {
        store.shared_stats().push_failures > 0
    })
    .await;
    let mut exported = Exported::new();
    poll("the bucket exported", Duration::from_secs(20), || {
        collect(&store.flush(now_micros()).buckets, &mut exported);
        requests(&exported) >= 40.0
    })
    .await;
    // Whether Redis ran the stalled call after all (the repeat is then a no-op, `pushes_repeated`) or
    // dropped it with the connection, the lines count once.
    let stats = store.shared_stats();
    assert_eq!(
        stats.pushes + stats.pushes_repeated,
        1 + stats.pushes_repeated
    );
    assert_eq!(requests(&exported), 40.0);
    inst.stop().await;
}
