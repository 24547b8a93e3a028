//! A fresh, empty metadata database per test, on PostgreSQL or SQLite.
//!
//! PostgreSQL databases live on one server shared by every test: the one named by
//! [`SHARED_POSTGRES_URL_VAR`] when it is set, else a private [`PgServer`] per test process.
//! Only processes and files are shared across tests, never a connection pool: each
//! `#[tokio::test]` has its own runtime, and a pool made on one dies with it.

use anyhow::Context;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::postgres::PgServer;

/// The environment variable that names a running PostgreSQL server's admin URL
/// (`postgres://postgres@127.0.0.1:5432/postgres`) for [`TestDb::postgres`] to create its
/// databases on. The repository's test command starts one server and sets it, so the many test
/// processes of one run (the test runner starts one per test) share a server instead of each
/// paying for `initdb`. The URL's user must be allowed to `CREATE DATABASE`.
pub const SHARED_POSTGRES_URL_VAR: &str = "DASHI_TEST_POSTGRES_URL";

/// The private server of this test process, when [`SHARED_POSTGRES_URL_VAR`] is unset.
///
/// A static is never dropped, so `PgServer`'s destructor does not run for it; its watchdog stops
/// the server and removes its folder once the test process has exited, however it exited. The
/// server holds only std processes and files, so it outlives the runtime of the test that happened
/// to start it.
static PRIVATE_SERVER: OnceCell<PgServer> = OnceCell::const_new();

/// A fresh, empty database for one test.
///
/// Dropping it removes the SQLite temporary folder; PostgreSQL databases are left for the
/// server's teardown (the whole cluster goes away with its folder).
#[derive(Debug)]
pub struct TestDb {
    /// What the store connects to: `postgres://…/t_<uuid>` or `sqlite:<folder>/meta.db`.
    pub url: String,
    /// The SQLite database's folder; `None` on PostgreSQL.
    _dir: Option<TempDir>,
}

impl TestDb {
    /// `CREATE DATABASE t_<uuid>` on the shared test server and the URL to it.
    ///
    /// Panics with the reason when no server can be reached or started: a test cannot go on.
    pub async fn postgres() -> TestDb {
        match create_postgres_database().await {
            Ok(url) => TestDb { url, _dir: None },
            Err(error) => panic!("cannot create a PostgreSQL test database: {error:#}"),
        }
    }

    /// `sqlite:<temporary folder>/meta.db`; the file is created by whoever connects first.
    ///
    /// Panics when no temporary folder can be created.
    pub async fn sqlite() -> TestDb {
        let dir = match tempfile::Builder::new().prefix("dashi-sqlite-").tempdir() {
            Ok(dir) => dir,
            Err(error) => panic!("cannot create a temporary folder for SQLite: {error}"),
        };
        let url = format!("sqlite:{}", dir.path().join("meta.db").display());
        TestDb { url, _dir: Some(dir) }
    }
}

async fn create_postgres_database() -> anyhow::Result<String> {
    let admin_url = match std::env::var(SHARED_POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => PRIVATE_SERVER.get_or_try_init(PgServer::start).await?.admin_url(),
    };
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url).await.with_context(|| {
        format!("connecting to {} ({SHARED_POSTGRES_URL_VAR})", redact(&admin_url))
    })?;
    // The name is ours (a UUID), never input, so formatting it into the statement is safe.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .with_context(|| format!("CREATE DATABASE {name}"))?;
    let _ = admin.close().await;
    database_url(&admin_url, &name)
}

/// `admin_url` with its database replaced by `name`; user, host, port and options kept.
fn database_url(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(admin_url)
        .with_context(|| format!("{SHARED_POSTGRES_URL_VAR}: not a URL: {}", redact(admin_url)))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_replaces_only_the_database() {
        let check = |admin: &str, expected: &str| {
            assert_eq!(database_url(admin, "t_1").expect("valid URL"), expected, "from {admin}");
        };
        check(
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@127.0.0.1:5432/t_1",
        );
        check("postgres://postgres@127.0.0.1:5432", "postgres://postgres@127.0.0.1:5432/t_1");
        check(
            "postgresql://admin:secret@db.internal:6543/postgres?sslmode=disable",
            "postgresql://admin:secret@db.internal:6543/t_1?sslmode=disable",
        );
    }

    #[test]
    fn redact_hides_the_password() {
        assert_eq!(redact("postgres://admin:secret@host/db"), "postgres://admin:***@host/db");
        assert_eq!(redact("postgres://admin@host/db"), "postgres://admin@host/db");
    }
}
