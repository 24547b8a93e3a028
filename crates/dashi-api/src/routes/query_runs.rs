//! Running saved queries and reading their results: `POST /api/queries/<id>/results`,
//! `GET /api/queries/<id>/results[.json|.csv|.tsv|.xlsx]`, a given result of the query,
//! `POST /api/queries/<id>/refresh`, and dropdown values.
//!
//! The result downloads also answer the query's own API key and the share token of a dashboard
//! showing the query (Redash's embeds and public dashboards); those callers get only `data` and
//! `retrieved_at` in JSON, never the executed text.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use dashi_app::{DropdownOption, SavedRunRequest};
use dashi_store::QueryId;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::{Caller, Reader};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Id, Ids};
use crate::routes::query_results::{Format, download_response, key_download_response, run_response};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/queries/{id}/results", get(latest).post(execute))
        // `results.csv` and friends: one segment, so it is matched here and split by hand.
        .route("/api/queries/{id}/{file}", get(latest_as_file))
        .route("/api/queries/{id}/results/{file}", get(one_result))
        .route("/api/queries/{id}/refresh", post(refresh))
        .route("/api/queries/{id}/dropdown", get(dropdown))
        .route("/api/queries/{id}/dropdowns/{dropdown_id}", get(parameter_dropdown))
}

#[derive(Deserialize, Default)]
struct RunBody {
    #[serde(default)]
    parameters: Option<Map<String, Value>>,
    max_age: Option<i64>,
    apply_auto_limit: Option<bool>,
}

/// `POST /api/queries/<id>/results`: a cached result young enough, or a job.
async fn execute(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id, body: axum::body::Bytes) -> ApiResult<Response> {
    // Redash compat: an empty body means "defaults" (Redash's client sometimes sends none).
    let body: RunBody = if body.iter().all(u8::is_ascii_whitespace) {
        RunBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))?
    };
    let request = SavedRunRequest {
        parameters: body.parameters.unwrap_or_default(),
        max_age: body.max_age.unwrap_or(-1),
        apply_auto_limit: body.apply_auto_limit,
    };
    run_response(&state, state.app.execute_saved(&actor, QueryId(id), &request).await).await
}

/// `p_<name>=value` query-string parameters, as Redash's refresh takes them.
fn p_parameters(query: Option<&str>) -> ApiResult<Map<String, Value>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|error| ApiError::bad_request(format!("Invalid query parameters: {error}")))?;
    Ok(pairs
        .into_iter()
        .filter_map(|(name, value)| name.strip_prefix("p_").map(|name| (name.to_owned(), Value::String(value))))
        .collect())
}

/// `POST /api/queries/<id>/refresh`: runs now, parameters from `p_<name>`.
async fn refresh(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id, uri: axum::http::Uri) -> ApiResult<Response> {
    let parameters = p_parameters(uri.query())?;
    run_response(&state, state.app.refresh_query(&actor, QueryId(id), parameters).await).await
}

async fn respond_with(state: &AppState, reader: &Reader, id: i64, result_id: Option<i64>, format: Format) -> ApiResult<Response> {
    match reader {
        Reader::User(actor) => {
            let (query, result) = state.app.saved_query_result(actor, QueryId(id), result_id).await?;
            download_response(state, &result, &query.name, format).await
        }
        Reader::Key(holder) => {
            let (query, result) = state.app.key_query_result(holder, QueryId(id), result_id).await?;
            key_download_response(state, &result, &query.name, format).await
        }
    }
}

/// `GET /api/queries/<id>/results`: the latest result.
async fn latest(State(state): State<AppState>, reader: Reader, Id(id): Id) -> ApiResult<Response> {
    respond_with(&state, &reader, id, None, Format::Json).await
}

/// `GET /api/queries/<id>/results.<ext>`.
async fn latest_as_file(State(state): State<AppState>, reader: Reader, Path((id, file)): Path<(String, String)>) -> ApiResult<Response> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let extension = file.strip_prefix("results.").ok_or_else(ApiError::not_found)?;
    let (_, format) = Format::split(&format!("0.{extension}")).ok_or_else(ApiError::not_found)?;
    respond_with(&state, &reader, id, None, format).await
}

/// `GET /api/queries/<id>/results/<result_id>[.<ext>]`.
async fn one_result(State(state): State<AppState>, reader: Reader, Path((id, file)): Path<(String, String)>) -> ApiResult<Response> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let (result_id, format) = Format::split(&file).ok_or_else(ApiError::not_found)?;
    respond_with(&state, &reader, id, Some(result_id), format).await
}

fn dropdown_json(options: &[DropdownOption]) -> Value {
    Value::Array(options.iter().map(|option| json!({"name": option.name, "value": option.value})).collect())
}

async fn dropdown(State(state): State<AppState>, Caller(actor): Caller, Id(id): Id) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(dropdown_json(&state.app.query_dropdown(&actor, QueryId(id)).await?)))
}

async fn parameter_dropdown(State(state): State<AppState>, Caller(actor): Caller, Ids(id, dropdown_id): Ids) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(dropdown_json(&state.app.parameter_dropdown(&actor, QueryId(id), QueryId(dropdown_id)).await?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_takes_p_parameters_only() {
        let parameters = p_parameters(Some("p_country=DE&p_year=2026&api_key=x")).unwrap();
        assert_eq!(Value::Object(parameters), json!({"country": "DE", "year": "2026"}));
    }
}
