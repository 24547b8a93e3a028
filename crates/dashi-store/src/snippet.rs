//! Query snippets: named pieces of text the editor expands when a user types their trigger.
//!
//! A trigger is unique within an organization (Redash makes it unique across all of them);
//! a second snippet with the same trigger is [`Error::Duplicate`].

use chrono::{DateTime, Utc};
use dashi_core::{OrgId, UserId};

use crate::db::execute;
use crate::error::is_unique_violation;
use crate::{Error, Result, Store, on_pool};

/// Typed id of a query snippet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnippetId(pub i64);

impl std::fmt::Display for SnippetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A query snippet row.
#[derive(Debug, Clone)]
pub struct QuerySnippet {
    pub id: SnippetId,
    pub org_id: OrgId,
    pub trigger: String,
    pub description: String,
    pub snippet: String,
    /// Who made it; they (and admins) may change it.
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The text fields of a snippet, to create or replace.
#[derive(Debug, Clone)]
pub struct SnippetFields {
    pub trigger: String,
    pub description: String,
    pub snippet: String,
}

#[derive(sqlx::FromRow)]
struct SnippetRow {
    id: i64,
    org_id: i64,
    trigger: String,
    description: String,
    snippet: String,
    user_id: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<SnippetRow> for QuerySnippet {
    fn from(row: SnippetRow) -> QuerySnippet {
        QuerySnippet {
            id: SnippetId(row.id),
            org_id: OrgId(row.org_id),
            trigger: row.trigger,
            description: row.description,
            snippet: row.snippet,
            user_id: UserId(row.user_id),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str = "id, org_id, trigger, description, snippet, user_id, created_at, updated_at";

fn duplicate(error: sqlx::Error) -> Error {
    if is_unique_violation(&error) {
        Error::Duplicate { what: "a snippet with this trigger" }
    } else {
        Error::from(error)
    }
}

/// Creates a snippet owned by `user_id`.
pub async fn insert_snippet(
    store: &Store,
    org_id: OrgId,
    user_id: UserId,
    fields: &SnippetFields,
    now: DateTime<Utc>,
) -> Result<QuerySnippet> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO query_snippets (org_id, trigger, description, user_id, snippet, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, SnippetRow>(sql)
            .bind(org_id.0)
            .bind(&fields.trigger)
            .bind(&fields.description)
            .bind(user_id.0)
            .bind(&fields.snippet)
            .bind(now)
            .fetch_one(pool)
            .await
    })
    .map_err(duplicate)?;
    Ok(row.into())
}

/// The snippet with this id in this organization.
pub async fn snippet_by_id(store: &Store, org_id: OrgId, id: SnippetId) -> Result<Option<QuerySnippet>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM query_snippets WHERE id = $1 AND org_id = $2"));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, SnippetRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(QuerySnippet::from))
}

/// Every snippet of an organization, by trigger.
pub async fn list_snippets(store: &Store, org_id: OrgId) -> Result<Vec<QuerySnippet>> {
    let sql =
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM query_snippets WHERE org_id = $1 ORDER BY trigger, id"));
    let rows =
        on_pool!(store.reader(), |pool| sqlx::query_as::<_, SnippetRow>(sql).bind(org_id.0).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(QuerySnippet::from).collect())
}

/// Replaces a snippet's text fields.
pub async fn update_snippet(store: &Store, id: SnippetId, fields: &SnippetFields, now: DateTime<Utc>) -> Result<()> {
    execute!(
        store,
        "UPDATE query_snippets SET trigger = $1, description = $2, snippet = $3, updated_at = $4 WHERE id = $5",
        &fields.trigger,
        &fields.description,
        &fields.snippet,
        now,
        id.0
    )
    .map(drop)
    .map_err(duplicate)
}

/// Deletes a snippet.
pub async fn delete_snippet(store: &Store, id: SnippetId) -> Result<()> {
    execute!(store, "DELETE FROM query_snippets WHERE id = $1", id.0)?;
    Ok(())
}
