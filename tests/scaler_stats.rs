//! Pass stats through a real outlet: a statsd datagram on a UDP socket on 127.0.0.1 carries Dynosaur's names,
//! `<scaler.stats.prefix>.<app>.<controller>.<input>.{value,max,estimate}` and `.combined.{estimate,actual}`,
//! whatever the outlet's own prefix for window series.

#[path = "support/built.rs"]
mod built;

use drainscale::config::load_str;
use drainscale::outlet::Outlets;
use drainscale::window::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test]
async fn pass_stats_reach_statsd_with_dynosaur_names() {
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let text = format!(
        "outlets:\n  flush_interval: 50ms\n  statsd: {{address: '{addr}', prefix: windows}}\nscaler:\n  app: shop\n  dry_run: true\n  stats: {{prefix: dynosaur, console: false}}\ncontrollers:\n  - name: dynos\n    process: web\n    max: 10\n    inputs:\n      - {{name: wave, type: sine, period: 1m}}\n"
    );
    let loaded = load_str(&text, "stats.yaml", &|_| None).unwrap();
    let store = Arc::new(Store::new(loaded.config.windows.clone()));
    let outlets = Outlets::start(&loaded.config.outlets, store).unwrap();
    let mut scaler = built::scaler(&loaded, None);
    let reporter =
        drainscale::scaler::build::outlet_reporter(&loaded.config.scaler, outlets.stats_sender())
            .unwrap();
    scaler.add_reporter(reporter);
    let reports = scaler.pass_once().await;
    let actual = reports[0].actual.unwrap();

    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = vec![0u8; 65536];
    while !(seen.contains("dynosaur.shop.dynos.combined.actual:")
        && seen.contains("dynosaur.shop.dynos.wave.value:"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no stats datagram in 20 s; got {seen:?}");
        if let Ok(Ok(n)) = tokio::time::timeout(left, udp.recv(&mut buf)).await {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            seen.push('\n');
        }
    }
    assert!(
        seen.contains(&format!("dynosaur.shop.dynos.combined.actual:{actual}|g")),
        "{seen}"
    );
    assert!(
        seen.contains("dynosaur.shop.dynos.wave.estimate:"),
        "{seen}"
    );
    assert!(seen.contains("dynosaur.shop.dynos.wave.max:"), "{seen}");
    outlets.shutdown().await;
}
