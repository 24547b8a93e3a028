//! Real services for tests: PostgreSQL, Redis and MariaDB processes this test process owns, and a fresh
//! metadata database per test on either backend.
//!
//! A dev-dependency only; nothing in a shipped binary links it. Read [`TestDb`] and
//! [`backend_tests!`] first (how store tests run on both backends), then [`PgServer`] and
//! [`RedisServer`] (servers a fault test may stop, restart or kill).
//!
//! Servers are real Debian binaries started on 127.0.0.1 at a random free port, with their
//! files in a temporary folder. When the tests run as root, PostgreSQL runs as the `postgres`
//! user (it refuses root). If the test process dies without running destructors (a panic in a
//! static, SIGKILL), a watchdog process stops the servers and removes their folders.
//!
//! `TestDb::postgres()` shares one server among all tests: the one named by
//! `DASHI_TEST_POSTGRES_URL` (an admin URL; the repository's test command starts one server for
//! every test process), else one private server per test process, started on first use.

mod database;
mod mariadb;
mod postgres;
mod process;
mod redis;
mod s3;
mod sink;

pub use database::{SHARED_POSTGRES_URL_VAR, TestDb};
pub use mariadb::MariaDbServer;
pub use postgres::PgServer;
pub use redis::RedisServer;
pub use s3::{MOTO_SERVER_VAR, S3Server};
pub use sink::{HttpSink, ReceivedMail, ReceivedRequest, SmtpSink};

/// Expands each `async fn name(db: TestDb) { body }` into a module `name` holding two tests,
/// `postgres` and `sqlite`, that run `body` with `db` bound to a fresh [`TestDb`] of that backend.
///
/// The tests run on a multi-threaded tokio runtime with two workers, so the caller's crate must
/// depend on `tokio` (with `macros` and `rt-multi-thread`). A function may declare a return type
/// (`-> anyhow::Result<()>`) to use `?`. The module imports everything from the enclosing one.
///
/// ```
/// use dashi_testkit::TestDb;
///
/// dashi_testkit::backend_tests! {
///     async fn url_names_the_backend(db: TestDb) {
///         assert!(db.url.starts_with("postgres://") || db.url.starts_with("sqlite:"));
///     }
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($(
        $(#[$attribute:meta])*
        async fn $name:ident($db:ident : $db_type:ty) $(-> $output:ty)? $body:block
    )*) => {$(
        $(#[$attribute])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() $(-> $output)? {
                let $db: $db_type = $crate::TestDb::postgres().await;
                $body
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() $(-> $output)? {
                let $db: $db_type = $crate::TestDb::sqlite().await;
                $body
            }
        }
    )*};
}
