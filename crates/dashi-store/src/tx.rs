//! Transactions over either dialect.
//!
//! `in_transaction!(store, |conn| async_body)` begins a transaction on the writer pool, runs the
//! body with `conn` bound to the dialect's connection, and commits if the body returned `Ok`.
//! An early `?` inside the body drops the transaction, which rolls it back: nothing half-written.

/// See the module documentation.
#[macro_export]
macro_rules! in_transaction {
    ($store:expr, |$conn:ident| $body:expr) => {
        match $store.writer() {
            $crate::Pool::Pg(pool) => {
                let mut transaction = pool.begin().await?;
                let outcome = {
                    let $conn = &mut *transaction;
                    $body
                };
                if outcome.is_ok() {
                    transaction.commit().await?;
                }
                outcome
            }
            $crate::Pool::Sqlite(pool) => {
                let mut transaction = pool.begin().await?;
                let outcome = {
                    let $conn = &mut *transaction;
                    $body
                };
                if outcome.is_ok() {
                    transaction.commit().await?;
                }
                outcome
            }
        }
    };
}
