//! Users and their group memberships.

use chrono::{DateTime, Utc};
use dashi_core::{GroupId, OrgId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;

use crate::db::execute;
use crate::error::is_unique_violation;
use crate::page::{ListSql, Page, PageRequest, Value, bind_values};
use crate::{Error, Result, Store, in_transaction, on_pool};

/// A user row with its group ids.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub name: String,
    pub email: String,
    /// None for users who sign in through SSO only.
    pub password_hash: Option<String>,
    pub api_key: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub active_at: Option<DateTime<Utc>>,
    pub details: UserDetails,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub group_ids: Vec<GroupId>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// Redash's `users.details` document. Unknown keys from an import are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image_url: Option<String>,
    #[serde(default)]
    pub is_invitation_pending: bool,
    #[serde(default = "yes")]
    pub is_email_verified: bool,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn yes() -> bool {
    true
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub org_id: OrgId,
    pub name: String,
    /// Already normalized (lower-cased).
    pub email: String,
    pub password_hash: Option<String>,
    pub api_key: String,
    pub details: UserDetails,
    pub group_ids: Vec<GroupId>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    org_id: i64,
    name: String,
    email: String,
    password_hash: Option<String>,
    api_key: String,
    disabled_at: Option<DateTime<Utc>>,
    active_at: Option<DateTime<Utc>>,
    details: Json<UserDetails>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserRow {
    fn into_user(self, group_ids: Vec<GroupId>) -> User {
        User {
            id: UserId(self.id),
            org_id: OrgId(self.org_id),
            name: self.name,
            email: self.email,
            password_hash: self.password_hash,
            api_key: self.api_key,
            disabled_at: self.disabled_at,
            active_at: self.active_at,
            details: self.details.0,
            created_at: self.created_at,
            updated_at: self.updated_at,
            group_ids,
        }
    }
}

const COLUMNS: &str = "id, org_id, name, email, password_hash, api_key, disabled_at, active_at, \
                       details, created_at, updated_at";

/// The lower-cased text that user search matches against (Unicode-aware, unlike SQLite's lower()).
fn search_text(name: &str, email: &str) -> String {
    format!("{} {}", name.to_lowercase(), email.to_lowercase())
}

/// Inserts a user and their memberships in one transaction.
pub async fn insert_user(store: &Store, user: &NewUser, now: DateTime<Utc>) -> Result<User> {
    let id = in_transaction!(store, |conn| {
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (org_id, name, email, password_hash, api_key, details, search_text, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(user.org_id.0)
        .bind(&user.name)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(&user.api_key)
        .bind(Json(&user.details))
        .bind(search_text(&user.name, &user.email))
        .bind(now)
        .fetch_one(&mut *conn)
        .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => Err(Error::Duplicate { what: "a user with this email" }),
            Err(error) => Err(Error::from(error)),
            Ok(id) => {
                for group_id in &user.group_ids {
                    sqlx::query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2)")
                        .bind(id)
                        .bind(group_id.0)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(id)
            }
        }
    })?;
    user_by_id(store, user.org_id, UserId(id)).await?.ok_or(Error::NotFound { entity: "user", id: id.to_string() })
}

async fn group_ids_of(store: &Store, user_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = ListSql::default();
    let placeholders: Vec<String> = user_ids.iter().map(|id| list.bind(Value::Int(*id))).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT user_id, group_id FROM user_groups WHERE user_id IN ({}) ORDER BY group_id",
        placeholders.join(", ")
    ));
    let pairs = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, (i64, i64)>(sql), &list.values).fetch_all(pool).await
    })?;
    Ok(pairs)
}

async fn with_groups(store: &Store, rows: Vec<UserRow>) -> Result<Vec<User>> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let pairs = group_ids_of(store, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let groups = pairs.iter().filter(|(user, _)| *user == row.id).map(|(_, g)| GroupId(*g)).collect();
            row.into_user(groups)
        })
        .collect())
}

async fn one_user(store: &Store, condition: &'static str, value: Value) -> Result<Option<User>> {
    let mut list = ListSql::default();
    let placeholder = list.bind(value);
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE {condition} = {placeholder}"));
    let row = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, UserRow>(sql), &list.values).fetch_optional(pool).await
    })?;
    Ok(with_groups(store, row.into_iter().collect()).await?.pop())
}

