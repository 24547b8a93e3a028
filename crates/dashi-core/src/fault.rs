//! Fault: the HTTP-free verdict that every crate's error type gives about itself.
//!
//! The API turns a fault into a status code in exactly one place; the worker uses it to decide
//! whether a retry can help. Adding a variant is a compatibility decision for both.

/// What kind of failure an error is, independent of transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller sent something wrong; retrying the same request cannot help.
    Invalid,
    /// No identity, or the identity could not be established.
    Unauthenticated,
    /// The identity is known but may not do this.
    Forbidden,
    /// The object does not exist (or must not be revealed to this caller).
    NotFound,
    /// The request clashes with the current state (duplicate name, stale version).
    Conflict,
    /// Too many attempts in a window; retry later.
    Throttled,
    /// A dependency (database, queue) is down; retrying later may help.
    Unavailable,
    /// A bug or an unexpected condition.
    Internal,
}

/// Implemented by every crate's error type.
pub trait Classify {
    fn fault(&self) -> Fault;
}
