//! Leases: the right of exactly one process to act (the active scheduler, later a job's runner).
//!
//! A lease is a row with a holder, an expiry and a fencing token that only grows. The holder
//! renews it before it expires; anyone may take an expired one, and taking it from someone else
//! raises the fence, so a write made under a stale fence can be told apart and rejected.
//! Releasing expires the row instead of deleting it, because a deleted row would restart the
//! fence at 1. Times are bound from Rust on both dialects (SQLite stores RFC 3339 text, which
//! compares correctly only when every row is written the same way), never taken from SQL.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Result, Store, on_pool};

/// The current row of a lease, whether or not it has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub fence: i64,
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// Whether the lease still binds at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at >= now
    }
}

#[derive(sqlx::FromRow)]
struct LeaseRow {
    name: String,
    holder: String,
    fence: i64,
    expires_at: DateTime<Utc>,
}

/// Takes the lease `name` for `holder` until `now + ttl`, or renews it if `holder` has it.
///
/// Returns the fence when `holder` holds the lease afterwards, `None` when someone else holds a
/// live one. Renewing keeps the fence; taking the lease over (or creating it) gives a fence
/// larger than any before. One statement, so two racing holders cannot both win.
pub async fn acquire_or_renew_lease(
    store: &Store,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    let expires_at = now.checked_add_signed(ttl).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let fence = on_pool!(store.writer(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO leases (name, holder, fence, expires_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (name) DO UPDATE SET \
                 fence = CASE WHEN leases.holder = excluded.holder THEN leases.fence ELSE leases.fence + 1 END, \
                 holder = excluded.holder, \
                 expires_at = excluded.expires_at \
             WHERE leases.expires_at < $4 OR leases.holder = excluded.holder \
             RETURNING fence",
        )
        .bind(name)
        .bind(holder)
        .bind(expires_at)
        .bind(now)
        .fetch_optional(pool)
        .await
    })?;
    Ok(fence)
}

/// Gives the lease up if `holder` has it, so another process may take it at once. The row
/// stays (expired) to keep its fence. Returns whether `holder` had it.
pub async fn release_lease(store: &Store, name: &str, holder: &str) -> Result<bool> {
    let result = on_pool!(store.writer(), |pool| {
        sqlx::query("UPDATE leases SET expires_at = $3 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .bind(DateTime::<Utc>::UNIX_EPOCH)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(result > 0)
}

/// The row of the lease `name`, live or expired; `None` if nobody ever took it.
pub async fn lease_holder(store: &Store, name: &str) -> Result<Option<Lease>> {
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, LeaseRow>("SELECT name, holder, fence, expires_at FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|row| Lease { name: row.name, holder: row.holder, fence: row.fence, expires_at: row.expires_at }))
}
