//! The audit log (`events`), as Redash records it.

use chrono::{DateTime, Utc};
use dashi_core::{OrgId, UserId};
use sqlx::types::Json;

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
pub async fn events_with_action(store: &Store, org_id: OrgId, action: &str) -> Result<Vec<(Option<i64>, String, Option<String>)>> {
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
