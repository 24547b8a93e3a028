//! The job ledger: the truth about every queued, running and finished job.
//!
//! Dispatch (an in-process wake-up or a Redis stream) only carries job ids; whoever receives
//! an id must [`claim`] it here, and exactly one claimant wins. A claim bumps `fence`; renewals
//! and the final write carry that fence, so a worker that lost its lease (killed, partitioned)
//! can never overwrite a newer attempt. Identical work shares one active job through the
//! partial unique index on `dedupe_key`; a scheduled due run is enqueued once ever through
//! the full unique index on `run_key`.

use chrono::{DateTime, Utc};
use dashi_core::OrgId;
use sqlx::types::Json;

use crate::data_source::DataSourceId;
use crate::page::{ListSql, Value, bind_values};
use crate::{Dialect, Error, Result, Store, in_transaction, on_pool};

/// A job id: a UUID v7 in text form (time-ordered, unique across processes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub String);

impl JobId {
    pub fn generate() -> JobId {
        JobId(uuid::Uuid::now_v7().to_string())
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> JobState {
        match text {
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Queued,
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled)
    }
}

/// A job to put in the ledger.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub org_id: Option<OrgId>,
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub data_source_id: Option<DataSourceId>,
    pub query_id: Option<i64>,
    pub query_hash: Option<String>,
    /// Active jobs with the same key are one job: later callers attach to it.
    pub dedupe_key: Option<String>,
    /// A job with the same key ever existing means this one is not enqueued again.
    pub run_key: Option<String>,
    pub max_attempts: i64,
    pub run_after: DateTime<Utc>,
}

