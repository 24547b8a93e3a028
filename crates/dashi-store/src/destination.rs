//! Alert destinations (`notification_destinations`): where notifications go, with their options
//! encrypted like a data source's. A name is unique within an organization; a second one is
//! [`Error::Duplicate`].

use chrono::{DateTime, Utc};
use dashi_core::{OrgId, UserId};

use crate::db::execute;
use crate::error::is_unique_violation;
use crate::{Error, Result, Store, on_pool};

/// Typed id of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestinationId(pub i64);

impl std::fmt::Display for DestinationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A destination row.
#[derive(Debug, Clone)]
pub struct Destination {
    pub id: DestinationId,
    pub org_id: OrgId,
    /// Who created it.
    pub user_id: UserId,
    pub name: String,
    /// Redash's type name (`slack`, `email`, …); never renamed.
    pub type_name: String,
    /// The options as an [`dashi_core::OptionsCipher`] token.
    pub encrypted_options: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a destination is made of, to create or replace.
#[derive(Debug, Clone)]
pub struct DestinationFields {
    pub name: String,
    pub type_name: String,
    pub encrypted_options: String,
}

#[derive(sqlx::FromRow)]
struct DestinationRow {
    id: i64,
    org_id: i64,
    user_id: i64,
    name: String,
    #[sqlx(rename = "type")]
    type_name: String,
    encrypted_options: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<DestinationRow> for Destination {
    fn from(row: DestinationRow) -> Destination {
        Destination {
            id: DestinationId(row.id),
            org_id: OrgId(row.org_id),
            user_id: UserId(row.user_id),
            name: row.name,
            type_name: row.type_name,
            encrypted_options: row.encrypted_options,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str = "id, org_id, user_id, name, type, encrypted_options, created_at, updated_at";

fn duplicate(error: sqlx::Error) -> Error {
    if is_unique_violation(&error) {
        Error::Duplicate { what: "a destination with this name" }
    } else {
        Error::from(error)
    }
}

/// Creates a destination made by `user_id`.
pub async fn insert_destination(
    store: &Store,
    org_id: OrgId,
    user_id: UserId,
    fields: &DestinationFields,
    now: DateTime<Utc>,
) -> Result<Destination> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO notification_destinations (org_id, user_id, name, type, encrypted_options, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, DestinationRow>(sql)
            .bind(org_id.0)
            .bind(user_id.0)
            .bind(&fields.name)
            .bind(&fields.type_name)
            .bind(&fields.encrypted_options)
            .bind(now)
            .fetch_one(pool)
            .await
    })
    .map_err(duplicate)?;
    Ok(row.into())
}

/// The destination with this id in this organization.
pub async fn destination_by_id(store: &Store, org_id: OrgId, id: DestinationId) -> Result<Option<Destination>> {
    let sql =
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM notification_destinations WHERE id = $1 AND org_id = $2"));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, DestinationRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(Destination::from))
}

/// Every destination of an organization, by name.
pub async fn list_destinations(store: &Store, org_id: OrgId) -> Result<Vec<Destination>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM notification_destinations WHERE org_id = $1 ORDER BY name, id"
    ));
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, DestinationRow>(sql).bind(org_id.0).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Destination::from).collect())
}

/// Replaces a destination's name, type and options.
pub async fn update_destination(
    store: &Store,
    id: DestinationId,
    fields: &DestinationFields,
    now: DateTime<Utc>,
) -> Result<()> {
    let updated = execute!(
        store,
        "UPDATE notification_destinations SET name = $1, type = $2, encrypted_options = $3, updated_at = $4 WHERE id = $5",
        &fields.name,
        &fields.type_name,
        &fields.encrypted_options,
        now,
        id.0,
    )
    .map_err(duplicate)?;
    if updated == 0 {
        return Err(Error::NotFound { entity: "destination", id: id.to_string() });
    }
    Ok(())
}

/// Deletes a destination; its subscriptions and their pending notifications go with it.
pub async fn delete_destination(store: &Store, id: DestinationId) -> Result<()> {
    execute!(store, "DELETE FROM notification_destinations WHERE id = $1", id.0)?;
    Ok(())
}
