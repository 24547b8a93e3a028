//! The system's status for operators: `/status.json`, `/api/admin/queries/*`, `/metrics`.
//!
//! Everything is read from the metadata database (the ledger, the heartbeats, the scheduler's
//! lease), so any server answers the same whichever process does the work. Admins only, as
//! Redash's super-admin pages; `/metrics` may also be read with a token checked by the API.

use chrono::{DateTime, Utc};
use dashi_store::{Backlogs, DataSourceId, Job, Lease, ObjectCounts, Process, Query, QueryId};

use crate::actor::Actor;
use crate::{App, Result};

/// The name of the lease that elects the active scheduler.
pub const SCHEDULER_LEASE: &str = "scheduler";

/// Jobs listed as running on the status pages at most.
const RUNNING_SHOWN: i64 = 500;

/// One reading of the whole system.
#[derive(Debug, Clone)]
pub struct SystemStatus {
    pub observed_at: DateTime<Utc>,
    pub counts: ObjectCounts,
    pub backlogs: Backlogs,
    /// Names of the data sources that appear in `backlogs`.
    pub data_source_names: Vec<(DataSourceId, String)>,
    pub running_jobs: Vec<Job>,
    pub processes: Vec<Process>,
    /// The scheduler lease, live or not.
    pub scheduler_lease: Option<Lease>,
    pub database_bytes: i64,
    pub query_results_bytes: i64,
    /// Scheduled queries due or being refreshed.
    pub outdated_query_ids: Vec<i64>,
    /// When a scheduled refresh was last enqueued.
    pub last_refresh_at: Option<DateTime<Utc>>,
}

impl SystemStatus {
    /// The scheduler leading right now, if any.
    pub fn leader(&self) -> Option<&Lease> {
        self.scheduler_lease.as_ref().filter(|lease| lease.is_live(self.observed_at))
    }

    /// The name of a data source listed in the backlogs.
    pub fn data_source_name(&self, id: DataSourceId) -> Option<&str> {
        self.data_source_names.iter().find(|(known, _)| *known == id).map(|(_, name)| name.as_str())
    }
}

impl App {
    /// `/status.json`: admins.
    pub async fn system_status(&self, actor: &Actor) -> Result<SystemStatus> {
        actor.require_admin()?;
        self.read_system_status().await
    }

    /// The status without a permission check, for `/metrics` read with the scrape token (the
    /// API authenticates it) and for the CLI.
    pub async fn read_system_status(&self) -> Result<SystemStatus> {
        let store = &self.store;
        let observed_at = Utc::now();
        let backlogs = dashi_store::backlogs(store).await?;
        let data_source_names = dashi_store::data_source_names(store).await?;
        let (database_bytes, query_results_bytes) = dashi_store::database_sizes(store).await?;
        let (outdated_query_ids, last_refresh_at) = dashi_store::outdated_query_ids(store, observed_at).await?;
        Ok(SystemStatus {
            observed_at,
            counts: dashi_store::object_counts(store).await?,
            backlogs,
            data_source_names,
            running_jobs: dashi_store::running_jobs(store, RUNNING_SHOWN).await?,
            processes: dashi_store::list_processes(store).await?,
            scheduler_lease: dashi_store::lease_holder(store, SCHEDULER_LEASE).await?,
            database_bytes,
            query_results_bytes,
            outdated_query_ids,
            last_refresh_at,
        })
    }

    /// `/api/admin/queries/outdated`: admins; the outdated queries of the caller's organization
    /// and when the scheduler last enqueued a refresh.
    pub async fn outdated_queries(&self, actor: &Actor) -> Result<(Vec<Query>, Option<DateTime<Utc>>)> {
        actor.require_admin()?;
        let (ids, last_refresh_at) = dashi_store::outdated_query_ids(&self.store, Utc::now()).await?;
        let mut queries = Vec::new();
        for id in ids {
            if let Some(query) = dashi_store::query_by_id(&self.store, actor.org_id(), QueryId(id)).await? {
                queries.push(query);
            }
        }
        Ok((queries, last_refresh_at))
    }
}
