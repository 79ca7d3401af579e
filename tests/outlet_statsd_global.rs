//! The process-wide recorder option: once installed, any `metrics::gauge!` in the process (as the scaler's
//! stats reporter does) reaches the statsd outlet's UDP target. One test in its own binary, since a global
//! recorder can be installed only once per process.

use drainscale::outlet::{OutletConfig, Outlets, PrometheusConfig, StatsdConfig};
use drainscale::window::{Store, WindowConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_gauges_reach_the_statsd_outlet() {
    let listener = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = OutletConfig {
        flush_interval: Duration::from_millis(100),
        statsd: Some(StatsdConfig {
            address: format!("127.0.0.1:{port}"),
            ..StatsdConfig::default()
        }),
        prometheus: PrometheusConfig {
            enabled: false,
            ..PrometheusConfig::default()
        },
        ..OutletConfig::default()
    };
    let handle = Outlets::start(&cfg, Arc::new(Store::new(WindowConfig::default()))).unwrap();
    assert!(handle.install_global_statsd().unwrap());
    assert!(
        handle.install_global_statsd().is_err(),
        "a second global recorder is refused"
    );
    metrics::gauge!("drainscale.app.web.combined.estimate").set(5.0);

    // The packet buffer is sent by the flush task's next tick.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = vec![0u8; 65536];
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|l: &String| l.starts_with("drainscale.app.web.combined.estimate:"))
        && Instant::now() < deadline
    {
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(200), listener.recv(&mut buf)).await
        {
            lines.extend(
                std::str::from_utf8(&buf[..n])
                    .unwrap()
                    .lines()
                    .map(str::to_owned),
            );
        }
    }
    assert!(
        lines.contains(&"drainscale.app.web.combined.estimate:5|g".to_string()),
        "{lines:?}"
    );
    handle.shutdown().await;
}
