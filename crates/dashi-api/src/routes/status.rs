//! `/status.json` (Redash's, for admins) and `/metrics` (Prometheus text, for admins or the
//! holder of the scrape token), plus the layer that counts HTTP requests for `/metrics`.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dashi_app::SystemStatus;
use dashi_core::Queue;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::wire::status_json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/status.json", get(status)).route("/metrics", get(metrics))
}

/// `GET /status.json`: admins (Redash: super admins), by session or API key.
async fn status(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let status = state.app.system_status(&actor).await?;
    Ok(axum::Json(status_json(&status, env!("CARGO_PKG_VERSION"))))
}

/// Whether the request carries the configured scrape token as `Authorization: Bearer <token>`.
fn has_scrape_token(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = state.settings.metrics_token.as_deref() else { return false };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(subtle::ConstantTimeEq::ct_eq(sent.trim().as_bytes(), expected.as_bytes()))
}

/// `GET /metrics`: the scrape token, or an admin's session or API key.
async fn metrics(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    let status = if has_scrape_token(&state, request.headers()) {
        state.app.read_system_status().await?
    } else {
        let (mut parts, _) = request.into_parts();
        let Caller(actor) = <Caller as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, &state).await?;
        state.app.system_status(&actor).await?
    };
    metrics::with_local_recorder(&*state.metrics, || record_status(&status));
    let body = state.metrics.handle().render();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

/// Sets the gauges from one status reading. Every queue and data source gets a value, zero
/// when idle, so a drained backlog reads 0 rather than its last non-zero value.
fn record_status(status: &SystemStatus) {
    let mut queue_names: Vec<String> = Queue::ALL.iter().map(|queue| queue.as_str().to_owned()).collect();
    for (name, _) in &status.backlogs.queues {
        if !queue_names.contains(name) {
            queue_names.push(name.clone());
        }
    }
    for name in queue_names {
        let backlog = status.backlogs.queues.iter().find(|(queue, _)| *queue == name).map(|(_, backlog)| backlog.clone());
        let backlog = backlog.unwrap_or_default();
        let age = backlog.oldest_queued_at.map_or(0.0, |at| age_seconds(at, status));
        metrics::gauge!("dashi_queue_jobs", "queue" => name.clone(), "state" => "queued").set(backlog.queued as f64);
        metrics::gauge!("dashi_queue_jobs", "queue" => name.clone(), "state" => "running").set(backlog.running as f64);
        metrics::gauge!("dashi_queue_oldest_job_age_seconds", "queue" => name).set(age);
    }
    for (id, name) in &status.data_source_names {
        let backlog = status.backlogs.data_sources.iter().find(|(source, _)| source == id).map(|(_, backlog)| backlog.clone());
        let backlog = backlog.unwrap_or_default();
        let age = backlog.oldest_queued_at.map_or(0.0, |at| age_seconds(at, status));
        let labels = [("data_source_id", id.0.to_string()), ("data_source", name.clone())];
        metrics::gauge!("dashi_data_source_jobs", &[&labels[..], &[("state", "queued".to_owned())]].concat())
            .set(backlog.queued as f64);
        metrics::gauge!("dashi_data_source_jobs", &[&labels[..], &[("state", "running".to_owned())]].concat())
            .set(backlog.running as f64);
        metrics::gauge!("dashi_data_source_oldest_job_age_seconds", &labels).set(age);
    }
    for role in ["worker", "scheduler", "server"] {
        let alive = status
            .processes
            .iter()
            .filter(|process| process.role == role && (status.observed_at - process.heartbeat_at).num_seconds() <= 15)
            .count();
        metrics::gauge!("dashi_processes", "role" => role).set(alive as f64);
    }
    metrics::gauge!("dashi_scheduler_leader").set(if status.leader().is_some() { 1.0 } else { 0.0 });
    metrics::gauge!("dashi_outdated_queries").set(status.outdated_query_ids.len() as f64);
    metrics::gauge!("dashi_queries").set(status.counts.queries as f64);
    metrics::gauge!("dashi_query_results").set(status.counts.query_results as f64);
    metrics::gauge!("dashi_database_bytes").set(status.database_bytes as f64);
}

fn age_seconds(at: chrono::DateTime<chrono::Utc>, status: &SystemStatus) -> f64 {
    ((status.observed_at - at).num_milliseconds().max(0) as f64) / 1000.0
}

/// Counts every request and its duration by method, matched route and status.
pub(crate) async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::with_local_recorder(&*state.metrics, || {
        let labels = [("method", method), ("route", route), ("status", status)];
        metrics::counter!("dashi_http_requests_total", &labels).increment(1);
        metrics::histogram!("dashi_http_request_duration_seconds", &labels).record(elapsed);
    });
    response
}
