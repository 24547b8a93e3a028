//! The audit log (`events`), as Redash records it.

use chrono::{DateTime, Utc};
use dashi_core::{OrgId, UserId};
use sqlx::types::Json;

use crate::page::{Page, PageRequest};
use crate::{Result, Store, on_pool};

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// Everything else Redash keeps: user name, ip, user agent, api key, …
    pub additional_properties: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Appends an event.
pub async fn record_event(store: &Store, event: &NewEvent) -> Result<()> {
    on_pool!(store.writer(), |pool| {
        sqlx::query(
            "INSERT INTO events (org_id, user_id, action, object_type, object_id, additional_properties, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(event.org_id.0)
        .bind(event.user_id.map(|id| id.0))
        .bind(&event.action)
        .bind(&event.object_type)
        .bind(&event.object_id)
        .bind(Json(&event.additional_properties))
        .bind(event.created_at)
        .execute(pool)
        .await
        .map(drop)
    })?;
    Ok(())
}

/// Events of an organization with this action, newest first (for tests and the audit page).
pub async fn events_with_action(
    store: &Store,
    org_id: OrgId,
    action: &str,
) -> Result<Vec<(Option<i64>, String, Option<String>)>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (Option<i64>, String, Option<String>)>(
            "SELECT user_id, object_type, object_id FROM events WHERE org_id = $1 AND action = $2 ORDER BY id DESC",
        )
        .bind(org_id.0)
        .bind(action)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows)
}

/// A recorded event, with the name of its user if they still exist.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub org_id: OrgId,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub additional_properties: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    org_id: i64,
    user_id: Option<i64>,
    user_name: Option<String>,
    action: String,
    object_type: String,
    object_id: Option<String>,
    additional_properties: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
}

/// One page of an organization's events, newest first (`GET /api/events`).
pub async fn list_events(store: &Store, org_id: OrgId, request: PageRequest) -> Result<Page<Event>> {
    let count = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events WHERE org_id = $1")
            .bind(org_id.0)
            .fetch_one(pool)
            .await
    })?;
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, EventRow>(
            "SELECT events.id, events.org_id, events.user_id, users.name AS user_name, events.action, events.object_type, \
             events.object_id, events.additional_properties, events.created_at FROM events \
             LEFT JOIN users ON users.id = events.user_id WHERE events.org_id = $1 \
             ORDER BY events.created_at DESC, events.id DESC LIMIT $2 OFFSET $3",
        )
        .bind(org_id.0)
        .bind(request.page_size)
        .bind(request.offset())
        .fetch_all(pool)
        .await
    })?;
    let items = rows
        .into_iter()
        .map(|row| Event {
            id: row.id,
            org_id: OrgId(row.org_id),
            user_id: row.user_id.map(UserId),
            user_name: row.user_name,
            action: row.action,
            object_type: row.object_type,
            object_id: row.object_id,
            additional_properties: row.additional_properties.0,
            created_at: row.created_at,
        })
        .collect();
    Ok(Page { count, page: request.page, page_size: request.page_size, items })
}

/// Deletes up to `batch` events recorded before `before`, oldest first; returns how many went.
/// Redash keeps events forever (its issue #7660: a 94 GB table); retention calls this until it
/// returns less than `batch`.
pub async fn prune_events(store: &Store, before: DateTime<Utc>, batch: i64) -> Result<u64> {
    let deleted = on_pool!(store.writer(), |pool| {
        sqlx::query(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(deleted)
}
