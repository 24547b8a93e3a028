//! The `execute_query` job: run the text on its data source, stream the rows into the results
//! store, and record the result with the job's end in one fenced transaction.

use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use dashi_core::{ExecuteQueryPayload, Queue};
use dashi_results::{Storage, WriterOptions};
use dashi_runners::{BoundParam, RunRequest};
use dashi_store::{Job, NewQueryResult, Outcome, Store};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::execution::Execution;
use crate::job::{Finish, StopReason, open_runner, runner_message};

/// The time limit of a run: the data source's own, else its queue's.
fn time_limit(execution: &Execution, job: &Job, data_source_timeout: Option<i64>) -> Option<Duration> {
    if let Some(seconds) = data_source_timeout.filter(|seconds| *seconds > 0) {
        return Some(Duration::from_secs(seconds as u64));
    }
    if job.queue == Queue::Scheduled.as_str() { execution.scheduled_timeout } else { execution.adhoc_timeout }
}

pub(crate) async fn execute_query(
    store: &Store,
    execution: &Execution,
    job: &Job,
    payload: &ExecuteQueryPayload,
    stop: &CancellationToken,
    reason: &Mutex<Option<StopReason>>,
) -> Finish {
    let failed = |error: String| Finish::Outcome(Outcome::Failed { error });
    let Some(org) = job.org_id else {
        return failed("This job belongs to no organization.".into());
    };
    let context = crate::result_source::context_for(store, execution, org, payload.user_id.map(dashi_core::UserId));
    let (data_source, runner) = match open_runner(store, execution, &context, job.org_id, payload.data_source_id).await {
        Ok(opened) => opened,
        Err(message) => return failed(message),
    };
    let request = RunRequest {
        sql: payload.query.clone(),
        params: payload.binds.iter().map(BoundParam::from).collect(),
        timeout: time_limit(execution, job, data_source.timeout_secs),
        // The auto limit was applied before hashing, as Redash hashes the limited text.
        row_limit: None,
    };
    let mut writer = execution.results.writer(org, WriterOptions::default());
    let retrieved_at = Utc::now();
    let ran = runner.run(&request, &mut writer, stop).await;
    let summary = match ran {
        Ok(summary) => summary,
        Err(dashi_runners::Error::Cancelled) => {
            return match *reason.lock().expect("never poisoned") {
                Some(StopReason::LostClaim) => failed("The job was taken over by another worker.".into()),
                _ => Finish::Outcome(Outcome::Cancelled),
            };
        }
        Err(error) => return failed(runner_message(&error)),
    };
    let stored = match writer.finish().await {
        Ok(stored) => stored,
        Err(error) => return failed(format!("Could not store the result: {error}")),
    };
    let (storage, location, inline_data) = match &stored.storage {
        Storage::Inline(bytes) => ("inline", None, Some(bytes.clone())),
        Storage::Object { location } => ("file", Some(location.clone()), None),
    };
    let columns = serde_json::Value::Array(
        stored
            .columns
            .iter()
            .map(|column| {
                serde_json::json!({"name": column.name, "friendly_name": column.friendly_name, "type": column.column_type.as_str()})
            })
            .collect(),
    );
    let result = NewQueryResult {
        org_id: org,
        data_source_id: data_source.id,
        query_hash: payload.query_hash.clone(),
        query: payload.query.clone(),
        runtime: summary.runtime.as_secs_f64(),
        retrieved_at,
        row_count: stored.row_count as i64,
        byte_size: stored.byte_size as i64,
        storage: storage.into(),
        location: location.clone(),
        inline_data,
        columns,
    };
    match dashi_store::complete_job_with_result(store, &job.id, job.fence, &result, Utc::now()).await {
        Ok(Some(result_id)) => {
            crate::alert::after_result(store, execution, org, result_id).await;
            Finish::Recorded
        }
        Ok(None) => {
            // Another worker owns the job now; this result must not stay behind unreferenced.
            if let Some(location) = &location
                && let Err(error) = execution.results.delete(location).await
            {
                warn!(error = &error as &dyn std::error::Error, "could not delete the result of a lost claim");
            }
            Finish::Lost
        }
        Err(error) => failed(format!("Could not record the result: {error}")),
    }
}
