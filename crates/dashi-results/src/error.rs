//! The crate's one error type, and which kind of failure each case is.

use dashi_core::{Classify, Fault};

/// Why storing or reading a result failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stored object is gone (swept, deleted by hand, or never written).
    #[error("result {location} does not exist")]
    NotFound { location: String },
    /// A page was asked to sort by a column the result does not have.
    #[error("column {name:?} does not exist in the result")]
    UnknownColumn { name: String },
    /// The stored bytes are not a result this crate wrote.
    #[error("the stored result is malformed: {reason}")]
    Corrupt { reason: &'static str },
    /// A runner sent a row whose length differs from its column list.
    #[error("a row has {got} cells but the result has {expected} columns")]
    RowShape { expected: usize, got: usize },
    /// A runner sent rows before the column list, or the column list twice.
    #[error("the column list must come once, before any row")]
    ColumnsOutOfOrder,
    /// The writer refused an earlier row or failed to write; the run must stop.
    #[error("the result writer already failed")]
    WriterFailed,
    /// Object storage answered with an error or could not be reached.
    #[error("the results store is unavailable")]
    Store(#[source] object_store::Error),
    /// A local file (spool, results folder) could not be read or written.
    #[error("could not read or write a result file")]
    Io(#[from] std::io::Error),
    /// The spreadsheet writer failed.
    #[error("could not build the spreadsheet")]
    Xlsx(#[source] rust_xlsxwriter::XlsxError),
    /// The store settings cannot work (bad bucket, missing feature).
    #[error("invalid results store settings: {reason}")]
    Settings { reason: String },
    /// A background thread (a download, a spool upload) stopped without saying why: it panicked.
    #[error("a result task stopped unexpectedly")]
    TaskFailed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Classify for Error {
    fn fault(&self) -> Fault {
        match self {
            Error::NotFound { .. } => Fault::NotFound,
            Error::UnknownColumn { .. } => Fault::Invalid,
            Error::Store(_) => Fault::Unavailable,
            Error::Corrupt { .. }
            | Error::RowShape { .. }
            | Error::ColumnsOutOfOrder
            | Error::WriterFailed
            | Error::Io(_)
            | Error::Xlsx(_)
            | Error::Settings { .. }
            | Error::TaskFailed => Fault::Internal,
        }
    }
}

/// Maps an object-store error for `location`, keeping "not found" distinct from an outage.
pub(crate) fn from_store(location: &str, error: object_store::Error) -> Error {
    match error {
        object_store::Error::NotFound { .. } => Error::NotFound { location: location.to_owned() },
        other => Error::Store(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `axum::body::Body::from_stream` and `tokio::spawn` need of our public types.
    #[test]
    fn public_types_cross_threads() {
        fn is_send_sync<T: Send + Sync + 'static>() {}
        fn is_send<T: Send + 'static>() {}
        is_send_sync::<Error>();
        is_send_sync::<crate::ResultsStore>();
        is_send::<crate::ResultStream>();
        is_send::<crate::ResultWriter>();
    }
}
