//! Object grants (Redash's `access_permissions`): a user given `view`, `modify` or `delete` on
//! one query or dashboard by its owner or an admin. Only `modify` grants change what a user may
//! do (Redash's `can_modify`); the others are recorded and listed.

use chrono::{DateTime, Utc};
use dashi_core::UserId;

use crate::db::execute;
use crate::{Result, Store, on_pool};

/// What a grant is on: Redash stores the table name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclObject {
    Query(i64),
    Dashboard(i64),
}

impl AclObject {
    fn parts(self) -> (&'static str, i64) {
        match self {
            AclObject::Query(id) => ("queries", id),
            AclObject::Dashboard(id) => ("dashboards", id),
        }
    }
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub id: i64,
    pub object_type: String,
    pub object_id: i64,
    pub access_type: String,
    pub grantor_id: UserId,
    pub grantee_id: UserId,
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: i64,
    object_type: String,
    object_id: i64,
    access_type: String,
    grantor_id: i64,
    grantee_id: i64,
}

impl From<GrantRow> for AccessGrant {
    fn from(row: GrantRow) -> AccessGrant {
        AccessGrant {
            id: row.id,
            object_type: row.object_type,
            object_id: row.object_id,
            access_type: row.access_type,
            grantor_id: UserId(row.grantor_id),
            grantee_id: UserId(row.grantee_id),
        }
    }
}

const COLUMNS: &str = "id, object_type, object_id, access_type, grantor_id, grantee_id";

/// Grants `access_type` on `object` to `grantee`; granting it again returns the existing grant.
pub async fn grant_access(
    store: &Store,
    object: AclObject,
    access_type: &str,
    grantor: UserId,
    grantee: UserId,
    now: DateTime<Utc>,
) -> Result<AccessGrant> {
    let (object_type, object_id) = object.parts();
    execute!(
        store,
        "INSERT INTO access_permissions (object_type, object_id, access_type, grantor_id, grantee_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (object_type, object_id, access_type, grantee_id) DO NOTHING",
        object_type,
        object_id,
        access_type,
        grantor.0,
        grantee.0,
        now
    )?;
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM access_permissions \
         WHERE object_type = $1 AND object_id = $2 AND access_type = $3 AND grantee_id = $4"
    ));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, GrantRow>(sql)
            .bind(object_type)
            .bind(object_id)
            .bind(access_type)
            .bind(grantee.0)
            .fetch_one(pool)
            .await
    })?;
    Ok(row.into())
}

/// Takes `access_type` on `object` away from `grantee`, if they had it.
pub async fn revoke_access(store: &Store, object: AclObject, access_type: &str, grantee: UserId) -> Result<()> {
    let (object_type, object_id) = object.parts();
    execute!(
        store,
        "DELETE FROM access_permissions WHERE object_type = $1 AND object_id = $2 AND access_type = $3 AND grantee_id = $4",
        object_type,
        object_id,
        access_type,
        grantee.0
    )?;
    Ok(())
}

/// Every grant on `object`, oldest first.
pub async fn access_grants(store: &Store, object: AclObject) -> Result<Vec<AccessGrant>> {
    let (object_type, object_id) = object.parts();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM access_permissions WHERE object_type = $1 AND object_id = $2 ORDER BY id"
    ));
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, GrantRow>(sql).bind(object_type).bind(object_id).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(AccessGrant::from).collect())
}

/// Whether `user` holds `access_type` on `object`.
pub async fn has_access_grant(store: &Store, object: AclObject, user: UserId, access_type: &str) -> Result<bool> {
    let (object_type, object_id) = object.parts();
    let found = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM access_permissions \
             WHERE object_type = $1 AND object_id = $2 AND access_type = $3 AND grantee_id = $4",
        )
        .bind(object_type)
        .bind(object_id)
        .bind(access_type)
        .bind(user.0)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.is_some())
}
