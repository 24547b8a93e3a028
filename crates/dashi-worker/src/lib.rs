//! The worker role: takes jobs from its queues and runs them.
//!
//! A [`Worker`] registers its `processes` row and renews its heartbeat (through
//! [`dashi_store::Presence`]), asks its dispatcher for candidate jobs, claims each in the ledger
//! (one claimant wins; a busy data source parks its jobs) and runs up to `concurrency` at once.
//! Read `job.rs` next (one claimed job: lease, cancel, record under the fence), then `query.rs`.
//! On shutdown it stops claiming, lets running jobs finish for a grace period and hands back the
//! rest; a worker killed outright loses its jobs to the reclaimer when their leases lapse.

mod alert;
mod cleanup;
mod condition;
mod events;
mod execution;
mod job;
mod notify;
mod query;
mod result_source;

pub use execution::Execution;
pub use dashi_destinations::{Endpoints, MailSettings, Outbound};
pub use notify::Notifications;

use std::time::Duration;

use dashi_core::Queue;
use std::sync::Arc;

use chrono::Utc;
use dashi_store::{Claim, JobId, Presence, ProcessHealth, ProcessRole, Store};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

/// What a worker needs to know; built by the binary from the settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Queues to take jobs from (never empty).
    pub queues: Vec<Queue>,
    /// Jobs run at once.
    pub concurrency: usize,
    /// This machine's name, part of the process id.
    pub hostname: String,
    /// How often the heartbeat is renewed.
    pub heartbeat_interval: Duration,
}

impl WorkerSettings {
    /// The given queues and concurrency with a 5-second heartbeat.
    pub fn new(queues: Vec<Queue>, concurrency: usize, hostname: impl Into<String>) -> WorkerSettings {
        WorkerSettings { queues, concurrency, hostname: hostname.into(), heartbeat_interval: Duration::from_secs(5) }
    }
}

/// A worker process (or the worker part of `dashi all`).
pub struct Worker {
    store: Store,
    settings: WorkerSettings,
    execution: Execution,
    presence: Presence,
}

impl Worker {
    pub fn new(store: Store, settings: WorkerSettings, execution: Execution) -> Worker {
        let queues = settings.queues.iter().map(|queue| queue.as_str().to_owned()).collect();
        let presence = Presence::new(store.clone(), ProcessRole::Worker, &settings.hostname, queues);
        Worker { store, settings, execution, presence }
    }

    /// This worker's process id (`hostname-pid-suffix`), as `dashi status` shows it.
    pub fn id(&self) -> &str {
        self.presence.id()
    }

    /// Follows this worker's health; the binary serves it on `/health`.
    pub fn health(&self) -> watch::Receiver<ProcessHealth> {
        self.presence.health()
    }

    /// Runs until `shutdown` fires: stops claiming, gives running jobs the grace period to
    /// finish (then hands them back), removes the process row and returns. A database that is
    /// away is retried, never fatal.
    #[instrument(skip_all, fields(role = "worker", id = %self.id()))]
    pub async fn run(self, shutdown: CancellationToken) {
        // The heartbeat runs beside the job loop, never inside its select: interrupting a wait
        // for work every few seconds would drop a read that Redis already delivered.
        let done = CancellationToken::new();
        tokio::join!(self.keep_heartbeat(done.clone()), async {
            self.take_jobs(&shutdown).await;
            done.cancel();
        });
        self.presence.leave().await;
        info!("worker stopped");
    }

    /// Renews the heartbeat and reclaims dead workers' jobs until `done` fires.
    async fn keep_heartbeat(&self, done: CancellationToken) {
        let mut heartbeat = tokio::time::interval(self.settings.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = done.cancelled() => return,
                _ = heartbeat.tick() => {
                    self.presence.beat().await;
                    self.reclaim().await;
                }
            }
        }
    }

    /// Claims and runs jobs until `shutdown`, then waits for running jobs (each hands itself
    /// back after the grace period) and leaves the dispatcher.
    async fn take_jobs(&self, shutdown: &CancellationToken) {
        let queues: Vec<&str> = self.settings.queues.iter().map(|queue| queue.as_str()).collect();
        let concurrency = self.settings.concurrency.max(1);
        info!(queues = %queues.join(","), concurrency, "worker started");
        let slots = Arc::new(Semaphore::new(concurrency));
        let mut running = JoinSet::new();
        loop {
            // Reap finished jobs so the set does not grow.
            while running.try_join_next().is_some() {}
            let free = slots.available_permits();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                candidates = self.execution.dispatcher.wait_for_work(&queues, free.max(1), WAIT), if free > 0 => {
                    for id in candidates {
                        // A candidate left unsettled is offered again later, to any worker.
                        let Ok(permit) = slots.clone().try_acquire_owned() else { break };
                        let claimed = self.claim(&id).await;
                        if claimed.is_ok() {
                            self.execution.dispatcher.settle(&id).await;
                        }
                        let Ok(Some(job)) = claimed else { continue };
                        let store = self.store.clone();
                        let execution = self.execution.clone();
                        let shutdown = shutdown.clone();
                        running.spawn(async move {
                            job::run_claimed(store, execution, job, shutdown).await;
                            drop(permit);
                        });
                    }
                }
                // All slots busy: wait for one to free up (or shutdown).
                Some(_) = running.join_next(), if free == 0 => {}
            }
        }
        if !running.is_empty() {
            info!(jobs = running.len(), grace_secs = self.execution.shutdown_grace.as_secs(), "waiting for running jobs");
        }
        // Each job watches the same shutdown token and hands itself back after the grace period.
        while running.join_next().await.is_some() {}
        self.execution.dispatcher.leave().await;
    }

    /// Claims a candidate: the job if this worker won it, `None` if it is taken, finished or
    /// parked, an error if the ledger could not say.
    async fn claim(&self, id: &JobId) -> Result<Option<dashi_store::Job>, ()> {
        let expires = Utc::now() + chrono::Duration::from_std(self.execution.lease_ttl).unwrap_or(chrono::Duration::seconds(30));
        match dashi_store::claim(&self.store, id, self.id(), expires, Utc::now()).await {
            Ok(Claim::Claimed(job)) => Ok(Some(*job)),
            Ok(Claim::Parked | Claim::Unavailable) => Ok(None),
            Err(error) => {
                warn!(error = &error as &dyn std::error::Error, "could not claim a job");
                Err(())
            }
        }
    }

    /// Returns jobs of dead workers to the queue (or fails them after their last attempt).
    async fn reclaim(&self) {
        match dashi_store::reclaim_expired(&self.store, Utc::now()).await {
            Ok((0, 0)) => {}
            Ok((requeued, failed)) => {
                info!(requeued, failed, "reclaimed jobs of workers that stopped responding");
                if requeued > 0 {
                    for queue in &self.settings.queues {
                        self.execution.dispatcher.wake(queue.as_str()).await;
                    }
                }
            }
            Err(error) => warn!(error = &error as &dyn std::error::Error, "could not reclaim expired jobs"),
        }
    }
}

/// How long one wait for work lasts before the loop looks around again.
const WAIT: Duration = Duration::from_secs(1);