/// A ledger row.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub org_id: Option<OrgId>,
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub data_source_id: Option<DataSourceId>,
    pub query_id: Option<i64>,
    pub query_hash: Option<String>,
    pub state: JobState,
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub fence: i64,
    pub cancel_requested: bool,
    pub result_id: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    org_id: Option<i64>,
    queue: String,
    kind: String,
    payload: Json<serde_json::Value>,
    data_source_id: Option<i64>,
    query_id: Option<i64>,
    query_hash: Option<String>,
    state: String,
    attempts: i64,
    max_attempts: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    fence: i64,
    cancel_requested: bool,
    result_id: Option<i64>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Job {
        Job {
            id: JobId(row.id),
            org_id: row.org_id.map(OrgId),
            queue: row.queue,
            kind: row.kind,
            payload: row.payload.0,
            data_source_id: row.data_source_id.map(DataSourceId),
            query_id: row.query_id,
            query_hash: row.query_hash,
            state: JobState::parse(&row.state),
            attempts: row.attempts,
            max_attempts: row.max_attempts,
            lease_owner: row.lease_owner,
            lease_expires_at: row.lease_expires_at,
            fence: row.fence,
            cancel_requested: row.cancel_requested,
            result_id: row.result_id,
            error: row.error,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str = "id, org_id, queue, kind, payload, data_source_id, query_id, query_hash, state, attempts, \
                       max_attempts, lease_owner, lease_expires_at, fence, cancel_requested, result_id, error, \
                       created_at, started_at, finished_at, updated_at";

/// The answer to an enqueue: the job that will do the work, and whether this call created it.
#[derive(Debug, Clone)]
pub struct Enqueued {
    pub job: Job,
    pub created: bool,
}

/// Puts a job in the ledger, or returns the active job with the same `dedupe_key` (or the job
/// that already used `run_key`).
pub async fn enqueue(store: &Store, new: &NewJob, now: DateTime<Utc>) -> Result<Enqueued> {
    let id = JobId::generate();
    // Two callers may race: the loser's insert does nothing, and it then reads the winner's row.
    // A finished winner releases the dedupe key, so a few attempts settle every race.
    for _ in 0..5 {
        let inserted = on_pool!(store.writer(), |pool| {
            sqlx::query_scalar::<_, String>(
                "INSERT INTO jobs (id, org_id, queue, kind, payload, data_source_id, query_id, query_hash, dedupe_key, \
                 run_key, state, attempts, max_attempts, run_after, lease_owner, lease_expires_at, fence, \
                 cancel_requested, result_id, error, created_at, started_at, finished_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $12, NULL, NULL, 0, $13, NULL, NULL, \
                 $14, NULL, NULL, $14) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(&id.0)
            .bind(new.org_id.map(|org| org.0))
            .bind(&new.queue)
            .bind(&new.kind)
            .bind(Json(&new.payload))
            .bind(new.data_source_id.map(|ds| ds.0))
            .bind(new.query_id)
            .bind(&new.query_hash)
            .bind(&new.dedupe_key)
            .bind(&new.run_key)
            .bind(new.max_attempts)
            .bind(new.run_after)
            .bind(false)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        if inserted.is_some() {
            let job = job_by_id(store, &id).await?.ok_or(Error::NotFound { entity: "job", id: id.0.clone() })?;
            return Ok(Enqueued { job, created: true });
        }
        if let Some(existing) = existing_job(store, new).await? {
            return Ok(Enqueued { job: existing, created: false });
        }
    }
    Err(Error::VersionConflict { entity: "job" })
}

async fn existing_job(store: &Store, new: &NewJob) -> Result<Option<Job>> {
    if let Some(run_key) = &new.run_key {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM jobs WHERE run_key = $1"));
        let row = on_pool!(store.reader(), |pool| {
            sqlx::query_as::<_, JobRow>(sql).bind(run_key).fetch_optional(pool).await
        })?;
        if let Some(row) = row {
            return Ok(Some(row.into()));
        }
    }
    if let Some(dedupe_key) = &new.dedupe_key {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE dedupe_key = $1 AND state IN ('queued', 'running')"
        ));
        // Read on the writer: the conflicting row was just written by another transaction,
        // and SQLite's read connections may not see it yet.
        let row = on_pool!(store.writer(), |pool| {
            sqlx::query_as::<_, JobRow>(sql).bind(dedupe_key).fetch_optional(pool).await
        })?;
        return Ok(row.map(Job::from));
    }
    Ok(None)
}

/// The job with this id.
pub async fn job_by_id(store: &Store, id: &JobId) -> Result<Option<Job>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, JobRow>(sql).bind(&id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(Job::from))
}

/// The outcome of trying to claim a job.
#[derive(Debug, Clone)]
pub enum Claim {
    /// This worker owns the job now; its writes must carry `job.fence`.
    Claimed(Box<Job>),
    /// The job's data source is at its concurrency limit; the job stays queued (parked).
    Parked,
    /// Someone else claimed it, it was cancelled, or it is not due yet.
    Unavailable,
}

/// Claims a queued, due job for `owner` until `lease_expires_at`, respecting its data source's
/// concurrency limit.
pub async fn claim(store: &Store, id: &JobId, owner: &str, lease_expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Claim> {
    let job = match job_by_id(store, id).await? {
        Some(job) if job.state == JobState::Queued && !job.cancel_requested => job,
        _ => return Ok(Claim::Unavailable),
    };
    let dialect = store.dialect();
    let claimed = in_transaction!(store, |conn| {
        if let Some(data_source) = job.data_source_id {
            // FOR UPDATE serialises claims per data source on PostgreSQL, so two workers cannot
            // both see "one slot left"; SQLite's single writer already serialises them.
            let limit_sql = match dialect {
                Dialect::Postgres => "SELECT concurrency_limit FROM data_sources WHERE id = $1 FOR UPDATE",
                Dialect::Sqlite => "SELECT concurrency_limit FROM data_sources WHERE id = $1",
            };
            let limit = sqlx::query_scalar::<_, Option<i64>>(limit_sql)
                .bind(data_source.0)
                .fetch_optional(&mut *conn)
                .await?
                .flatten();
            if let Some(limit) = limit {
                let running = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM jobs WHERE data_source_id = $1 AND state = 'running'",
            )
                .bind(data_source.0)
                .fetch_one(&mut *conn)
                .await?;
                if running >= limit {
                    return Ok(Claim::Parked);
                }
            }
        }
        let fence = sqlx::query_scalar::<_, i64>(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = $2, fence = fence + 1, \
             attempts = attempts + 1, started_at = $3, updated_at = $3 \
             WHERE id = $4 AND state = 'queued' AND cancel_requested = $5 AND run_after <= $3 RETURNING fence",
        )
        .bind(owner)
        .bind(lease_expires_at)
        .bind(now)
        .bind(&id.0)
        .bind(false)
        .fetch_optional(&mut *conn)
        .await?;
        Ok::<Option<i64>, Error>(fence)
    })?;
    match claimed {
        Some(_) => Ok(job_by_id(store, id).await?.map(|job| Claim::Claimed(Box::new(job))).unwrap_or(Claim::Unavailable)),
        None => Ok(Claim::Unavailable),
    }
}

/// Extends the lease of a running job. `false` means the claim was lost (the job was reclaimed
/// or finished by someone else): the holder must stop working on it.
pub async fn renew(store: &Store, id: &JobId, fence: i64, lease_expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool> {
    let updated = on_pool!(store.writer(), |pool| {
        sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 WHERE id = $3 AND fence = $4 AND state = 'running'",
        )
        .bind(lease_expires_at)
        .bind(now)
        .bind(&id.0)
        .bind(fence)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(updated == 1)
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded { result_id: Option<i64> },
    Failed { error: String },
    Cancelled,
}

/// Records how a running job ended, if `fence` still owns it. Returns whether it did.
pub async fn finish(store: &Store, id: &JobId, fence: i64, outcome: &Outcome, now: DateTime<Utc>) -> Result<bool> {
    let (state, result_id, error) = match outcome {
        Outcome::Succeeded { result_id } => (JobState::Succeeded, *result_id, None),
        Outcome::Failed { error } => (JobState::Failed, None, Some(error.as_str())),
        Outcome::Cancelled => (JobState::Cancelled, None, Some("Query cancelled by user.")),
    };
    let updated = on_pool!(store.writer(), |pool| {
        sqlx::query(
            "UPDATE jobs SET state = $1, result_id = $2, error = $3, finished_at = $4, updated_at = $4, \
             lease_owner = NULL, lease_expires_at = NULL WHERE id = $5 AND fence = $6 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(result_id)
        .bind(error)
        .bind(now)
        .bind(&id.0)
        .bind(fence)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(updated == 1)
}

/// Gives a claimed job back to the queue without counting the attempt (a worker shutting down
/// gracefully before it could finish). Returns whether `fence` still owned it.
pub async fn hand_back(store: &Store, id: &JobId, fence: i64, now: DateTime<Utc>) -> Result<bool> {
    let updated = on_pool!(store.writer(), |pool| {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = $1 WHERE id = $2 AND fence = $3 AND state = 'running'",
        )
        .bind(now)
        .bind(&id.0)
        .bind(fence)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(updated == 1)
}

/// Asks for a job to stop. A queued job is cancelled at once; a running one is flagged and its
/// worker stops it (in the database too). Returns the job as it is now, if it exists.
pub async fn request_cancel(store: &Store, id: &JobId, now: DateTime<Utc>) -> Result<Option<Job>> {
    on_pool!(store.writer(), |pool| {
        sqlx::query(
            "UPDATE jobs SET state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, \
             error = CASE WHEN state = 'queued' THEN 'Query cancelled by user.' ELSE error END, \
             finished_at = CASE WHEN state = 'queued' THEN $1 ELSE finished_at END, \
             cancel_requested = $2, updated_at = $1 WHERE id = $3 AND state IN ('queued', 'running')",
        )
        .bind(now)
        .bind(true)
        .bind(&id.0)
        .execute(pool)
        .await
        .map(drop)
    })?;
    job_by_id(store, id).await
}

/// Ids of queued, due jobs in `queues`, oldest first: what a dispatcher hands to workers. Jobs of
/// a data source already running at its concurrency limit are skipped: a claim would only park
/// them, and listing them first would hide the jobs of every other source behind them.
pub async fn due_job_ids(store: &Store, queues: &[&str], now: DateTime<Utc>, limit: i64) -> Result<Vec<JobId>> {
    if queues.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = ListSql::default();
    let names: Vec<String> = queues.iter().map(|queue| list.bind(Value::Text((*queue).to_owned()))).collect();
    // Times are bound from Rust on both dialects; on SQLite sqlx writes them as RFC 3339 text in
    // UTC, which orders correctly as text.
    let due = list.bind(Value::Time(now));
    let limit = list.bind(Value::Int(limit));
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT j.id FROM jobs j WHERE j.state = 'queued' AND j.queue IN ({}) AND j.run_after <= {due} \
         AND NOT EXISTS (SELECT 1 FROM data_sources d WHERE d.id = j.data_source_id AND d.concurrency_limit IS NOT NULL \
         AND d.concurrency_limit <= (SELECT COUNT(*) FROM jobs r WHERE r.data_source_id = d.id AND r.state = 'running')) \
         ORDER BY j.created_at, j.id LIMIT {limit}",
        names.join(", ")
    ));
    let ids = on_pool!(store.writer(), |pool| {
        bind_values!(sqlx::query_scalar::<_, String>(sql), &list.values).fetch_all(pool).await
    })?;
    Ok(ids.into_iter().map(JobId).collect())
}

/// How many queued jobs of the same queue were created before this one (its place in line).
pub async fn position_in_queue(store: &Store, job: &Job) -> Result<i64> {
    let ahead = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND queue = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))",
        )
        .bind(&job.queue)
        .bind(job.created_at)
        .bind(&job.id.0)
        .fetch_one(pool)
        .await
    })?;
    Ok(ahead)
}

/// Returns running jobs whose lease expired (their worker died) to the queue, or fails them
/// visibly once they used all attempts. Returns (requeued, failed).
pub async fn reclaim_expired(store: &Store, now: DateTime<Utc>) -> Result<(u64, u64)> {
    let failed = on_pool!(store.writer(), |pool| {
        sqlx::query(
            "UPDATE jobs SET state = 'failed', error = $2, finished_at = $1, updated_at = $1, lease_owner = NULL, \
             lease_expires_at = NULL WHERE state = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts",
        )
            .bind(now)
            .bind("The worker running this job stopped responding.")
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    let requeued = on_pool!(store.writer(), |pool| {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', updated_at = $1, lease_owner = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at < $1 AND attempts < max_attempts",
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok((requeued, failed))
}

/// Whether someone asked this running job to stop.
pub async fn is_cancel_requested(store: &Store, id: &JobId) -> Result<bool> {
    let flag = on_pool!(store.writer(), |pool| {
        sqlx::query_scalar::<_, bool>("SELECT cancel_requested FROM jobs WHERE id = $1").bind(&id.0).fetch_optional(pool).await
    })?;
    Ok(flag.unwrap_or(false))
}

/// Jobs being run right now, oldest claim first, at most `limit` (for the status pages).
pub async fn running_jobs(store: &Store, limit: i64) -> Result<Vec<Job>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM jobs WHERE state = 'running' ORDER BY started_at, id LIMIT $1"));
    let rows = on_pool!(store.reader(), |pool| sqlx::query_as::<_, JobRow>(sql).bind(limit).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Job::from).collect())
}
