//! Alerts after a query run: the `check_alerts` job and the hooks that enqueue it.
//!
//! A run that stores a result (or fails) enqueues one `check_alerts` job on the `notifications`
//! queue when some alert watches that text, under a run key naming the cause, so the check is
//! enqueued once per result or failure. Evaluation reads the result from the results store, which
//! must not happen inside the run's fenced transaction (a large result would hold SQLite's
//! writer); if the worker dies between the run's commit and the enqueue, that one check is lost,
//! as in Redash. The check then moves each alert's state and writes its notifications in one
//! transaction (`dashi_store::apply_alert_transition`), keyed by cause and subscription, so
//! running the check again cannot notify twice; finally it enqueues one `send_notification`
//! job per pending row under a run key naming the row.

use chrono::{DateTime, SecondsFormat, Utc};
use dashi_core::{
    CHECK_ALERTS_JOB, CheckAlertsPayload, Escape, OrgId, Queue, SEND_NOTIFICATION_JOB, SendNotificationPayload,
    Template,
};
use dashi_destinations::{DEFAULT_MAIL_BODY_TEMPLATE, Notification};
use dashi_queue::JobQueue;
use dashi_store::{Alert, AlertTransition, DataSourceId, Job, NewJob, NewNotification, Query, QueryResult, Store};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::condition::{Condition, Observation, Selector, State, observe};
use crate::execution::Execution;

/// What the evaluation is about.
enum Cause<'a> {
    Result(&'a QueryResult),
    Failed { job_id: &'a str, error: &'a str },
    Manual { job_id: &'a str, latest: Option<&'a QueryResult> },
}

impl Cause<'_> {
    /// Part of every outbox key: the same cause never notifies a subscription twice.
    fn key(&self) -> String {
        match self {
            Cause::Result(result) => format!("result:{}", result.id),
            Cause::Failed { job_id, .. } => format!("failed:{job_id}"),
            Cause::Manual { job_id, .. } => format!("manual:{job_id}"),
        }
    }

    fn metadata(&self) -> Value {
        match self {
            Cause::Result(result) => json!({"query_result_id": result.id}),
            Cause::Failed { job_id, error } => json!({"job_id": job_id, "error": error}),
            Cause::Manual { job_id, .. } => json!({"job_id": job_id, "manual": true}),
        }
    }
}

fn queue(store: &Store, execution: &Execution) -> JobQueue {
    JobQueue::new(store.clone(), execution.dispatcher.clone())
}

/// Enqueues a check of the alerts on the queries now pointing at a new result, if any.
pub(crate) async fn after_result(store: &Store, execution: &Execution, org: OrgId, query_result_id: i64) {
    let watched = dashi_store::alerts_on_result(store, query_result_id).await;
    let payload = CheckAlertsPayload::Result { query_result_id };
    enqueue_check(store, execution, org, watched, payload, format!("check_alerts:result:{query_result_id}")).await;
}

/// Enqueues a check of the alerts on a text whose run failed, if any.
pub(crate) async fn after_failure(store: &Store, execution: &Execution, job: &Job, error: &str) {
    let (Some(org), Some(data_source), Some(query_hash)) = (job.org_id, job.data_source_id, job.query_hash.clone())
    else {
        return;
    };
    let watched = dashi_store::alerts_on_text(store, data_source, &query_hash).await;
    let payload = CheckAlertsPayload::Failed {
        data_source_id: data_source.0,
        query_hash,
        job_id: job.id.0.clone(),
        error: error.to_owned(),
    };
    enqueue_check(store, execution, org, watched, payload, format!("check_alerts:failed:{}", job.id)).await;
}

async fn enqueue_check(
    store: &Store,
    execution: &Execution,
    org: OrgId,
    watched: dashi_store::Result<Vec<Alert>>,
    payload: CheckAlertsPayload,
    run_key: String,
) {
    match watched {
        Ok(alerts) if alerts.is_empty() => return,
        Ok(_) => {}
        Err(error) => {
            warn!(error = &error as &dyn std::error::Error, "could not look for alerts on a finished run");
            return;
        }
    }
    let new = NewJob {
        org_id: Some(org),
        queue: Queue::Notifications.as_str().into(),
        kind: CHECK_ALERTS_JOB.into(),
        payload: serde_json::to_value(&payload).expect("a plain enum always serialises"),
        data_source_id: None,
        query_id: None,
        query_hash: None,
        dedupe_key: None,
        run_key: Some(run_key),
        max_attempts: 3,
        run_after: Utc::now(),
    };
    if let Err(error) = queue(store, execution).enqueue(&new).await {
        warn!(error = &error as &dyn std::error::Error, "could not enqueue an alert check");
    }
}

