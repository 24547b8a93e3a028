//! Visualizations: the ways a query's result is drawn (`TABLE`, `CHART`, …).
//!
//! A query's first visualizations are written together with the query (its default table on
//! create, copies on fork) inside the query's transaction; see `query.rs`. Later ones are added,
//! changed and deleted one at a time here. `options` is the client's type-specific document,
//! kept opaque: the UI renders it, so it is stored exactly as given.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use dashi_core::OrgId;

use crate::db::execute;
use crate::query::QueryId;
use crate::{Result, Store, on_pool};

/// Typed id of a visualization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VisualizationId(pub i64);

impl std::fmt::Display for VisualizationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A visualization row.
#[derive(Debug, Clone)]
pub struct Visualization {
    pub id: VisualizationId,
    pub query_id: QueryId,
    /// Redash's `type`: `TABLE`, `CHART`, `COUNTER`, …
    pub type_name: String,
    pub name: String,
    pub description: Option<String>,
    pub options: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A visualization to create along with a query.
#[derive(Debug, Clone)]
pub struct NewVisualization {
    pub type_name: String,
    pub name: String,
    pub description: Option<String>,
    pub options: serde_json::Value,
}

impl NewVisualization {
    /// Redash compat: every new query gets a `TABLE` visualization named "Table" with empty
    /// options and an empty description.
    pub fn default_table() -> NewVisualization {
        NewVisualization {
            type_name: "TABLE".into(),
            name: "Table".into(),
            description: Some(String::new()),
            options: serde_json::json!({}),
        }
    }
}

impl From<&Visualization> for NewVisualization {
    fn from(visualization: &Visualization) -> NewVisualization {
        NewVisualization {
            type_name: visualization.type_name.clone(),
            name: visualization.name.clone(),
            description: visualization.description.clone(),
            options: visualization.options.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct VisualizationRow {
    id: i64,
    #[sqlx(rename = "type")]
    type_name: String,
    query_id: i64,
    name: String,
    description: Option<String>,
    options: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<VisualizationRow> for Visualization {
    fn from(row: VisualizationRow) -> Visualization {
        Visualization {
            id: VisualizationId(row.id),
            query_id: QueryId(row.query_id),
            type_name: row.type_name,
            name: row.name,
            description: row.description,
            options: row.options.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The visualizations of a query, oldest first (the default table leads).
pub async fn visualizations_of(store: &Store, query_id: QueryId) -> Result<Vec<Visualization>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, VisualizationRow>(
            "SELECT id, type, query_id, name, description, options, created_at, updated_at \
             FROM visualizations WHERE query_id = $1 ORDER BY id",
        )
        .bind(query_id.0)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows.into_iter().map(Visualization::from).collect())
}

const COLUMNS: &str = "v.id, v.type, v.query_id, v.name, v.description, v.options, v.created_at, v.updated_at";

/// The visualization with this id whose query belongs to `org_id`.
pub async fn visualization_by_id(store: &Store, org_id: OrgId, id: VisualizationId) -> Result<Option<Visualization>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM visualizations v JOIN queries q ON q.id = v.query_id WHERE v.id = $1 AND q.org_id = $2"
    ));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, VisualizationRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(Visualization::from))
}

/// Adds a visualization to a query.
pub async fn insert_visualization(
    store: &Store,
    query_id: QueryId,
    new: &NewVisualization,
    now: DateTime<Utc>,
) -> Result<Visualization> {
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, VisualizationRow>(
            "INSERT INTO visualizations (type, query_id, name, description, options, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             RETURNING id, type, query_id, name, description, options, created_at, updated_at",
        )
        .bind(&new.type_name)
        .bind(query_id.0)
        .bind(&new.name)
        .bind(&new.description)
        .bind(Json(&new.options))
        .bind(now)
        .fetch_one(pool)
        .await
    })?;
    Ok(row.into())
}

/// Replaces a visualization's type, name, description and options.
pub async fn update_visualization(
    store: &Store,
    id: VisualizationId,
    fields: &NewVisualization,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        store,
        "UPDATE visualizations SET type = $1, name = $2, description = $3, options = $4, updated_at = $5 WHERE id = $6",
        &fields.type_name,
        &fields.name,
        &fields.description,
        Json(&fields.options),
        now,
        id.0
    )?;
    Ok(())
}

/// Deletes a visualization; its widgets go with it (the foreign key cascades).
pub async fn delete_visualization(store: &Store, id: VisualizationId) -> Result<()> {
    execute!(store, "DELETE FROM visualizations WHERE id = $1", id.0)?;
    Ok(())
}