/// The user with this id in this organization.
pub async fn user_by_id(store: &Store, org_id: OrgId, id: UserId) -> Result<Option<User>> {
    Ok(one_user(store, "id", Value::Int(id.0)).await?.filter(|user| user.org_id == org_id))
}

/// The user with this (normalized) e-mail in this organization.
pub async fn user_by_email(store: &Store, org_id: OrgId, email: &str) -> Result<Option<User>> {
    let mut list = ListSql::default();
    let org = list.bind(Value::Int(org_id.0));
    let mail = list.bind(Value::Text(email.to_owned()));
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users WHERE org_id = {org} AND email = {mail}"));
    let row = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, UserRow>(sql), &list.values).fetch_optional(pool).await
    })?;
    Ok(with_groups(store, row.into_iter().collect()).await?.pop())
}

/// The user owning this personal API key, in any organization.
pub async fn user_by_api_key(store: &Store, api_key: &str) -> Result<Option<User>> {
    one_user(store, "api_key", Value::Text(api_key.to_owned())).await
}

/// Sort orders Redash offers for the user list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrder {
    Name,
    CreatedAt,
    ActiveAt,
    Groups,
}

/// Filters of the user list (`GET /api/users`).
#[derive(Debug, Clone)]
pub struct UserFilter {
    /// Substring of name or e-mail, any case.
    pub search: Option<String>,
    pub disabled: bool,
    /// `Some(true)`: only pending invitations; `Some(false)`: only accepted; `None`: both.
    pub pending: Option<bool>,
    pub order: UserOrder,
    pub descending: bool,
}

/// Escapes LIKE wildcards so a search for `50%` means the text, not a pattern.
pub(crate) fn like_pattern(term: &str) -> String {
    let escaped = term.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// One page of an organization's users.
pub async fn list_users(store: &Store, org_id: OrgId, filter: &UserFilter, page: PageRequest) -> Result<Page<User>> {
    let mut list = ListSql::default();
    let org = list.bind(Value::Int(org_id.0));
    list.and(format!("org_id = {org}"));
    list.and(if filter.disabled { "disabled_at IS NOT NULL".into() } else { "disabled_at IS NULL".into() });
    if let Some(term) = filter.search.as_deref().filter(|term| !term.trim().is_empty()) {
        let pattern = list.bind(Value::Text(like_pattern(term.trim())));
        list.and(format!("search_text LIKE {pattern} ESCAPE '\\'"));
    }
    let where_clause = list.where_clause();
    let count_sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM users{where_clause}"));
    let rows_sql_base = format!("SELECT {COLUMNS} FROM users{where_clause}");
    // Pending is a flag inside the details document, so it is filtered after loading; the
    // list of pending users is small in practice, and this keeps JSON operators out of SQL.
    if let Some(pending) = filter.pending {
        let sql = sqlx::AssertSqlSafe(format!("{rows_sql_base} ORDER BY {}", order_by(filter)));
        let rows = on_pool!(store.reader(), |pool| {
            bind_values!(sqlx::query_as::<_, UserRow>(sql), &list.values).fetch_all(pool).await
        })?;
        let matching: Vec<UserRow> =
            rows.into_iter().filter(|row| row.details.0.is_invitation_pending == pending).collect();
        let count = matching.len() as i64;
        let start = (page.offset() as usize).min(matching.len());
        let end = (start + page.page_size as usize).min(matching.len());
        let window: Vec<UserRow> = matching.into_iter().skip(start).take(end - start).collect();
        let items = with_groups(store, window).await?;
        return Ok(Page { count, page: page.page, page_size: page.page_size, items });
    }
    let count = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_scalar::<_, i64>(count_sql), &list.values).fetch_one(pool).await
    })?;
    let limit = list.bind(Value::Int(page.page_size));
    let offset = list.bind(Value::Int(page.offset()));
    let sql =
        sqlx::AssertSqlSafe(format!("{rows_sql_base} ORDER BY {} LIMIT {limit} OFFSET {offset}", order_by(filter)));
    let rows = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, UserRow>(sql), &list.values).fetch_all(pool).await
    })?;
    let items = with_groups(store, rows).await?;
    Ok(Page { count, page: page.page, page_size: page.page_size, items })
}

