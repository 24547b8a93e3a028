//! `/api/dashboards`: lists, one dashboard (by id, or by slug on Redash's legacy form), create,
//! edit, archive, fork, stars, tags and public sharing; `GET /api/dashboards/public/<token>`.
//!
//! Ours, not Redash's (its web client computes these itself):
//! - `GET /api/dashboards/<id>/parameters`: `{"parameters": [<Redash parameter definition> +
//!   "mappings": [{widget_id, query_id, parameter}]]}`, the dashboard-level parameters in
//!   `options.globalParamOrder` order, each named as the widgets map it.
//! - `POST /api/dashboards/<id>/refresh` with `{"parameters": {<dashboard parameter>: value},
//!   "max_age": n}` (default 0): runs every widget the caller may see, values mapped by name,
//!   and answers `{"results": [{widget_id, query_id, job | query_result_id | error}]}`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use dashi_app::{DashboardListRequest, DashboardRef};
use dashi_store::{DashboardId, DashboardScope};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Id, Json};
use crate::state::AppState;
use crate::wire::{
    PageParams, dashboard_input, dashboard_json, dashboard_name, dashboard_parameter_json, listed_dashboard_json,
    paginated, public_dashboard_json, public_url, widget_run_json,
};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/dashboards", get(list).post(create))
        .route("/api/dashboards/my", get(list_mine))
        .route("/api/dashboards/favorites", get(list_favorites))
        .route("/api/dashboards/tags", get(tags))
        .route("/api/dashboards/public/{token}", get(public))
        .route("/api/dashboards/{id}", get(read).post(update).delete(archive))
        .route("/api/dashboards/{id}/fork", post(fork))
        .route("/api/dashboards/{id}/favorite", post(star).delete(unstar))
        .route("/api/dashboards/{id}/share", post(share).delete(unshare))
        .route("/api/dashboards/{id}/parameters", get(parameters))
        .route("/api/dashboards/{id}/refresh", post(refresh))
}

/// `q`, repeated `tags`, `order`, `page` and `page_size` from the query string.
fn list_request(raw: Option<&str>) -> ApiResult<DashboardListRequest> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|error| ApiError::bad_request(format!("Invalid query parameters: {error}")))?;
    let last = |name: &str| pairs.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let page = PageParams { page: last("page"), page_size: last("page_size") };
    Ok(DashboardListRequest {
        search: last("q"),
        tags: pairs.iter().filter(|(key, _)| key == "tags").map(|(_, value)| value.clone()).collect(),
        order: last("order"),
        page: page.request()?,
    })
}

async fn list_scope(
    state: &AppState,
    actor: &dashi_app::Actor,
    scope: DashboardScope,
    raw: Option<String>,
) -> ApiResult<axum::Json<Value>> {
    let request = list_request(raw.as_deref())?;
    let page = state.app.list_dashboards(actor, scope, &request).await?;
    Ok(axum::Json(paginated(page, listed_dashboard_json)?))
}

async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<axum::Json<Value>> {
    list_scope(&state, &actor, DashboardScope::All, raw).await
}

async fn list_mine(
    State(state): State<AppState>,
    Caller(actor): Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<axum::Json<Value>> {
    list_scope(&state, &actor, DashboardScope::Mine, raw).await
}

async fn list_favorites(
    State(state): State<AppState>,
    Caller(actor): Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<axum::Json<Value>> {
    list_scope(&state, &actor, DashboardScope::Favorites, raw).await
}

async fn tags(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let counts = state.app.dashboard_tags(&actor).await?;
    let tags: Vec<Value> = counts.into_iter().map(|(name, count)| json!({"name": name, "count": count})).collect();
    Ok(axum::Json(json!({"tags": tags})))
}

fn base_url(state: &AppState) -> Option<&str> {
    state.app.settings().base_url.as_deref()
}

/// `GET /api/dashboards/<id>`; with `?legacy` (or a non-numeric segment) `<id>` is a slug, as
/// Redash's old `/dashboard/<slug>` links need.
async fn read(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<axum::Json<Value>> {
    let legacy =
        query.as_deref().unwrap_or_default().split('&').any(|pair| pair == "legacy" || pair.starts_with("legacy="));
    let reference = match raw.parse::<i64>() {
        Ok(id) if !legacy => DashboardRef::Id(DashboardId(id)),
        _ => DashboardRef::Slug(raw),
    };
    let details = state.app.get_dashboard(&actor, &reference).await?;
    Ok(axum::Json(dashboard_json(&details, base_url(&state))))
}

/// `POST /api/dashboards`: `{name}`.
async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let name = dashboard_name(body)?;
    let details = state.app.create_dashboard(&actor, name.as_deref()).await?;
    Ok(axum::Json(dashboard_json(&details, base_url(&state))))
}

async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    Json(body): Json<Value>,
) -> ApiResult<axum::Json<Value>> {
    let details = state.app.update_dashboard(&actor, DashboardId(id), &dashboard_input(body)?).await?;
    Ok(axum::Json(dashboard_json(&details, base_url(&state))))
}

async fn archive(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let details = state.app.archive_dashboard(&actor, DashboardId(id)).await?;
    Ok(axum::Json(dashboard_json(&details, base_url(&state))))
}

async fn fork(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let details = state.app.fork_dashboard(&actor, DashboardId(id)).await?;
    Ok(axum::Json(dashboard_json(&details, base_url(&state))))
}

async fn star(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.set_dashboard_favorite(&actor, DashboardId(id), true).await?;
    Ok(axum::Json(Value::Null))
}

async fn unstar(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.set_dashboard_favorite(&actor, DashboardId(id), false).await?;
    Ok(axum::Json(Value::Null))
}

/// `POST /api/dashboards/<id>/share`: `{public_url, api_key}`.
async fn share(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let key = state.app.share_dashboard(&actor, DashboardId(id)).await?;
    Ok(axum::Json(json!({"public_url": public_url(base_url(&state), &key.api_key), "api_key": key.api_key})))
}

async fn unshare(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.unshare_dashboard(&actor, DashboardId(id)).await?;
    Ok(axum::Json(Value::Null))
}

/// `GET /api/dashboards/public/<token>`: no login; the token is the credential. An unknown or
/// revoked token is Redash's 404.
async fn public(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<axum::Json<Value>> {
    let public = state.app.public_dashboard(&token).await?;
    Ok(axum::Json(public_dashboard_json(&public)))
}

async fn parameters(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let parameters = state.app.dashboard_parameters(&actor, DashboardId(id)).await?;
    Ok(axum::Json(json!({"parameters": parameters.iter().map(dashboard_parameter_json).collect::<Vec<_>>()})))
}

/// `POST /api/dashboards/<id>/refresh`: `{"parameters": {…}, "max_age": n}`, both optional.
async fn refresh(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Id(id): Id,
    body: axum::body::Bytes,
) -> ApiResult<axum::Json<Value>> {
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))?
    };
    let values = match body.get("parameters") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(values)) => values.clone(),
        Some(_) => return Err(ApiError::bad_request("parameters must be a JSON object.")),
    };
    let max_age = match body.get("max_age") {
        None | Some(Value::Null) => 0,
        Some(value) => value.as_i64().ok_or_else(|| ApiError::bad_request("max_age must be an integer."))?,
    };
    let runs = state.app.refresh_dashboard(&actor, DashboardId(id), &values, max_age).await?;
    Ok(axum::Json(json!({"results": runs.iter().map(widget_run_json).collect::<Vec<_>>()})))
}
