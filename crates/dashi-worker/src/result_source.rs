//! Other queries' results for the Query Results runner, loaded for the user who runs the query:
//! `cached_query_<id>` is that query's latest stored result, `query_<id>` runs its text now.
//! Rows stream from the results store, never held whole.

use std::sync::Arc;

use dashi_core::{Fault, OrgId, Permission, UserId};
use dashi_runners::{Freshness, LoadedResult, ResultSource, RunRequest};
use dashi_store::{QueryId, Store};
use futures_util::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::execution::Execution;
use crate::job::{open_runner, runner_message};

/// A `ResultSource` bound to one run: its organization and the user who asked for it.
pub(crate) struct WorkerResultSource {
    pub(crate) store: Store,
    pub(crate) execution: Execution,
    pub(crate) org: OrgId,
    pub(crate) user: Option<UserId>,
}

fn reference_error(message: String, fault: Fault) -> dashi_runners::Error {
    dashi_runners::Error::Reference { message, fault }
}

impl WorkerResultSource {
    /// Redash's rule: the user must be able to read the query's data source (admins always can).
    async fn may_read(&self, data_source: &dashi_store::DataSource) -> Result<bool, dashi_store::Error> {
        let Some(user_id) = self.user else { return Ok(false) };
        let Some(user) = dashi_store::user_by_id(&self.store, self.org, user_id).await? else { return Ok(false) };
        let groups = dashi_store::list_groups(&self.store, self.org).await?;
        let is_admin = groups
            .iter()
            .filter(|group| user.group_ids.contains(&group.id))
            .any(|group| group.permissions.iter().any(|permission| permission == Permission::Admin.as_str()));
        Ok(is_admin || data_source.groups.iter().any(|(group, _)| user.group_ids.contains(group)))
    }
}

#[async_trait::async_trait]
impl ResultSource for WorkerResultSource {
    async fn load(&self, query_id: i64, freshness: Freshness, cancel: &CancellationToken) -> dashi_runners::Result<LoadedResult> {
        let not_found = || reference_error(format!("Query id {query_id} not found."), Fault::NotFound);
        let internal = |error: dashi_store::Error| reference_error(format!("Could not load query id {query_id}: {error}"), Fault::Unavailable);
        let query = dashi_store::query_by_id(&self.store, self.org, QueryId(query_id)).await.map_err(internal)?.ok_or_else(not_found)?;
        let data_source_id = query.data_source_id.ok_or_else(not_found)?;
        let data_source =
            dashi_store::data_source_by_id(&self.store, self.org, data_source_id).await.map_err(internal)?.ok_or_else(not_found)?;
        if !self.may_read(&data_source).await.map_err(internal)? {
            return Err(reference_error(format!("You do not have access to query id {query_id}."), Fault::Forbidden));
        }
        let storage = match freshness {
            Freshness::Cached => {
                let no_result = || reference_error(format!("Query id {query_id} has no cached result."), Fault::NotFound);
                let result_id = query.latest_query_data_id.ok_or_else(no_result)?;
                let result =
                    dashi_store::query_result_by_id(&self.store, self.org, result_id).await.map_err(internal)?.ok_or_else(no_result)?;
                storage_of(&result).ok_or_else(no_result)?
            }
            Freshness::Rerun => {
                // The referenced text runs now (Redash ignores its parameters here) into a
                // temporary result, which is read back and deleted when the reader is done.
                let (_, runner) = open_runner(&self.store, &self.execution, &self.execution.runner_context, Some(self.org), data_source_id.0)
                    .await
                    .map_err(|message| reference_error(message, Fault::Invalid))?;
                let mut writer = self.execution.results.writer(self.org, dashi_results::WriterOptions::default());
                let request = RunRequest { sql: query.query_text.clone(), ..RunRequest::default() };
                runner.run(&request, &mut writer, cancel).await.map_err(|error| {
                    reference_error(format!("Query id {query_id} failed: {}", runner_message(&error)), error_fault(&error))
                })?;
                let stored = writer
                    .finish()
                    .await
                    .map_err(|error| reference_error(format!("Could not store query id {query_id}'s rows: {error}"), Fault::Unavailable))?;
                stored.storage
            }
        };
        let (columns, rows) = self
            .execution
            .results
            .cells(&storage)
            .await
            .map_err(|error| reference_error(format!("Could not read query id {query_id}'s result: {error}"), Fault::Unavailable))?;
        let cleanup = match (&freshness, &storage) {
            (Freshness::Rerun, dashi_results::Storage::Object { location }) => Some((self.execution.results.clone(), location.clone())),
            _ => None,
        };
        let rows = rows.map_err(move |error| reference_error(format!("Could not read query id {query_id}'s result: {error}"), Fault::Unavailable));
        let rows = DeleteWhenDone { rows: rows.boxed(), cleanup };
        Ok(LoadedResult { columns, rows: Box::pin(rows) })
    }
}

fn error_fault(error: &dashi_runners::Error) -> Fault {
    dashi_core::Classify::fault(error)
}

fn storage_of(result: &dashi_store::QueryResult) -> Option<dashi_results::Storage> {
    dashi_results::Storage::from_parts(result.inline_data.as_deref(), result.location.as_deref())
}

/// Rows of a temporary result; its file is deleted once the reader drops them.
struct DeleteWhenDone {
    rows: futures_util::stream::BoxStream<'static, dashi_runners::Result<Vec<dashi_core::Cell>>>,
    cleanup: Option<(dashi_results::ResultsStore, String)>,
}

impl futures_util::Stream for DeleteWhenDone {
    type Item = dashi_runners::Result<Vec<dashi_core::Cell>>;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        self.rows.poll_next_unpin(cx)
    }
}

impl Drop for DeleteWhenDone {
    fn drop(&mut self) {
        if let Some((results, location)) = self.cleanup.take() {
            tokio::spawn(async move {
                if let Err(error) = results.delete(&location).await {
                    tracing::warn!(error = &error as &dyn std::error::Error, "could not delete a temporary result");
                }
            });
        }
    }
}

/// The runner context for a run: the deployment's policy plus a result source bound to the run.
pub(crate) fn context_for(store: &Store, execution: &Execution, org: OrgId, user: Option<UserId>) -> dashi_runners::RunnerContext {
    let mut context = execution.runner_context.clone();
    context.result_source = Some(Arc::new(WorkerResultSource { store: store.clone(), execution: execution.clone(), org, user }));
    context
}
