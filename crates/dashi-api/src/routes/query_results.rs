//! Running text and reading results: `POST /api/query_results`, `GET /api/query_results/<id>`
//! (`.json`, `.csv`, `.tsv`, `.xlsx`), and our page and compact forms for the web UI.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use dashi_app::{AdhocRequest, ExecuteOutcome};
use dashi_results::{DateFormats, QueryResultEnvelope, Storage};
use dashi_store::QueryResult;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::{Caller, Reader};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::wire::{job_json, time};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/query_results", post(execute))
        .route("/api/query_results/{id}", get(download))
        .route("/api/query_results/{id}/page", get(page))
}

#[derive(Deserialize)]
struct ExecuteBody {
    #[serde(default)]
    query: String,
    data_source_id: Option<i64>,
    max_age: Option<i64>,
    #[serde(default)]
    parameters: Option<Map<String, Value>>,
    #[serde(default)]
    apply_auto_limit: bool,
}

/// Redash compat: a run refused before it started answers a failed job (status 4) with the
/// reason, because Redash clients read `job.error` on these paths.
fn refused_run(error: dashi_app::Error) -> Response {
    let status = match &error {
        dashi_app::Error::NoDataSource => StatusCode::UNAUTHORIZED,
        dashi_app::Error::RunRefused { fault, .. } => match fault {
            dashi_core::Fault::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        },
        _ => return ApiError::from(error).into_response(),
    };
    (status, axum::Json(json!({"job": {"status": 4, "error": error.to_string()}}))).into_response()
}

/// The stored bytes of a result, as the results store addresses them.
fn storage_of(result: &QueryResult) -> ApiResult<Storage> {
    dashi_app::storage_of(result).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "This result has no stored rows."))
}

fn envelope(result: &QueryResult) -> QueryResultEnvelope {
    QueryResultEnvelope {
        id: result.id,
        query_hash: result.query_hash.clone(),
        query: result.query.clone(),
        data_source_id: result.data_source_id.0,
        runtime: result.runtime,
        retrieved_at: result.retrieved_at,
    }
}

fn results_error(error: dashi_results::Error) -> ApiError {
    ApiError::from(dashi_app::Error::from(dashi_store::Error::NotFound { entity: "query result rows", id: error.to_string() }))
}

/// `{"query_result": …}` streamed from the stored rows.
async fn result_response(state: &AppState, result: &QueryResult) -> ApiResult<Response> {
    let results = state.app.results()?;
    let stream = results.redash_query_result(&storage_of(result)?, &envelope(result)).await.map_err(results_error)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], Body::from_stream(stream)).into_response())
}

/// `{"query_result": {"data": …, "retrieved_at": …}}`: what Redash sends API-key pseudo-users,
/// who must not see the executed text or the data source.
async fn key_result_response(state: &AppState, result: &QueryResult) -> ApiResult<Response> {
    let results = state.app.results()?;
    let data = results.redash_data(&storage_of(result)?).await.map_err(results_error)?;
    let head = Bytes::from_static(b"{\"query_result\":{\"data\":");
    let tail = Bytes::from(format!(",\"retrieved_at\":{}}}}}", Value::String(crate::wire::time(result.retrieved_at))));
    let body = futures_util::stream::once(async move { Ok::<_, dashi_results::Error>(head) })
        .chain(data)
        .chain(futures_util::stream::once(async move { Ok::<_, dashi_results::Error>(tail) }));
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], Body::from_stream(body)).into_response())
}

/// A result download for an object-key holder: files as for users, JSON without the text.
pub(crate) async fn key_download_response(state: &AppState, result: &QueryResult, name_base: &str, format: Format) -> ApiResult<Response> {
    match format {
        Format::Json => key_result_response(state, result).await,
        _ => download_response(state, result, name_base, format).await,
    }
}

