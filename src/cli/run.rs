//! `drainscale run CONFIG`: the wiring. Config -> window store -> outlets -> scaler -> drain, then the
//! shutdown order Heroku's 30 s allow: stop accepting and finish in-flight bodies, stop the scaler, flush every
//! open window to the outlets, exit 0. With `store: redis://...` the windows, the Frame-Ids and the scaler's
//! leadership are shared with the other instances (`drainscale::shared`); the in-memory store otherwise.

use anyhow::Context;
use drainscale::config::Loaded;
use drainscale::drain::{shutdown_signal, MetricsPage, MetricsPages, Pages, Server, StatusPage};
use drainscale::outlet::Outlets;
use drainscale::scaler::clock::SystemClock;
use drainscale::shared::fenced::Fenced;
use drainscale::shared::instance::Instance;
use drainscale::shared::status::SharedStatus;
use drainscale::window::{EventSink, Store, WindowReader, WindowStore};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::watch;

pub fn run(path: &Path, dry_run: bool) -> anyhow::Result<ExitCode> {
    let loaded = super::load(path, dry_run)?;
    for warning in &loaded.warnings {
        tracing::warn!("{}: {warning}", loaded.file);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(serve(loaded))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(loaded: Loaded) -> anyhow::Result<()> {
    let config = loaded.config;
    let file = loaded.file;
    let instance = match &config.store {
        Some(url) => Some(
            Instance::new(&config, url)
                .with_context(|| format!("{file}: setting up the store {url}"))?,
        ),
        None => None,
    };
    let (sink, reader, windows): (
        Arc<dyn EventSink>,
        Arc<dyn WindowReader>,
        Arc<dyn WindowStore>,
    ) = match &instance {
        Some(i) => {
            // The scaler's stats go out as `<prefix>.<app>...`: app metrics may not land on those names.
            i.store.reserve_namespace(&config.scaler.app);
            (i.store.clone(), i.store.clone(), i.store.clone())
        }
        None => {
            let store = Arc::new(Store::new(config.windows.clone()));
            store.reserve_namespace(&config.scaler.app);
            (store.clone(), store.clone(), store)
        }
    };
    let outlets = Outlets::start(&config.outlets, windows)
        .with_context(|| format!("{file}: starting the outlets"))?;

    let lease = instance.as_ref().and_then(|i| i.lease.clone());
    let fence = |b| match &lease {
        Some(l) => Arc::new(Fenced::new(b, l.clone())) as _,
        None => b,
    };
    let mut scaler = drainscale::scaler::build::build_wrapping(
        &config.scaler,
        &config.controllers,
        Some(reader),
        Arc::new(SystemClock),
        &fence,
    )
    .with_context(|| format!("{file}: building the scaler"))?;
    if let Some(reporter) =
        drainscale::scaler::build::outlet_reporter(&config.scaler, outlets.stats_sender())
    {
        scaler.add_reporter(reporter);
    }
    let has_controllers = !config.controllers.is_empty();

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };

    // The shared windows' last push waits for the drain's last bodies: its own stop comes after the drain's.
    let (store_stop_tx, store_stop_rx) = watch::channel(false);
    let store_task = instance.as_ref().map(|i| {
        let mut rx = store_stop_rx.clone();
        tokio::spawn(i.store.clone().run_until(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }))
    });
    let lease_task = lease.clone().map(|l| tokio::spawn(l.run_until(stopped())));

    let drain = match config.drain.clone() {
        Some(drain_cfg) => {
            let mut metrics: Vec<Arc<dyn MetricsPage>> = Vec::new();
            if let Some(i) = &instance {
                metrics.push(i.store.clone());
            }
            if let Some(page) = outlets.metrics_page() {
                metrics.push(page);
            }
            if let Some(handlers) = scaler.error_handlers() {
                metrics.push(handlers);
            }
            if let Some(handlers) = scaler.success_handlers() {
                metrics.push(handlers);
            }
            // `/status` and `/ping` describe a running scaler: without controllers none runs, and they 404.
            let mut status: Option<Arc<dyn StatusPage>> = if has_controllers {
                Some(scaler.status())
            } else {
                None
            };
            if let Some(i) = &instance {
                status = Some(Arc::new(SharedStatus {
                    scaler: status,
                    store: i.store.clone(),
                    lease: lease.clone(),
                }));
            }
            let pages = Pages {
                status,
                metrics: Some(Arc::new(MetricsPages(metrics))),
            };
            let mut server = Server::bind(drain_cfg, sink, pages)
                .with_context(|| format!("{file}: starting the drain"))?;
            if let Some(ids) = instance.as_ref().and_then(|i| i.frame_ids.clone()) {
                server.share_frame_ids(ids);
            }
            Some(tokio::spawn(server.run_until(stopped())))
        }
        None => {
            tracing::info!("no `drain:` section: the drain is off");
            None
        }
    };
    let scaler_task = if has_controllers {
        tracing::info!(dry_run = config.scaler.dry_run, "scaler running");
        Some(tokio::spawn(scaler.run_until(stopped())))
    } else {
        tracing::info!("no controllers: the scaler is off");
        None
    };

    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight bodies, then flushing windows");
    let _ = stop_tx.send(true);
    if let Some(task) = drain {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("drain: {e}"),
            Err(e) => tracing::error!("drain task: {e}"),
        }
    }
    if let Some(task) = scaler_task {
        if let Err(e) = task.await {
            tracing::error!("scaler task: {e}");
        }
    }
    let _ = store_stop_tx.send(true);
    for task in [store_task, lease_task].into_iter().flatten() {
        if let Err(e) = task.await {
            tracing::error!("shared store task: {e}");
        }
    }
    let totals = outlets.shutdown().await;
    tracing::info!(?totals, "windows flushed; bye");
    Ok(())
}
