//! `/api/widgets`: placing visualizations and text boxes on dashboards.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use dashi_store::WidgetId;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Id, Json};
use crate::state::AppState;
use crate::wire::{widget_input, widget_json, widget_update};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/widgets", post(create)).route("/api/widgets/{id}", post(update).delete(delete))
}

/// `POST /api/widgets`: `{dashboard_id, visualization_id | null, text, width, options}`.
async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let view = state.app.create_widget(&actor, &widget_input(body)?).await?;
    Ok(axum::Json(widget_json(&view)))
}

/// `POST /api/widgets/<id>`: `{text, options}`, both required.
async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let (text, options) = widget_update(body)?;
    let view = state.app.update_widget(&actor, WidgetId(id), text.as_deref(), &options).await?;
    Ok(axum::Json(widget_json(&view)))
}

async fn delete(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.delete_widget(&actor, WidgetId(id)).await?;
    Ok(axum::Json(Value::Null))
}
