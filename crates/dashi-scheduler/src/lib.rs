//! The scheduler role: decides what is due (refreshes, alert checks, housekeeping) and enqueues it.
//!
//! Any number of schedulers may run; one leads. Leadership is the `scheduler` lease in the
//! metadata database ([`dashi_store::acquire_or_renew_lease`]): each tick a [`Scheduler`] renews
//! its heartbeat, then tries to take or renew the lease; it leads while it holds a live lease and
//! steps down the moment a renewal fails. On a graceful stop the leader releases the lease so a
//! standby takes over within one tick instead of one TTL.
//!
//! Today this is the role's frame: presence, leadership and health. The work a leader does each
//! tick (due refreshes, alert checks, cleanup) arrives with the queue crate and plugs into
//! `Scheduler::lead`.

use std::time::Duration;

use chrono::Utc;
use dashi_core::{CLEANUP_RESULTS_JOB, CleanupResultsPayload, Queue};
use dashi_store::{NewJob, Presence, ProcessHealth, ProcessRole, STORE_CALL_LIMIT, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, instrument, warn};

/// The name of the lease that elects the active scheduler.
pub const LEASE_NAME: &str = "scheduler";

/// How long a process row may stay silent before the leader deletes it: long enough for
/// `dashi status` to show a crashed process for a while.
const DEAD_PROCESS_RETENTION: Duration = Duration::from_secs(3600);
/// How often the leader enqueues the results cleanup (Redash's period).
const CLEANUP_EVERY: Duration = Duration::from_secs(300);

/// What a scheduler needs to know; built by the binary from the settings.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// This machine's name, part of the process id.
    pub hostname: String,
    /// How often the heartbeat and the lease are renewed.
    pub tick_interval: Duration,
    /// How long a lease lasts without renewal; a standby takes over at most this long after the
    /// leader dies without releasing it. Must be a few ticks long.
    pub lease_ttl: Duration,
}

impl SchedulerSettings {
    /// A 5-second tick and a 15-second lease: a leader may miss two renewals before it loses.
    pub fn new(hostname: impl Into<String>) -> SchedulerSettings {
        SchedulerSettings {
            hostname: hostname.into(),
            tick_interval: Duration::from_secs(5),
            lease_ttl: Duration::from_secs(15),
        }
    }
}

/// What a scheduler reports about itself on `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerHealth {
    pub process: ProcessHealth,
    /// Whether this scheduler holds a live lease.
    pub leader: bool,
}

/// A scheduler process (or the scheduler part of `dashi all`).
pub struct Scheduler {
    settings: SchedulerSettings,
    store: Store,
    presence: Presence,
    /// The lease's fence while this scheduler leads.
    leadership: Option<i64>,
    leader: watch::Sender<bool>,
}

impl Scheduler {
    pub fn new(store: Store, settings: SchedulerSettings) -> Scheduler {
        let presence = Presence::new(store.clone(), ProcessRole::Scheduler, &settings.hostname, Vec::new());
        let (leader, _) = watch::channel(false);
        Scheduler { settings, store, presence, leadership: None, leader }
    }

    /// This scheduler's process id, which is also its name as lease holder.
    pub fn id(&self) -> &str {
        self.presence.id()
    }

    /// Follows this scheduler's health; the binary serves it on `/health`.
    pub fn health(&self) -> HealthWatch {
        HealthWatch { process: self.presence.health(), leader: self.leader.subscribe() }
    }

