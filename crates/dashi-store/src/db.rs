//! The connection to the metadata database: PostgreSQL in production, SQLite by default.
//!
//! One SQL text with `$N` placeholders runs on both (sqlx-sqlite numbers `$N` the same way), so
//! each repository function is written once and compiled per pool type by [`on_pool!`]. SQLite
//! gets one writer connection (it allows a single writer; queueing writers in the pool avoids
//! `SQLITE_BUSY` upgrades) and a few read-only connections (WAL lets them read while it writes).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::error::{Error, Result};

/// Which SQL dialect a store speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// How to reach the metadata database.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// `postgres://…`, `postgresql://…` or `sqlite:<path>` (`sqlite::memory:` for tests).
    pub url: String,
    /// Upper bound of pooled connections (PostgreSQL) or readers (SQLite).
    pub max_connections: u32,
}

/// A pool to run one statement on; see [`on_pool!`].
pub enum Pool<'a> {
    Pg(&'a PgPool),
    Sqlite(&'a SqlitePool),
}

/// Runs `$body` with `$p` bound to the concrete pool (or transaction) of either dialect.
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::Pool::Pg($p) => $body,
            $crate::Pool::Sqlite($p) => $body,
        }
    };
}

/// Runs one statement with its binds on the writer and returns how many rows it touched: the
/// whole body of most single-statement inserts, updates and deletes.
macro_rules! execute {
    ($store:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        $crate::on_pool!($store.writer(), |pool| {
            sqlx::query($sql)$(.bind($bind))*.execute(pool).await.map(|done| done.rows_affected())
        })
    };
}
pub(crate) use execute;

#[derive(Clone, Debug)]
enum Backend {
    Pg(PgPool),
    Sqlite { writer: SqlitePool, reader: SqlitePool },
}

/// The metadata store. Cheap to clone; every clone shares the pools.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

impl Store {
    /// Opens pools for `settings.url`. SQLite files are created if missing.
    pub async fn connect(settings: &StoreSettings) -> Result<Store> {
        let url = settings.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|_| Error::UnsupportedUrl { url: redact(url) })?
                .application_name("dashi");
            let pool = PgPoolOptions::new()
                .max_connections(settings.max_connections.max(2))
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await?;
            return Ok(Store { backend: Backend::Pg(pool) });
        }
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|_| Error::UnsupportedUrl { url: redact(url) })?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let writer = connect_sqlite_writer(&options).await?;
            // An in-memory database exists once per connection, so readers must share the writer.
            let reader = if in_memory {
                writer.clone()
            } else {
                SqlitePoolOptions::new()
                    .max_connections(settings.max_connections.clamp(1, 8))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options.read_only(true))
                    .await?
            };
            return Ok(Store { backend: Backend::Sqlite { writer, reader } });
        }
        Err(Error::UnsupportedUrl { url: redact(url) })
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Pg(_) => Dialect::Postgres,
            Backend::Sqlite { .. } => Dialect::Sqlite,
        }
    }

    /// A pool for statements that only read.
    pub fn reader(&self) -> Pool<'_> {
        match &self.backend {
            Backend::Pg(pool) => Pool::Pg(pool),
            Backend::Sqlite { reader, .. } => Pool::Sqlite(reader),
        }
    }

    /// A pool for statements that write.
    pub fn writer(&self) -> Pool<'_> {
        match &self.backend {
            Backend::Pg(pool) => Pool::Pg(pool),
            Backend::Sqlite { writer, .. } => Pool::Sqlite(writer),
        }
    }

    /// Applies every pending migration. Safe to call from several processes at once: sqlx holds
    /// an advisory lock on PostgreSQL; on SQLite a migrator that loses a race retries.
    pub async fn migrate(&self) -> Result<()> {
        let writer = match &self.backend {
            Backend::Pg(pool) => {
                sqlx::migrate!("migrations/postgres").run(pool).await?;
                return Ok(());
            }
            Backend::Sqlite { writer, .. } => writer,
        };
        // sqlx takes no lock on SQLite. Two processes migrating one fresh file both find
        // migration N pending; once the first commits it, the second fails ("table … already
        // exists") or meets SQLITE_BUSY. Each migration commits together with its bookkeeping
        // row, so the loser changed nothing: it runs again, finds N applied and goes on. A run
        // that fails while nobody made progress is a real failure and is returned.
        async fn n_applied(writer: &SqlitePool) -> i64 {
            // Before the very first run the bookkeeping table does not exist: nothing applied.
            sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(writer)
                .await
                .unwrap_or(0)
        }
        fn is_busy(error: &sqlx::migrate::MigrateError) -> bool {
            use sqlx::migrate::MigrateError;
            let (MigrateError::Execute(sqlx::Error::Database(db))
            | MigrateError::ExecuteMigration(sqlx::Error::Database(db), _)) = error
            else {
                return false;
            };
            // Extended result codes; the primary code is the low byte (5 BUSY, 6 LOCKED).
            let code = db.code().and_then(|code| code.parse::<i32>().ok()).unwrap_or(0);
            matches!(code & 0xff, 5 | 6)
        }
        let migrator = sqlx::migrate!("migrations/sqlite");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let n_before = n_applied(writer).await;
            let error = match migrator.run(writer).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            let contended = is_busy(&error) || n_applied(writer).await > n_before;
            if !contended || std::time::Instant::now() >= deadline {
                return Err(error.into());
            }
            tracing::debug!(%error, "another process is migrating the database; retrying");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the database answers; used by health checks.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self.reader(), |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Closes every pool, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Pg(pool) => pool.close().await,
            Backend::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
        }
    }
}

/// Opens the single writer connection. Switching a fresh file to WAL takes a lock that
/// `busy_timeout` does not wait for, so processes starting together (several `dashi migrate`)
/// retry "database is locked" for a while instead of failing.
async fn connect_sqlite_writer(options: &SqliteConnectOptions) -> Result<SqlitePool> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let attempt = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(Error::from);
        match attempt {
            Err(Error::Unavailable(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// The URL without its password, for error messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
