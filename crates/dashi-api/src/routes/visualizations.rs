//! `/api/visualizations`: add, change and delete a query's visualizations.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use dashi_store::{QueryId, VisualizationId};
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Id, Json};
use crate::state::AppState;
use crate::wire::{visualization_input, visualization_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/visualizations", post(create))
        .route("/api/visualizations/{id}", post(update).delete(delete))
}

/// `POST /api/visualizations`: `{query_id, type, name, description, options}`.
async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let (query_id, input) = visualization_input(body)?;
    let query_id = query_id.ok_or_else(|| ApiError::bad_request("query_id is required."))?;
    let visualization = state.app.create_visualization(&actor, QueryId(query_id), &input).await?;
    Ok(axum::Json(visualization_json(&visualization)))
}

async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let (_, input) = visualization_input(body)?;
    let visualization = state.app.update_visualization(&actor, VisualizationId(id), &input).await?;
    Ok(axum::Json(visualization_json(&visualization)))
}

async fn delete(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.delete_visualization(&actor, VisualizationId(id)).await?;
    Ok(axum::Json(Value::Null))
}
