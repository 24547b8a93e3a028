//! Process heartbeats: one row per running worker or scheduler, so `dashi status` and the
//! server's status page can show who is alive.
//!
//! A process registers at start, renews `heartbeat_at` every few seconds, and deletes its row on
//! a graceful stop. A row whose heartbeat is old belongs to a process that died without saying
//! so (SIGKILL, lost machine); [`prune_dead_processes`] removes those. Times come from the caller.
//!
//! [`Presence`] is the loop body the worker and scheduler roles share: it writes the row at the
//! first beat, renews it after, writes it again if it vanished (pruned while the database was out
//! of reach), and reports [`ProcessHealth`]. A failed write is logged and shown as unhealthy,
//! never fatal, so a database restart heals by itself. Every call it makes is bounded by
//! [`STORE_CALL_LIMIT`], so a hung database cannot hold up a graceful stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::db::execute;
use crate::{Result, Store, on_pool};

/// What a process is, as stored in `processes.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRole {
    Worker,
    Scheduler,
}

impl ProcessRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessRole::Worker => "worker",
            ProcessRole::Scheduler => "scheduler",
        }
    }
}

/// A process about to register.
#[derive(Debug, Clone)]
pub struct NewProcess {
    /// Unique among all processes ever: see [`NewProcess::new`].
    pub id: String,
    pub role: ProcessRole,
    pub hostname: String,
    pub pid: u32,
    /// Queue names a worker takes jobs from; empty for other roles.
    pub queues: Vec<String>,
}

impl NewProcess {
    /// A process of this host and pid, with an id of `hostname-pid-suffix` where the random
    /// suffix keeps ids unique across restarts that reuse a pid and across roles of one process.
    pub fn new(role: ProcessRole, hostname: &str, pid: u32, queues: Vec<String>) -> NewProcess {
        let suffix: u32 = rand::rng().random();
        NewProcess { id: format!("{hostname}-{pid}-{suffix:08x}"), role, hostname: hostname.to_owned(), pid, queues }
    }
}

/// A registered process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub id: String,
    pub role: String,
    pub hostname: String,
    pub pid: i64,
    pub queues: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ProcessRow {
    id: String,
    role: String,
    hostname: String,
    pid: i64,
    queues: sqlx::types::Json<Vec<String>>,
    started_at: DateTime<Utc>,
    heartbeat_at: DateTime<Utc>,
}

/// Adds the row of a starting process, with its first heartbeat at `now`. Registering an id
/// again (after its row was pruned while the process lived) refreshes the row.
pub async fn register_process(store: &Store, process: &NewProcess, now: DateTime<Utc>) -> Result<()> {
    let queues = sqlx::types::Json(&process.queues);
    execute!(
        store,
        "INSERT INTO processes (id, role, hostname, pid, queues, started_at, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        &process.id,
        process.role.as_str(),
        &process.hostname,
        i64::from(process.pid),
        queues,
        now
    )?;
    Ok(())
}

