//! `/api/data_sources`: catalog, CRUD, pause, connection test and schema.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use dashi_app::{Actor, DataSourceInput, SchemaAnswer, VisibleDataSource};
use dashi_store::DataSourceId;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Query};
use crate::state::AppState;
use crate::wire::{data_source_json, full_data_source_json, job_json, kind_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/data_sources", get(list).post(create))
        .route("/api/data_sources/types", get(types))
        .route("/api/data_sources/{id}", get(read).post(update).delete(remove))
        .route("/api/data_sources/{id}/pause", post(pause).delete(resume))
        .route("/api/data_sources/{id}/test", post(test))
        .route("/api/data_sources/{id}/schema", get(schema))
}

async fn types(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let kinds = state.app.data_source_kinds(&actor)?;
    Ok(axum::Json(Value::Array(kinds.iter().map(kind_json).collect())))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let visible = state.app.list_data_sources(&actor).await?;
    Ok(axum::Json(Value::Array(visible.iter().map(data_source_json).collect())))
}

/// Admins get the full dict; others the basic one.
fn dict_for(state: &AppState, actor: &Actor, visible: &VisibleDataSource) -> ApiResult<Value> {
    if actor.is_admin() {
        let options = state.app.masked_options(&visible.data_source)?;
        Ok(full_data_source_json(visible, options))
    } else {
        Ok(data_source_json(visible))
    }
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let visible = state.app.visible_data_source(&actor, DataSourceId(id)).await?;
    if !actor.has(dashi_core::Permission::ListDataSources) {
        // Redash compat: callers without list_data_sources learn only their access level.
        return Ok(axum::Json(json!({"view_only": visible.access == dashi_app::Access::ViewOnly})));
    }
    Ok(axum::Json(dict_for(&state, &actor, &visible)?))
}

#[derive(Deserialize)]
struct DataSourceBody {
    #[serde(default)]
    name: String,
    #[serde(rename = "type", default)]
    type_name: String,
    #[serde(default)]
    options: Option<Value>,
    queue_name: Option<String>,
    scheduled_queue_name: Option<String>,
    concurrency_limit: Option<i64>,
    timeout: Option<i64>,
}

impl DataSourceBody {
    fn into_input(self) -> ApiResult<DataSourceInput> {
        let options = match self.options {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(options)) => options,
            Some(_) => return Err(crate::error::ApiError::bad_request("options must be a JSON object.")),
        };
        Ok(DataSourceInput {
            name: self.name,
            type_name: self.type_name,
            options,
            queue_name: self.queue_name,
            scheduled_queue_name: self.scheduled_queue_name,
            concurrency_limit: self.concurrency_limit,
            timeout_secs: self.timeout,
        })
    }
}

async fn create(State(state): State<AppState>, Caller(actor): Caller, Json(body): Json<DataSourceBody>) -> ApiResult<axum::Json<Value>> {
    let visible = state.app.create_data_source(&actor, &body.into_input()?).await?;
    Ok(axum::Json(dict_for(&state, &actor, &visible)?))
}

async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<DataSourceBody>,
) -> ApiResult<axum::Json<Value>> {
    let visible = state.app.update_data_source(&actor, DataSourceId(id), &body.into_input()?).await?;
    Ok(axum::Json(dict_for(&state, &actor, &visible)?))
}

/// Redash compat: deleting answers 204 with no body.
async fn remove(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<StatusCode> {
    state.app.delete_data_source(&actor, DataSourceId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct PauseBody {
    reason: Option<String>,
}

/// `POST …/pause` takes the reason from a JSON body or `?reason=`; an empty body is fine.
async fn pause(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Query(query): Query<PauseBody>,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<Value>> {
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        PauseBody::default()
    } else {
        serde_json::from_slice::<PauseBody>(&body)
            .map_err(|error| crate::error::ApiError::bad_request(format!("Invalid JSON body: {error}")))?
    };
    let reason = from_body.reason.or(query.reason);
    let visible = state.app.set_data_source_paused(&actor, DataSourceId(id), true, reason.as_deref()).await?;
    Ok(axum::Json(data_source_json(&visible)))
}

async fn resume(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let visible = state.app.set_data_source_paused(&actor, DataSourceId(id), false, None).await?;
    Ok(axum::Json(data_source_json(&visible)))
}

async fn test(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let outcome = state.app.test_data_source(&actor, DataSourceId(id), state.settings.job_wait).await?;
    Ok(axum::Json(match outcome {
        Ok(()) => json!({"message": "success", "ok": true}),
        Err(message) => json!({"message": message, "ok": false}),
    }))
}

#[derive(Deserialize)]
struct SchemaParams {
    refresh: Option<String>,
}

/// `GET …/schema`: `{"schema": […]}` when cached, else `{"job": …}` whose result is the schema.
async fn schema(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Query(params): Query<SchemaParams>,
) -> ApiResult<impl IntoResponse> {
    // Redash compat: the presence of `refresh` forces a fetch, whatever its value.
    let answer = state.app.data_source_schema(&actor, DataSourceId(id), params.refresh.is_some()).await?;
    Ok(axum::Json(match answer {
        SchemaAnswer::Cached(schema) => json!({"schema": schema}),
        SchemaAnswer::Fetching(job) => job_json(&dashi_app::JobStatus { job: *job, position: None, result: None }),
    }))
}
