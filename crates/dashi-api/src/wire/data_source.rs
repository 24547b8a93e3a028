//! Redash's data source dicts and job envelope.

use dashi_app::{Access, JobStatus, VisibleDataSource};
use dashi_core::KindInfo;
use dashi_store::{DataSource, JobState};
use serde_json::{Map, Value, json};

use super::{optional_time, time};

/// The basic dict every member sees.
pub(crate) fn data_source_json(visible: &VisibleDataSource) -> Value {
    let data_source = &visible.data_source;
    json!({
        "id": data_source.id.0,
        "name": data_source.name,
        "type": data_source.type_name,
        "syntax": visible.kind.as_ref().map(|kind| kind.syntax.clone()).unwrap_or_else(|| "sql".into()),
        "paused": u8::from(data_source.paused),
        "pause_reason": data_source.pause_reason,
        "supports_auto_limit": visible.kind.as_ref().is_some_and(|kind| kind.supports_auto_limit),
        "view_only": visible.access == Access::ViewOnly,
    })
}

/// The full dict admins see: options (secrets masked), queues, group links and our limits.
pub(crate) fn full_data_source_json(visible: &VisibleDataSource, masked_options: Map<String, Value>) -> Value {
    let data_source = &visible.data_source;
    let mut dict = data_source_json(visible);
    let groups: Map<String, Value> =
        data_source.groups.iter().map(|(group, view_only)| (group.0.to_string(), Value::Bool(*view_only))).collect();
    dict["options"] = Value::Object(masked_options);
    dict["queue_name"] = json!(data_source.queue_name);
    dict["scheduled_queue_name"] = json!(data_source.scheduled_queue_name);
    dict["groups"] = Value::Object(groups);
    dict["concurrency_limit"] = json!(data_source.concurrency_limit);
    dict["timeout"] = json!(data_source.timeout_secs);
    dict["created_at"] = json!(time(data_source.created_at));
    dict
}

/// A data source as listed for a group (`/api/groups/<id>/data_sources`).
pub(crate) fn group_data_source_json(data_source: &DataSource, view_only: bool) -> Value {
    json!({
        "id": data_source.id.0,
        "name": data_source.name,
        "type": data_source.type_name,
        "paused": u8::from(data_source.paused),
        "pause_reason": data_source.pause_reason,
        "view_only": view_only,
    })
}

/// One entry of `GET /api/data_sources/types`.
pub(crate) fn kind_json(kind: &KindInfo) -> Value {
    json!({
        "name": kind.display_name,
        "type": kind.type_name,
        "syntax": kind.syntax,
        "supports_auto_limit": kind.supports_auto_limit,
        "configuration_schema": kind.configuration_schema,
    })
}

/// Redash's job status codes. Redash compat: a cancelled job reports 4 with its message (as
/// Redash does), so clients that poll until 3 or 4 always stop.
pub(crate) fn job_status_code(state: JobState) -> u8 {
    match state {
        JobState::Queued => 1,
        JobState::Running => 2,
        JobState::Succeeded => 3,
        JobState::Failed | JobState::Cancelled => 4,
    }
}

/// `{"job": {…}}` as Redash returns it, plus our fields (`queue`, `position`, `started_at`).
pub(crate) fn job_json(status: &JobStatus) -> Value {
    let job = &status.job;
    let result = match (&status.result, job.result_id) {
        (Some(result), _) => result.clone(),
        (None, Some(id)) => json!(id),
        (None, None) => Value::Null,
    };
    json!({"job": {
        "id": job.id.0,
        "updated_at": time(job.updated_at),
        "status": job_status_code(job.state),
        "error": job.error.clone().unwrap_or_default(),
        "result": result,
        "query_result_id": job.result_id,
        "queue": job.queue,
        "position": status.position,
        "started_at": optional_time(job.started_at),
    }})
}
