//! Runners: one module per kind of data source, all behind the [`Runner`] trait.
//!
//! The worker looks a data source's `type` up with [`kind`], opens a runner from its options
//! with [`Kind::open`] and calls [`Runner::run`], which streams typed columns and rows into a
//! [`dashi_core::RowSink`] as the database sends them. The server gets [`catalog`] (plain data,
//! no drivers) for `GET /api/data_sources/types`.
//!
//! Read [`runner`](Runner) first (the contract), then `guard` (the rules every runner gets
//! for free: auto limit, unique column names, timeouts as cancels) and `catalog` (the one
//! list of kinds). Each driver module holds its options schema, type mapping and cancel path.

mod blocking;
mod catalog;
mod clickhouse;
#[cfg(feature = "duckdb")]
mod duckdb;
mod error;
mod guard;
mod guess;
mod http;
mod limit;
mod mysql;
mod option;
mod postgres;
mod query_results;
mod runner;
mod sqlite;
mod tls;
mod url;

pub use catalog::{Kind, Opener, catalog, kind, kinds};
pub use error::{Error, Result};
pub use runner::{
    BoundParam, CellStream, Freshness, LoadedResult, ResultSource, RunRequest, RunSummary, Runner,
    RunnerContext, Schema, SchemaColumn, Table,
};