/// The `check_alerts` job.
pub(crate) async fn check_alerts(
    store: &Store,
    execution: &Execution,
    job: &Job,
    payload: &CheckAlertsPayload,
) -> Result<(), String> {
    let org = job.org_id.ok_or("This job belongs to no organization.")?;
    let db = |error: dashi_store::Error| format!("Could not read alerts: {error}");
    match payload {
        CheckAlertsPayload::Result { query_result_id } => {
            let Some(result) = dashi_store::query_result_by_id(store, org, *query_result_id).await.map_err(db)? else {
                return Ok(());
            };
            for alert in dashi_store::alerts_on_result(store, result.id).await.map_err(db)? {
                evaluate(store, execution, &alert, &Cause::Result(&result)).await?;
            }
        }
        CheckAlertsPayload::Failed { data_source_id, query_hash, job_id, error } => {
            let alerts =
                dashi_store::alerts_on_text(store, DataSourceId(*data_source_id), query_hash).await.map_err(db)?;
            for alert in alerts {
                evaluate(store, execution, &alert, &Cause::Failed { job_id, error }).await?;
            }
        }
        CheckAlertsPayload::Manual { alert_id } => {
            let Some(alert) =
                dashi_store::alert_by_id(store, org, dashi_store::AlertId(*alert_id)).await.map_err(db)?
            else {
                return Ok(());
            };
            let query = dashi_store::query_by_id(store, org, alert.query_id).await.map_err(db)?;
            let latest = match query.and_then(|query| query.latest_query_data_id) {
                Some(id) => dashi_store::query_result_by_id(store, org, id).await.map_err(db)?,
                None => None,
            };
            evaluate(store, execution, &alert, &Cause::Manual { job_id: &job.id.0, latest: latest.as_ref() }).await?;
        }
    }
    Ok(())
}

/// Judges one alert on `cause`, moves its state and writes its notifications.
async fn evaluate(store: &Store, execution: &Execution, alert: &Alert, cause: &Cause<'_>) -> Result<(), String> {
    let Some(query) = dashi_store::query_by_id(store, alert.org_id, alert.query_id)
        .await
        .map_err(|error| format!("Could not read the alert's query: {error}"))?
    else {
        return Ok(());
    };
    let condition = Condition::from_options(&alert.options);
    let result = match cause {
        Cause::Result(result) => Some(*result),
        Cause::Manual { latest, .. } => *latest,
        Cause::Failed { .. } => None,
    };
    let observation = match (result, cause, condition.selector) {
        (_, Cause::Failed { .. }, Selector::QueryFailed) => empty_observation(State::Triggered),
        // Redash does not look at failed runs; only the query-failed condition does.
        (_, Cause::Failed { .. }, _) => return Ok(()),
        (Some(result), _, _) => read(execution, &condition, result).await?,
        (None, _, _) => empty_observation(State::Unknown),
    };
    let now = Utc::now();
    let new_state = observation.state.as_str();
    let rearmed = alert.state == "triggered"
        && alert
            .rearm
            .zip(alert.last_triggered_at)
            .is_some_and(|(rearm, last)| last + chrono::Duration::seconds(rearm) < now);
    let changed = new_state != alert.state || rearmed;
    let manual = matches!(cause, Cause::Manual { .. });
    if !changed && !manual {
        return enqueue_pending(store, execution, alert).await;
    }
    // Redash sends nothing for a first verdict of ok, nor for a muted alert (the state still moves).
    let silent = !manual && (alert.is_muted() || (alert.state == "unknown" && new_state == "ok"));
    let notifications = if silent {
        Vec::new()
    } else {
        let note = render(execution, alert, &query, new_state, now, &observation, cause);
        let payload = serde_json::to_value(&note).expect("a notification always serialises");
        dashi_store::subscriptions_of(store, alert.id)
            .await
            .map_err(|error| format!("Could not read subscriptions: {error}"))?
            .into_iter()
            .map(|subscription| NewNotification {
                subscription_id: subscription.id,
                state_change: format!("alert:{}:{}:subscription:{}", alert.id, cause.key(), subscription.id),
                payload: payload.clone(),
            })
            .collect()
    };
    let transition = AlertTransition {
        alert_id: alert.id,
        from_state: alert.state.clone(),
        from_last_triggered_at: alert.last_triggered_at,
        to_state: changed.then(|| new_state.to_owned()),
        notifications,
        now,
    };
    match dashi_store::apply_alert_transition(store, &transition).await {
        Ok(Some(written)) => {
            info!(alert.id = alert.id.0, state = new_state, notifications = written.len(), "alert evaluated")
        }
        Ok(None) => info!(alert.id = alert.id.0, "alert changed meanwhile; its own evaluation notifies"),
        Err(error) => return Err(format!("Could not record the alert's state: {error}")),
    }
    enqueue_pending(store, execution, alert).await
}

