//! The worker role: takes jobs from its queues and runs them.
//!
//! Today this is the role's frame: a [`Worker`] registers its `processes` row, renews its
//! heartbeat (through [`dashi_store::Presence`]), reports its health and stops gracefully.
//! Taking and running jobs arrives with the queue and runner crates; they plug into
//! [`Worker::run`]'s loop.

use std::time::Duration;

use dashi_core::Queue;
use dashi_store::{Presence, ProcessHealth, ProcessRole, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument};

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
    settings: WorkerSettings,
    presence: Presence,
}

impl Worker {
    pub fn new(store: Store, settings: WorkerSettings) -> Worker {
        let queues = settings.queues.iter().map(|queue| queue.as_str().to_owned()).collect();
        let presence = Presence::new(store, ProcessRole::Worker, &settings.hostname, queues);
        Worker { settings, presence }
    }

    /// This worker's process id (`hostname-pid-suffix`), as `dashi status` shows it.
    pub fn id(&self) -> &str {
        self.presence.id()
    }

    /// Follows this worker's health; the binary serves it on `/health`.
    pub fn health(&self) -> watch::Receiver<ProcessHealth> {
        self.presence.health()
    }

    /// Runs until `shutdown` fires, then finishes the current step, removes the process row and
    /// returns. A database that is away is retried each heartbeat, never fatal.
    #[instrument(skip_all, fields(role = "worker", id = %self.id()))]
    pub async fn run(self, shutdown: CancellationToken) {
        let queues: Vec<&str> = self.settings.queues.iter().map(|queue| queue.as_str()).collect();
        info!(queues = %queues.join(","), concurrency = self.settings.concurrency, "worker started");
        let mut ticker = tokio::time::interval(self.settings.heartbeat_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {
                    self.presence.beat().await;
                }
            }
        }
        self.presence.leave().await;
        info!("worker stopped");
    }
}
