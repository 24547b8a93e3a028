//! dashi-scheduler's integration tests: the leader's work on real PostgreSQL and SQLite.

mod refresh;