fn empty_observation(state: State) -> Observation {
    Observation { state, value: Value::Null, columns: Vec::new(), rows: Vec::new(), table: Vec::new() }
}

async fn read(execution: &Execution, condition: &Condition, result: &QueryResult) -> Result<Observation, String> {
    let storage = dashi_results::Storage::from_parts(result.inline_data.as_deref(), result.location.as_deref())
        .ok_or("The result has no stored rows.")?;
    let (columns, rows) =
        execution.results.cells(&storage).await.map_err(|error| format!("Could not read the result: {error}"))?;
    observe(condition, &columns, rows).await.map_err(|error| format!("Could not read the result: {error}"))
}

/// Redash's ISO 8601 form.
fn time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// The notification of a change: templates rendered with Redash's variables.
fn render(
    execution: &Execution,
    alert: &Alert,
    query: &Query,
    new_state: &str,
    now: DateTime<Utc>,
    observation: &Observation,
    cause: &Cause<'_>,
) -> Notification {
    let host = execution.notifications.base_url.trim_end_matches('/').to_owned();
    let option = |key: &str| alert.options.get(key).cloned().unwrap_or(Value::Null);
    let mut context = json!({
        "ALERT_NAME": alert.name,
        "ALERT_URL": format!("{host}/alerts/{}", alert.id),
        "ALERT_STATUS": new_state.to_uppercase(),
        "ALERT_SELECTOR": alert.options.get("selector").cloned().unwrap_or_else(|| json!("first")),
        "ALERT_CONDITION": option("op"),
        "ALERT_THRESHOLD": option("value"),
        "QUERY_NAME": query.name,
        "QUERY_URL": format!("{host}/queries/{}", query.id),
        "QUERY_RESULT_VALUE": observation.value,
        "QUERY_RESULT_ROWS": observation.rows,
        "QUERY_RESULT_COLS": observation.columns,
        "QUERY_RESULT_TABLE": observation.table,
    });
    if let Cause::Failed { error, .. } = cause {
        context["QUERY_ERROR"] = json!(error);
    }
    let render_text = |template: &str| -> Option<String> {
        // A template that does not parse is sent as written rather than dropped.
        let text = match Template::parse(template) {
            Ok(parsed) => parsed.render(&context, Escape::Html),
            Err(_) => template.to_owned(),
        };
        Some(text).filter(|text| !text.is_empty())
    };
    let template = |key: &str| alert.options.get(key).and_then(Value::as_str).and_then(render_text);
    let mut options = alert.options.clone();
    options.entry("selector").or_insert_with(|| json!("first"));
    Notification {
        alert_id: alert.id.0,
        alert_name: alert.name.clone(),
        query_id: query.id.0,
        query_name: query.name.clone(),
        query_text: query.query_text.clone(),
        state: new_state.to_owned(),
        custom_subject: template("custom_subject"),
        custom_body: template("custom_body").or_else(|| template("template")),
        mail_body: render_text(DEFAULT_MAIL_BODY_TEMPLATE).unwrap_or_default(),
        host,
        alert: json!({
            "id": alert.id.0,
            "name": alert.name,
            "options": options,
            "state": new_state,
            "last_triggered_at": time(now),
            "updated_at": time(alert.updated_at),
            "created_at": time(alert.created_at),
            "rearm": alert.rearm,
            "query_id": query.id.0,
            "user_id": alert.user_id.0,
        }),
        metadata: cause.metadata(),
    }
}

/// One `send_notification` job per pending outbox row of the alert; the run key makes this
/// idempotent, so a check that ran before (or crashed after its transaction) enqueues each once.
async fn enqueue_pending(store: &Store, execution: &Execution, alert: &Alert) -> Result<(), String> {
    let pending = dashi_store::pending_outbox_ids(store, alert.id)
        .await
        .map_err(|error| format!("Could not read the outbox: {error}"))?;
    let queue = queue(store, execution);
    for outbox_id in pending {
        let new = NewJob {
            org_id: Some(alert.org_id),
            queue: Queue::Notifications.as_str().into(),
            kind: SEND_NOTIFICATION_JOB.into(),
            payload: serde_json::to_value(SendNotificationPayload { outbox_id })
                .expect("a plain struct always serialises"),
            data_source_id: None,
            query_id: None,
            query_hash: None,
            dedupe_key: None,
            run_key: Some(format!("send_notification:{outbox_id}")),
            max_attempts: execution.notifications.max_attempts,
            run_after: Utc::now(),
        };
        queue.enqueue(&new).await.map_err(|error| format!("Could not enqueue a notification: {error}"))?;
    }
    Ok(())
}
