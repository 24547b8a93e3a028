//! Alerts and their subscriptions.
//!
//! An alert watches one saved query; its `state` changes only through
//! [`crate::apply_alert_transition`] (in `outbox.rs`), which writes the notifications of the
//! change in the same transaction. A subscription sends an alert's notifications through a
//! destination, or by e-mail to its user when it has none; one per (alert, destination) and one
//! e-mail subscription per (alert, user).

use chrono::{DateTime, Utc};
use dashi_core::{OrgId, UserId};
use serde_json::{Map, Value};
use sqlx::types::Json;

use crate::data_source::DataSourceId;
use crate::db::execute;
use crate::destination::DestinationId;
use crate::error::is_unique_violation;
use crate::query::QueryId;
use crate::{Error, Result, Store, on_pool};

/// Typed id of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertId(pub i64);

impl std::fmt::Display for AlertId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An alert row.
#[derive(Debug, Clone)]
pub struct Alert {
    pub id: AlertId,
    pub org_id: OrgId,
    pub name: String,
    pub query_id: QueryId,
    /// The owner.
    pub user_id: UserId,
    /// Redash's options: `column`, `op`, `value`, `selector`, `custom_subject`, `custom_body`,
    /// `muted`, plus ours (see the worker's evaluation).
    pub options: Map<String, Value>,
    /// `unknown`, `ok` or `triggered`.
    pub state: String,
    pub last_triggered_at: Option<DateTime<Utc>>,
    /// Seconds after which a still-triggered alert notifies again.
    pub rearm: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Alert {
    /// Redash's `muted` option: state still changes, nothing is sent.
    pub fn is_muted(&self) -> bool {
        self.options.get("muted").and_then(Value::as_bool).unwrap_or(false)
    }
}

/// What an alert is made of, to create or replace.
#[derive(Debug, Clone)]
pub struct AlertFields {
    pub name: String,
    pub query_id: QueryId,
    pub options: Map<String, Value>,
    pub rearm: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    org_id: i64,
    name: String,
    query_id: i64,
    user_id: i64,
    options: Json<Map<String, Value>>,
    state: String,
    last_triggered_at: Option<DateTime<Utc>>,
    rearm: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<AlertRow> for Alert {
    fn from(row: AlertRow) -> Alert {
        Alert {
            id: AlertId(row.id),
            org_id: OrgId(row.org_id),
            name: row.name,
            query_id: QueryId(row.query_id),
            user_id: UserId(row.user_id),
            options: row.options.0,
            state: row.state,
            last_triggered_at: row.last_triggered_at,
            rearm: row.rearm,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const COLUMNS: &str = "alerts.id, alerts.org_id, alerts.name, alerts.query_id, alerts.user_id, alerts.options, alerts.state, \
                       alerts.last_triggered_at, alerts.rearm, alerts.created_at, alerts.updated_at";

/// Creates an alert owned by `user_id`, in state `unknown`.
pub async fn insert_alert(
    store: &Store,
    org_id: OrgId,
    user_id: UserId,
    fields: &AlertFields,
    now: DateTime<Utc>,
) -> Result<Alert> {
    let id = on_pool!(store.writer(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO alerts (org_id, name, query_id, user_id, options, state, last_triggered_at, rearm, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'unknown', NULL, $6, $7, $7) RETURNING id",
        )
        .bind(org_id.0)
        .bind(&fields.name)
        .bind(fields.query_id.0)
        .bind(user_id.0)
        .bind(Json(&fields.options))
        .bind(fields.rearm)
        .bind(now)
        .fetch_one(pool)
        .await
    })?;
    alert_by_id(store, org_id, AlertId(id)).await?.ok_or(Error::NotFound { entity: "alert", id: id.to_string() })
}

/// The alert with this id in this organization.
pub async fn alert_by_id(store: &Store, org_id: OrgId, id: AlertId) -> Result<Option<Alert>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM alerts WHERE alerts.id = $1 AND alerts.org_id = $2"));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, AlertRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(Alert::from))
}

/// Every alert of an organization on a non-archived query, newest first.
pub async fn list_alerts(store: &Store, org_id: OrgId) -> Result<Vec<Alert>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts JOIN queries ON queries.id = alerts.query_id \
         WHERE alerts.org_id = $1 AND queries.is_archived = $2 ORDER BY alerts.created_at DESC, alerts.id DESC"
    ));
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, AlertRow>(sql).bind(org_id.0).bind(false).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Alert::from).collect())
}

