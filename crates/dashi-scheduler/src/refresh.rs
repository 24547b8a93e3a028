//! Scheduled refreshes: each tick the leader enqueues every query whose schedule is due.
//!
//! Only due queries are read (`queries.schedule_due_at`, an index range), in pages. A due run
//! is named by its query and its nominal due instant ([`dashi_store::refresh_run_key`]), and the
//! ledger keeps one job per name ever, so a restart, a crash between enqueueing and advancing,
//! or two schedulers that both believe they lead cannot run the same due refresh twice. The
//! schedule then moves on by a compare-and-set on that instant.

use chrono::{DateTime, Utc};
use dashi_app::{App, ScheduledRefresh};
use dashi_core::{Schedule, delayed_by_failures};
use dashi_store::DueQuery;
use tracing::{debug, info, warn};

/// Due queries read per statement.
const PAGE: i64 = 500;

/// What one pass did, for the tick's log line and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshCounts {
    /// New jobs in the ledger.
    pub enqueued: u64,
    /// Due runs that found their job already there (same run key, or the same text running).
    pub attached: u64,
    /// Due runs skipped (archived, no or paused data source, a refused parameter default).
    pub skipped: u64,
    /// Due queries still waiting out the back-off after failures.
    pub backing_off: u64,
    /// Schedules that will never be due again (disabled, unreadable, past `until`).
    pub stopped: u64,
}

/// What to do with one due query.
enum Decision {
    Run { next: Option<DateTime<Utc>> },
    Wait,
    Stop,
}

/// Redash's rules for a due query: not when disabled or past `until`; after failures, only
/// once `2^failures` minutes more have passed; the next run counts from the nominal due instant
/// (no drift), or from now when the scheduler was away so long that it is already past.
fn decide(due: &DueQuery, now: DateTime<Utc>) -> Decision {
    let schedule = match due.schedule.as_ref().map(Schedule::from_json) {
        Some(Ok(Some(schedule))) => schedule,
        _ => return Decision::Stop,
    };
    if !schedule.is_due(None, now, 0) {
        return Decision::Stop;
    }
    let failures = u32::try_from(due.failures).unwrap_or(u32::MAX);
    match delayed_by_failures(due.due_at, failures) {
        Some(ready_at) if now > ready_at => {}
        _ => return Decision::Wait,
    }
    let next = schedule.next_run(due.due_at, 0).filter(|next| *next > now).or_else(|| schedule.next_run(now, 0));
    Decision::Run { next }
}

/// Enqueues every due refresh. Errors leave a query due, to be tried again next tick.
pub async fn refresh_due(app: &App, now: DateTime<Utc>) -> dashi_store::Result<RefreshCounts> {
    let store = app.store();
    let mut counts = RefreshCounts::default();
    let mut after = None;
    loop {
        let page = dashi_store::due_scheduled_queries(store, now, after, PAGE).await?;
        let full = page.len() as i64 == PAGE;
        for due in &page {
            refresh_one(app, due, now, &mut counts).await?;
        }
        after = page.last().map(|due| (due.due_at, due.id));
        if !full {
            break;
        }
    }
    Ok(counts)
}

async fn refresh_one(app: &App, due: &DueQuery, now: DateTime<Utc>, counts: &mut RefreshCounts) -> dashi_store::Result<()> {
    let store = app.store();
    let next = match decide(due, now) {
        Decision::Wait => {
            counts.backing_off += 1;
            return Ok(());
        }
        Decision::Stop => {
            counts.stopped += 1;
            debug!(query.id = due.id.0, "schedule disabled, expired or unreadable; no more runs");
            dashi_store::advance_schedule(store, due.id, due.due_at, None, due.failures).await?;
            return Ok(());
        }
        Decision::Run { next } => next,
    };
    let run_key = dashi_store::refresh_run_key(due.id, due.due_at);
    match app.enqueue_scheduled_refresh(due.org_id, due.id, run_key).await {
        Ok(ScheduledRefresh::Enqueued(enqueued)) if enqueued.created => {
            counts.enqueued += 1;
            debug!(query.id = due.id.0, job.id = %enqueued.job.id, "scheduled refresh enqueued");
        }
        Ok(ScheduledRefresh::Enqueued(_)) => counts.attached += 1,
        Ok(ScheduledRefresh::Skipped(reason)) => {
            counts.skipped += 1;
            debug!(query.id = due.id.0, reason, "scheduled refresh skipped");
        }
        Ok(ScheduledRefresh::Refused(reason)) => {
            counts.skipped += 1;
            info!(query.id = due.id.0, reason, "scheduled refresh refused");
        }
        Err(error) => {
            warn!(query.id = due.id.0, error = %error, "could not enqueue a scheduled refresh; retrying next tick");
            return Ok(());
        }
    }
    dashi_store::advance_schedule(store, due.id, due.due_at, next, due.failures).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dashi_core::OrgId;
    use dashi_store::QueryId;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn due(schedule: serde_json::Value, due_at: &str, failures: i64) -> DueQuery {
        DueQuery { id: QueryId(1), org_id: OrgId(1), schedule: Some(schedule), due_at: at(due_at), failures }
    }

    fn next_of(decision: Decision) -> Option<DateTime<Utc>> {
        match decision {
            Decision::Run { next } => next,
            Decision::Wait => panic!("expected a run, got a wait"),
            Decision::Stop => panic!("expected a run, got a stop"),
        }
    }

    #[test]
    fn the_next_run_counts_from_the_due_instant() {
        let query = due(json!({"interval": 60}), "2024-03-13T10:00:00Z", 0);
        assert_eq!(next_of(decide(&query, at("2024-03-13T10:00:03Z"))), Some(at("2024-03-13T10:01:00Z")));
    }

    #[test]
    fn after_a_long_absence_the_next_run_counts_from_now() {
        let query = due(json!({"interval": 60}), "2024-03-13T10:00:00Z", 0);
        assert_eq!(next_of(decide(&query, at("2024-03-13T12:00:30Z"))), Some(at("2024-03-13T12:01:30Z")));
    }

    #[test]
    fn failures_delay_the_run_by_powers_of_two_minutes() {
        let query = due(json!({"interval": 60}), "2024-03-13T10:00:00Z", 3);
        assert!(matches!(decide(&query, at("2024-03-13T10:08:00Z")), Decision::Wait));
        assert!(matches!(decide(&query, at("2024-03-13T10:08:01Z")), Decision::Run { .. }));
    }

    #[test]
    fn disabled_expired_and_unreadable_schedules_stop() {
        let now = at("2024-03-13T10:00:05Z");
        assert!(matches!(decide(&due(json!({"interval": 60, "disabled": true}), "2024-03-13T10:00:00Z", 0), now), Decision::Stop));
        assert!(matches!(decide(&due(json!({"interval": 60, "until": "2024-03-13"}), "2024-03-13T10:00:00Z", 0), now), Decision::Stop));
        assert!(matches!(decide(&due(json!({"interval": "x"}), "2024-03-13T10:00:00Z", 0), now), Decision::Stop));
        assert!(matches!(decide(&due(json!({"interval": 60, "until": "2024-03-14"}), "2024-03-13T10:00:00Z", 0), now), Decision::Run { .. }));
    }

    #[test]
    fn cron_runs_follow_their_time_zone() {
        // 08:00 in Berlin on weekdays; 2024-03-29 is a Friday, the next Monday is in summer time.
        let query = due(json!({"cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}), "2024-03-29T07:00:00Z", 0);
        assert_eq!(next_of(decide(&query, at("2024-03-29T07:00:02Z"))), Some(at("2024-04-01T06:00:00Z")));
    }
}
