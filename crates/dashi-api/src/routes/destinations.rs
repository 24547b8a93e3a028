//! `/api/destinations`: alert destinations and their types.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use dashi_store::DestinationId;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Id, Json};
use crate::state::AppState;
use crate::wire::{destination_input, destination_json, destination_kind_json, full_destination_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/destinations", get(list).post(create))
        .route("/api/destinations/types", get(types))
        .route("/api/destinations/{id}", get(read).post(update).delete(remove))
}

async fn types(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let kinds = state.app.list_destination_kinds(&actor)?;
    Ok(axum::Json(kinds.iter().map(destination_kind_json).collect()))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let destinations = state.app.list_destinations(&actor).await?;
    Ok(axum::Json(destinations.iter().map(destination_json).collect()))
}

fn full_json(state: &AppState, destination: &dashi_store::Destination) -> ApiResult<axum::Json<Value>> {
    let options = state.app.masked_destination_options(destination)?;
    Ok(axum::Json(full_destination_json(destination, options)))
}

async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let destination = state.app.create_destination(&actor, &destination_input(&body)?).await?;
    full_json(&state, &destination)
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let destination = state.app.get_destination(&actor, DestinationId(id)).await?;
    full_json(&state, &destination)
}

async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let destination = state.app.update_destination(&actor, DestinationId(id), &destination_input(&body)?).await?;
    full_json(&state, &destination)
}

/// Redash answers 204 with no body.
async fn remove(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<StatusCode> {
    state.app.delete_destination(&actor, DestinationId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
