//! Data sources, their group access (`view_only`) and their cached schema.

use chrono::{DateTime, Utc};
use dashi_core::{GroupId, OrgId};
use sqlx::types::Json;

use crate::db::execute;
use crate::error::is_unique_violation;
use crate::page::{ListSql, Value, bind_values};
use crate::{Error, Result, Store, in_transaction, on_pool};

/// Typed id of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataSourceId(pub i64);

impl std::fmt::Display for DataSourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A data source row with its group links.
#[derive(Debug, Clone)]
pub struct DataSource {
    pub id: DataSourceId,
    pub org_id: OrgId,
    pub name: String,
    pub type_name: String,
    /// Fernet token of the options object (see `dashi_core::OptionsCipher`).
    pub encrypted_options: String,
    pub queue_name: String,
    pub scheduled_queue_name: String,
    pub paused: bool,
    pub pause_reason: Option<String>,
    pub concurrency_limit: Option<i64>,
    pub timeout_secs: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// (group, view_only) for every group that may use this data source.
    pub groups: Vec<(GroupId, bool)>,
}

#[derive(sqlx::FromRow)]
struct DataSourceRow {
    id: i64,
    org_id: i64,
    name: String,
    #[sqlx(rename = "type")]
    type_name: String,
    encrypted_options: String,
    queue_name: String,
    scheduled_queue_name: String,
    paused: bool,
    pause_reason: Option<String>,
    concurrency_limit: Option<i64>,
    timeout_secs: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, name, type, encrypted_options, queue_name, scheduled_queue_name, paused, \
                       pause_reason, concurrency_limit, timeout_secs, created_at, updated_at";

/// What is needed to create or fully update a data source.
#[derive(Debug, Clone)]
pub struct DataSourceFields {
    pub name: String,
    pub type_name: String,
    pub encrypted_options: String,
    pub queue_name: String,
    pub scheduled_queue_name: String,
    pub concurrency_limit: Option<i64>,
    pub timeout_secs: Option<i64>,
}

async fn attach_groups(store: &Store, rows: Vec<DataSourceRow>) -> Result<Vec<DataSource>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = ListSql::default();
    let placeholders: Vec<String> = rows.iter().map(|row| list.bind(Value::Int(row.id))).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT data_source_id, group_id, view_only FROM data_source_groups WHERE data_source_id IN ({}) ORDER BY group_id",
        placeholders.join(", ")
    ));
    let links = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, (i64, i64, bool)>(sql), &list.values).fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let groups = links
                .iter()
                .filter(|(data_source, _, _)| *data_source == row.id)
                .map(|(_, group, view_only)| (GroupId(*group), *view_only))
                .collect();
            DataSource {
                id: DataSourceId(row.id),
                org_id: OrgId(row.org_id),
                name: row.name,
                type_name: row.type_name,
                encrypted_options: row.encrypted_options,
                queue_name: row.queue_name,
                scheduled_queue_name: row.scheduled_queue_name,
                paused: row.paused,
                pause_reason: row.pause_reason,
                concurrency_limit: row.concurrency_limit,
                timeout_secs: row.timeout_secs,
                created_at: row.created_at,
                updated_at: row.updated_at,
                groups,
            }
        })
        .collect())
}

/// Creates a data source usable by `group` (Redash links new sources to the default group).
pub async fn insert_data_source(
    store: &Store,
    org_id: OrgId,
    fields: &DataSourceFields,
    group: GroupId,
    now: DateTime<Utc>,
) -> Result<DataSource> {
    let id = in_transaction!(store, |conn| {
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO data_sources (org_id, name, type, encrypted_options, queue_name, scheduled_queue_name, paused, \
             pause_reason, concurrency_limit, timeout_secs, schema_cache, schema_updated_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, NULL, NULL, $10, $10) RETURNING id",
        )
        .bind(org_id.0)
        .bind(&fields.name)
        .bind(&fields.type_name)
        .bind(&fields.encrypted_options)
        .bind(&fields.queue_name)
        .bind(&fields.scheduled_queue_name)
        .bind(false)
        .bind(fields.concurrency_limit)
        .bind(fields.timeout_secs)
        .bind(now)
        .fetch_one(&mut *conn)
        .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => Err(Error::Duplicate { what: "a data source with this name" }),
            Err(error) => Err(Error::from(error)),
            Ok(id) => {
                sqlx::query("INSERT INTO data_source_groups (data_source_id, group_id, view_only) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(group.0)
                    .bind(false)
                    .execute(&mut *conn)
                    .await?;
                Ok(id)
            }
        }
    })?;
    data_source_by_id(store, org_id, DataSourceId(id))
        .await?
        .ok_or(Error::NotFound { entity: "data source", id: id.to_string() })
}

