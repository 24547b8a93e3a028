//! The metadata store: every durable object of Dashi, on PostgreSQL or SQLite.
//!
//! Read [`db`](Store) first (pools, dialects, migrations), then one module per table family.
//! Each function takes the [`Store`] and runs portable SQL on the right pool; nothing here
//! knows HTTP or Redash's JSON. Migrations live in `migrations/{postgres,sqlite}` with the same
//! version numbers, checked by a parity test.

mod db;
mod error;

pub use db::{Dialect, Pool, Store, StoreSettings, redact};
pub use error::{Error, Result};
