//! `/api/alerts`: alerts, mute, evaluation on request, and subscriptions.

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get, post};
use dashi_store::{AlertId, SubscriptionId};
use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Id, Ids, Json};
use crate::state::AppState;
use crate::wire::{alert_input, alert_json, subscription_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/alerts", get(list).post(create))
        .route("/api/alerts/{id}", get(read).post(update).delete(remove))
        .route("/api/alerts/{id}/mute", post(mute).delete(unmute))
        .route("/api/alerts/{id}/eval", post(evaluate))
        .route("/api/alerts/{id}/subscriptions", get(subscriptions).post(subscribe))
        .route("/api/alerts/{id}/subscriptions/{subscription_id}", delete(unsubscribe))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let alerts = state.app.list_alerts(&actor).await?;
    Ok(axum::Json(alerts.iter().map(alert_json).collect()))
}

async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let alert = state.app.create_alert(&actor, &alert_input(&body)?).await?;
    Ok(axum::Json(alert_json(&alert)))
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let alert = state.app.get_alert(&actor, AlertId(id)).await?;
    Ok(axum::Json(alert_json(&alert)))
}

async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let alert = state.app.update_alert(&actor, AlertId(id), &alert_input(&body)?).await?;
    Ok(axum::Json(alert_json(&alert)))
}

/// Redash compat: deleting, muting and evaluating answer `null`.
async fn remove(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.delete_alert(&actor, AlertId(id)).await?;
    Ok(axum::Json(Value::Null))
}

async fn mute(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.set_alert_muted(&actor, AlertId(id), true).await?;
    Ok(axum::Json(Value::Null))
}

async fn unmute(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.set_alert_muted(&actor, AlertId(id), false).await?;
    Ok(axum::Json(Value::Null))
}

async fn evaluate(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.evaluate_alert(&actor, AlertId(id)).await?;
    Ok(axum::Json(Value::Null))
}

async fn subscriptions(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
) -> ApiResult<axum::Json<Value>> {
    let subscriptions = state.app.alert_subscriptions(&actor, AlertId(id)).await?;
    Ok(axum::Json(subscriptions.iter().map(subscription_json).collect()))
}

/// The body is optional: `{"destination_id": …}`, or nothing for e-mail to the caller.
async fn subscribe(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<Value>> {
    let destination_id = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let body: Value = serde_json::from_slice(&body)
            .map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))?;
        match body.get("destination_id") {
            None | Some(Value::Null) => None,
            Some(value) => {
                Some(value.as_i64().ok_or_else(|| ApiError::bad_request("destination_id must be a number."))?)
            }
        }
    };
    let subscription = state.app.subscribe(&actor, AlertId(id), destination_id).await?;
    Ok(axum::Json(subscription_json(&subscription)))
}

async fn unsubscribe(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Ids(id, subscription_id): Ids,
) -> ApiResult<axum::Json<Value>> {
    state.app.unsubscribe(&actor, AlertId(id), SubscriptionId(subscription_id)).await?;
    Ok(axum::Json(Value::Null))
}
