//! What `/status.json`, `/metrics` and `dashi status` report: the ledger's queues by depth and
//! age, the running jobs, object counts and the database's size. Each is one grouped query, so
//! a status read stays cheap however long the ledger is.

use chrono::{DateTime, Utc};

use crate::data_source::DataSourceId;
use crate::schedule::REFRESH_RUN_KEY_PREFIX;
use crate::{Dialect, Result, Store, on_pool};

/// The active jobs of one queue (or one data source).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    pub queued: i64,
    pub running: i64,
    /// When the oldest job still queued was created.
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

/// The ledger's active jobs grouped by queue and by data source.
#[derive(Debug, Clone, Default)]
pub struct Backlogs {
    pub queues: Vec<(String, Backlog)>,
    pub data_sources: Vec<(DataSourceId, Backlog)>,
}

#[derive(sqlx::FromRow)]
struct BacklogRow {
    key: Option<String>,
    source: Option<i64>,
    state: String,
    n_jobs: i64,
    oldest: Option<DateTime<Utc>>,
}

fn add(backlog: &mut Backlog, row: &BacklogRow) {
    match row.state.as_str() {
        "running" => backlog.running += row.n_jobs,
        _ => {
            backlog.queued += row.n_jobs;
            backlog.oldest_queued_at = row.oldest;
        }
    }
}

/// Queued and running jobs per queue and per data source.
pub async fn backlogs(store: &Store) -> Result<Backlogs> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, BacklogRow>(
            "SELECT queue AS key, NULL AS source, state, COUNT(*) AS n_jobs, MIN(created_at) AS oldest FROM jobs \
             WHERE state IN ('queued', 'running') GROUP BY queue, state \
             UNION ALL \
             SELECT NULL AS key, data_source_id AS source, state, COUNT(*) AS n_jobs, MIN(created_at) AS oldest FROM jobs \
             WHERE state IN ('queued', 'running') AND data_source_id IS NOT NULL GROUP BY data_source_id, state",
        )
        .fetch_all(pool)
        .await
    })?;
    let mut backlogs = Backlogs::default();
    for row in &rows {
        if let Some(queue) = &row.key {
            match backlogs.queues.iter_mut().find(|(name, _)| name == queue) {
                Some((_, backlog)) => add(backlog, row),
                None => {
                    let mut backlog = Backlog::default();
                    add(&mut backlog, row);
                    backlogs.queues.push((queue.clone(), backlog));
                }
            }
        } else if let Some(source) = row.source.map(DataSourceId) {
            match backlogs.data_sources.iter_mut().find(|(id, _)| *id == source) {
                Some((_, backlog)) => add(backlog, row),
                None => {
                    let mut backlog = Backlog::default();
                    add(&mut backlog, row);
                    backlogs.data_sources.push((source, backlog));
                }
            }
        }
    }
    backlogs.queues.sort_by(|a, b| a.0.cmp(&b.0));
    backlogs.data_sources.sort_by_key(|(id, _)| id.0);
    Ok(backlogs)
}

/// Counts of objects, as Redash's `/status.json` shows them (across organizations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    pub queries: i64,
    pub query_results: i64,
    /// Results no query points at: what the results cleanup will delete once old enough.
    pub unused_query_results: i64,
    pub dashboards: i64,
    pub widgets: i64,
}

/// Counts of non-archived queries and dashboards, results and widgets.
pub async fn object_counts(store: &Store) -> Result<ObjectCounts> {
    let (queries, query_results, unused_query_results, dashboards, widgets) = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
            "SELECT (SELECT COUNT(*) FROM queries WHERE is_archived = $1), (SELECT COUNT(*) FROM query_results), \
             (SELECT COUNT(*) FROM query_results r WHERE NOT EXISTS \
              (SELECT 1 FROM queries q WHERE q.latest_query_data_id = r.id)), \
             (SELECT COUNT(*) FROM dashboards WHERE is_archived = $1), (SELECT COUNT(*) FROM widgets)",
        )
        .bind(false)
        .fetch_one(pool)
        .await
    })?;
    Ok(ObjectCounts { queries, query_results, unused_query_results, dashboards, widgets })
}

/// Bytes used by the whole metadata database and by its `query_results` table (inline results
/// only; results kept in files are not counted).
pub async fn database_sizes(store: &Store) -> Result<(i64, i64)> {
    let sql = match store.dialect() {
        Dialect::Postgres => {
            "SELECT CAST(pg_database_size(current_database()) AS BIGINT), \
             CAST(pg_total_relation_size('query_results') AS BIGINT)"
        }
        Dialect::Sqlite => {
            "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()), \
             COALESCE((SELECT SUM(LENGTH(inline_data)) FROM query_results), 0)"
        }
    };
    let (database, results) =
        on_pool!(store.reader(), |pool| sqlx::query_as::<_, (i64, i64)>(sql).fetch_one(pool).await)?;
    Ok((database, results))
}

/// Queries the scheduler has found outdated: due now, or with a scheduled refresh queued or
/// running. With when a scheduled refresh was last enqueued (Redash's `last_refresh_at`).
pub async fn outdated_query_ids(store: &Store, now: DateTime<Utc>) -> Result<(Vec<i64>, Option<DateTime<Utc>>)> {
    let pattern = format!("{REFRESH_RUN_KEY_PREFIX}%");
    let (ids, last_refresh) = on_pool!(store.reader(), |pool| {
        let ids = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM queries WHERE schedule_due_at <= $1 AND is_archived = $2 \
             UNION SELECT query_id FROM jobs WHERE state IN ('queued', 'running') AND run_key LIKE $3 \
             AND query_id IS NOT NULL ORDER BY 1",
        )
        .bind(now)
        .bind(false)
        .bind(&pattern)
        .fetch_all(pool)
        .await?;
        let last = sqlx::query_scalar::<_, Option<DateTime<Utc>>>("SELECT MAX(created_at) FROM jobs WHERE run_key LIKE $1")
            .bind(&pattern)
            .fetch_one(pool)
            .await?;
        Ok::<_, sqlx::Error>((ids, last))
    })?;
    Ok((ids, last_refresh))
}

/// The id and name of every data source, for labelling backlogs.
pub async fn data_source_names(store: &Store) -> Result<Vec<(DataSourceId, String)>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (i64, String)>("SELECT id, name FROM data_sources ORDER BY id").fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(|(id, name)| (DataSourceId(id), name)).collect())
}
