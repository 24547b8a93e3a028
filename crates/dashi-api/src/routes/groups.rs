//! `/api/groups`: groups and their members.

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get, post};
use dashi_core::{GroupId, UserId};
use dashi_store::DataSourceId;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Id, Ids, Json};
use crate::state::AppState;
use crate::wire::{group_data_source_json, group_json, user_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/groups", get(list).post(create))
        .route("/api/groups/{id}", get(read).post(rename).delete(remove))
        .route("/api/groups/{id}/members", get(members).post(add_member))
        .route("/api/groups/{id}/members/{user_id}", delete(remove_member))
        .route("/api/groups/{id}/data_sources", get(data_sources).post(add_data_source))
        .route("/api/groups/{id}/data_sources/{data_source_id}", post(set_view_only).delete(remove_data_source))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let groups = state.app.list_groups(&actor).await?;
    Ok(axum::Json(Value::Array(groups.iter().map(group_json).collect())))
}

#[derive(Deserialize)]
struct NameBody {
    #[serde(default)]
    name: String,
}

async fn create(State(state): State<AppState>, Caller(actor): Caller, Json(body): Json<NameBody>) -> ApiResult<axum::Json<Value>> {
    let group = state.app.create_group(&actor, &body.name).await?;
    Ok(axum::Json(group_json(&group)))
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let group = state.app.get_group(&actor, GroupId(id)).await?;
    Ok(axum::Json(group_json(&group)))
}

async fn rename(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<NameBody>,
) -> ApiResult<axum::Json<Value>> {
    let group = state.app.rename_group(&actor, GroupId(id), &body.name).await?;
    Ok(axum::Json(group_json(&group)))
}

async fn remove(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.delete_group(&actor, GroupId(id)).await?;
    Ok(axum::Json(Value::Null))
}

async fn members(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let users = state.app.group_members(&actor, GroupId(id)).await?;
    Ok(axum::Json(Value::Array(users.iter().map(|user| user_json(user, None, false)).collect())))
}

#[derive(Deserialize)]
struct MemberBody {
    user_id: i64,
}

async fn add_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<MemberBody>,
) -> ApiResult<axum::Json<Value>> {
    let user = state.app.add_group_member(&actor, GroupId(id), UserId(body.user_id)).await?;
    Ok(axum::Json(user_json(&user, None, false)))
}

async fn remove_member(State(state): State<AppState>, Caller(actor): Caller, Ids(id, user_id): Ids) -> ApiResult<axum::Json<Value>> {
    state.app.remove_group_member(&actor, GroupId(id), UserId(user_id)).await?;
    Ok(axum::Json(Value::Null))
}

async fn data_sources(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let linked = state.app.group_data_sources(&actor, GroupId(id)).await?;
    Ok(axum::Json(Value::Array(linked.iter().map(|(data_source, view_only)| group_data_source_json(data_source, *view_only)).collect())))
}

#[derive(Deserialize)]
struct DataSourceBody {
    data_source_id: i64,
}

/// Adds a data source with full access, as Redash does.
async fn add_data_source(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<DataSourceBody>,
) -> ApiResult<axum::Json<Value>> {
    let (data_source, view_only) =
        state.app.link_group_data_source(&actor, GroupId(id), DataSourceId(body.data_source_id), false).await?;
    Ok(axum::Json(group_data_source_json(&data_source, view_only)))
}

#[derive(Deserialize)]
struct ViewOnlyBody {
    view_only: bool,
}

async fn set_view_only(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Ids(id, data_source_id): Ids,
    Json(body): Json<ViewOnlyBody>,
) -> ApiResult<axum::Json<Value>> {
    let (data_source, view_only) =
        state.app.link_group_data_source(&actor, GroupId(id), DataSourceId(data_source_id), body.view_only).await?;
    Ok(axum::Json(group_data_source_json(&data_source, view_only)))
}

async fn remove_data_source(State(state): State<AppState>, Caller(actor): Caller, Ids(id, data_source_id): Ids) -> ApiResult<axum::Json<Value>> {
    state.app.unlink_group_data_source(&actor, GroupId(id), DataSourceId(data_source_id)).await?;
    Ok(axum::Json(Value::Null))
}
