//! Running queries: Redash's `run_query` — parameters, auto-limit, the `max_age` cache, and a
//! job (shared with any identical run in flight) when no cached result will do.

use std::collections::BTreeMap;

use chrono::Utc;
use dashi_core::{
    ApplyContext, DropdownValues, EXECUTE_QUERY_JOB, ExecuteQueryPayload, Fault, ParameterError, Parameters, Permission,
    apply_auto_limit, query_hash,
};
use dashi_store::{DataSource, DataSourceId, NewJob, QueryResult};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::data_source::{Access, access_to};
use crate::job::JobStatus;
use crate::{App, Error, Result};

/// A run ends in one of two ways before any worker is involved.
#[derive(Debug, Clone)]
pub enum ExecuteOutcome {
    /// A stored result young enough for `max_age`.
    Cached(Box<QueryResult>),
    /// A job (new, or the identical one already running) that will produce it.
    Job(Box<JobStatus>),
}

/// `POST /api/query_results`: ad-hoc text.
#[derive(Debug, Clone)]
pub struct AdhocRequest {
    pub query: String,
    pub data_source_id: Option<i64>,
    /// Redash's `max_age`: -1 any cached result, 0 never cached, N seconds.
    pub max_age: i64,
    pub parameters: Map<String, Value>,
    pub apply_auto_limit: bool,
}

/// Redash's cache rule: how old a reusable result may be (`None`: any; `Some(None)`: none).
fn cache_floor(max_age: i64) -> Option<Option<chrono::DateTime<Utc>>> {
    match max_age {
        0 => None,
        age if age < 0 => Some(None),
        age => Some(Some(Utc::now() - chrono::Duration::seconds(age))),
    }
}

fn refused(fault: Fault, message: impl Into<String>) -> Error {
    Error::RunRefused { fault, message: message.into() }
}

pub(crate) fn parameter_error(error: ParameterError) -> Error {
    match error {
        // Redash compat: incompatible values are a plain 400 message; a missing value or a
        // broken template is a refused run.
        ParameterError::Incompatible { .. } => Error::Invalid(error.to_string()),
        other => refused(Fault::Invalid, other.to_string()),
    }
}

/// One run to start: the text with its parameter definitions and values.
pub(crate) struct RunText<'a> {
    pub text: &'a str,
    pub parameters: &'a Parameters,
    pub values: &'a Map<String, Value>,
    /// Allowed values of query-based dropdown parameters, by parameter name.
    pub dropdowns: &'a BTreeMap<String, DropdownValues>,
    pub query_id: Option<i64>,
    pub max_age: i64,
    pub auto_limit: bool,
}

impl App {
    /// Applies parameters and auto-limit, then answers from the cache or enqueues a job.
    pub(crate) async fn run_query_text(&self, actor: &Actor, data_source: &DataSource, run: RunText<'_>) -> Result<ExecuteOutcome> {
        let RunText { text, parameters, values, dropdowns, query_id, max_age, auto_limit } = run;
        if data_source.paused {
            let reason = data_source.pause_reason.clone().unwrap_or_default();
            return Err(refused(Fault::Invalid, format!("{} is paused ({reason}). Please try later.", data_source.name)));
        }
        let context = ApplyContext { now: Utc::now().naive_utc(), dropdowns, fill_defaults: true };
        let applied = parameters.apply(text, values, &context).map_err(parameter_error)?;
        let supports_auto_limit = self.catalog.iter().any(|kind| kind.type_name == data_source.type_name && kind.supports_auto_limit);
        let final_text = apply_auto_limit(&applied.text, supports_auto_limit, auto_limit);
        let hash = query_hash(&final_text);
        let cached = match cache_floor(max_age) {
            None => None,
            Some(floor) => dashi_store::latest_query_result(&self.store, data_source.id, &hash, floor).await?,
        };
        let cache = if cached.is_some() { "hit" } else { "miss" };
        let event = serde_json::json!({"cache": cache, "query_id": query_id, "user_name": actor.user.name});
        self.record_event_with(actor, "execute_query", "data_source", Some(data_source.id.to_string()), event).await?;
        if let Some(result) = cached {
            return Ok(ExecuteOutcome::Cached(Box::new(result)));
        }
        let payload = ExecuteQueryPayload {
            query: final_text,
            query_hash: hash.clone(),
            data_source_id: data_source.id.0,
            query_id,
            user_id: Some(actor.user_id().0),
            scheduled: false,
        };
        let job = NewJob {
            org_id: Some(actor.org_id()),
            queue: data_source.queue_name.clone(),
            kind: EXECUTE_QUERY_JOB.into(),
            payload: serde_json::to_value(&payload).expect("a plain struct always serialises"),
            data_source_id: Some(data_source.id),
            query_id,
            query_hash: Some(hash.clone()),
            // Redash's query_hash_job lock: identical text on one source runs once.
            dedupe_key: Some(format!("query:{}:{hash}", data_source.id.0)),
            run_key: None,
            // A run whose worker died is retried once, then fails visibly.
            max_attempts: 2,
            run_after: Utc::now(),
        };
        let enqueued = self.queue.enqueue(&job).await?;
        let status = self.job_status(actor, &enqueued.job.id.0).await?;
        Ok(ExecuteOutcome::Job(Box::new(status)))
    }

    /// `POST /api/query_results`: needs `execute_query` and full access to the data source.
    pub async fn execute_adhoc(&self, actor: &Actor, request: &AdhocRequest) -> Result<ExecuteOutcome> {
        actor.require(Permission::ExecuteQuery)?;
        let Some(data_source_id) = request.data_source_id else {
            return Err(Error::NoDataSource);
        };
        let data_source = dashi_store::data_source_by_id(&self.store, actor.org_id(), DataSourceId(data_source_id))
            .await?
            .ok_or_else(|| refused(Fault::Invalid, "Target data source not available."))?;
        if access_to(actor, &data_source) != Some(Access::Full) {
            return Err(refused(Fault::Forbidden, "You do not have permission to run queries with this data source."));
        }
        // Redash compat: ad-hoc text has no parameter definitions, so values are not checked.
        let run = RunText {
            text: &request.query,
            parameters: &Parameters::new(Vec::new()),
            values: &request.parameters,
            dropdowns: &BTreeMap::new(),
            query_id: None,
            max_age: request.max_age,
            auto_limit: request.apply_auto_limit,
        };
        self.run_query_text(actor, &data_source, run).await
    }

    /// `GET /api/query_results/<id>`: needs `view_query` or `execute_query` and view access to
    /// the result's data source.
    pub async fn query_result(&self, actor: &Actor, id: i64) -> Result<(QueryResult, DataSource)> {
        if !actor.has(Permission::ViewQuery) && !actor.has(Permission::ExecuteQuery) {
            return Err(Error::forbidden());
        }
        let result = dashi_store::query_result_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("query result"))?;
        let data_source = dashi_store::data_source_by_id(&self.store, actor.org_id(), result.data_source_id)
            .await?
            .ok_or(Error::NotFound("query result"))?;
        if access_to(actor, &data_source).is_none() {
            return Err(Error::forbidden());
        }
        Ok((result, data_source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_follows_redash() {
        assert!(cache_floor(0).is_none());
        assert_eq!(cache_floor(-1), Some(None));
        let floor = cache_floor(60).unwrap().unwrap();
        let age = Utc::now() - floor;
        assert!(age >= chrono::Duration::seconds(59) && age <= chrono::Duration::seconds(61));
    }
}
