//! The store's one error type.

use dashi_core::{Classify, Fault};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{entity} {id} does not exist")]
    NotFound { entity: &'static str, id: String },
    #[error("{what} already exists")]
    Duplicate { what: &'static str },
    #[error("{entity} was changed by someone else; reload and retry")]
    VersionConflict { entity: &'static str },
    #[error("unsupported database URL `{url}`: use postgres://…, postgresql://… or sqlite:…")]
    UnsupportedUrl { url: String },
    #[error("metadata database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("metadata database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("metadata database error")]
    Db(#[source] sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Error {
        match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Error::Unavailable(error),
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                Error::Unavailable(error)
            }
            _ => Error::Db(error),
        }
    }
}

/// PostgreSQL codes that mean "the server cannot serve now" (shutdown, too many connections,
/// read-only standby), and SQLite's "busy/locked" after its busy timeout. SQLite reports
/// extended codes (517 is BUSY_SNAPSHOT); the primary code is the low byte.
fn is_unavailable_code(code: Option<&str>) -> bool {
    match code {
        Some("57P01" | "57P02" | "57P03" | "53300" | "25006" | "08006" | "08001") => true,
        Some(other) => other.parse::<i64>().is_ok_and(|code| matches!(code & 0xff, 5 | 6)),
        None => false,
    }
}

/// True when a database error is a unique-constraint violation (both dialects).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

impl Classify for Error {
    fn fault(&self) -> Fault {
        match self {
            Error::NotFound { .. } => Fault::NotFound,
            Error::Duplicate { .. } | Error::VersionConflict { .. } => Fault::Conflict,
            Error::UnsupportedUrl { .. } => Fault::Invalid,
            Error::Unavailable(_) => Fault::Unavailable,
            Error::Migrate(_) | Error::Db(_) => Fault::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