/// `POST /api/query_results`: `{"query_result": …}` from the cache, or `{"job": …}`.
async fn execute(State(state): State<AppState>, Caller(actor): Caller, Json(body): Json<ExecuteBody>) -> ApiResult<Response> {
    let request = AdhocRequest {
        query: body.query,
        data_source_id: body.data_source_id,
        max_age: body.max_age.unwrap_or(-1),
        parameters: body.parameters.unwrap_or_default(),
        apply_auto_limit: body.apply_auto_limit,
    };
    run_response(&state, state.app.execute_adhoc(&actor, &request).await).await
}

/// The answer to a run: the cached result, the job, or Redash's failed-job envelope.
pub(crate) async fn run_response(state: &AppState, outcome: Result<ExecuteOutcome, dashi_app::Error>) -> ApiResult<Response> {
    match outcome {
        Ok(ExecuteOutcome::Cached(result)) => result_response(state, &result).await,
        Ok(ExecuteOutcome::Job(status)) => Ok(axum::Json(job_json(&status)).into_response()),
        Err(error) => Ok(refused_run(error)),
    }
}

/// The download formats, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
    Tsv,
    Xlsx,
    Ndjson,
}

impl Format {
    /// Splits `12.csv` into the id and the format (`12` alone is JSON).
    pub(crate) fn split(raw: &str) -> Option<(i64, Format)> {
        let (id, extension) = raw.split_once('.').unwrap_or((raw, "json"));
        let format = match extension {
            "json" => Format::Json,
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "xlsx" => Format::Xlsx,
            "ndjson" => Format::Ndjson,
            _ => return None,
        };
        Some((id.parse().ok()?, format))
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Xlsx => "xlsx",
            Format::Ndjson => "ndjson",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=UTF-8",
            Format::Tsv => "text/tab-separated-values; charset=UTF-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

/// Redash's download file name: control characters dropped, runs of `<>:"/\|?*` become a space,
/// whitespace runs become `_`, trimmed of `_`; the fallback when nothing is left; then the
/// result's date and the extension.
pub(crate) fn download_name(base: &str, fallback: &str, retrieved_at: chrono::DateTime<chrono::Utc>, format: Format) -> String {
    let mut cleaned = String::new();
    let mut last_was_space = false;
    for character in base.chars().filter(|character| !character.is_control()) {
        let replaced = if "<>:\"/\\|?*".contains(character) || character.is_whitespace() { ' ' } else { character };
        if replaced == ' ' {
            if !last_was_space {
                cleaned.push('_');
            }
            last_was_space = true;
        } else {
            cleaned.push(replaced);
            last_was_space = false;
        }
    }
    let cleaned = cleaned.trim_matches('_');
    let stem = if cleaned.is_empty() { fallback } else { cleaned };
    format!("{stem}_{}.{}", retrieved_at.format("%Y_%m_%d"), format.extension())
}

/// `Content-Disposition` with an ASCII name and, for other names, the UTF-8 form too.
fn disposition(name: &str) -> HeaderValue {
    let ascii: String = name.chars().map(|character| if character.is_ascii() && character != '"' { character } else { '_' }).collect();
    let mut value = format!("attachment; filename=\"{ascii}\"");
    if !name.is_ascii() {
        let encoded: String = name
            .bytes()
            .map(|byte| if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) { (byte as char).to_string() } else { format!("%{byte:02X}") })
            .collect();
        value.push_str(&format!("; filename*=UTF-8''{encoded}"));
    }
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// Streams a stored result in `format` with Redash's headers.
pub(crate) async fn download_response(state: &AppState, result: &QueryResult, name_base: &str, format: Format) -> ApiResult<Response> {
    if format == Format::Json {
        return result_response(state, result).await;
    }
    let results = state.app.results()?;
    let storage = storage_of(result)?;
    let formats = DateFormats {
        date_format: state.app.settings().formats.date_format.clone(),
        time_format: state.app.settings().formats.time_format.clone(),
    };
    let stream = match format {
        Format::Csv => results.csv(&storage, &formats).await,
        Format::Tsv => results.tsv(&storage, &formats).await,
        Format::Xlsx => results.xlsx(&storage).await,
        Format::Ndjson | Format::Json => results.ndjson(&storage).await,
    }
    .map_err(results_error)?;
    let name = download_name(name_base, &result.id.to_string(), result.retrieved_at, format);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
            (header::CONTENT_DISPOSITION, disposition(&name)),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `GET /api/query_results/<id>[.json|.csv|.tsv|.xlsx|.ndjson]`. Results never change, so the
/// answer may be cached for a year (Redash sends the same header).
async fn download(State(state): State<AppState>, reader: Reader, Path(raw): Path<String>) -> ApiResult<Response> {
    let (id, format) = Format::split(&raw).ok_or_else(ApiError::not_found)?;
    let mut response = match reader {
        Reader::User(actor) => {
            let (result, _) = state.app.query_result(&actor, id).await?;
            download_response(&state, &result, "", format).await?
        }
        // A query's own key reads the results of that query's current text only.
        Reader::Key(holder) => {
            let (_, result) = state.app.key_result(&holder, id).await?;
            key_download_response(&state, &result, "", format).await?
        }
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private,max-age=31557600"));
    Ok(response)
}

#[derive(Deserialize)]
struct PageParams {
    offset: Option<u64>,
    limit: Option<u64>,
    sort: Option<String>,
    #[serde(default)]
    desc: Option<String>,
}

/// Largest page the grid may ask for at once.
const MAX_PAGE_ROWS: u64 = 5_000;

/// `GET /api/query_results/<id>/page?offset=&limit=&sort=<column>&desc=true` (ours): one page of
/// rows for the web UI's grid, optionally sorted by a column, with the total row count.
async fn page(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    Query(params): Query<PageParams>,
) -> ApiResult<axum::Json<Value>> {
    let id: i64 = raw.parse().map_err(|_| ApiError::not_found())?;
    let limit = params.limit.unwrap_or(1_000);
    if limit == 0 || limit > MAX_PAGE_ROWS {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_PAGE_ROWS}.")));
    }
    let (result, _) = state.app.query_result(&actor, id).await?;
    let request = dashi_results::PageRequest {
        offset: params.offset.unwrap_or(0),
        limit,
        sort: params.sort.map(|column| dashi_results::Sort {
            column,
            is_descending: matches!(params.desc.as_deref(), Some("true" | "1")),
        }),
    };
    let page = state
        .app
        .results()?
        .page(&storage_of(&result)?, &request)
        .await
        .map_err(|error| match error {
            dashi_results::Error::UnknownColumn { name } => ApiError::bad_request(format!("Unknown column \"{name}\".")),
            other => results_error(other),
        })?;
    let columns: Vec<Value> = page
        .columns
        .iter()
        .map(|column| json!({"name": column.name, "friendly_name": column.friendly_name, "type": column.column_type.as_str()}))
        .collect();
    Ok(axum::Json(json!({
        "id": result.id,
        "columns": columns,
        "rows": page.rows,
        "offset": request.offset,
        "limit": request.limit,
        "row_count": result.row_count,
        "runtime": result.runtime,
        "retrieved_at": time(result.retrieved_at),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_follow_redash() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(download_name("Sales by  region", "7", at, Format::Csv), "Sales_by_region_2026_11_25.csv");
        assert_eq!(download_name("a<b>:c", "7", at, Format::Tsv), "a_b_c_2026_11_25.tsv");
        assert_eq!(download_name("  ", "7", at, Format::Xlsx), "7_2026_11_25.xlsx");
        assert_eq!(Format::split("12.csv"), Some((12, Format::Csv)));
        assert_eq!(Format::split("12"), Some((12, Format::Json)));
        assert_eq!(Format::split("12.exe"), None);
        assert_eq!(Format::split("x.csv"), None);
    }
}