fn order_by(filter: &UserFilter) -> String {
    let column = match filter.order {
        UserOrder::Name => "name",
        UserOrder::CreatedAt => "created_at",
        UserOrder::ActiveAt => "active_at",
        UserOrder::Groups => "(SELECT COUNT(*) FROM user_groups WHERE user_groups.user_id = users.id)",
    };
    let direction = if filter.descending { "DESC" } else { "ASC" };
    // The id tie-break keeps pages stable when many rows share a value.
    format!("{column} {direction}, id {direction}")
}

/// Changes to a user's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub details: Option<UserDetails>,
    /// Replaces the memberships when given.
    pub group_ids: Option<Vec<GroupId>>,
}

/// Applies `changes` to a user in one transaction.
pub async fn update_user(store: &Store, user: &User, changes: &UserChanges, now: DateTime<Utc>) -> Result<User> {
    let name = changes.name.clone().unwrap_or_else(|| user.name.clone());
    let email = changes.email.clone().unwrap_or_else(|| user.email.clone());
    let password_hash = changes.password_hash.clone().or_else(|| user.password_hash.clone());
    let details = changes.details.clone().unwrap_or_else(|| user.details.clone());
    in_transaction!(store, |conn| {
        let updated = sqlx::query(
            "UPDATE users SET name = $1, email = $2, password_hash = $3, details = $4, search_text = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(&name)
        .bind(&email)
        .bind(&password_hash)
        .bind(Json(&details))
        .bind(search_text(&name, &email))
        .bind(now)
        .bind(user.id.0)
        .execute(&mut *conn)
        .await;
        match updated {
            Err(error) if is_unique_violation(&error) => Err(Error::Duplicate { what: "a user with this email" }),
            Err(error) => Err(Error::from(error)),
            Ok(_) => {
                if let Some(group_ids) = &changes.group_ids {
                    sqlx::query("DELETE FROM user_groups WHERE user_id = $1")
                        .bind(user.id.0)
                        .execute(&mut *conn)
                        .await?;
                    for group_id in group_ids {
                        sqlx::query("INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2)")
                            .bind(user.id.0)
                            .bind(group_id.0)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                Ok(())
            }
        }
    })?;
    user_by_id(store, user.org_id, user.id).await?.ok_or(Error::NotFound { entity: "user", id: user.id.to_string() })
}

/// Disables (`Some(now)`) or enables (`None`) a user.
pub async fn set_disabled(
    store: &Store,
    id: UserId,
    disabled_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(store, "UPDATE users SET disabled_at = $1, updated_at = $2 WHERE id = $3", disabled_at, now, id.0)?;
    Ok(())
}

/// Replaces a user's personal API key.
pub async fn set_api_key(store: &Store, id: UserId, api_key: &str, now: DateTime<Utc>) -> Result<()> {
    execute!(store, "UPDATE users SET api_key = $1, updated_at = $2 WHERE id = $3", api_key, now, id.0)?;
    Ok(())
}

/// Records that a user did something now (shown as `active_at`). Does not bump `updated_at`,
/// as Redash's activity tracking does not.
pub async fn touch_active_at(store: &Store, id: UserId, now: DateTime<Utc>) -> Result<()> {
    execute!(store, "UPDATE users SET active_at = $1 WHERE id = $2", now, id.0)?;
    Ok(())
}

/// Deletes a user (Redash allows this only for pending invitations; the caller checks).
pub async fn delete_user(store: &Store, id: UserId) -> Result<()> {
    execute!(store, "DELETE FROM users WHERE id = $1", id.0)?;
    Ok(())
}

/// Adds a user to a group; adding twice is a no-op.
pub async fn add_member(store: &Store, user_id: UserId, group_id: GroupId) -> Result<()> {
    execute!(
        store,
        "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id.0,
        group_id.0
    )?;
    Ok(())
}

/// Removes a user from a group.
pub async fn remove_member(store: &Store, user_id: UserId, group_id: GroupId) -> Result<()> {
    execute!(store, "DELETE FROM user_groups WHERE user_id = $1 AND group_id = $2", user_id.0, group_id.0)?;
    Ok(())
}

/// Every member of a group, by name.
pub async fn members_of(store: &Store, group_id: GroupId) -> Result<Vec<User>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id IN (SELECT user_id FROM user_groups WHERE group_id = $1) ORDER BY name, id"
    ));
    let rows =
        on_pool!(store.reader(), |pool| { sqlx::query_as::<_, UserRow>(sql).bind(group_id.0).fetch_all(pool).await })?;
    with_groups(store, rows).await
}
