//! Redash's shapes of `/status.json` and `/api/admin/queries/rq_status`, with Dashi's additions
//! (per-queue and per-data-source backlogs, running jobs, the scheduler's leader).

use chrono::{DateTime, Utc};
use dashi_app::SystemStatus;
use dashi_store::{Backlog, Job, Process};
use serde_json::{Map, Value, json};

use super::{optional_time, time};

/// Seconds a process may stay silent before it counts as gone (three missed 5-s heartbeats).
const SILENT_AFTER_SECS: i64 = 15;

fn seconds_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> f64 {
    ((later - earlier).num_milliseconds().max(0) as f64) / 1000.0
}

fn backlog_json(backlog: &Backlog, now: DateTime<Utc>) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("queued".into(), json!(backlog.queued));
    body.insert("running".into(), json!(backlog.running));
    body.insert("oldest_queued_age".into(), json!(backlog.oldest_queued_at.map(|at| seconds_between(at, now))));
    body
}

fn process_json(process: &Process, now: DateTime<Utc>) -> Value {
    let silent_for = (now - process.heartbeat_at).num_seconds().max(0);
    json!({
        "name": process.id,
        "role": process.role,
        "hostname": process.hostname,
        "pid": process.pid,
        "queues": process.queues,
        "started_at": time(process.started_at),
        "last_heartbeat": time(process.heartbeat_at),
        "alive": silent_for <= SILENT_AFTER_SECS,
    })
}

fn running_job_json(job: &Job) -> Value {
    json!({
        "id": job.id.0,
        "name": job.kind,
        "origin": job.queue,
        "enqueued_at": time(job.created_at),
        "started_at": optional_time(job.started_at),
        "meta": {
            "data_source_id": job.data_source_id.map(|id| id.0),
            "org_id": job.org_id.map(|org| org.0),
            "query_id": job.query_id,
            "scheduled": job.payload.get("scheduled").and_then(Value::as_bool).unwrap_or(false),
        },
        "worker": job.lease_owner,
    })
}

/// `/status.json`: Redash's keys, then Dashi's.
pub(crate) fn status_json(status: &SystemStatus, version: &str) -> Value {
    let now = status.observed_at;
    let counts = &status.counts;
    let mut queues = Map::new();
    let mut manager_queues = Map::new();
    for (name, backlog) in &status.backlogs.queues {
        queues.insert(name.clone(), Value::Object(backlog_json(backlog, now)));
        manager_queues.insert(name.clone(), json!({"size": backlog.queued}));
    }
    let data_sources: Vec<Value> = status
        .backlogs
        .data_sources
        .iter()
        .map(|(id, backlog)| {
            let mut body = backlog_json(backlog, now);
            body.insert("id".into(), json!(id.0));
            body.insert("name".into(), json!(status.data_source_name(*id)));
            Value::Object(body)
        })
        .collect();
    let query_ids = serde_json::to_string(&status.outdated_query_ids).expect("a list of integers serialises");
    json!({
        "version": version,
        "workers": status.processes.iter().map(|process| process_json(process, now)).collect::<Vec<_>>(),
        // Redash compat: Redis holds only wake-ups here, so its memory says nothing useful.
        "redis_used_memory": 0,
        "redis_used_memory_human": "0B",
        "queries_count": counts.queries,
        "query_results_count": counts.query_results,
        "unused_query_results_count": counts.unused_query_results,
        "dashboards_count": counts.dashboards,
        "widgets_count": counts.widgets,
        "manager": {
            "last_refresh_at": status.last_refresh_at.map(|at| at.timestamp()),
            "outdated_queries_count": status.outdated_query_ids.len(),
            "query_ids": query_ids,
            "queues": manager_queues,
        },
        "database_metrics": {
            "metrics": [["Query Results Size", status.query_results_bytes], ["Redash DB Size", status.database_bytes]],
        },
        "queues": queues,
        "data_sources": data_sources,
        "running_jobs": status.running_jobs.iter().map(running_job_json).collect::<Vec<_>>(),
        "scheduler": {
            "leader": status.leader().map(|lease| lease.holder.clone()),
            "fence": status.leader().map(|lease| lease.fence),
            "lease_expires_at": optional_time(status.leader().map(|lease| lease.expires_at)),
        },
    })
}

/// `/api/admin/queries/rq_status`: each queue's started jobs and queued count, and the workers.
pub(crate) fn rq_status_json(status: &SystemStatus) -> Value {
    let now = status.observed_at;
    let mut queues = Map::new();
    for (name, backlog) in &status.backlogs.queues {
        let started: Vec<Value> =
            status.running_jobs.iter().filter(|job| &job.queue == name).map(running_job_json).collect();
        queues.insert(name.clone(), json!({"name": name, "started": started, "queued": backlog.queued}));
    }
    let workers: Vec<Value> = status
        .processes
        .iter()
        .filter(|process| process.role == "worker")
        .map(|process| {
            let current = status.running_jobs.iter().find(|job| job.lease_owner.as_deref() == Some(process.id.as_str()));
            let silent_for = (now - process.heartbeat_at).num_seconds().max(0);
            let state = match (silent_for > SILENT_AFTER_SECS, current) {
                (true, _) => "silent",
                (false, Some(_)) => "busy",
                (false, None) => "idle",
            };
            // Redash compat: RQ's per-worker totals are not kept; the ledger has the jobs.
            json!({
                "name": process.id,
                "hostname": process.hostname,
                "pid": process.pid,
                "queues": process.queues.join(","),
                "state": state,
                "last_heartbeat": time(process.heartbeat_at),
                "birth_date": time(process.started_at),
                "current_job": current.map(|job| job.id.0.clone()),
                "successful_jobs": 0,
                "failed_jobs": 0,
                "total_working_time": 0,
            })
        })
        .collect();
    json!({"queues": queues, "workers": workers})
}
