//! Per-object grants on queries and dashboards (Redash's ACL): `GET|POST|DELETE
//! /api/<queries|dashboards>/<id>/acl` and `GET …/acl/<access_type>`.

use axum::Router;
use axum::extract::{MatchedPath, Path, State};
use axum::routing::get;
use dashi_store::AclObject;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;
use crate::wire::{acl_input, grant_json, user_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/queries/{id}/acl", get(list).post(grant).delete(revoke))
        .route("/api/queries/{id}/acl/{access_type}", get(check))
        .route("/api/dashboards/{id}/acl", get(list).post(grant).delete(revoke))
        .route("/api/dashboards/{id}/acl/{access_type}", get(check))
}

/// The object the matched route and the path's id name.
fn acl_object(route: &MatchedPath, id: &str) -> ApiResult<AclObject> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    if route.as_str().starts_with("/api/queries/") { Ok(AclObject::Query(id)) } else { Ok(AclObject::Dashboard(id)) }
}

async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    route: MatchedPath,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let grants = state.app.list_acl(&actor, acl_object(&route, &id)?).await?;
    let dict: Map<String, Value> = grants
        .into_iter()
        .map(|(access_type, users)| (access_type, users.iter().map(|user| user_json(user, None, false)).collect()))
        .collect();
    Ok(axum::Json(Value::Object(dict)))
}

async fn grant(
    State(state): State<AppState>,
    Caller(actor): Caller,
    route: MatchedPath,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let object = acl_object(&route, &id)?;
    let (access_type, user_id) = acl_input(body)?;
    let details = state.app.grant_acl(&actor, object, &access_type, user_id).await?;
    Ok(axum::Json(grant_json(&details)))
}

async fn revoke(
    State(state): State<AppState>,
    Caller(actor): Caller,
    route: MatchedPath,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let object = acl_object(&route, &id)?;
    let (access_type, user_id) = acl_input(body)?;
    state.app.revoke_acl(&actor, object, &access_type, user_id).await?;
    Ok(axum::Json(Value::Null))
}

async fn check(
    State(state): State<AppState>,
    Caller(actor): Caller,
    route: MatchedPath,
    Path((id, access_type)): Path<(String, String)>,
) -> ApiResult<axum::Json<Value>> {
    let held = state.app.check_acl(&actor, acl_object(&route, &id)?, &access_type).await?;
    Ok(axum::Json(json!({"response": held})))
}
