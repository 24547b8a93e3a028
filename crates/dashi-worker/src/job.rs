//! Running one claimed job: keeping its lease, watching for cancel, doing the work of its kind
//! and recording how it ended — only while this worker still holds the claim (its fence).

use std::time::Duration;

use chrono::Utc;
use dashi_core::{
    CHECK_ALERTS_JOB, CLEANUP_RESULTS_JOB, CheckAlertsPayload, CleanupResultsPayload, DataSourcePayload, EXECUTE_QUERY_JOB,
    ExecuteQueryPayload, OrgId, PRUNE_EVENTS_JOB, PruneEventsPayload, REFRESH_SCHEMA_JOB, SEND_NOTIFICATION_JOB,
    SendNotificationPayload, TEST_CONNECTION_JOB,
};
use dashi_runners::Runner;
use dashi_store::{DataSource, DataSourceId, Job, Outcome, Store};
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use crate::execution::Execution;
use crate::query::execute_query;

/// How a job's work ended, before it is recorded.
pub(crate) enum Finish {
    /// Recorded already (a query result is stored in the same transaction as the job's end).
    Recorded,
    /// Another worker took the job over before this one could record its end.
    Lost,
    Outcome(Outcome),
    /// The worker is stopping: give the job back to the queue.
    HandBack,
}

/// Why the job's cancel token fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    Cancelled,
    LostClaim,
    Shutdown,
}

/// The user-facing message of a runner error: the database's own words, plus the cause for
/// unreachable hosts (which alone would only say "cannot reach host:port").
pub(crate) fn runner_message(error: &dashi_runners::Error) -> String {
    let mut message = error.to_string();
    if let dashi_runners::Error::Unreachable { source, .. } = error {
        message = format!("{message}: {source}");
    }
    message
}

/// Loads the job's data source and opens a runner for it.
pub(crate) async fn open_runner(
    store: &Store,
    execution: &Execution,
    context: &dashi_runners::RunnerContext,
    org: Option<OrgId>,
    data_source_id: i64,
) -> Result<(DataSource, Box<dyn Runner>), String> {
    let org = org.ok_or("This job belongs to no organization.")?;
    let data_source = dashi_store::data_source_by_id(store, org, DataSourceId(data_source_id))
        .await
        .map_err(|error| format!("Could not load the data source: {error}"))?
        .ok_or("Target data source not available.")?;
    let kind = dashi_runners::kind(&data_source.type_name)
        .ok_or_else(|| format!("This worker cannot run data sources of type \"{}\".", data_source.type_name))?;
    let options = execution
        .cipher
        .decrypt(&data_source.encrypted_options)
        .map_err(|_| "The data source options cannot be decrypted with this worker's secret key.".to_owned())?;
    let runner = (kind.open)(&options, context).map_err(|error| runner_message(&error))?;
    Ok((data_source, runner))
}