    /// Runs until `shutdown` fires, then finishes the current tick, releases the lease if it
    /// holds it, removes its process row and returns. Database failures are retried each tick.
    #[instrument(skip_all, fields(role = "scheduler", id = %self.id()))]
    pub async fn run(mut self, shutdown: CancellationToken) {
        info!(
            tick_secs = self.settings.tick_interval.as_secs(),
            lease_ttl_secs = self.settings.lease_ttl.as_secs(),
            "scheduler started"
        );
        let mut ticker = tokio::time::interval(self.settings.tick_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => self.tick().await,
            }
        }
        self.step_down_gracefully().await;
        self.presence.leave().await;
        info!("scheduler stopped");
    }

    async fn tick(&mut self) {
        self.presence.beat().await;
        self.renew_lease().await;
        if self.leadership.is_some() {
            self.lead().await;
        }
    }

    /// Takes or renews the lease; any doubt (no answer, an error, someone else holding it)
    /// means stepping down, since acting without the lease is what must never happen.
    async fn renew_lease(&mut self) {
        let now = Utc::now();
        let attempt =
            dashi_store::acquire_or_renew_lease(&self.store, LEASE_NAME, self.id(), self.settings.lease_ttl, now);
        let outcome = tokio::time::timeout(STORE_CALL_LIMIT, attempt).await;
        match (outcome, self.leadership) {
            (Ok(Ok(Some(fence))), None) => {
                info!(fence, "lease won; this scheduler leads");
                self.leadership = Some(fence);
            }
            (Ok(Ok(Some(fence))), Some(_)) => {
                debug!(fence, "lease renewed");
                self.leadership = Some(fence);
            }
            (Ok(Ok(None)), Some(fence)) => {
                warn!(fence, "lease lost to another scheduler; stepping down");
                self.leadership = None;
            }
            (Ok(Ok(None)), None) => debug!("another scheduler leads"),
            (Ok(Err(error)), leadership) => {
                if let Some(fence) = leadership {
                    warn!(fence, error = %error, "lease renewal failed; stepping down");
                } else {
                    warn!(error = %error, "could not read the lease");
                }
                self.leadership = None;
            }
            (Err(_), leadership) => {
                if let Some(fence) = leadership {
                    warn!(fence, limit_secs = STORE_CALL_LIMIT.as_secs(), "lease renewal timed out; stepping down");
                }
                self.leadership = None;
            }
        }
        self.leader.send_replace(self.leadership.is_some());
    }

    /// The leader's work for one tick. Today: forget processes that have been silent for long.
    async fn lead(&self) {
        self.enqueue_cleanup().await;
        let cutoff = Utc::now() - chrono::Duration::from_std(DEAD_PROCESS_RETENTION).unwrap_or(chrono::Duration::zero());
        match tokio::time::timeout(STORE_CALL_LIMIT, dashi_store::prune_dead_processes(&self.store, cutoff)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(pruned)) => info!(pruned, "removed rows of processes silent for over an hour"),
            Ok(Err(error)) => warn!(error = %error, "could not prune silent processes"),
            Err(_) => warn!("pruning silent processes timed out"),
        }
    }

    /// Enqueues the results cleanup once per slot. The run key names the slot, so a second
    /// scheduler, or this one after a restart, cannot enqueue the same cleanup twice.
    async fn enqueue_cleanup(&self) {
        let now = Utc::now();
        let slot = now.timestamp() - now.timestamp().rem_euclid(CLEANUP_EVERY.as_secs() as i64);
        let payload = CleanupResultsPayload { max_age_days: 7, batch: 100 };
        let job = NewJob {
            org_id: None,
            queue: Queue::Maintenance.as_str().into(),
            kind: CLEANUP_RESULTS_JOB.into(),
            payload: serde_json::to_value(&payload).expect("a plain struct always serialises"),
            data_source_id: None,
            query_id: None,
            query_hash: None,
            dedupe_key: None,
            run_key: Some(format!("maintenance:{CLEANUP_RESULTS_JOB}:{slot}")),
            max_attempts: 1,
            run_after: now,
        };
        match tokio::time::timeout(STORE_CALL_LIMIT, dashi_store::enqueue(&self.store, &job, now)).await {
            Ok(Ok(enqueued)) if enqueued.created => info!(job.id = %enqueued.job.id, "results cleanup enqueued"),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => warn!(error = %error, "could not enqueue the results cleanup"),
            Err(_) => warn!("enqueueing the results cleanup timed out"),
        }
        if let Ok(Err(error)) = tokio::time::timeout(STORE_CALL_LIMIT, dashi_store::prune_sessions(&self.store, now)).await {
            warn!(error = %error, "could not remove expired sessions");
        }
    }

    async fn step_down_gracefully(&mut self) {
        let Some(fence) = self.leadership.take() else { return };
        self.leader.send_replace(false);
        let release = dashi_store::release_lease(&self.store, LEASE_NAME, self.id());
        match tokio::time::timeout(STORE_CALL_LIMIT, release).await {
            Ok(Ok(_)) => info!(fence, "lease released"),
            Ok(Err(error)) => warn!(fence, error = %error, "could not release the lease; it expires by itself"),
            Err(_) => warn!(fence, "releasing the lease timed out; it expires by itself"),
        }
    }
}

/// A live view of a scheduler's health.
#[derive(Debug, Clone)]
pub struct HealthWatch {
    process: watch::Receiver<ProcessHealth>,
    leader: watch::Receiver<bool>,
}

impl HealthWatch {
    /// The health right now.
    pub fn current(&self) -> SchedulerHealth {
        SchedulerHealth { process: self.process.borrow().clone(), leader: *self.leader.borrow() }
    }
}
