//! The contract between the worker and a data source: what a run is asked to do, what it
//! reports, and what a runner may use from outside (`RunnerContext`).
//!
//! A runner never collects a result: rows go into the caller's [`RowSink`] as the database
//! sends them. Cancellation and timeouts must stop the query inside the database, not only the
//! waiting on it.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use dashi_core::{BoundValue, Cell, Column, RowSink};
use futures_util::Stream;
use tokio_util::sync::CancellationToken;

use crate::error::Result;

/// A configured connection to one data source.
#[async_trait::async_trait]
pub trait Runner: Send + Sync {
    /// Runs `request` and streams its result into `sink`: columns once, then every row.
    ///
    /// When `cancel` fires (or the request's timeout passes) the query is stopped in the
    /// database and the run ends with [`Error::Cancelled`](crate::Error::Cancelled) (or
    /// [`Error::TimedOut`](crate::Error::TimedOut)); rows already sent stay sent.
    async fn run(
        &self,
        request: &RunRequest,
        sink: &mut dyn RowSink,
        cancel: &CancellationToken,
    ) -> Result<RunSummary>;

    /// The tables and columns the data source shows, for the editor's schema browser.
    async fn schema(&self) -> Result<Schema>;

    /// Connects and runs a trivial query; `Ok` means queries can run.
    async fn test_connection(&self) -> Result<()>;
}

/// One run of a query.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// The query text, with Mustache parameters already rendered unless `params` is non-empty.
    pub sql: String,
    /// Typed values for runners that bind parameters (`$1`, `?`); empty when `sql` is final.
    /// Runners that cannot bind refuse a non-empty list with an `Unsupported` error.
    pub params: Vec<BoundParam>,
    /// Stops the query in the database once it has run this long.
    pub timeout: Option<Duration>,
    /// Redash's "limit 1000" checkbox: when set and the kind supports auto limit, a plain
    /// `SELECT` gets `LIMIT n` appended (or its larger limit lowered). Other statements run as
    /// written.
    pub row_limit: Option<u64>,
}

/// A parameter value bound to a placeholder, typed by the parameter's Redash type.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundParam {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl From<&BoundValue> for BoundParam {
    fn from(value: &BoundValue) -> BoundParam {
        match value {
            BoundValue::Text(text) => BoundParam::Text(text.clone()),
            BoundValue::Number(number) => BoundParam::Float(*number),
            BoundValue::Int(integer) => BoundParam::Int(*integer),
            BoundValue::Date(date) => BoundParam::Date(*date),
            BoundValue::DateTime(moment) => BoundParam::DateTime(*moment),
        }
    }
}

/// What a finished run reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Rows written to the sink.
    pub rows: u64,
    /// Wall time from the start of the run to its last row.
    pub runtime: Duration,
}

/// A data source's tables, as the schema browser lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    /// Sorted by name; columns in their table's order.
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Qualified as the data source writes it (`public.users` is shown as `users`,
    /// `other_schema.users` in full), as Redash names them.
    pub name: String,
    pub columns: Vec<SchemaColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaColumn {
    pub name: String,
    /// The database's own type name (`integer`, `character varying`, `Nullable(UInt64)`).
    pub type_name: String,
}

/// What runners may use from outside their options.
#[derive(Clone, Default)]
pub struct RunnerContext {
    /// Lets URL-based runners (CSV, JSON, ClickHouse is not one) fetch private, loopback and
    /// link-local addresses. Off by default, as Redash enforces its private-IP block.
    pub allow_private_addresses: bool,
    /// Where the Query Results runner gets other queries' results. `None` makes its runs fail.
    pub result_source: Option<Arc<dyn ResultSource>>,
}

impl std::fmt::Debug for RunnerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerContext")
            .field("allow_private_addresses", &self.allow_private_addresses)
            .field("result_source", &self.result_source.is_some())
            .finish()
    }
}

/// Which result of a referenced query the Query Results runner wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Freshness {
    /// `cached_query_<id>`: the query's latest stored result; an error if it has none.
    Cached,
    /// `query_<id>`: run the query's text now and use what it returns.
    Rerun,
}

/// Rows of a loaded result, pulled one at a time; each has one cell per column.
pub type CellStream = Pin<Box<dyn Stream<Item = Result<Vec<Cell>>> + Send>>;

/// A result another query produced, ready to be read row by row.
pub struct LoadedResult {
    pub columns: Vec<Column>,
    pub rows: CellStream,
}

/// Gives the Query Results runner access to other queries' results. The worker implements it
/// for the user who runs the query, so access checks live there: a query the user may not
/// see fails with [`Error::Reference`](crate::Error::Reference) carrying Redash's message
/// ("You do not have access to query id N.", "Query id N not found.").
#[async_trait::async_trait]
pub trait ResultSource: Send + Sync {
    /// `query_id` is a `queries.id`. The rows must be streamed, not built in memory: inputs of
    /// millions of rows are expected.
    async fn load(
        &self,
        query_id: i64,
        freshness: Freshness,
        cancel: &CancellationToken,
    ) -> Result<LoadedResult>;
}
