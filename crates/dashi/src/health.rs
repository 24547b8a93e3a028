//! Health over HTTP for the roles without an API listener, and for `dashi all`: `GET /ping`
//! answers `PONG.` and `GET /health` the role's state as JSON, with 503 while a heartbeat cannot
//! be written (the metadata database is unreachable), so a load balancer or a container health
//! check can act on it. Served only when `DASHI_HEALTH_BIND` is set; `dashi server` answers
//! `/ping` on its own address.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use dashi_store::ProcessHealth;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Produces the current health: whether it is good, and the `/health` body.
pub(crate) type Report = Arc<dyn Fn() -> (bool, Value) + Send + Sync>;

/// The `/health` body shared by every role.
pub(crate) fn process_json(health: &ProcessHealth) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    body.insert("role".into(), json!(health.role.as_str()));
    body.insert("id".into(), json!(health.id));
    body.insert("started_at".into(), json!(health.started_at.to_rfc3339()));
    body.insert("last_heartbeat_at".into(), json!(health.last_heartbeat_at.map(|at| at.to_rfc3339())));
    body
}

/// Binds the health listener, so a bad or busy address fails the start.
pub(crate) async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("DASHI_HEALTH_BIND: cannot listen on {address}"))?;
    info!(addr = %listener.local_addr()?, "health listening");
    Ok(listener)
}

/// Serves `/ping` and `/health` until `shutdown` fires.
pub(crate) async fn serve(listener: TcpListener, report: Report, shutdown: CancellationToken) -> anyhow::Result<()> {
    let router = Router::new()
        .route("/ping", get(|| async { "PONG." }))
        .route("/health", get(health))
        .with_state(report);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("health listener failed")
}

async fn health(State(report): State<Report>) -> (StatusCode, Json<Value>) {
    let (healthy, body) = report();
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}
