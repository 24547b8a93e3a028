//! `/api/events`: the audit log (admins read it; the UI reports client-side events into it).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, header};
use axum::routing::get;
use dashi_app::EventOrigin;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::wire::{PageParams, event_json, paginated};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/events", get(list).post(record))
}

async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Value>> {
    let page = state.app.list_events(&actor, params.request()?).await?;
    Ok(axum::Json(paginated(page, event_json)?))
}

/// A JSON list of event objects; Redash answers `null`.
async fn record(
    State(state): State<AppState>,
    Caller(actor): Caller,
    extensions: Extensions,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let events: Vec<Map<String, Value>> = match body {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(event) => Ok(event),
                _ => Err(ApiError::bad_request("Every event must be a JSON object.")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::bad_request("The request body must be a JSON list of events.")),
    };
    let origin = EventOrigin {
        ip: extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip().to_string()),
        user_agent: headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).map(str::to_owned),
    };
    state.app.record_client_events(&actor, &events, &origin).await?;
    Ok(axum::Json(Value::Null))
}
