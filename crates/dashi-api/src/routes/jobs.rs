//! `/api/jobs/<id>`: job status and cancel.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::job_json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/jobs/{id}", get(read).delete(cancel))
        .route("/api/queries/{query_id}/jobs/{id}", get(read_for_query))
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<axum::Json<Value>> {
    let status = state.app.job_status(&actor, &id).await?;
    Ok(axum::Json(job_json(&status)))
}

/// The same status under a query's path (Redash clients using a query key poll here).
async fn read_for_query(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((query_id, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    if query_id.parse::<i64>().is_err() {
        return Err(ApiError::not_found());
    }
    let status = state.app.job_status(&actor, &id).await?;
    Ok(axum::Json(job_json(&status)))
}

/// Redash compat: answers `null`.
async fn cancel(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<axum::Json<Value>> {
    state.app.cancel_job(&actor, &id).await?;
    Ok(axum::Json(Value::Null))
}
