//! What the leading scheduler reads and writes: due scheduled queries, expired schedules, the
//! ledger's retention and its stale queued jobs.
//!
//! `queries.schedule_due_at` is the next nominal due instant of a query's schedule (before any
//! back-off). It is set when the schedule is written ([`first_due`]) and advanced only by
//! [`advance_schedule`], a compare-and-set on the instant that was due, so a tick reads only
//! due queries (an index range) and two schedulers cannot both move one schedule forward.

use chrono::{DateTime, NaiveDate, Utc};
use dashi_core::{OrgId, Schedule};
use serde_json::Value;
use sqlx::types::Json;

use crate::data_source::DataSourceId;
use crate::job::JobId;
use crate::query::QueryId;
use crate::{Result, Store, on_pool};

/// The first due instant of a schedule just written; `None` when there is no schedule, it is
/// disabled, or it is unreadable (the API rejects such schedules; imported rows may hold one).
pub(crate) fn first_due(schedule: Option<&Value>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = Schedule::from_json(schedule?).ok()??;
    if schedule.disabled {
        return None;
    }
    schedule.first_due(now)
}

/// A scheduled query whose nominal due instant has come.
#[derive(Debug, Clone)]
pub struct DueQuery {
    pub id: QueryId,
    pub org_id: OrgId,
    /// The stored schedule document (may be unreadable or disabled: the caller decides).
    pub schedule: Option<Value>,
    /// The nominal due instant: part of the run's key, and the expected value when advancing.
    pub due_at: DateTime<Utc>,
    /// Scheduled runs that failed since the query's last successful run (Redash's
    /// `schedule_failures`, counted from the ledger so no worker has to keep it).
    pub failures: i64,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: i64,
    org_id: i64,
    schedule: Option<Json<Value>>,
    schedule_due_at: DateTime<Utc>,
    failures: i64,
}

/// The prefix of the run key of every scheduled refresh: `refresh:<query id>:<due instant>`.
pub const REFRESH_RUN_KEY_PREFIX: &str = "refresh:";

/// The run key of the scheduled refresh of `query` due at `due_at`: the same due run always has
/// the same key, so recomputing it after a crash or a failover collides in the ledger.
pub fn refresh_run_key(query: QueryId, due_at: DateTime<Utc>) -> String {
    format!("{REFRESH_RUN_KEY_PREFIX}{}:{}", query.0, due_at.timestamp_millis())
}

/// Unarchived scheduled queries whose nominal due instant is at or before `now`, earliest
/// first, at most `limit`, after the `(due instant, id)` cursor of the previous page if given.
pub async fn due_scheduled_queries(
    store: &Store,
    now: DateTime<Utc>,
    after: Option<(DateTime<Utc>, QueryId)>,
    limit: i64,
) -> Result<Vec<DueQuery>> {
    let cursor = if after.is_some() { "AND (q.schedule_due_at > $5 OR (q.schedule_due_at = $5 AND q.id > $6))" } else { "" };
    // The failure count is evaluated only for the due rows; `jobs_query_id` serves it.
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT q.id, q.org_id, q.schedule, q.schedule_due_at, \
         (SELECT COUNT(*) FROM jobs f WHERE f.query_id = q.id AND f.state = 'failed' AND f.run_key LIKE $3 \
          AND f.created_at > COALESCE((SELECT MAX(s.created_at) FROM jobs s WHERE s.query_id = q.id \
          AND s.state = 'succeeded'), q.created_at)) AS failures \
         FROM queries q WHERE q.schedule_due_at <= $1 AND q.is_archived = $4 {cursor} \
         ORDER BY q.schedule_due_at, q.id LIMIT $2"
    ));
    let (after_at, after_id) = after.map_or((now, 0), |(at, id)| (at, id.0));
    let rows = on_pool!(store.writer(), |pool| {
        let query = sqlx::query_as::<_, DueRow>(sql)
            .bind(now)
            .bind(limit)
            .bind(format!("{REFRESH_RUN_KEY_PREFIX}%"))
            .bind(false);
        let query = if after.is_some() { query.bind(after_at).bind(after_id) } else { query };
        query.fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| DueQuery {
            id: QueryId(row.id),
            org_id: OrgId(row.org_id),
            schedule: row.schedule.map(|schedule| schedule.0).filter(|schedule| !schedule.is_null()),
            due_at: row.schedule_due_at,
            failures: row.failures,
        })
        .collect())
}

/// Moves a query's schedule from the run due at `due_at` to `next` (`None`: never due again
/// until the schedule is written) and records its failure count. Returns `false` when the
/// schedule no longer stands at `due_at` (another scheduler advanced it, or it was edited).
pub async fn advance_schedule(
    store: &Store,
    query: QueryId,
    due_at: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    failures: i64,
) -> Result<bool> {
    let updated = on_pool!(store.writer(), |pool| {
        sqlx::query("UPDATE queries SET schedule_due_at = $1, schedule_failures = $2 WHERE id = $3 AND schedule_due_at = $4")
            .bind(next)
            .bind(failures)
            .bind(query.0)
            .bind(due_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(updated == 1)
}

/// Unarchived queries whose schedule has an `until` date before or on `today` (UTC), at most
/// `limit`: Redash's `empty_schedules` clears them.
pub async fn expired_schedules(store: &Store, today: NaiveDate, limit: usize) -> Result<Vec<(OrgId, QueryId)>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (i64, i64, Json<Value>)>(
            "SELECT id, org_id, schedule FROM queries WHERE schedule IS NOT NULL AND is_archived = $1 ORDER BY id",
        )
        .bind(false)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, schedule)| {
            let until = schedule.0.get("until").and_then(Value::as_str);
            until.and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).is_some_and(|until| until <= today)
        })
        .take(limit)
        .map(|(id, org_id, _)| (OrgId(org_id), QueryId(id)))
        .collect())
}

/// Deletes up to `batch` finished jobs that ended before `before`. Returns how many went.
pub async fn prune_finished_jobs(store: &Store, before: DateTime<Utc>, batch: i64) -> Result<u64> {
    let deleted = on_pool!(store.writer(), |pool| {
        sqlx::query(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') \
             AND finished_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(deleted)
}

/// Queued jobs created before `before` that are due: jobs no worker has picked for long (their
/// wake-up was lost, or the dispatcher was flushed). At most `limit`, oldest first.
pub async fn stale_queued_jobs(store: &Store, before: DateTime<Utc>, limit: i64) -> Result<Vec<(JobId, String)>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (String, String)>(
            "SELECT id, queue FROM jobs WHERE state = 'queued' AND created_at < $1 AND run_after < $1 \
             ORDER BY created_at, id LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().map(|(id, queue)| (JobId(id), queue)).collect())
}

/// Data sources whose schema the scheduler refreshes: every one that is not paused.
pub async fn schema_refresh_sources(store: &Store) -> Result<Vec<(OrgId, DataSourceId)>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (i64, i64)>("SELECT org_id, id FROM data_sources WHERE paused = $1 ORDER BY id")
            .bind(false)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows.into_iter().map(|(org_id, id)| (OrgId(org_id), DataSourceId(id))).collect())
}
