//! The results index: one immutable row per stored result, pointing at its rows (inline bytes
//! or an object in the results store). Rows are never updated; cleanup deletes unreferenced ones.

use chrono::{DateTime, Utc};
use dashi_core::OrgId;
use sqlx::types::Json;

use crate::data_source::DataSourceId;
use crate::db::execute;
use crate::job::JobId;
use crate::{Error, Result, Store, in_transaction, on_pool};

/// A stored result's index row.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub id: i64,
    pub org_id: OrgId,
    pub data_source_id: DataSourceId,
    pub query_hash: String,
    /// The executed text (parameters applied, auto-limit applied, no annotation).
    pub query: String,
    /// Seconds, as Redash reports runtime.
    pub runtime: f64,
    pub retrieved_at: DateTime<Utc>,
    pub row_count: i64,
    pub byte_size: i64,
    /// `inline`, `file` or `s3`.
    pub storage: String,
    pub location: Option<String>,
    pub inline_data: Option<Vec<u8>>,
    /// `[{"name", "friendly_name", "type"}…]`.
    pub columns: serde_json::Value,
}

/// What a worker stores when a query run succeeds.
#[derive(Debug, Clone)]
pub struct NewQueryResult {
    pub org_id: OrgId,
    pub data_source_id: DataSourceId,
    pub query_hash: String,
    pub query: String,
    pub runtime: f64,
    pub retrieved_at: DateTime<Utc>,
    pub row_count: i64,
    pub byte_size: i64,
    pub storage: String,
    pub location: Option<String>,
    pub inline_data: Option<Vec<u8>>,
    pub columns: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct ResultRow {
    id: i64,
    org_id: i64,
    data_source_id: i64,
    query_hash: String,
    query: String,
    runtime: f64,
    retrieved_at: DateTime<Utc>,
    row_count: i64,
    byte_size: i64,
    storage: String,
    location: Option<String>,
    inline_data: Option<Vec<u8>>,
    columns: Json<serde_json::Value>,
}

impl From<ResultRow> for QueryResult {
    fn from(row: ResultRow) -> QueryResult {
        QueryResult {
            id: row.id,
            org_id: OrgId(row.org_id),
            data_source_id: DataSourceId(row.data_source_id),
            query_hash: row.query_hash,
            query: row.query,
            runtime: row.runtime,
            retrieved_at: row.retrieved_at,
            row_count: row.row_count,
            byte_size: row.byte_size,
            storage: row.storage,
            location: row.location,
            inline_data: row.inline_data,
            columns: row.columns.0,
        }
    }
}

const COLUMNS: &str = "id, org_id, data_source_id, query_hash, query, runtime, retrieved_at, row_count, byte_size, \
                       storage, location, inline_data, columns";

/// Finishes a job with its result in one transaction: the result row, every non-archived query
/// with the same text on the same source pointed at it (Redash re-points them all), and the job
/// marked succeeded — only if `fence` still owns the job. Returns the result id, or `None` when
/// the claim was lost (the caller then deletes the stored rows it wrote).
pub async fn complete_job_with_result(
    store: &Store,
    job: &JobId,
    fence: i64,
    result: &NewQueryResult,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    in_transaction!(store, |conn| {
        let owned =
            sqlx::query_scalar::<_, String>("SELECT id FROM jobs WHERE id = $1 AND fence = $2 AND state = 'running'")
                .bind(&job.0)
                .bind(fence)
                .fetch_optional(&mut *conn)
                .await?;
        if owned.is_none() {
            return Ok(None);
        }
        let result_id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO query_results (org_id, data_source_id, query_hash, query, runtime, retrieved_at, row_count, \
             byte_size, storage, location, inline_data, columns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             RETURNING id",
        )
        .bind(result.org_id.0)
        .bind(result.data_source_id.0)
        .bind(&result.query_hash)
        .bind(&result.query)
        .bind(result.runtime)
        .bind(result.retrieved_at)
        .bind(result.row_count)
        .bind(result.byte_size)
        .bind(&result.storage)
        .bind(&result.location)
        .bind(&result.inline_data)
        .bind(Json(&result.columns))
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE queries SET latest_query_data_id = $1 WHERE data_source_id = $2 AND query_hash = $3 AND is_archived = $4",
        )
        .bind(result_id)
        .bind(result.data_source_id.0)
        .bind(&result.query_hash)
        .bind(false)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE jobs SET state = 'succeeded', result_id = $1, finished_at = $2, updated_at = $2, lease_owner = NULL, \
             lease_expires_at = NULL WHERE id = $3 AND fence = $4",
        )
        .bind(result_id)
        .bind(now)
        .bind(&job.0)
        .bind(fence)
        .execute(&mut *conn)
        .await?;
        Ok::<Option<i64>, Error>(Some(result_id))
    })
}

/// The result with this id in this organization.
pub async fn query_result_by_id(store: &Store, org_id: OrgId, id: i64) -> Result<Option<QueryResult>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM query_results WHERE id = $1 AND org_id = $2"));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, ResultRow>(sql).bind(id).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(QueryResult::from))
}

/// Redash's cache lookup: the newest result of this text on this source retrieved at or after
/// `not_before` (`None`: any age).
pub async fn latest_query_result(
    store: &Store,
    data_source_id: DataSourceId,
    query_hash: &str,
    not_before: Option<DateTime<Utc>>,
) -> Result<Option<QueryResult>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM query_results WHERE data_source_id = $1 AND query_hash = $2 AND retrieved_at >= $3 \
         ORDER BY retrieved_at DESC, id DESC LIMIT 1"
    ));
    let since = not_before.unwrap_or(DateTime::UNIX_EPOCH);
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, ResultRow>(sql)
            .bind(data_source_id.0)
            .bind(query_hash)
            .bind(since)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(QueryResult::from))
}

/// Results no query points at and older than `before`, oldest first: what cleanup removes.
/// Returns (id, location) pairs so the caller can delete the rows first and the blobs after.
pub async fn unused_query_results(
    store: &Store,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(i64, Option<String>)>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (i64, Option<String>)>(
            "SELECT id, location FROM query_results r WHERE retrieved_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM queries q WHERE q.latest_query_data_id = r.id) \
             AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.result_id = r.id AND j.finished_at >= $1) \
             ORDER BY retrieved_at, id LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows)
}

/// Deletes result rows (their blobs are the caller's to delete afterwards).
pub async fn delete_query_results(store: &Store, ids: &[i64]) -> Result<()> {
    for id in ids {
        execute!(store, "DELETE FROM query_results WHERE id = $1", id)?;
    }
    Ok(())
}

/// Every object location still referenced by a result row (for the orphan sweep).
pub async fn referenced_locations(store: &Store) -> Result<Vec<String>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, String>("SELECT location FROM query_results WHERE location IS NOT NULL")
            .fetch_all(pool)
            .await
    })?;
    Ok(rows)
}
