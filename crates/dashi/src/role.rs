//! The roles: `all`, `server`, `worker` and `scheduler`, each wired from the settings.
//!
//! Every role runs as tasks under one [`CancellationToken`] tree: the signal handler cancels the
//! root, each task holds a child, drains and returns. If any task fails, the others are cancelled
//! and the process exits non-zero; a graceful stop exits 0.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use dashi_api::AppState;
use dashi_config::Settings;
use dashi_scheduler::{Scheduler, SchedulerHealth};
use dashi_worker::Worker;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::health;
use crate::lock::DataDirLock;
use crate::wiring::{self, Migrations};

type Tasks = JoinSet<anyhow::Result<()>>;

/// Every role in one process on one runtime: the embedded default.
pub(crate) async fn all(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create the data folder {}", settings.data_dir.display()))?;
    let _lock = DataDirLock::acquire(&settings.data_dir)?;
    let secrets = settings.secrets()?;
    if let Some(path) = &secrets.generated_in {
        info!(file = %path.display(), "no secret key configured; using the one kept in the data folder");
    }
    let store = wiring::open_store(&settings, Migrations::Apply).await?;
    // One dispatcher for the server and the worker: a query typed in the editor wakes the worker
    // in the same process at once.
    let dispatcher = wiring::dispatcher(&settings, &store)?;
    let results = wiring::results_store(&settings)?;
    let app = wiring::app(store.clone(), &settings, &secrets, dispatcher.clone(), results.clone());
    let listener = bind_server(settings.bind).await?;
    let url = wiring::public_url(&settings, listener.local_addr()?);
    let needs_setup = app.needs_setup().await.context("cannot read the organizations")?;

    let mut tasks = Tasks::new();
    let state = AppState::new(app.clone(), wiring::api_settings(&settings));
    tasks.spawn(serve(listener, state, shutdown.child_token()));
    let worker = Worker::new(store.clone(), wiring::worker_settings(&settings), wiring::execution(&settings, &secrets, dispatcher, results));
    let worker_health = worker.health();
    let worker_token = shutdown.child_token();
    tasks.spawn(async move {
        worker.run(worker_token).await;
        Ok(())
    });
    let scheduler = Scheduler::new(app, wiring::scheduler_settings(&settings));
    if let Some(address) = settings.health_bind {
        let listener = health::bind(address).await?;
        let (worker_watch, scheduler_watch) = (worker_health, scheduler.health());
        let report: health::Report = Arc::new(move || {
            let worker = worker_watch.borrow().clone();
            let scheduler = scheduler_watch.current();
            let body = json!({
                "role": "all",
                "worker": health::process_json(&worker),
                "scheduler": scheduler_json(&scheduler),
            });
            (worker.heartbeat_ok && scheduler.process.heartbeat_ok, body)
        });
        tasks.spawn(health::serve(listener, report, shutdown.child_token()));
    }
    let scheduler_token = shutdown.child_token();
    tasks.spawn(async move {
        scheduler.run(scheduler_token).await;
        Ok(())
    });

    info!(url = %url, data_dir = %settings.data_dir.display(), "dashi is running");
    if needs_setup {
        info!("open {url}/setup to create the first admin");
    }
    let outcome = supervise(tasks, &shutdown).await;
    store.close().await;
    outcome
}

/// The HTTP API and web UI.
pub(crate) async fn server(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let secrets = settings.secrets()?;
    let store = wiring::open_store(&settings, Migrations::ApplyIfEmbedded).await?;
    let results = wiring::results_store(&settings)?;
    let app = wiring::app(store.clone(), &settings, &secrets, wiring::dispatcher(&settings, &store)?, results);
    let listener = bind_server(settings.bind).await?;
    let url = wiring::public_url(&settings, listener.local_addr()?);
    let mut tasks = Tasks::new();
    tasks.spawn(serve(listener, AppState::new(app, wiring::api_settings(&settings)), shutdown.child_token()));
    info!(url = %url, "dashi server is running");
    let outcome = supervise(tasks, &shutdown).await;
    store.close().await;
    outcome
}

