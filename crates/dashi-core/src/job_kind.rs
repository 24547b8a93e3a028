//! The kinds of background job and what each carries, shared by whoever enqueues a job (the
//! application) and whoever runs it (the worker). Stored in `jobs.kind` and `jobs.payload`, so
//! names and fields are a storage format: add fields with defaults, never rename.

use serde::{Deserialize, Serialize};

/// Runs query text on a data source and stores the result.
pub const EXECUTE_QUERY_JOB: &str = "execute_query";
/// Connects to a data source and reports whether that worked.
pub const TEST_CONNECTION_JOB: &str = "test_connection";
/// Fetches a data source's tables and columns into its schema cache.
pub const REFRESH_SCHEMA_JOB: &str = "refresh_schema";

/// Deletes results no query points at any more (Redash's `cleanup_query_results`).
pub const CLEANUP_RESULTS_JOB: &str = "cleanup_results";

/// The payload of a [`CLEANUP_RESULTS_JOB`]. Redash's defaults: 100 results older than 7 days
/// per run, every 5 minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CleanupResultsPayload {
    pub max_age_days: i64,
    pub batch: i64,
}

/// The payload of an [`EXECUTE_QUERY_JOB`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecuteQueryPayload {
    /// The final text: parameters and auto-limit applied.
    pub query: String,
    /// Values for the placeholders of `query`, in order, when its data source binds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binds: Vec<crate::BoundValue>,
    /// The hash of `query` and `binds` ([`run_hash`](crate::run_hash)); the result is stored and
    /// found under it.
    pub query_hash: String,
    pub data_source_id: i64,
    /// The saved query this run is for, if any (ad-hoc runs have none).
    #[serde(default)]
    pub query_id: Option<i64>,
    /// Who asked (for the annotation and the audit log); none for scheduled runs of a key.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// Whether the scheduler started it (counts failures against the schedule).
    #[serde(default)]
    pub scheduled: bool,
}

/// The payload of the data-source jobs ([`TEST_CONNECTION_JOB`], [`REFRESH_SCHEMA_JOB`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSourcePayload {
    pub data_source_id: i64,
}

/// Evaluates alerts after a run of their query (or on request) and writes one outbox row per
/// subscription for each notified state change (Redash's `check_alerts_for_query`).
pub const CHECK_ALERTS_JOB: &str = "check_alerts";
/// Delivers one notification-outbox row to its destination; retried with backoff.
pub const SEND_NOTIFICATION_JOB: &str = "send_notification";
/// Deletes audit events older than the retention period.
pub const PRUNE_EVENTS_JOB: &str = "prune_events";

/// The payload of a [`CHECK_ALERTS_JOB`]: what happened, and which alerts to look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum CheckAlertsPayload {
    /// A run stored this result: alerts on every query now pointing at it are evaluated.
    Result { query_result_id: i64 },
    /// A run of this text on this data source failed: alerts on the queries with the same text
    /// are evaluated against the failure (the "query failed" condition).
    Failed { data_source_id: i64, query_hash: String, job_id: String, error: String },
    /// `POST /api/alerts/<id>/eval`: evaluate one alert on its query's latest result and notify
    /// every subscription whatever the state (Redash's test button).
    Manual { alert_id: i64 },
}

/// The payload of a [`SEND_NOTIFICATION_JOB`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendNotificationPayload {
    pub outbox_id: i64,
}

/// The payload of a [`PRUNE_EVENTS_JOB`]: events older than `max_age_days` go, `batch` per
/// statement so one run never holds a long lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PruneEventsPayload {
    pub max_age_days: i64,
    pub batch: i64,
}
