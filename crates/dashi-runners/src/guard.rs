//! The layer every runner goes through: auto limit, unique column names, timeouts as cancels,
//! and the run's summary. Drivers implement [`Engine`]; callers only ever see [`Runner`]s built
//! by [`guarded`], so no driver can forget one of these rules.

use std::time::{Duration, Instant};

use dashi_core::{Cell, Column, RowSink, SinkError, dedupe_column_names};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::limit;
use crate::runner::{BoundParam, RunRequest, RunSummary, Runner, Schema};

/// What a driver module implements. `run` gets the final text (auto limit applied) and a
/// token that fires on cancel and on timeout; it must stop the query in the database then and
/// return [`Error::Cancelled`].
#[async_trait::async_trait]
pub(crate) trait Engine: Send + Sync {
    async fn run(
        &self,
        query: Query<'_>,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<()>;
    async fn schema(&self) -> Result<Schema>;
    async fn test_connection(&self) -> Result<()>;
}

/// One run as an engine sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query<'a> {
    pub(crate) sql: &'a str,
    pub(crate) params: &'a [BoundParam],
    /// For engines that can also tell the database (`statement_timeout`, `max_execution_time`);
    /// the guard cancels at this time either way.
    pub(crate) timeout: Option<Duration>,
}

/// Wraps an engine into the public [`Runner`].
pub(crate) fn guarded<E: Engine + 'static>(
    engine: E,
    supports_auto_limit: bool,
) -> Box<dyn Runner> {
    Box::new(Guard {
        engine,
        supports_auto_limit,
    })
}

struct Guard<E> {
    engine: E,
    supports_auto_limit: bool,
}

#[async_trait::async_trait]
impl<E: Engine> Runner for Guard<E> {
    async fn run(
        &self,
        request: &RunRequest,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let sql = match request.row_limit {
            Some(n_rows) if self.supports_auto_limit => limit::apply(&request.sql, n_rows),
            _ => request.sql.clone(),
        };
        let query = Query {
            sql: &sql,
            params: &request.params,
            timeout: request.timeout,
        };
        let mut unique = UniqueColumns {
            inner: sink,
            n_rows: 0,
        };
        let stop = cancel.child_token();
        let (outcome, timed_out) = {
            let run = self.engine.run(query, &mut unique, &stop);
            tokio::pin!(run);
            match request.timeout {
                Some(timeout) => tokio::select! {
                    outcome = &mut run => (outcome, false),
                    () = tokio::time::sleep(timeout) => {
                        stop.cancel();
                        (run.await, true)
                    }
                },
                None => (run.await, false),
            }
        };
        match outcome {
            Ok(()) => Ok(RunSummary {
                rows: unique.n_rows,
                runtime: started.elapsed(),
            }),
            // The database's own timeout (statement_timeout) may fire just before ours.
            Err(Error::Cancelled | Error::TimedOut(_))
                if timed_out || (request.timeout.is_some() && !cancel.is_cancelled()) =>
            {
                Err(Error::TimedOut(request.timeout.unwrap_or_default()))
            }
            Err(_) if cancel.is_cancelled() => Err(Error::Cancelled),
            Err(_) if timed_out => Err(Error::TimedOut(request.timeout.unwrap_or_default())),
            Err(error) => Err(error),
        }
    }

    async fn schema(&self) -> Result<Schema> {
        let mut schema = self.engine.schema().await?;
        schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(schema)
    }

    async fn test_connection(&self) -> Result<()> {
        self.engine.test_connection().await
    }
}

/// Renames repeated column names as Redash does and counts rows.
struct UniqueColumns<'a> {
    inner: &'a mut dyn RowSink,
    n_rows: u64,
}

impl RowSink for UniqueColumns<'_> {
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError> {
        let names: Vec<String> = columns.iter().map(|column| column.name.clone()).collect();
        let unique: Vec<Column> = dedupe_column_names(&names)
            .into_iter()
            .zip(columns)
            .map(|(name, column)| Column {
                friendly_name: name.clone(),
                name,
                column_type: column.column_type,
            })
            .collect();
        self.inner.columns(&unique)
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), SinkError> {
        self.n_rows += 1;
        self.inner.row(cells)
    }
}
