//! Favorites: a user's stars on queries and dashboards.
//!
//! Redash names the starred object by its class name (`Query`, `Dashboard`) and allows one star
//! per user and object; starring twice is not an error.

use chrono::{DateTime, Utc};
use dashi_core::{OrgId, UserId};

use crate::db::execute;
use crate::{Result, Store, on_pool};

/// What kind of object a star is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FavoriteKind {
    Query,
    Dashboard,
}

impl FavoriteKind {
    /// Redash's `favorites.object_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            FavoriteKind::Query => "Query",
            FavoriteKind::Dashboard => "Dashboard",
        }
    }
}

/// Stars an object for a user; a second star is ignored.
pub async fn add_favorite(
    store: &Store,
    org_id: OrgId,
    user_id: UserId,
    kind: FavoriteKind,
    object_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        store,
        "INSERT INTO favorites (org_id, object_type, object_id, user_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (object_type, object_id, user_id) DO NOTHING",
        org_id.0,
        kind.as_str(),
        object_id,
        user_id.0,
        now
    )?;
    Ok(())
}

/// Removes a user's star from an object, if there is one.
pub async fn remove_favorite(store: &Store, user_id: UserId, kind: FavoriteKind, object_id: i64) -> Result<()> {
    execute!(
        store,
        "DELETE FROM favorites WHERE object_type = $1 AND object_id = $2 AND user_id = $3",
        kind.as_str(),
        object_id,
        user_id.0
    )?;
    Ok(())
}

/// Whether the user starred the object.
pub async fn is_favorite(store: &Store, user_id: UserId, kind: FavoriteKind, object_id: i64) -> Result<bool> {
    let found = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM favorites WHERE object_type = $1 AND object_id = $2 AND user_id = $3",
        )
        .bind(kind.as_str())
        .bind(object_id)
        .bind(user_id.0)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.is_some())
}
