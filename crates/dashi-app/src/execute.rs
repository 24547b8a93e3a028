//! Running queries: Redash's `run_query` — parameters, auto-limit, the `max_age` cache, and a
//! job (shared with any identical run in flight) when no cached result will do.

use std::collections::BTreeMap;

use chrono::Utc;
use dashi_core::{
    AppliedQuery, ApplyContext, BoundText, BoundValue, DropdownValues, EXECUTE_QUERY_JOB, ExecuteQueryPayload, Fault,
    KindInfo, OrgId, ParameterError, Parameters, Permission, apply_auto_limit, run_hash,
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

/// The ledger entry of a query run: on the data source's queue (its scheduled queue for
/// scheduled runs), deduplicated with identical text on the same source.
pub(crate) fn execute_job(org: OrgId, data_source: &DataSource, payload: ExecuteQueryPayload, run_key: Option<String>) -> NewJob {
    let queue = if payload.scheduled { &data_source.scheduled_queue_name } else { &data_source.queue_name };
    let hash = payload.query_hash.clone();
    NewJob {
        org_id: Some(org),
        queue: queue.clone(),
        kind: EXECUTE_QUERY_JOB.into(),
        data_source_id: Some(data_source.id),
        query_id: payload.query_id,
        query_hash: Some(hash.clone()),
        payload: serde_json::to_value(&payload).expect("a plain struct always serialises"),
        // Redash's query_hash_job lock: identical text on one source runs once.
        dedupe_key: Some(format!("query:{}:{hash}", data_source.id.0)),
        run_key,
        // A run whose worker died is retried once, then fails visibly.
        max_attempts: 2,
        run_after: Utc::now(),
    }
}

/// What a run sends to its data source: the text (parameters and auto-limit applied), the values
/// bound to its placeholders, and the hash its result is stored and found under.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FinalText {
    pub text: String,
    pub binds: Vec<BoundValue>,
    pub hash: String,
}

impl App {
    /// The text a run sends to the data source, its binds and its hash.
    pub(crate) fn final_text(
        &self,
        data_source: &DataSource,
        text: &str,
        parameters: &Parameters,
        values: &Map<String, Value>,
        dropdowns: &BTreeMap<String, DropdownValues>,
        auto_limit: bool,
    ) -> Result<FinalText> {
        let context = ApplyContext { now: Utc::now().naive_utc(), dropdowns, fill_defaults: true };
        let applied = parameters.apply(text, values, &context).map_err(parameter_error)?;
        Ok(self.finish_text(Some(data_source), self.bind_for(Some(data_source), &applied), auto_limit))
    }

    fn kind_of(&self, data_source: Option<&DataSource>) -> Option<&KindInfo> {
        data_source.and_then(|data_source| self.catalog.iter().find(|kind| kind.type_name == data_source.type_name))
    }

    /// Applied parameters with what the data source's kind can bind bound.
    pub(crate) fn bind_for(&self, data_source: Option<&DataSource>, applied: &AppliedQuery) -> BoundText {
        applied.prepare(self.kind_of(data_source).and_then(|kind| kind.placeholders))
    }

    /// Applies auto-limit and hashes: the one path for runs and for saved queries' hashes, so a
    /// run's result finds its saved query.
    pub(crate) fn finish_text(&self, data_source: Option<&DataSource>, bound: BoundText, auto_limit: bool) -> FinalText {
        let supports_auto_limit = self.kind_of(data_source).is_some_and(|kind| kind.supports_auto_limit);
        let text = apply_auto_limit(&bound.text, supports_auto_limit, auto_limit);
        let hash = run_hash(&text, &bound.binds);
        FinalText { text, binds: bound.binds, hash }
    }

    /// Applies parameters and auto-limit, then answers from the cache or enqueues a job.
    pub(crate) async fn run_query_text(&self, actor: &Actor, data_source: &DataSource, run: RunText<'_>) -> Result<ExecuteOutcome> {
        let RunText { text, parameters, values, dropdowns, query_id, max_age, auto_limit } = run;
        if data_source.paused {
            let reason = data_source.pause_reason.clone().unwrap_or_default();
            return Err(refused(Fault::Invalid, format!("{} is paused ({reason}). Please try later.", data_source.name)));
        }
        let FinalText { text, binds, hash } = self.final_text(data_source, text, parameters, values, dropdowns, auto_limit)?;
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
            query: text,
            binds,
            query_hash: hash,
            data_source_id: data_source.id.0,
            query_id,
            user_id: Some(actor.user_id().0),
            scheduled: false,
        };
        let job = execute_job(actor.org_id(), data_source, payload, None);
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
