//! Visualizations: the ways a query's result is drawn (`TABLE`, `CHART`, …).
//!
//! A query's visualizations are written together with the query (its default table on create,
//! copies on fork) inside the query's transaction; see `query.rs`. `options` is the client's
//! type-specific document, kept opaque.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

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