/// Alerts on the non-archived queries whose latest result is `query_result_id`: what a new
/// result must be checked against.
pub async fn alerts_on_result(store: &Store, query_result_id: i64) -> Result<Vec<Alert>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts JOIN queries ON queries.id = alerts.query_id \
         WHERE queries.latest_query_data_id = $1 AND queries.is_archived = $2 ORDER BY alerts.id"
    ));
    let rows = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, AlertRow>(sql).bind(query_result_id).bind(false).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Alert::from).collect())
}

/// Alerts on the non-archived queries with this text on this data source: the ones a failed run
/// of that text concerns.
pub async fn alerts_on_text(store: &Store, data_source_id: DataSourceId, query_hash: &str) -> Result<Vec<Alert>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts JOIN queries ON queries.id = alerts.query_id \
         WHERE queries.data_source_id = $1 AND queries.query_hash = $2 AND queries.is_archived = $3 ORDER BY alerts.id"
    ));
    let rows = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, AlertRow>(sql).bind(data_source_id.0).bind(query_hash).bind(false).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Alert::from).collect())
}

/// Replaces an alert's name, query, options and rearm.
pub async fn update_alert(store: &Store, id: AlertId, fields: &AlertFields, now: DateTime<Utc>) -> Result<()> {
    let updated = execute!(
        store,
        "UPDATE alerts SET name = $1, query_id = $2, options = $3, rearm = $4, updated_at = $5 WHERE id = $6",
        &fields.name,
        fields.query_id.0,
        Json(&fields.options),
        fields.rearm,
        now,
        id.0,
    )?;
    if updated == 0 {
        return Err(Error::NotFound { entity: "alert", id: id.to_string() });
    }
    Ok(())
}

/// Deletes an alert with its subscriptions and pending notifications.
pub async fn delete_alert(store: &Store, id: AlertId) -> Result<()> {
    execute!(store, "DELETE FROM alerts WHERE id = $1", id.0)?;
    Ok(())
}

/// Typed id of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(pub i64);

impl std::fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A subscription row.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: SubscriptionId,
    pub alert_id: AlertId,
    /// Who subscribed; the e-mail recipient when there is no destination.
    pub user_id: UserId,
    pub destination_id: Option<DestinationId>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: i64,
    alert_id: i64,
    user_id: i64,
    destination_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl From<SubscriptionRow> for Subscription {
    fn from(row: SubscriptionRow) -> Subscription {
        Subscription {
            id: SubscriptionId(row.id),
            alert_id: AlertId(row.alert_id),
            user_id: UserId(row.user_id),
            destination_id: row.destination_id.map(DestinationId),
            created_at: row.created_at,
        }
    }
}

const SUBSCRIPTION_COLUMNS: &str = "id, alert_id, user_id, destination_id, created_at";

/// Subscribes `user_id` to an alert, through a destination or by e-mail. A second subscription
/// to the same destination (or a second e-mail one for the same user) is [`Error::Duplicate`].
pub async fn insert_subscription(
    store: &Store,
    alert_id: AlertId,
    user_id: UserId,
    destination_id: Option<DestinationId>,
    now: DateTime<Utc>,
) -> Result<Subscription> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO alert_subscriptions (user_id, destination_id, alert_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING {SUBSCRIPTION_COLUMNS}"
    ));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, SubscriptionRow>(sql)
            .bind(user_id.0)
            .bind(destination_id.map(|id| id.0))
            .bind(alert_id.0)
            .bind(now)
            .fetch_one(pool)
            .await
    })
    .map_err(|error| {
        if is_unique_violation(&error) { Error::Duplicate { what: "this subscription" } } else { Error::from(error) }
    })?;
    Ok(row.into())
}

/// An alert's subscriptions, oldest first.
pub async fn subscriptions_of(store: &Store, alert_id: AlertId) -> Result<Vec<Subscription>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM alert_subscriptions WHERE alert_id = $1 ORDER BY id"
    ));
    let rows = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, SubscriptionRow>(sql).bind(alert_id.0).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(Subscription::from).collect())
}

/// The subscription with this id.
pub async fn subscription_by_id(store: &Store, id: SubscriptionId) -> Result<Option<Subscription>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {SUBSCRIPTION_COLUMNS} FROM alert_subscriptions WHERE id = $1"));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, SubscriptionRow>(sql).bind(id.0).fetch_optional(pool).await
    })?;
    Ok(row.map(Subscription::from))
}

/// Removes a subscription with its pending notifications.
pub async fn delete_subscription(store: &Store, id: SubscriptionId) -> Result<()> {
    execute!(store, "DELETE FROM alert_subscriptions WHERE id = $1", id.0)?;
    Ok(())
}
