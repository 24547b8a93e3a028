//! The notification outbox: one row per (alert state change, subscription), written in the same
//! transaction as the state change, then delivered by a `send_notification` job per row.
//!
//! `state_change` is unique, and an evaluation names its change after what caused it (a result
//! id, a failed job, a manual check), so evaluating the same cause twice cannot write a second
//! row. The state itself moves by compare-and-set on (state, last_triggered_at): of two
//! evaluations racing on the same alert, one moves it and the other sees no change. Delivery
//! outcomes are written with the delivering job's end under its fence, so a worker that lost its
//! claim cannot mark a row sent or schedule a second retry.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::alert::{AlertId, SubscriptionId};
use crate::job::JobId;
use crate::{Error, Result, Store, in_transaction, on_pool};

/// A notification to write for one subscription.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub subscription_id: SubscriptionId,
    /// Unique forever: the cause of the change plus the subscription.
    pub state_change: String,
    /// What the sender needs (rendered subject and body, links, the alert as it was).
    pub payload: serde_json::Value,
}

/// An alert's move from the state it was read in to a new one.
#[derive(Debug, Clone)]
pub struct AlertTransition {
    pub alert_id: AlertId,
    /// The state and `last_triggered_at` the evaluation read; the move applies only if the
    /// alert still has them.
    pub from_state: String,
    pub from_last_triggered_at: Option<DateTime<Utc>>,
    /// `None`: leave the state alone and only write the notifications (a manual check of an
    /// alert whose state did not change).
    pub to_state: Option<String>,
    pub notifications: Vec<NewNotification>,
    pub now: DateTime<Utc>,
}

/// Moves the alert and writes its notifications in one transaction. Returns the ids of the rows
/// written, or `None` when the alert was no longer in `from_state` (someone else moved it first,
/// or it is gone): nothing is written then.
pub async fn apply_alert_transition(store: &Store, transition: &AlertTransition) -> Result<Option<Vec<i64>>> {
    in_transaction!(store, |conn| {
        let moved = match &transition.to_state {
            Some(to_state) => sqlx::query(
                "UPDATE alerts SET state = $1, last_triggered_at = $2 WHERE id = $3 AND state = $4 \
                 AND (last_triggered_at = $5 OR (last_triggered_at IS NULL AND $6))",
            )
            .bind(to_state)
            .bind(transition.now)
            .bind(transition.alert_id.0)
            .bind(&transition.from_state)
            .bind(transition.from_last_triggered_at)
            .bind(transition.from_last_triggered_at.is_none())
            .execute(&mut *conn)
            .await?
            .rows_affected(),
            None => sqlx::query("SELECT id FROM alerts WHERE id = $1")
                .bind(transition.alert_id.0)
                .fetch_optional(&mut *conn)
                .await?
                .map_or(0, |_| 1),
        };
        if moved == 0 {
            return Ok::<Option<Vec<i64>>, Error>(None);
        }
        let mut ids = Vec::new();
        for notification in &transition.notifications {
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO notification_outbox (alert_id, subscription_id, state_change, payload, attempts, \
                 next_attempt_at, sent_at, error, created_at) VALUES ($1, $2, $3, $4, 0, $5, NULL, NULL, $5) \
                 ON CONFLICT (state_change) DO NOTHING RETURNING id",
            )
            .bind(transition.alert_id.0)
            .bind(notification.subscription_id.0)
            .bind(&notification.state_change)
            .bind(Json(&notification.payload))
            .bind(transition.now)
            .fetch_optional(&mut *conn)
            .await?;
            ids.extend(id);
        }
        Ok(Some(ids))
    })
}

/// An outbox row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub alert_id: AlertId,
    pub subscription_id: SubscriptionId,
    pub state_change: String,
    pub payload: serde_json::Value,
    /// Delivery attempts made so far.
    pub attempts: i64,
    /// Set while the row waits to be (re)sent.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The last delivery error.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct OutboxRecord {
    id: i64,
    alert_id: i64,
    subscription_id: i64,
    state_change: String,
    payload: Json<serde_json::Value>,
    attempts: i64,
    next_attempt_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    error: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<OutboxRecord> for OutboxRow {
    fn from(row: OutboxRecord) -> OutboxRow {
        OutboxRow {
            id: row.id,
            alert_id: AlertId(row.alert_id),
            subscription_id: SubscriptionId(row.subscription_id),
            state_change: row.state_change,
            payload: row.payload.0,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            sent_at: row.sent_at,
            error: row.error,
            created_at: row.created_at,
        }
    }
}

