//! `/api/query_snippets`: the editor's snippets, shared by everyone in the organization.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use dashi_store::SnippetId;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Id, Json};
use crate::state::AppState;
use crate::wire::{snippet_input, snippet_json};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/query_snippets", get(list).post(create))
        .route("/api/query_snippets/{id}", get(read).post(update).delete(remove))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<axum::Json<Value>> {
    let snippets = state.app.list_snippets(&actor).await?;
    Ok(axum::Json(snippets.iter().map(snippet_json).collect()))
}

async fn create(State(state): State<AppState>, Caller(actor): Caller, Json(body): Json<Value>) -> ApiResult<axum::Json<Value>> {
    let snippet = state.app.create_snippet(&actor, &snippet_input(body)?).await?;
    Ok(axum::Json(snippet_json(&snippet)))
}

async fn read(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    let snippet = state.app.get_snippet(&actor, SnippetId(id)).await?;
    Ok(axum::Json(snippet_json(&snippet)))
}

async fn update(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id, Json(body): Json<Value>) -> ApiResult<axum::Json<Value>> {
    let snippet = state.app.update_snippet(&actor, SnippetId(id), &snippet_input(body)?).await?;
    Ok(axum::Json(snippet_json(&snippet)))
}

/// Redash compat: deleting answers `null`.
async fn remove(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    state.app.delete_snippet(&actor, SnippetId(id)).await?;
    Ok(axum::Json(Value::Null))
}
