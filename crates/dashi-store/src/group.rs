//! Groups: permission bundles and, later, data-source access lists.

use chrono::{DateTime, Utc};
use dashi_core::{GroupId, GroupType, OrgId};
use sqlx::types::Json;

use crate::db::execute;
use crate::{Error, Result, Store, on_pool};

/// A group row.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: GroupId,
    pub org_id: OrgId,
    pub group_type: GroupType,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: i64,
    org_id: i64,
    #[sqlx(rename = "type")]
    group_type: String,
    name: String,
    permissions: Json<Vec<String>>,
    created_at: DateTime<Utc>,
}

impl From<GroupRow> for Group {
    fn from(row: GroupRow) -> Group {
        Group {
            id: GroupId(row.id),
            org_id: OrgId(row.org_id),
            group_type: GroupType::parse(&row.group_type),
            name: row.name,
            permissions: row.permissions.0,
            created_at: row.created_at,
        }
    }
}

const COLUMNS: &str = "id, org_id, type, name, permissions, created_at";

/// Creates a group.
pub async fn insert_group(
    store: &Store,
    org_id: OrgId,
    group_type: GroupType,
    name: &str,
    permissions: &[&str],
    now: DateTime<Utc>,
) -> Result<Group> {
    let id = on_pool!(store.writer(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO groups (org_id, type, name, permissions, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org_id.0)
        .bind(group_type.as_str())
        .bind(name)
        .bind(Json(permissions))
        .bind(now)
        .fetch_one(pool)
        .await
    })?;
    group_by_id(store, org_id, GroupId(id)).await?.ok_or(Error::NotFound { entity: "group", id: id.to_string() })
}

/// The group with this id in this organization.
pub async fn group_by_id(store: &Store, org_id: OrgId, id: GroupId) -> Result<Option<Group>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM groups WHERE id = $1 AND org_id = $2"));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, GroupRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(Group::from))
}

/// The group with this name in this organization (the built-in `admin` and `default`).
pub async fn group_by_name(store: &Store, org_id: OrgId, name: &str) -> Result<Option<Group>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM groups WHERE org_id = $1 AND name = $2 ORDER BY id LIMIT 1"
    ));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, GroupRow>(sql).bind(org_id.0).bind(name).fetch_optional(pool).await
    })?;
    Ok(row.map(Group::from))
}

/// Every group of an organization, oldest first.
pub async fn list_groups(store: &Store, org_id: OrgId) -> Result<Vec<Group>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM groups WHERE org_id = $1 ORDER BY id"));
    let rows =
        on_pool!(store.reader(), |pool| { sqlx::query_as::<_, GroupRow>(sql).bind(org_id.0).fetch_all(pool).await })?;
    Ok(rows.into_iter().map(Group::from).collect())
}

/// Renames a group.
pub async fn rename_group(store: &Store, id: GroupId, name: &str) -> Result<()> {
    execute!(store, "UPDATE groups SET name = $1 WHERE id = $2", name, id.0)?;
    Ok(())
}

/// Deletes a group; memberships and data-source links go with it (ON DELETE CASCADE).
pub async fn delete_group(store: &Store, id: GroupId) -> Result<()> {
    execute!(store, "DELETE FROM groups WHERE id = $1", id.0)?;
    Ok(())
}