const COLUMNS: &str =
    "id, alert_id, subscription_id, state_change, payload, attempts, next_attempt_at, sent_at, error, created_at";

/// The outbox row with this id (gone when its alert or subscription was deleted).
pub async fn outbox_row(store: &Store, id: i64) -> Result<Option<OutboxRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM notification_outbox WHERE id = $1"));
    let row = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, OutboxRecord>(sql).bind(id).fetch_optional(pool).await
    })?;
    Ok(row.map(OutboxRow::from))
}

/// An alert's outbox rows, oldest first.
pub async fn outbox_of_alert(store: &Store, alert_id: AlertId) -> Result<Vec<OutboxRow>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM notification_outbox WHERE alert_id = $1 ORDER BY id"));
    let rows = on_pool!(store.writer(), |pool| {
        sqlx::query_as::<_, OutboxRecord>(sql).bind(alert_id.0).fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(OutboxRow::from).collect())
}

/// Ids of an alert's rows still waiting to be sent.
pub async fn pending_outbox_ids(store: &Store, alert_id: AlertId) -> Result<Vec<i64>> {
    let ids = on_pool!(store.writer(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM notification_outbox WHERE alert_id = $1 AND next_attempt_at IS NOT NULL ORDER BY id",
        )
        .bind(alert_id.0)
        .fetch_all(pool)
        .await
    })?;
    Ok(ids)
}

/// How one delivery attempt of a row ended.
#[derive(Debug, Clone)]
pub enum Delivery {
    Sent,
    /// Failed; try again at `retry_at`.
    Retry {
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// Failed for good (an error a retry cannot fix, or the last attempt).
    GaveUp {
        error: String,
    },
}

/// Records a delivery attempt of outbox row `id` together with the end of the job that made it
/// (`job`, while `fence` still owns it). A retry puts the same job back in the queue, due at
/// `retry_at`, so the ledger's attempts count the deliveries. Returns whether the fence held.
pub async fn record_delivery(
    store: &Store,
    id: i64,
    job: &JobId,
    fence: i64,
    delivery: &Delivery,
    now: DateTime<Utc>,
) -> Result<bool> {
    in_transaction!(store, |conn| {
        let owned =
            sqlx::query_scalar::<_, String>("SELECT id FROM jobs WHERE id = $1 AND fence = $2 AND state = 'running'")
                .bind(&job.0)
                .bind(fence)
                .fetch_optional(&mut *conn)
                .await?;
        if owned.is_none() {
            return Ok::<bool, Error>(false);
        }
        let (sent_at, next_attempt_at, error) = match delivery {
            Delivery::Sent => (Some(now), None, None),
            Delivery::Retry { error, retry_at } => (None, Some(*retry_at), Some(error.as_str())),
            Delivery::GaveUp { error } => (None, None, Some(error.as_str())),
        };
        sqlx::query(
            "UPDATE notification_outbox SET attempts = attempts + 1, sent_at = $1, next_attempt_at = $2, error = $3 WHERE id = $4",
        )
        .bind(sent_at)
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        let job_update = match delivery {
            Delivery::Sent => sqlx::query(
                "UPDATE jobs SET state = 'succeeded', error = NULL, finished_at = $1, updated_at = $1, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(&job.0),
            Delivery::Retry { error, retry_at } => sqlx::query(
                "UPDATE jobs SET state = 'queued', error = $3, run_after = $4, updated_at = $1, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(&job.0)
            .bind(error)
            .bind(*retry_at),
            Delivery::GaveUp { error } => sqlx::query(
                "UPDATE jobs SET state = 'failed', error = $3, finished_at = $1, updated_at = $1, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(&job.0)
            .bind(error),
        };
        job_update.execute(&mut *conn).await?;
        Ok(true)
    })
}

/// Jobs of the notifications queue not finished yet (queued, waiting for a retry, or running):
/// zero means every check and delivery so far has ended.
pub async fn notification_jobs_in_flight(store: &Store) -> Result<i64> {
    let count = on_pool!(store.writer(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE queue = 'notifications' AND state IN ('queued', 'running')",
        )
        .fetch_one(pool)
        .await
    })?;
    Ok(count)
}