/// Renews the heartbeat of process `id`. Returns false when the row is gone (pruned while this
/// process was cut off from the database); the caller then registers again.
pub async fn heartbeat_process(store: &Store, id: &str, now: DateTime<Utc>) -> Result<bool> {
    let updated = on_pool!(store.writer(), |pool| {
        sqlx::query("UPDATE processes SET heartbeat_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(updated > 0)
}

/// Removes the row of a process that is stopping.
pub async fn deregister_process(store: &Store, id: &str) -> Result<()> {
    execute!(store, "DELETE FROM processes WHERE id = $1", id)?;
    Ok(())
}

/// Every registered process, by role, then host, then start time.
pub async fn list_processes(store: &Store) -> Result<Vec<Process>> {
    let rows = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, ProcessRow>(
            "SELECT id, role, hostname, pid, queues, started_at, heartbeat_at FROM processes \
             ORDER BY role, hostname, started_at, id",
        )
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(|row| Process {
            id: row.id,
            role: row.role,
            hostname: row.hostname,
            pid: row.pid,
            queues: row.queues.0,
            started_at: row.started_at,
            heartbeat_at: row.heartbeat_at,
        })
        .collect())
}

/// Deletes the rows of processes whose last heartbeat is before `older_than`; returns how many.
pub async fn prune_dead_processes(store: &Store, older_than: DateTime<Utc>) -> Result<u64> {
    let deleted = on_pool!(store.writer(), |pool| {
        sqlx::query("DELETE FROM processes WHERE heartbeat_at < $1")
            .bind(older_than)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(deleted)
}

/// The longest one heartbeat write (or the final delete) may take.
pub const STORE_CALL_LIMIT: Duration = Duration::from_secs(5);

/// What a role reports about itself on `/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessHealth {
    pub role: ProcessRole,
    pub id: String,
    pub started_at: DateTime<Utc>,
    /// When the heartbeat was last written; `None` before the first success.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// False while the last heartbeat write failed.
    pub heartbeat_ok: bool,
}

/// The `processes` row of one role of this process.
pub struct Presence {
    store: Store,
    process: NewProcess,
    registered: AtomicBool,
    health: watch::Sender<ProcessHealth>,
}

impl Presence {
    /// A presence for `role` on this host with this process's pid and a fresh id. Nothing is
    /// written until the first [`Presence::beat`].
    pub fn new(store: Store, role: ProcessRole, hostname: &str, queues: Vec<String>) -> Presence {
        let process = NewProcess::new(role, hostname, std::process::id(), queues);
        let health = ProcessHealth {
            role,
            id: process.id.clone(),
            started_at: Utc::now(),
            last_heartbeat_at: None,
            heartbeat_ok: false,
        };
        let (health, _) = watch::channel(health);
        Presence { store, process, registered: false.into(), health }
    }

    pub fn id(&self) -> &str {
        &self.process.id
    }

    /// Follows the health as beats succeed or fail.
    pub fn health(&self) -> watch::Receiver<ProcessHealth> {
        self.health.subscribe()
    }

    /// Writes (or renews) the row with the current time as heartbeat; returns whether it worked.
    pub async fn beat(&self) -> bool {
        let now = Utc::now();
        let failure = match tokio::time::timeout(STORE_CALL_LIMIT, self.write_row(now)).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(chain(&error)),
            Err(_) => Some(format!("no answer within {} s", STORE_CALL_LIMIT.as_secs())),
        };
        let was_ok = self.health.borrow().heartbeat_ok;
        let had_beaten = self.health.borrow().last_heartbeat_at.is_some();
        match failure {
            None => {
                if !was_ok && had_beaten {
                    info!("heartbeat restored");
                }
                self.health.send_modify(|health| {
                    health.last_heartbeat_at = Some(now);
                    health.heartbeat_ok = true;
                });
                true
            }
            Some(error) => {
                warn!(error, "heartbeat failed");
                self.health.send_modify(|health| health.heartbeat_ok = false);
                false
            }
        }
    }

    async fn write_row(&self, now: DateTime<Utc>) -> Result<()> {
        if self.registered.load(Ordering::Relaxed) {
            if heartbeat_process(&self.store, &self.process.id, now).await? {
                return Ok(());
            }
            info!("process row was missing; writing it again");
        }
        register_process(&self.store, &self.process, now).await?;
        if !self.registered.swap(true, Ordering::Relaxed) {
            debug!("process registered");
        }
        Ok(())
    }

    /// Deletes the row on a graceful stop. Failing here only leaves a row that `dashi status`
    /// shows as silent until it is pruned, so it is logged and otherwise ignored.
    pub async fn leave(&self) {
        match tokio::time::timeout(STORE_CALL_LIMIT, deregister_process(&self.store, &self.process.id)).await {
            Ok(Ok(())) => debug!("process deregistered"),
            Ok(Err(error)) => warn!(error = chain(&error), "could not remove the process row"),
            Err(_) => warn!(limit_secs = STORE_CALL_LIMIT.as_secs(), "removing the process row timed out"),
        }
    }
}

/// An error with its sources, `outer: inner: root`, for one log field.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
