//! The testkit's own tests: its servers start, stop, restart and die as promised, and `TestDb`
//! hands out fresh databases on both backends.

mod database;
mod postgres;
mod redis;