/// A worker, with its health listener when `DASHI_HEALTH_BIND` is set.
pub(crate) async fn worker(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    // Workers decrypt data-source options, so they need the same key as the servers.
    let secrets = settings.secrets()?;
    let store = wiring::open_store(&settings, Migrations::ApplyIfEmbedded).await?;
    let execution = wiring::execution(&settings, &secrets, wiring::dispatcher(&settings, &store)?, wiring::results_store(&settings)?);
    let worker = Worker::new(store.clone(), wiring::worker_settings(&settings), execution);
    let mut tasks = Tasks::new();
    if let Some(address) = settings.health_bind {
        let listener = health::bind(address).await?;
        let watch = worker.health();
        let report: health::Report = Arc::new(move || {
            let current = watch.borrow().clone();
            (current.heartbeat_ok, Value::Object(health::process_json(&current)))
        });
        tasks.spawn(health::serve(listener, report, shutdown.child_token()));
    }
    let token = shutdown.child_token();
    tasks.spawn(async move {
        worker.run(token).await;
        Ok(())
    });
    let outcome = supervise(tasks, &shutdown).await;
    store.close().await;
    outcome
}

/// A scheduler, with its health listener when `DASHI_HEALTH_BIND` is set.
pub(crate) async fn scheduler(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    // The scheduler builds scheduled runs as the server does (parameters, dropdown values from
    // results), so it needs the same key, dispatcher and results store.
    let secrets = settings.secrets()?;
    let store = wiring::open_store(&settings, Migrations::ApplyIfEmbedded).await?;
    let results = wiring::results_store(&settings)?;
    let app = wiring::app(store.clone(), &settings, &secrets, wiring::dispatcher(&settings, &store)?, results);
    let scheduler = Scheduler::new(app, wiring::scheduler_settings(&settings));
    let mut tasks = Tasks::new();
    if let Some(address) = settings.health_bind {
        let listener = health::bind(address).await?;
        let watch = scheduler.health();
        let report: health::Report = Arc::new(move || {
            let current = watch.current();
            (current.process.heartbeat_ok, Value::Object(scheduler_json(&current)))
        });
        tasks.spawn(health::serve(listener, report, shutdown.child_token()));
    }
    let token = shutdown.child_token();
    tasks.spawn(async move {
        scheduler.run(token).await;
        Ok(())
    });
    let outcome = supervise(tasks, &shutdown).await;
    store.close().await;
    outcome
}

/// A scheduler's `/health` body: its process, whether it leads, its last tick's duration.
fn scheduler_json(health: &SchedulerHealth) -> serde_json::Map<String, Value> {
    let mut body = health::process_json(&health.process);
    body.insert("leader".into(), json!(health.leader));
    body.insert("last_tick_ms".into(), json!(health.last_tick_ms));
    body
}

async fn bind_server(address: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("DASHI_BIND: cannot listen on {address}"))?;
    info!(addr = %listener.local_addr()?, "server listening");
    Ok(listener)
}

/// Serves the router until `shutdown` fires, then lets open requests finish.
async fn serve(listener: TcpListener, state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let service = dashi_api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("HTTP server failed")?;
    info!("server stopped");
    Ok(())
}

/// Waits for every task. The first failure, or a task ending before a stop was asked for,
/// cancels the rest; the process then exits non-zero.
async fn supervise(mut tasks: Tasks, shutdown: &CancellationToken) -> anyhow::Result<()> {
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let outcome = match joined {
            Ok(outcome) => outcome,
            Err(error) => Err(anyhow::Error::new(error).context("a role task panicked")),
        };
        match outcome {
            Err(error) => {
                if first_error.is_none() {
                    warn!(error = format!("{error:#}"), "stopping every role after a failure");
                    first_error = Some(error);
                }
                shutdown.cancel();
            }
            Ok(()) if !shutdown.is_cancelled() => {
                first_error.get_or_insert_with(|| anyhow::anyhow!("a role stopped without being asked to"));
                shutdown.cancel();
            }
            Ok(()) => {}
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => {
            info!("stopped");
            Ok(())
        }
    }
}
