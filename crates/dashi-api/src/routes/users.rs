//! `/api/users`: list, invite, read, edit, disable, keys and links.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use dashi_app::{UserListRequest, UserUpdate};
use dashi_core::UserId;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Id, Json, Query};
use crate::state::AppState;
use crate::wire::{PageParams, paginated, user_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list).post(invite))
        .route("/api/users/{id}", get(read).post(update).delete(delete_pending))
        .route("/api/users/{id}/invite", post(reinvite))
        .route("/api/users/{id}/reset_password", post(reset_password))
        .route("/api/users/{id}/regenerate_api_key", post(regenerate_api_key))
        .route("/api/users/{id}/disable", post(disable).delete(enable))
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    disabled: Option<String>,
    pending: Option<String>,
    order: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

/// Redash reads these flags as "true"/"false" strings.
fn flag(value: Option<&str>) -> Option<bool> {
    match value?.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

async fn list(State(state): State<AppState>, Caller(actor): Caller, Query(params): Query<ListParams>) -> ApiResult<axum::Json<Value>> {
    let request = UserListRequest {
        search: params.q,
        disabled: flag(params.disabled.as_deref()).unwrap_or(false),
        pending: flag(params.pending.as_deref()),
        order: params.order,
        page: params.page.request()?,
    };
    let page = state.app.list_users(&actor, &request).await?;
    let groups = state.app.list_groups(&actor).await?;
    Ok(axum::Json(paginated(page, |user| user_json(user, Some(&groups), false))?))
}

#[derive(Deserialize)]
struct InviteBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// `POST /api/users`: the invite link is in the answer (we never send mail from here yet).
async fn invite(State(state): State<AppState>, Caller(actor): Caller, Json(body): Json<InviteBody>) -> ApiResult<axum::Json<Value>> {
    let invited = state.app.invite_user(&actor, &body.name, &body.email).await?;
    let mut dict = user_json(&invited.user, None, false);
    dict["invite_link"] = json!(invited.invite_link);
    Ok(axum::Json(dict))
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let user = state.app.get_user(&actor, UserId(id)).await?;
    let with_key = state.app.may_see_api_key(&actor, &user);
    Ok(axum::Json(user_json(&user, None, with_key)))
}

#[derive(Deserialize)]
struct UpdateBody {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    old_password: Option<String>,
    group_ids: Option<Vec<i64>>,
}

async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<UpdateBody>,
) -> ApiResult<axum::Json<Value>> {
    let update = UserUpdate {
        name: body.name,
        email: body.email,
        password: body.password,
        old_password: body.old_password,
        group_ids: body.group_ids,
    };
    let user = state.app.update_user(&actor, UserId(id), &update).await?;
    let with_key = state.app.may_see_api_key(&actor, &user);
    Ok(axum::Json(user_json(&user, None, with_key)))
}

async fn delete_pending(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let user = state.app.delete_pending_user(&actor, UserId(id)).await?;
    Ok(axum::Json(user_json(&user, None, false)))
}

async fn reinvite(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let invited = state.app.reinvite_user(&actor, UserId(id)).await?;
    let mut dict = user_json(&invited.user, None, false);
    dict["invite_link"] = json!(invited.invite_link);
    Ok(axum::Json(dict))
}

async fn reset_password(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let link = state.app.reset_password_link(&actor, UserId(id)).await?;
    Ok(axum::Json(json!({ "reset_link": link })))
}

async fn regenerate_api_key(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let user = state.app.regenerate_api_key(&actor, UserId(id)).await?;
    Ok(axum::Json(user_json(&user, None, true)))
}

async fn disable(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let user = state.app.set_user_disabled(&actor, UserId(id), true).await?;
    Ok(axum::Json(user_json(&user, None, false)))
}

async fn enable(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let user = state.app.set_user_disabled(&actor, UserId(id), false).await?;
    Ok(axum::Json(user_json(&user, None, false)))
}
