//! Organizations. A single-org install has exactly one, with slug `default`.

use chrono::{DateTime, Utc};
use dashi_core::OrgId;
use sqlx::types::Json;

use crate::db::execute;
use crate::{Result, Store, on_pool};

/// An organization row.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
    /// Redash's document: `{"settings": {…}, "google_apps_domains": […], …}`.
    pub settings: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    name: String,
    slug: String,
    settings: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<OrgRow> for Org {
    fn from(row: OrgRow) -> Org {
        Org {
            id: OrgId(row.id),
            name: row.name,
            slug: row.slug,
            settings: row.settings.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str = "id, name, slug, settings, created_at, updated_at";

/// How many organizations exist; zero means first-run setup has not happened.
pub async fn count_orgs(store: &Store) -> Result<i64> {
    let count = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organizations").fetch_one(pool).await
    })?;
    Ok(count)
}

/// The organization with this slug, if any.
pub async fn org_by_slug(store: &Store, slug: &str) -> Result<Option<Org>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM organizations WHERE slug = $1"));
    let row =
        on_pool!(store.reader(), |pool| { sqlx::query_as::<_, OrgRow>(sql).bind(slug).fetch_optional(pool).await })?;
    Ok(row.map(Org::from))
}

/// The organization with this id, if any.
pub async fn org_by_id(store: &Store, id: OrgId) -> Result<Option<Org>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM organizations WHERE id = $1"));
    let row =
        on_pool!(store.reader(), |pool| { sqlx::query_as::<_, OrgRow>(sql).bind(id.0).fetch_optional(pool).await })?;
    Ok(row.map(Org::from))
}

/// Replaces the settings document of an organization.
pub async fn update_org_settings(
    store: &Store,
    id: OrgId,
    settings: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        store,
        "UPDATE organizations SET settings = $1, updated_at = $2 WHERE id = $3",
        Json(settings),
        now,
        id.0
    )?;
    Ok(())
}

/// The first organization with its built-in groups and its first administrator.
#[derive(Debug, Clone)]
pub struct FirstOrg {
    pub name: String,
    pub slug: String,
    pub settings: serde_json::Value,
    pub admin_name: String,
    pub admin_email: String,
    pub admin_password_hash: String,
    pub admin_api_key: String,
    pub admin_group_permissions: &'static [&'static str],
    pub default_group_permissions: &'static [&'static str],
}

/// Creates an organization, its `admin` and `default` groups and an admin who belongs to both,
/// in one transaction: a failure leaves nothing behind, and a concurrent second setup fails on
/// the unique slug instead of creating a second org.
pub async fn create_org_with_admin(
    store: &Store,
    first: &FirstOrg,
    now: DateTime<Utc>,
) -> Result<(OrgId, dashi_core::UserId)> {
    use crate::error::is_unique_violation;
    use crate::user::UserDetails;
    use crate::{Error, in_transaction};
    use dashi_core::{ADMIN_GROUP_NAME, DEFAULT_GROUP_NAME, GroupType};

    let details = UserDetails { is_email_verified: true, ..UserDetails::default() };
    let search_text = format!("{} {}", first.admin_name.to_lowercase(), first.admin_email.to_lowercase());
    in_transaction!(store, |conn| {
        let org_id = match sqlx::query_scalar::<_, i64>(
            "INSERT INTO organizations (name, slug, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(&first.name)
        .bind(&first.slug)
        .bind(Json(&first.settings))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        {
            Err(error) if is_unique_violation(&error) => return Err(Error::Duplicate { what: "an organization with this slug" }),
            other => other?,
        };
        let mut group_ids = Vec::new();
        for (name, permissions) in
            [(ADMIN_GROUP_NAME, first.admin_group_permissions), (DEFAULT_GROUP_NAME, first.default_group_permissions)]
        {
            let group_id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO groups (org_id, type, name, permissions, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(org_id)
            .bind(GroupType::Builtin.as_str())
            .bind(name)
            .bind(Json(permissions))
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            group_ids.push(group_id);
        }
        let user_id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (org_id, name, email, password_hash, api_key, details, search_text, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(org_id)
        .bind(&first.admin_name)
        .bind(&first.admin_email)
        .bind(&first.admin_password_hash)
        .bind(&first.admin_api_key)
        .bind(Json(&details))
        .bind(&search_text)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        for group_id in &group_ids {
            sqlx::query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2)")
                .bind(user_id)
                .bind(group_id)
                .execute(&mut *conn)
                .await?;
        }
        Ok((OrgId(org_id), dashi_core::UserId(user_id)))
    })
}
