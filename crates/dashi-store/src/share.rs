//! Object API keys: a dashboard's public share token (Redash's `api_keys` rows) and the lookup
//! of a query by its own key.
//!
//! A dashboard has at most one active share key; unsharing deactivates it (the row stays, as in
//! Redash), and sharing again makes a new one. Only active keys authenticate.

use chrono::{DateTime, Utc};
use dashi_core::{OrgId, UserId};

use crate::dashboard::DashboardId;
use crate::db::execute;
use crate::query::QueryId;
use crate::{Result, Store, on_pool};

/// `api_keys.object_type` of a dashboard share key (Redash writes the table name).
const DASHBOARDS: &str = "dashboards";

/// An active share key of a dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareKey {
    pub id: i64,
    pub org_id: OrgId,
    pub api_key: String,
    pub dashboard_id: DashboardId,
}

#[derive(sqlx::FromRow)]
struct ShareRow {
    id: i64,
    org_id: i64,
    api_key: String,
    object_id: i64,
}

impl From<ShareRow> for ShareKey {
    fn from(row: ShareRow) -> ShareKey {
        ShareKey {
            id: row.id,
            org_id: OrgId(row.org_id),
            api_key: row.api_key,
            dashboard_id: DashboardId(row.object_id),
        }
    }
}

/// The dashboard's active share key, if it is shared.
pub async fn share_key_of(store: &Store, dashboard_id: DashboardId) -> Result<Option<ShareKey>> {
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, ShareRow>(
            "SELECT id, org_id, api_key, object_id FROM api_keys \
             WHERE object_type = $1 AND object_id = $2 AND active ORDER BY id DESC LIMIT 1",
        )
        .bind(DASHBOARDS)
        .bind(dashboard_id.0)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(ShareKey::from))
}

/// Stores `api_key` as the dashboard's active share key.
pub async fn insert_share_key(
    store: &Store,
    org_id: OrgId,
    dashboard_id: DashboardId,
    created_by: UserId,
    api_key: &str,
    now: DateTime<Utc>,
) -> Result<ShareKey> {
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, ShareRow>(
            "INSERT INTO api_keys (org_id, api_key, active, object_type, object_id, created_by_id, created_at, updated_at) \
             VALUES ($1, $2, TRUE, $3, $4, $5, $6, $6) RETURNING id, org_id, api_key, object_id",
        )
        .bind(org_id.0)
        .bind(api_key)
        .bind(DASHBOARDS)
        .bind(dashboard_id.0)
        .bind(created_by.0)
        .bind(now)
        .fetch_one(pool)
        .await
    })?;
    Ok(row.into())
}

/// Deactivates every share key of the dashboard; their links stop working at once.
pub async fn deactivate_share_keys(store: &Store, dashboard_id: DashboardId, now: DateTime<Utc>) -> Result<()> {
    execute!(
        store,
        "UPDATE api_keys SET active = FALSE, updated_at = $1 WHERE object_type = $2 AND object_id = $3 AND active",
        now,
        DASHBOARDS,
        dashboard_id.0
    )?;
    Ok(())
}

/// The active share key with this token.
pub async fn share_key_by_token(store: &Store, api_key: &str) -> Result<Option<ShareKey>> {
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, ShareRow>(
            "SELECT id, org_id, api_key, object_id FROM api_keys WHERE api_key = $1 AND object_type = $2 AND active",
        )
        .bind(api_key)
        .bind(DASHBOARDS)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(ShareKey::from))
}

/// The organization and id of the query whose own API key this is (keys are unique).
pub async fn query_by_api_key(store: &Store, api_key: &str) -> Result<Option<(OrgId, QueryId)>> {
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (i64, i64)>("SELECT org_id, id FROM queries WHERE api_key = $1")
            .bind(api_key)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|(org_id, id)| (OrgId(org_id), QueryId(id))))
}

/// Whether a widget of the dashboard shows a visualization of the query.
pub async fn dashboard_shows_query(store: &Store, dashboard_id: DashboardId, query_id: QueryId) -> Result<bool> {
    let found = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT w.id FROM widgets w JOIN visualizations v ON v.id = w.visualization_id \
             WHERE w.dashboard_id = $1 AND v.query_id = $2 LIMIT 1",
        )
        .bind(dashboard_id.0)
        .bind(query_id.0)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.is_some())
}
