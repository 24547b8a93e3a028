//! Housekeeping the leader starts: jobs for the workers' `maintenance` and `schemas` queues
//! (results cleanup, schema refresh, events retention), and the cheap statements it runs itself
//! (expired schedules, ledger retention, reconciliation, silent processes, expired sessions).
//!
//! Each periodic job is enqueued under a run key naming its period's slot, so however many
//! schedulers lead in a period, one job runs. The statements the leader runs itself are
//! idempotent, so repeating one after a failover does no harm.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dashi_app::App;
use dashi_core::{
    CLEANUP_RESULTS_JOB, CleanupResultsPayload, DataSourcePayload, PRUNE_EVENTS_JOB, PruneEventsPayload, Queue,
    REFRESH_SCHEMA_JOB,
};
use dashi_store::{DataSourceId, NewJob};
use serde::Serialize;
use tracing::{info, warn};

/// How often results no query uses are cleaned up (Redash's period).
const CLEANUP_EVERY: Duration = Duration::from_secs(300);
/// How often the leader clears expired schedules (Redash's `empty_schedules`), prunes the ledger
/// and old events.
const HOURLY: Duration = Duration::from_secs(3600);
/// A queued job nobody picked for this long is announced to the workers again.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// How long a silent process row stays for `dashi status` before the leader deletes it.
const DEAD_PROCESS_RETENTION: Duration = Duration::from_secs(3600);
/// Rows deleted per statement, so no pruning holds a long lock.
const BATCH: i64 = 1000;

/// What the maintenance does and how often; from the settings.
#[derive(Debug, Clone)]
pub struct MaintenanceSettings {
    /// Minutes between schema refreshes of every data source; `None` turns them off.
    pub schema_refresh_every: Option<Duration>,
    /// Age after which audit events are deleted; `None` keeps them.
    pub events_retention_days: Option<u64>,
    /// Age after which finished jobs leave the ledger; `None` keeps them.
    pub job_retention: Option<Duration>,
}

impl Default for MaintenanceSettings {
    fn default() -> MaintenanceSettings {
        MaintenanceSettings {
            schema_refresh_every: Some(Duration::from_secs(30 * 60)),
            events_retention_days: Some(90),
            job_retention: Some(Duration::from_secs(7 * 86_400)),
        }
    }
}

