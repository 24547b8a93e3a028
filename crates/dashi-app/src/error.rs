//! The application layer's one error type.

use dashi_core::{Classify, Fault};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; the message is shown to the caller as is.
    #[error("{0}")]
    Invalid(String),
    #[error("Couldn't find resource. Please login and try again.")]
    Unauthenticated,
    /// The caller may not do this; the message is shown to the caller.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Not found, with Redash's own wording for the case.
    #[error("{0}")]
    NotFoundMessage(String),
    /// A clash with existing state; the message is shown to the caller.
    #[error("{0}")]
    Conflict(String),
    #[error("Too many attempts. Please try again later.")]
    Throttled,
    /// Redash compat: a run refused before it started. The API answers these with a failed
    /// job (status 4) carrying the message, as Redash clients read `job.error` there.
    #[error("{message}")]
    RunRefused { fault: Fault, message: String },
    /// Redash compat: ad-hoc text sent without a data source (Redash answers 401 here).
    #[error("Please select data source to run this query.")]
    NoDataSource,
    #[error(transparent)]
    Store(#[from] dashi_store::Error),
    /// A part this role needs was not given to it (a wiring mistake, not bad input).
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    #[error("a background task failed")]
    Join(#[from] tokio::task::JoinError),
}

impl Error {
    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::Invalid(message.into())
    }

    pub(crate) fn forbidden() -> Error {
        Error::Forbidden("You don't have permission to perform this action.".into())
    }
}

impl Classify for Error {
    fn fault(&self) -> Fault {
        match self {
            Error::Invalid(_) => Fault::Invalid,
            Error::Unauthenticated => Fault::Unauthenticated,
            Error::Forbidden(_) => Fault::Forbidden,
            Error::NotFound(_) | Error::NotFoundMessage(_) => Fault::NotFound,
            Error::Conflict(_) => Fault::Conflict,
            Error::Throttled => Fault::Throttled,
            Error::RunRefused { fault, .. } => *fault,
            Error::NoDataSource => Fault::Invalid,
            Error::Store(error) => error.fault(),
            Error::Join(_) | Error::NotConfigured(_) => Fault::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
