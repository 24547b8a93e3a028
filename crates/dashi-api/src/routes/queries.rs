//! `/api/queries`: saved queries, their lists, stars, tags, forks, keys and version history.
//!
//! Execution (`/results`, `/refresh`, jobs) lives with the results routes, not here.
//!
//! Ours, not Redash's (which keeps history rows but has no endpoint for them):
//! - `GET /api/queries/<id>/versions` lists a query's versions, newest first, each as Redash's
//!   change dict `{id, object_id, object_type, object_version, change, created_at, user}` where
//!   `change` is `{<column>: {"previous", "current"}}`.
//! - `POST /api/queries/<id>/versions/<version>/restore` puts back that version's name,
//!   description, text, data source, schedule, options and tags as a new version, and answers
//!   the query like `POST /api/queries/<id>`.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use dashi_app::QueryListRequest;
use dashi_store::{QueryId, QueryScope};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Id, Ids, Json};
use crate::state::AppState;
use crate::wire::{
    PageParams, listed_query_json, paginated, query_details_json, query_input, query_version_json, recent_query_json,
};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/queries", get(list).post(create))
        .route("/api/queries/my", get(list_mine))
        .route("/api/queries/archive", get(list_archived))
        .route("/api/queries/favorites", get(list_favorites))
        .route("/api/queries/recent", get(recent))
        .route("/api/queries/tags", get(tags))
        .route("/api/queries/format", post(format))
        .route("/api/queries/{id}", get(read).post(update).delete(archive))
        .route("/api/queries/{id}/fork", post(fork))
        .route("/api/queries/{id}/regenerate_api_key", post(regenerate_api_key))
        .route("/api/queries/{id}/favorite", post(star).delete(unstar))
        .route("/api/queries/{id}/versions", get(versions))
        .route("/api/queries/{id}/versions/{version}/restore", post(restore))
}

/// `q`, repeated `tags`, `order`, `page` and `page_size` from the query string.
fn list_request(raw: Option<String>) -> ApiResult<QueryListRequest> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or_default())
        .map_err(|error| ApiError::bad_request(format!("Invalid query parameters: {error}")))?;
    let last = |name: &str| pairs.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let page = PageParams { page: last("page"), page_size: last("page_size") };
    Ok(QueryListRequest {
        search: last("q"),
        tags: pairs.iter().filter(|(key, _)| key == "tags").map(|(_, value)| value.clone()).collect(),
        order: last("order"),
        page: page.request()?,
    })
}

async fn list_scope(state: &AppState, actor: &dashi_app::Actor, scope: QueryScope, raw: Option<String>) -> ApiResult<axum::Json<Value>> {
    let request = list_request(raw)?;
    let page = state.app.list_queries(actor, scope, &request).await?;
    Ok(axum::Json(paginated(page, listed_query_json)?))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult<axum::Json<Value>> {
    list_scope(&state, &actor, QueryScope::All, raw).await
}

async fn list_mine(State(state): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult<axum::Json<Value>> {
    list_scope(&state, &actor, QueryScope::Mine, raw).await
}

async fn list_archived(State(state): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult<axum::Json<Value>> {
    list_scope(&state, &actor, QueryScope::Archived, raw).await
}

async fn list_favorites(State(state): State<AppState>, Caller(actor): Caller, RawQuery(raw): RawQuery) -> ApiResult<axum::Json<Value>> {
    list_scope(&state, &actor, QueryScope::Favorites, raw).await
}

/// A plain list, not paginated.
async fn recent(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let queries = state.app.recent_queries(&actor).await?;
    Ok(axum::Json(queries.iter().map(recent_query_json).collect()))
}

async fn tags(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let counts = state.app.query_tags(&actor).await?;
    let tags: Vec<Value> = counts.iter().map(|(name, count)| json!({"name": name, "count": count})).collect();
    Ok(axum::Json(json!({ "tags": tags })))
}

/// Formats with our own layout rules (`dashi_core::format_sql`), not a SQL parser: a parser
/// would refuse dialects and Mustache parameters and drop comments.
async fn format(State(state): State<AppState>, Caller(actor): Caller, Json(body): Json<Value>) -> ApiResult<axum::Json<Value>> {
    let text = match body.get("query") {
        None | Some(Value::Null) => "",
        Some(Value::String(text)) => text.as_str(),
        Some(_) => return Err(ApiError::bad_request("query must be a string.")),
    };
    Ok(axum::Json(json!({ "query": state.app.format_query(&actor, text) })))
}

async fn create(State(state): State<AppState>, Caller(actor): Caller, Json(body): Json<Value>) -> ApiResult<axum::Json<Value>> {
    let details = state.app.create_query(&actor, &query_input(body)?).await?;
    Ok(axum::Json(query_details_json(&details)))
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let details = state.app.get_query(&actor, QueryId(id)).await?;
    Ok(axum::Json(query_details_json(&details)))
}

async fn update(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id, Json(body): Json<Value>) -> ApiResult<axum::Json<Value>> {
    let details = state.app.update_query(&actor, QueryId(id), &query_input(body)?).await?;
    Ok(axum::Json(query_details_json(&details)))
}

/// Redash compat: archiving answers `null`.
async fn archive(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.archive_query(&actor, QueryId(id)).await?;
    Ok(axum::Json(Value::Null))
}

async fn fork(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let details = state.app.fork_query(&actor, QueryId(id)).await?;
    Ok(axum::Json(query_details_json(&details)))
}

async fn regenerate_api_key(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let details = state.app.regenerate_query_api_key(&actor, QueryId(id)).await?;
    Ok(axum::Json(query_details_json(&details)))
}

/// Redash compat: starring and unstarring answer `null`.
async fn star(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.set_query_favorite(&actor, QueryId(id), true).await?;
    Ok(axum::Json(Value::Null))
}

async fn unstar(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.set_query_favorite(&actor, QueryId(id), false).await?;
    Ok(axum::Json(Value::Null))
}

async fn versions(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let versions = state.app.query_versions(&actor, QueryId(id)).await?;
    Ok(axum::Json(versions.iter().map(query_version_json).collect()))
}

async fn restore(State(state): State<AppState>, Caller(actor): Caller, Ids(id, version): Ids) -> ApiResult<axum::Json<Value>> {
    let details = state.app.restore_query_version(&actor, QueryId(id), version).await?;
    Ok(axum::Json(query_details_json(&details)))
}
