//! Redash's admin pages' API: `/api/admin/queries/outdated` and `/api/admin/queries/rq_status`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::wire::{base_json, rq_status_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/queries/outdated", get(outdated))
        .route("/api/admin/queries/rq_status", get(rq_status))
}

/// `GET /api/admin/queries/outdated`: admins; the scheduled queries due or being refreshed.
async fn outdated(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let (queries, last_refresh_at) = state.app.outdated_queries(&actor).await?;
    let queries: Vec<Value> = queries.iter().map(|query| Value::Object(base_json(query))).collect();
    // Redash compat: `updated_at` is the last refresh as Unix seconds (a float in Redash).
    Ok(axum::Json(json!({"queries": queries, "updated_at": last_refresh_at.map(|at| at.timestamp() as f64)})))
}

/// `GET /api/admin/queries/rq_status`: admins; each queue's running jobs and the workers.
async fn rq_status(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let status = state.app.system_status(&actor).await?;
    Ok(axum::Json(rq_status_json(&status)))
}
