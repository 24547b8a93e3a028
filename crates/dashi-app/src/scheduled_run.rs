//! Scheduled refreshes: the run the leading scheduler enqueues when a query's schedule is due,
//! as Redash's `refresh_queries` builds it (the parameters' default values, the query's
//! auto-limit, the data source's scheduled queue, the owner as the user).

use std::collections::BTreeMap;

use dashi_core::{ExecuteQueryPayload, OrgId, Parameters};
use dashi_store::{Enqueued, QueryId};
use serde_json::{Map, Value};

use crate::execute::execute_job;
use crate::{App, Result};

/// What became of a due scheduled refresh.
#[derive(Debug, Clone)]
pub enum ScheduledRefresh {
    /// The run is in the ledger: a new job, or the one that already had this run key or is
    /// running the same text on the same source.
    Enqueued(Box<Enqueued>),
    /// Nothing to run now; the schedule moves on (Redash skips these the same way).
    Skipped(&'static str),
    /// The run cannot be built (a default value fails its parameter's check); the schedule
    /// moves on and the reason is logged.
    Refused(String),
}

impl App {
    /// Enqueues the scheduled run of query `id` under `run_key`, which names the due run: the
    /// ledger keeps one job per run key ever, so a second call for the same due run (another
    /// scheduler, or this one after a restart) finds the first job instead of adding one.
    pub async fn enqueue_scheduled_refresh(&self, org: OrgId, id: QueryId, run_key: String) -> Result<ScheduledRefresh> {
        let Some(query) = dashi_store::query_by_id(&self.store, org, id).await? else {
            return Ok(ScheduledRefresh::Skipped("the query no longer exists"));
        };
        if query.is_archived {
            return Ok(ScheduledRefresh::Skipped("the query is archived"));
        }
        let Some(data_source_id) = query.data_source_id else {
            return Ok(ScheduledRefresh::Skipped("the query has no data source"));
        };
        let Some(data_source) = dashi_store::data_source_by_id(&self.store, org, data_source_id).await? else {
            return Ok(ScheduledRefresh::Skipped("the query's data source no longer exists"));
        };
        if data_source.paused {
            return Ok(ScheduledRefresh::Skipped("the data source is paused"));
        }
        let options = Value::Object(query.options.clone());
        let parameters = match Parameters::from_query_options(&options) {
            Ok(parameters) => parameters,
            Err(error) => return Ok(ScheduledRefresh::Refused(error.to_string())),
        };
        // Redash runs scheduled queries with the default value of each parameter.
        let defaults: Map<String, Value> =
            parameters.definitions().iter().map(|definition| (definition.name.clone(), definition.value.clone())).collect();
        let dropdowns = if defaults.is_empty() { BTreeMap::new() } else { self.dropdowns_for(org, &parameters).await? };
        let auto_limit = query.options.get("apply_auto_limit").and_then(Value::as_bool).unwrap_or(false);
        let prepared = match self.final_text(&data_source, &query.query_text, &parameters, &defaults, &dropdowns, auto_limit) {
            Ok(prepared) => prepared,
            Err(error) => return Ok(ScheduledRefresh::Refused(error.to_string())),
        };
        let payload = ExecuteQueryPayload {
            query: prepared.text,
            binds: prepared.binds,
            query_hash: prepared.hash,
            data_source_id: data_source.id.0,
            query_id: Some(query.id.0),
            user_id: Some(query.user_id.0),
            scheduled: true,
        };
        let job = execute_job(org, &data_source, payload, Some(run_key));
        let enqueued = self.queue.enqueue(&job).await?;
        Ok(ScheduledRefresh::Enqueued(Box::new(enqueued)))
    }
}
