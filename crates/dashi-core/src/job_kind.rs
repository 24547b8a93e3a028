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
    /// Redash's hash of `query`; the result is stored and found under it.
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
