//! Widgets: a visualization placed on a dashboard, or a text box.
//!
//! `options` is the client's document (its `position` on Redash's 12-column grid,
//! `parameterMappings`, `isHidden`, …), kept as given. Deleting a visualization deletes its
//! widgets (the foreign key cascades); archiving a query deletes the widgets of its
//! visualizations (`query.rs`).

use chrono::{DateTime, Utc};
use dashi_core::OrgId;
use sqlx::types::Json;

use crate::dashboard::DashboardId;
use crate::db::execute;
use crate::visualization::VisualizationId;
use crate::{Result, Store, on_pool};

/// Typed id of a widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WidgetId(pub i64);

impl std::fmt::Display for WidgetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A widget row.
#[derive(Debug, Clone)]
pub struct Widget {
    pub id: WidgetId,
    pub dashboard_id: DashboardId,
    /// `None` for a text box.
    pub visualization_id: Option<VisualizationId>,
    pub text: Option<String>,
    /// Redash's legacy width; clients send 1.
    pub width: i64,
    pub options: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A widget to place on a dashboard.
#[derive(Debug, Clone)]
pub struct NewWidget {
    pub dashboard_id: DashboardId,
    pub visualization_id: Option<VisualizationId>,
    pub text: Option<String>,
    pub width: i64,
    pub options: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct WidgetRow {
    id: i64,
    dashboard_id: i64,
    visualization_id: Option<i64>,
    text: Option<String>,
    width: i64,
    options: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WidgetRow> for Widget {
    fn from(row: WidgetRow) -> Widget {
        Widget {
            id: WidgetId(row.id),
            dashboard_id: DashboardId(row.dashboard_id),
            visualization_id: row.visualization_id.map(VisualizationId),
            text: row.text,
            width: row.width,
            options: row.options.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str =
    "w.id, w.dashboard_id, w.visualization_id, w.text, w.width, w.options, w.created_at, w.updated_at";

/// Places a widget.
pub async fn insert_widget(store: &Store, new: &NewWidget, now: DateTime<Utc>) -> Result<Widget> {
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, WidgetRow>(
            "INSERT INTO widgets (dashboard_id, visualization_id, text, width, options, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             RETURNING id, dashboard_id, visualization_id, text, width, options, created_at, updated_at",
        )
        .bind(new.dashboard_id.0)
        .bind(new.visualization_id.map(|id| id.0))
        .bind(&new.text)
        .bind(new.width)
        .bind(Json(&new.options))
        .bind(now)
        .fetch_one(pool)
        .await
    })?;
    Ok(row.into())
}

/// The widget with this id on a dashboard of this organization.
pub async fn widget_by_id(store: &Store, org_id: OrgId, id: WidgetId) -> Result<Option<Widget>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM widgets w JOIN dashboards d ON d.id = w.dashboard_id WHERE w.id = $1 AND d.org_id = $2"
    ));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, WidgetRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(Widget::from))
}

/// The widgets of a dashboard, oldest first.
pub async fn widgets_of(store: &Store, dashboard_id: DashboardId) -> Result<Vec<Widget>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM widgets w WHERE w.dashboard_id = $1 ORDER BY w.id"));
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, WidgetRow>(sql).bind(dashboard_id.0).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Widget::from).collect())
}

/// Replaces a widget's text and options.
pub async fn update_widget(
    store: &Store,
    id: WidgetId,
    text: Option<&str>,
    options: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    execute!(
        store,
        "UPDATE widgets SET text = $1, options = $2, updated_at = $3 WHERE id = $4",
        text,
        Json(options),
        now,
        id.0
    )?;
    Ok(())
}

/// Removes a widget from its dashboard.
pub async fn delete_widget(store: &Store, id: WidgetId) -> Result<()> {
    execute!(store, "DELETE FROM widgets WHERE id = $1", id.0)?;
    Ok(())
}
