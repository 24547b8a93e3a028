//! The runners' one error type and the verdict each case gives ([`Fault`]).
//!
//! The worker shows a failed job's message to the user, so a database's own message is kept
//! verbatim (`Error::Query`); nothing here ever carries option values or query text.

use std::time::Duration;

use dashi_core::{Classify, Fault, SinkError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data source's options are missing a field or hold a wrong value.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption { option: String, reason: String },
    /// The query text (or a URL query's YAML) cannot be run as written, before any database saw it.
    #[error("{0}")]
    BadQuery(String),
    /// The database refused or failed the query; the message is the database's own.
    #[error("{message}")]
    Query { message: String },
    /// The database or endpoint cannot be reached (refused, unresolvable, TLS, dropped).
    #[error("cannot reach {target}")]
    Unreachable {
        target: String,
        #[source]
        source: Source,
    },
    /// The database rejected our credentials.
    #[error("the data source refused the login: {message}")]
    Login { message: String },
    /// A URL names a private, loopback or link-local address and those are not allowed.
    #[error("{host} resolves to a private address ({address}), which this server may not fetch")]
    PrivateAddress {
        host: String,
        address: std::net::IpAddr,
    },
    /// An HTTP endpoint answered with an error status.
    #[error("{target} answered HTTP {status}")]
    HttpStatus { target: String, status: u16 },
    /// The run was cancelled; the query was stopped in the database.
    #[error("query cancelled")]
    Cancelled,
    /// The run took longer than its timeout; the query was stopped in the database.
    #[error("query exceeded its time limit of {} s", .0.as_secs())]
    TimedOut(Duration),
    /// This kind of data source cannot do what was asked (bind parameters, list a schema).
    #[error("{0}")]
    Unsupported(&'static str),
    /// A query referenced by a Query Results query could not be loaded; the source's verdict.
    #[error("{message}")]
    Reference { message: String, fault: Fault },
    /// The result sink refused a row (too large, store failure).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A response or value the driver could not make sense of.
    #[error("unexpected answer from the data source: {0}")]
    Protocol(String),
    /// A bug or an unexpected condition inside the runner (a worker thread died).
    #[error("runner failure: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn invalid_option(option: &str, reason: impl Into<String>) -> Error {
        Error::InvalidOption {
            option: option.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unreachable(
        target: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Unreachable {
            target: target.into(),
            source: source.into(),
        }
    }

    pub(crate) fn query(message: impl Into<String>) -> Error {
        Error::Query {
            message: message.into(),
        }
    }
}

impl Classify for Error {
    fn fault(&self) -> Fault {
        match self {
            Error::InvalidOption { .. }
            | Error::BadQuery(_)
            | Error::Query { .. }
            | Error::PrivateAddress { .. }
            | Error::Unsupported(_) => Fault::Invalid,
            Error::Unreachable { .. } | Error::HttpStatus { .. } => Fault::Unavailable,
            Error::Login { .. } => Fault::Invalid,
            // A cancel is what the caller asked for; a timeout is the query's own doing.
            Error::Cancelled | Error::TimedOut(_) => Fault::Invalid,
            Error::Reference { fault, .. } => *fault,
            Error::Sink(SinkError::TooLarge { .. }) => Fault::Invalid,
            Error::Sink(SinkError::Write(_)) => Fault::Unavailable,
            Error::Protocol(_) | Error::Internal(_) => Fault::Internal,
        }
    }
}
