//! The scheduler role: decides what is due (refreshes, housekeeping) and enqueues it.
//!
//! Any number of schedulers may run; one leads. Leadership is the `scheduler` lease in the
//! metadata database ([`dashi_store::acquire_or_renew_lease`]): each tick a [`Scheduler`] renews
//! its heartbeat, then tries to take or renew the lease; it leads while it holds a live lease and
//! steps down the moment a renewal fails. On a graceful stop the leader releases the lease so a
//! standby takes over within one tick instead of one TTL.
//!
//! The leader's tick: `refresh.rs` enqueues due scheduled refreshes (exactly once per due run,
//! through the ledger's run keys), `maintenance.rs` the periodic housekeeping. Neither needs the
//! lease for safety: the lease only keeps the work in one place; run keys keep it single.

mod maintenance;
mod refresh;

pub use maintenance::{MaintenanceSettings, STALE_AFTER, clear_expired_schedules, reconcile};
pub use refresh::{RefreshCounts, refresh_due};

use std::time::{Duration, Instant};

use chrono::Utc;
use dashi_app::App;
use dashi_store::{Presence, ProcessHealth, ProcessRole, STORE_CALL_LIMIT, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, instrument, warn};

use crate::maintenance::Maintenance;

/// The name of the lease that elects the active scheduler.
pub const LEASE_NAME: &str = dashi_app::SCHEDULER_LEASE;

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
    /// Whether scheduled refreshes run (Redash's `FEATURE_DISABLE_REFRESH_QUERIES` turns them off).
    pub refresh_enabled: bool,
    pub maintenance: MaintenanceSettings,
}

impl SchedulerSettings {
    /// A 5-second tick and a 15-second lease: a leader may miss two renewals before it loses.
    pub fn new(hostname: impl Into<String>) -> SchedulerSettings {
        SchedulerSettings::with_lease_ttl(hostname, Duration::from_secs(15))
    }

    /// A lease of `lease_ttl` (at least 3 s), renewed every third of it.
    pub fn with_lease_ttl(hostname: impl Into<String>, lease_ttl: Duration) -> SchedulerSettings {
        let lease_ttl = lease_ttl.max(Duration::from_secs(3));
        SchedulerSettings {
            hostname: hostname.into(),
            tick_interval: lease_ttl / 3,
            lease_ttl,
            refresh_enabled: true,
            maintenance: MaintenanceSettings::default(),
        }
    }
}

/// What a scheduler reports about itself on `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerHealth {
    pub process: ProcessHealth,
    /// Whether this scheduler holds a live lease.
    pub leader: bool,
    /// How long the leader's last tick of work took, in milliseconds.
    pub last_tick_ms: Option<u64>,
}

/// A scheduler process (or the scheduler part of `dashi all`).
pub struct Scheduler {
    settings: SchedulerSettings,
    app: App,
    store: Store,
    presence: Presence,
    /// The lease's fence while this scheduler leads.
    leadership: Option<i64>,
    leader: watch::Sender<bool>,
    last_tick_ms: watch::Sender<Option<u64>>,
    maintenance: Maintenance,
}

impl Scheduler {
    pub fn new(app: App, settings: SchedulerSettings) -> Scheduler {
        let store = app.store().clone();
        let presence = Presence::new(store.clone(), ProcessRole::Scheduler, &settings.hostname, Vec::new());
        let (leader, _) = watch::channel(false);
        let (last_tick_ms, _) = watch::channel(None);
        let maintenance = Maintenance::new(settings.maintenance.clone());
        Scheduler { settings, app, store, presence, leadership: None, leader, last_tick_ms, maintenance }
    }

    /// This scheduler's process id, which is also its name as lease holder.
    pub fn id(&self) -> &str {
        self.presence.id()
    }

    /// Follows this scheduler's health; the binary serves it on `/health`.
    pub fn health(&self) -> HealthWatch {
        HealthWatch {
            process: self.presence.health(),
            leader: self.leader.subscribe(),
            last_tick_ms: self.last_tick_ms.subscribe(),
        }
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

    /// The leader's work for one tick: due refreshes, then housekeeping. A tick that overruns
    /// the lease would let a standby lead too; run keys keep that harmless, and the next renewal
    /// then settles who leads.
    async fn lead(&mut self) {
        let started = Instant::now();
        let now = Utc::now();
        if self.settings.refresh_enabled {
            match refresh_due(&self.app, now).await {
                Ok(counts) if counts == RefreshCounts::default() => {}
                Ok(counts) => debug!(?counts, "scheduled refreshes"),
                Err(error) => warn!(error = %error, "could not read the due schedules"),
            }
        }
        self.maintenance.run(&self.app, now).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if started.elapsed() > self.settings.tick_interval {
            warn!(elapsed_ms, "the scheduler's tick took longer than its interval");
        }
        self.last_tick_ms.send_replace(Some(elapsed_ms));
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
    last_tick_ms: watch::Receiver<Option<u64>>,
}

impl HealthWatch {
    /// The health right now.
    pub fn current(&self) -> SchedulerHealth {
        SchedulerHealth {
            process: self.process.borrow().clone(),
            leader: *self.leader.borrow(),
            last_tick_ms: *self.last_tick_ms.borrow(),
        }
    }
}
