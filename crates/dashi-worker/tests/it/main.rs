//! Worker tests: the whole query pipeline — API, ledger, dispatcher, worker, runner, results
//! store — on real PostgreSQL (as both the metadata database and the data source) and SQLite.

mod alerts;
mod pipeline;
