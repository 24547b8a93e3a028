//! The Redis dispatcher against a real Redis and a real ledger.

mod redis;
