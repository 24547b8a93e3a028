//! Ours, not Redash's: `GET /api/embed/queries/<query_id>/visualizations/<id>` answers one
//! visualization with its query's id, name, description and options (never the SQL text), for
//! the embed page. It accepts the query's own API key (`?api_key=`) as well as a signed-in
//! reader of the query; the rows come from `GET /api/queries/<id>/results.json` with the same key.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use dashi_store::{QueryId, VisualizationId};
use serde_json::Value;

use crate::auth::Reader;
use crate::error::ApiResult;
use crate::extract::Ids;
use crate::state::AppState;
use crate::wire::embedded_visualization_json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/embed/queries/{query_id}/visualizations/{id}", get(read))
}

async fn read(State(state): State<AppState>, reader: Reader, Ids(query_id, id): Ids) -> ApiResult<axum::Json<Value>> {
    let shown = match reader {
        Reader::User(actor) => state.app.embedded_visualization(&actor, QueryId(query_id), VisualizationId(id)).await?,
        Reader::Key(holder) => state.app.key_visualization(&holder, QueryId(query_id), VisualizationId(id)).await?,
    };
    Ok(axum::Json(embedded_visualization_json(&shown)))
}