/// The data source with this id in this organization.
pub async fn data_source_by_id(store: &Store, org_id: OrgId, id: DataSourceId) -> Result<Option<DataSource>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM data_sources WHERE id = $1 AND org_id = $2"));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, DataSourceRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(attach_groups(store, row.into_iter().collect()).await?.pop())
}

/// Every data source of an organization, by lower-cased name as Redash sorts them.
pub async fn list_data_sources(store: &Store, org_id: OrgId) -> Result<Vec<DataSource>> {
    let sql =
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM data_sources WHERE org_id = $1 ORDER BY lower(name), id"));
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, DataSourceRow>(sql).bind(org_id.0).fetch_all(pool).await
    })?;
    attach_groups(store, rows).await
}

/// Replaces a data source's fields.
pub async fn update_data_source(
    store: &Store,
    id: DataSourceId,
    fields: &DataSourceFields,
    now: DateTime<Utc>,
) -> Result<()> {
    let updated = execute!(
        store,
        "UPDATE data_sources SET name = $1, type = $2, encrypted_options = $3, queue_name = $4, \
             scheduled_queue_name = $5, concurrency_limit = $6, timeout_secs = $7, updated_at = $8 WHERE id = $9",
        &fields.name,
        &fields.type_name,
        &fields.encrypted_options,
        &fields.queue_name,
        &fields.scheduled_queue_name,
        fields.concurrency_limit,
        fields.timeout_secs,
        now,
        id.0
    );
    match updated {
        Err(error) if is_unique_violation(&error) => Err(Error::Duplicate { what: "a data source with this name" }),
        Err(error) => Err(Error::from(error)),
        Ok(_) => Ok(()),
    }
}

/// Deletes a data source. Redash compat: its queries stay, detached (their data source and
/// latest result become NULL), and its results go with it.
pub async fn delete_data_source(store: &Store, id: DataSourceId) -> Result<()> {
    in_transaction!(store, |conn| {
        sqlx::query("UPDATE queries SET data_source_id = NULL, latest_query_data_id = NULL WHERE data_source_id = $1")
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM data_sources WHERE id = $1").bind(id.0).execute(&mut *conn).await?;
        Ok::<(), Error>(())
    })
}

/// Pauses (with an optional reason) or resumes a data source.
pub async fn set_paused(
    store: &Store,
    id: DataSourceId,
    paused: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        store,
        "UPDATE data_sources SET paused = $1, pause_reason = $2, updated_at = $3 WHERE id = $4",
        paused,
        reason,
        now,
        id.0
    )?;
    Ok(())
}

/// The cached schema document and when it was fetched, if any.
pub async fn cached_schema(store: &Store, id: DataSourceId) -> Result<Option<(serde_json::Value, DateTime<Utc>)>> {
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (Option<Json<serde_json::Value>>, Option<DateTime<Utc>>)>(
            "SELECT schema_cache, schema_updated_at FROM data_sources WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(pool)
        .await
    })?;
    Ok(match row {
        Some((Some(Json(schema)), Some(at))) => Some((schema, at)),
        _ => None,
    })
}

/// Stores a freshly fetched schema.
pub async fn store_schema(
    store: &Store,
    id: DataSourceId,
    schema: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        store,
        "UPDATE data_sources SET schema_cache = $1, schema_updated_at = $2 WHERE id = $3",
        Json(schema),
        now,
        id.0
    )?;
    Ok(())
}

/// Gives a group access to a data source, or changes its `view_only` flag.
pub async fn link_group(store: &Store, id: DataSourceId, group: GroupId, view_only: bool) -> Result<()> {
    execute!(
        store,
        "INSERT INTO data_source_groups (data_source_id, group_id, view_only) VALUES ($1, $2, $3) \
             ON CONFLICT (data_source_id, group_id) DO UPDATE SET view_only = excluded.view_only",
        id.0,
        group.0,
        view_only
    )?;
    Ok(())
}

/// Takes a group's access to a data source away.
pub async fn unlink_group(store: &Store, id: DataSourceId, group: GroupId) -> Result<()> {
    execute!(store, "DELETE FROM data_source_groups WHERE data_source_id = $1 AND group_id = $2", id.0, group.0)?;
    Ok(())
}
