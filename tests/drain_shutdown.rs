//! Graceful shutdown over real sockets: stop accepting, finish the body in flight, close idle keep-alive
//! connections, and give up on a stuck client after `shutdown_timeout`.

#[path = "support/drain.rs"]
mod support;

use hyper::StatusCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_body_finishes_idle_connections_close_new_ones_are_refused() {
    let mut cfg = config();
    cfg.header_timeout = Duration::from_secs(120); // idle connections must be closed by the shutdown, not a timeout
    cfg.shutdown_timeout = Duration::from_secs(120);
    let mut drain = start(cfg);
    let _idle = Conn::open(drain.addr).await;
    drain.sink.hold();
    let addr = drain.addr;
    let in_flight =
        tokio::spawn(async move { once(addr, logs_post(&[]), router(200)).await.status });
    eventually("the body in the sink", || {
        drain.sink.entered.load(Relaxed) == 1
    })
    .await;

    drain.signal_stop();
    // The listener closes while the body is still held in the sink...
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        // Refused means closed; a connect that hangs (full backlog) counts as still open.
        let attempt = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await;
        if matches!(attempt, Ok(Err(_))) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the listener never closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(drain.sink.body_count(), 0);
    // ...and the body in flight still lands.
    drain.sink.release();
    assert_eq!(in_flight.await.unwrap(), StatusCode::OK);
    assert_eq!(drain.sink.events(), ["router:200"]);
    let task = drain.task.take().unwrap();
    // run_until returns once every connection is done, well within the 120 s deadline.
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(drain.stats.connections_open.load(Relaxed), 0);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn a_stuck_client_is_dropped_after_the_shutdown_deadline() {
    let mut cfg = config();
    cfg.body_timeout = Duration::from_secs(300);
    cfg.shutdown_timeout = Duration::from_millis(500);
    let drain = start(cfg);
    let mut s = TcpStream::connect(drain.addr).await.unwrap();
    let head = format!(
        "POST /logs HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ncontent-length: 1000\r\n\r\n12 ",
        basic_header(USER, PASSWORD)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    eventually("the connection served", || {
        drain.stats.connections_open.load(Relaxed) == 1
    })
    .await;
    // `stop` waits at most 30 s: the 300 s body timeout cannot be what ends it.
    drain.stop().await;
}
