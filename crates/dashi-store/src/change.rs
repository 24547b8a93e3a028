//! The history of queries (and later dashboards): one `changes` row per version.
//!
//! A row's `change` is `{<column>: {"previous": v, "current": v}}` for the columns that version
//! changed; the row of version 1 lists every tracked column with a null `previous`. Rows are
//! written in the same transaction as the change they describe and never updated, so folding
//! them in version order rebuilds the object as it was at any version.

use chrono::{DateTime, Utc};
use dashi_core::UserId;
use serde_json::{Map, Value};
use sqlx::types::Json;

use crate::{Result, Store, on_pool};

/// Redash's `changes.object_type` for queries (the table name).
pub(crate) const QUERIES: &str = "queries";

/// One version of an object.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: i64,
    pub object_type: String,
    pub object_id: i64,
    pub object_version: i64,
    pub user_id: UserId,
    /// `{<column>: {"previous": v, "current": v}}`.
    pub change: Map<String, Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    object_type: String,
    object_id: i64,
    object_version: i64,
    user_id: i64,
    change: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
}

/// The change document between two sets of column values: only columns whose value differs.
pub(crate) fn diff(previous: &Map<String, Value>, current: &Map<String, Value>) -> Map<String, Value> {
    current
        .iter()
        .filter(|(column, value)| previous.get(*column) != Some(*value))
        .map(|(column, value)| {
            let before = previous.get(column).cloned().unwrap_or(Value::Null);
            (column.clone(), serde_json::json!({"previous": before, "current": value}))
        })
        .collect()
}

/// Every version of one object, newest first.
pub(crate) async fn changes_of(store: &Store, object_type: &str, object_id: i64) -> Result<Vec<Change>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, ChangeRow>(
            "SELECT id, object_type, object_id, object_version, user_id, change, created_at FROM changes \
             WHERE object_type = $1 AND object_id = $2 ORDER BY object_version DESC, id DESC",
        )
        .bind(object_type)
        .bind(object_id)
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| Change {
            id: row.id,
            object_type: row.object_type,
            object_id: row.object_id,
            object_version: row.object_version,
            user_id: UserId(row.user_id),
            change: row.change.0,
            created_at: row.created_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_only_changed_columns() {
        let before = json!({"name": "a", "query": "select 1", "tags": []});
        let after = json!({"name": "b", "query": "select 1", "tags": ["x"]});
        let change = diff(before.as_object().unwrap(), after.as_object().unwrap());
        assert_eq!(
            Value::Object(change),
            json!({"name": {"previous": "a", "current": "b"}, "tags": {"previous": [], "current": ["x"]}})
        );
        let created = diff(&Map::new(), json!({"name": "a"}).as_object().unwrap());
        assert_eq!(Value::Object(created), json!({"name": {"previous": null, "current": "a"}}));
    }
}
