//! dashi-store's integration tests: one binary, a module per topic, on real PostgreSQL and SQLite.

mod dashboard;
mod event;
mod job;
mod lease;
mod process;
mod query;
mod schedule;
mod schema;

use dashi_store::{Store, StoreSettings};
use dashi_testkit::TestDb;

/// Connects to `db` and applies every migration: the starting point of most store tests.
async fn open(db: &TestDb) -> Store {
    let settings = StoreSettings { url: db.url.clone(), max_connections: 4 };
    let store = Store::connect(&settings).await.expect("connect to the test database");
    store.migrate().await.expect("migrate the test database");
    store
}