/// Runs a claimed job to its end and records it.
#[instrument(skip_all, fields(job.id = %job.id, job.kind = %job.kind, queue = %job.queue))]
pub(crate) async fn run_claimed(store: Store, execution: Execution, job: Job, shutdown: CancellationToken) {
    let stop = CancellationToken::new();
    let reason = std::sync::Arc::new(std::sync::Mutex::new(None::<StopReason>));
    let keeper = tokio::spawn(keep_claim(store.clone(), execution.clone(), job.clone(), stop.clone(), reason.clone(), shutdown));
    let started = std::time::Instant::now();
    let finish = work(&store, &execution, &job, &stop, &reason).await;
    keeper.abort();
    let stopped_for = *reason.lock().expect("never poisoned");
    let finish = match (finish, stopped_for) {
        (Finish::Outcome(Outcome::Cancelled), Some(StopReason::Shutdown)) => Finish::HandBack,
        (other, _) => other,
    };
    let now = Utc::now();
    let recorded = match &finish {
        Finish::Recorded => Ok(true),
        Finish::Lost => Ok(false),
        Finish::Outcome(outcome) => dashi_store::finish(&store, &job.id, job.fence, outcome, now).await,
        Finish::HandBack => dashi_store::hand_back(&store, &job.id, job.fence, now).await,
    };
    // A failed run may trigger a "query failed" alert.
    if let (Ok(true), Finish::Outcome(Outcome::Failed { error })) = (&recorded, &finish)
        && job.kind == EXECUTE_QUERY_JOB
    {
        crate::alert::after_failure(&store, &execution, &job, error).await;
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match (recorded, &finish) {
        (Ok(true), Finish::HandBack) => info!(elapsed_ms, "job handed back for another worker"),
        (Ok(true), Finish::Outcome(Outcome::Failed { .. })) => info!(elapsed_ms, "job failed"),
        (Ok(true), Finish::Outcome(Outcome::Cancelled)) => info!(elapsed_ms, "job cancelled"),
        (Ok(true), _) => info!(elapsed_ms, "job finished"),
        (Ok(false), _) => warn!(elapsed_ms, "job was taken over before it finished; its outcome was dropped"),
        (Err(error), _) => warn!(error = &error as &dyn std::error::Error, "could not record the job's end; the reclaimer will retry it"),
    }
}

/// Does the work of the job's kind.
async fn work(
    store: &Store,
    execution: &Execution,
    job: &Job,
    stop: &CancellationToken,
    reason: &std::sync::Mutex<Option<StopReason>>,
) -> Finish {
    let failed = |error: String| Finish::Outcome(Outcome::Failed { error });
    match job.kind.as_str() {
        EXECUTE_QUERY_JOB => match serde_json::from_value::<ExecuteQueryPayload>(job.payload.clone()) {
            Ok(payload) => execute_query(store, execution, job, &payload, stop, reason).await,
            Err(error) => failed(format!("The job's payload is not readable: {error}")),
        },
        TEST_CONNECTION_JOB | REFRESH_SCHEMA_JOB => {
            let payload = match serde_json::from_value::<DataSourcePayload>(job.payload.clone()) {
                Ok(payload) => payload,
                Err(error) => return failed(format!("The job's payload is not readable: {error}")),
            };
            let (data_source, runner) = match open_runner(store, execution, &execution.runner_context, job.org_id, payload.data_source_id).await {
                Ok(opened) => opened,
                Err(message) => return failed(message),
            };
            if job.kind == TEST_CONNECTION_JOB {
                return tokio::select! {
                    tested = runner.test_connection() => match tested {
                        Ok(()) => Finish::Outcome(Outcome::Succeeded { result_id: None }),
                        Err(error) => failed(runner_message(&error)),
                    },
                    () = stop.cancelled() => Finish::Outcome(Outcome::Cancelled),
                };
            }
            tokio::select! {
                fetched = runner.schema() => match fetched {
                    Ok(schema) => match dashi_store::store_schema(store, data_source.id, &schema_json(&schema), Utc::now()).await {
                        Ok(()) => Finish::Outcome(Outcome::Succeeded { result_id: None }),
                        Err(error) => failed(format!("Could not save the schema: {error}")),
                    },
                    Err(error) => failed(runner_message(&error)),
                },
                () = stop.cancelled() => Finish::Outcome(Outcome::Cancelled),
            }
        }
        CLEANUP_RESULTS_JOB => match serde_json::from_value::<CleanupResultsPayload>(job.payload.clone()) {
            Ok(payload) => match crate::cleanup::cleanup_results(store, execution, &payload).await {
                Ok(()) => Finish::Outcome(Outcome::Succeeded { result_id: None }),
                Err(message) => failed(message),
            },
            Err(error) => failed(format!("The job's payload is not readable: {error}")),
        },
        CHECK_ALERTS_JOB => match serde_json::from_value::<CheckAlertsPayload>(job.payload.clone()) {
            Ok(payload) => match crate::alert::check_alerts(store, execution, job, &payload).await {
                Ok(()) => Finish::Outcome(Outcome::Succeeded { result_id: None }),
                Err(message) => failed(message),
            },
            Err(error) => failed(format!("The job's payload is not readable: {error}")),
        },
        SEND_NOTIFICATION_JOB => match serde_json::from_value::<SendNotificationPayload>(job.payload.clone()) {
            Ok(payload) => crate::notify::send_notification(store, execution, job, &payload).await,
            Err(error) => failed(format!("The job's payload is not readable: {error}")),
        },
        PRUNE_EVENTS_JOB => match serde_json::from_value::<PruneEventsPayload>(job.payload.clone()) {
            Ok(payload) => match crate::events::prune_events(store, &payload).await {
                Ok(()) => Finish::Outcome(Outcome::Succeeded { result_id: None }),
                Err(message) => failed(message),
            },
            Err(error) => failed(format!("The job's payload is not readable: {error}")),
        },
        other => failed(format!("This worker does not know jobs of kind \"{other}\".")),
    }
}

/// Redash's schema document: tables by name, each with its columns as `{name, type}`.
fn schema_json(schema: &dashi_runners::Schema) -> serde_json::Value {
    let mut tables: Vec<&dashi_runners::Table> = schema.tables.iter().collect();
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    serde_json::Value::Array(
        tables
            .into_iter()
            .map(|table| {
                let columns: Vec<serde_json::Value> = table
                    .columns
                    .iter()
                    .map(|column| serde_json::json!({"name": column.name, "type": column.type_name}))
                    .collect();
                serde_json::json!({"name": table.name, "columns": columns})
            })
            .collect(),
    )
}

/// Renews the claim, and fires `stop` when the job is cancelled, the claim is lost or the worker
/// is shutting down (after the grace period).
async fn keep_claim(
    store: Store,
    execution: Execution,
    job: Job,
    stop: CancellationToken,
    reason: std::sync::Arc<std::sync::Mutex<Option<StopReason>>>,
    shutdown: CancellationToken,
) {
    let renew_every = execution.lease_ttl / 3;
    let poll_every = Duration::from_secs(1).min(renew_every);
    let mut last_renewal = tokio::time::Instant::now();
    let grace_deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(execution.shutdown_grace).await;
    };
    tokio::pin!(grace_deadline);
    let set = |why: StopReason| {
        *reason.lock().expect("never poisoned") = Some(why);
        stop.cancel();
    };
    loop {
        tokio::select! {
            () = &mut grace_deadline => return set(StopReason::Shutdown),
            () = execution.dispatcher.cancel_signalled(&job.id) => return set(StopReason::Cancelled),
            () = tokio::time::sleep(poll_every) => {}
        }
        if matches!(dashi_store::is_cancel_requested(&store, &job.id).await, Ok(true)) {
            return set(StopReason::Cancelled);
        }
        if last_renewal.elapsed() >= renew_every {
            let expires = Utc::now() + chrono::Duration::from_std(execution.lease_ttl).unwrap_or(chrono::Duration::seconds(30));
            match dashi_store::renew(&store, &job.id, job.fence, expires, Utc::now()).await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => return set(StopReason::LostClaim),
                // The database is away: keep working and retry; the lease may lapse, in which
                // case the next renewal says so.
                Err(error) => warn!(error = &error as &dyn std::error::Error, "could not renew the job's lease"),
            }
        }
    }
}
