//! Login sessions, stored server-side so that logout, disabling a user or changing a password
//! ends them everywhere. The cookie holds a random token; only its SHA-256 is stored here.

use chrono::{DateTime, Utc};
use dashi_core::UserId;

use crate::db::execute;
use crate::{Result, Store, on_pool};

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 (hex) of the cookie token.
    pub id: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub remember: bool,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    user_id: i64,
    csrf_token: String,
    remember: bool,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Session {
        Session {
            id: row.id,
            user_id: UserId(row.user_id),
            csrf_token: row.csrf_token,
            remember: row.remember,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
        }
    }
}

/// Stores a new session.
pub async fn insert_session(store: &Store, session: &Session) -> Result<()> {
    execute!(
        store,
        "INSERT INTO sessions (id, user_id, csrf_token, remember, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &session.id,
        session.user_id.0,
        &session.csrf_token,
        session.remember,
        session.created_at,
        session.last_seen_at,
        session.expires_at
    )?;
    Ok(())
}

/// The session with this id if it has not expired at `now`.
pub async fn live_session(store: &Store, id: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, SessionRow>(
            "SELECT id, user_id, csrf_token, remember, created_at, last_seen_at, expires_at \
             FROM sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(Session::from))
}

/// Slides a session's expiry forward (sessions are renewed on use, as Redash's are).
pub async fn extend_session(store: &Store, id: &str, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()> {
    execute!(store, "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3", now, expires_at, id)?;
    Ok(())
}

/// Ends one session.
pub async fn delete_session(store: &Store, id: &str) -> Result<()> {
    execute!(store, "DELETE FROM sessions WHERE id = $1", id)?;
    Ok(())
}

/// Ends every session of a user except `keep` (the one making the change, if any).
pub async fn delete_sessions_of_user(store: &Store, user_id: UserId, keep: Option<&str>) -> Result<()> {
    execute!(store, "DELETE FROM sessions WHERE user_id = $1 AND id <> $2", user_id.0, keep.unwrap_or(""))?;
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn prune_sessions(store: &Store, now: DateTime<Utc>) -> Result<u64> {
    let removed = on_pool!(store.writer(), |pool| {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(removed)
}