/// The start of the slot of length `every` that contains `now`, in Unix seconds.
fn slot(now: DateTime<Utc>, every: Duration) -> i64 {
    let every = i64::try_from(every.as_secs().max(1)).unwrap_or(i64::MAX);
    now.timestamp() - now.timestamp().rem_euclid(every)
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// A maintenance job named by its slot.
fn periodic_job(queue: Queue, kind: &str, payload: impl Serialize, run_key: String, now: DateTime<Utc>) -> NewJob {
    NewJob {
        org_id: None,
        queue: queue.as_str().into(),
        kind: kind.into(),
        payload: serde_json::to_value(payload).expect("a plain struct always serialises"),
        data_source_id: None,
        query_id: None,
        query_hash: None,
        dedupe_key: None,
        run_key: Some(run_key),
        max_attempts: 1,
        run_after: now,
    }
}

/// The leader's housekeeping, with the instants of its hourly statements.
pub(crate) struct Maintenance {
    settings: MaintenanceSettings,
    last_hourly: Option<DateTime<Utc>>,
    last_reconcile: Option<DateTime<Utc>>,
}

impl Maintenance {
    pub(crate) fn new(settings: MaintenanceSettings) -> Maintenance {
        Maintenance { settings, last_hourly: None, last_reconcile: None }
    }

    /// One tick of housekeeping. Each step logs its own failure and the others still run.
    pub(crate) async fn run(&mut self, app: &App, now: DateTime<Utc>) {
        let slot_key = |kind: &str, every: Duration| format!("maintenance:{kind}:{}", slot(now, every));
        let cleanup = CleanupResultsPayload { max_age_days: 7, batch: 100 };
        let job = periodic_job(Queue::Maintenance, CLEANUP_RESULTS_JOB, cleanup, slot_key(CLEANUP_RESULTS_JOB, CLEANUP_EVERY), now);
        enqueue(app, &job, "results cleanup").await;
        if let Some(every) = self.settings.schema_refresh_every {
            self.refresh_schemas(app, now, every).await;
        }
        if let Some(days) = self.settings.events_retention_days {
            let payload = PruneEventsPayload { max_age_days: i64::try_from(days).unwrap_or(i64::MAX), batch: BATCH };
            let job = periodic_job(Queue::Maintenance, PRUNE_EVENTS_JOB, payload, slot_key(PRUNE_EVENTS_JOB, HOURLY), now);
            enqueue(app, &job, "events retention").await;
        }
        if self.last_reconcile.is_none_or(|last| now - last >= to_chrono(STALE_AFTER)) {
            self.last_reconcile = Some(now);
            reconcile(app, now).await;
        }
        if self.last_hourly.is_none_or(|last| now - last >= to_chrono(HOURLY)) {
            self.last_hourly = Some(now);
            self.hourly(app, now).await;
        }
    }

    /// Redash's `refresh_schemas`: one schema fetch per data source that is not paused.
    async fn refresh_schemas(&self, app: &App, now: DateTime<Utc>, every: Duration) {
        let sources = match dashi_store::schema_refresh_sources(app.store()).await {
            Ok(sources) => sources,
            Err(error) => return warn!(error = %error, "could not list the data sources for the schema refresh"),
        };
        let slot = slot(now, every);
        for (org, DataSourceId(id)) in sources {
            let run_key = format!("maintenance:{REFRESH_SCHEMA_JOB}:{id}:{slot}");
            let mut job = periodic_job(Queue::Schemas, REFRESH_SCHEMA_JOB, DataSourcePayload { data_source_id: id }, run_key, now);
            job.org_id = Some(org);
            job.data_source_id = Some(DataSourceId(id));
            // The same key as a refresh asked for on the API: one fetch per source at a time.
            job.dedupe_key = Some(format!("schema:{id}"));
            enqueue(app, &job, "schema refresh").await;
        }
    }

    async fn hourly(&self, app: &App, now: DateTime<Utc>) {
        let store = app.store();
        clear_expired_schedules(app, now).await;
        if let Some(retention) = self.settings.job_retention {
            let before = now - to_chrono(retention);
            let mut pruned = 0;
            loop {
                match dashi_store::prune_finished_jobs(store, before, BATCH).await {
                    Ok(deleted) => {
                        pruned += deleted;
                        if deleted < BATCH as u64 {
                            break;
                        }
                    }
                    Err(error) => {
                        warn!(error = %error, "could not prune finished jobs");
                        break;
                    }
                }
            }
            if pruned > 0 {
                info!(pruned, "removed finished jobs past their retention from the ledger");
            }
        }
        match dashi_store::prune_dead_processes(store, now - to_chrono(DEAD_PROCESS_RETENTION)).await {
            Ok(0) => {}
            Ok(pruned) => info!(pruned, "removed rows of processes silent for over an hour"),
            Err(error) => warn!(error = %error, "could not prune silent processes"),
        }
        if let Err(error) = dashi_store::prune_sessions(store, now).await {
            warn!(error = %error, "could not remove expired sessions");
        }
    }
}

async fn enqueue(app: &App, job: &NewJob, what: &'static str) {
    match app.queue().enqueue(job).await {
        Ok(enqueued) if enqueued.created => info!(job.id = %enqueued.job.id, what, "maintenance job enqueued"),
        Ok(_) => {}
        Err(error) => warn!(error = %error, what, "could not enqueue a maintenance job"),
    }
}

/// Redash's `empty_schedules`: a schedule whose `until` date has come is removed from its
/// query (as a new version by its owner, so the history shows it).
pub async fn clear_expired_schedules(app: &App, now: DateTime<Utc>) -> u64 {
    let store = app.store();
    let expired = match dashi_store::expired_schedules(store, now.date_naive(), 10_000).await {
        Ok(expired) => expired,
        Err(error) => {
            warn!(error = %error, "could not look for expired schedules");
            return 0;
        }
    };
    let mut cleared = 0;
    for (org, id) in expired {
        let outcome = match dashi_store::query_by_id(store, org, id).await {
            Ok(Some(query)) => dashi_store::unschedule_query(store, &query, now).await.map(drop),
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => cleared += 1,
            // An edit in between wins; the next pass looks again.
            Err(error) => warn!(query.id = id.0, error = %error, "could not clear an expired schedule"),
        }
    }
    if cleared > 0 {
        info!(cleared, "cleared schedules past their until date");
    }
    cleared
}

/// Announces again every queued job no worker has picked for [`STALE_AFTER`]: its wake-up was
/// lost (a Redis flush, a restart). The ledger stays the truth; a duplicate wake-up only makes
/// a worker find the job taken.
pub async fn reconcile(app: &App, now: DateTime<Utc>) -> usize {
    let stale = match dashi_store::stale_queued_jobs(app.store(), now - to_chrono(STALE_AFTER), BATCH).await {
        Ok(stale) => stale,
        Err(error) => {
            warn!(error = %error, "could not look for stale queued jobs");
            return 0;
        }
    };
    let dispatcher = app.queue().dispatcher();
    for (id, queue) in &stale {
        dispatcher.publish(queue, id).await;
    }
    if !stale.is_empty() {
        info!(n_jobs = stale.len(), "announced queued jobs nobody picked up again");
    }
    stale.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_start_on_multiples_of_the_period() {
        let now = DateTime::parse_from_rfc3339("2024-03-13T10:07:42Z").unwrap().with_timezone(&Utc);
        let start = DateTime::parse_from_rfc3339("2024-03-13T10:05:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(slot(now, CLEANUP_EVERY), start.timestamp());
        assert_eq!(slot(start, CLEANUP_EVERY), start.timestamp());
    }
}
