//! Why a delivery failed, and whether trying again can help.

/// A failed delivery.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The destination's options cannot work (missing or malformed); a retry cannot help.
    #[error("{0}")]
    Options(String),
    /// E-mail is wanted but no sender is configured.
    #[error("mail is not configured (no default sender)")]
    MailNotConfigured,
    /// The service answered with a status that is not a success.
    #[error("{service} answered HTTP {status}")]
    Rejected { service: &'static str, status: u16 },
    /// The service could not be reached (connect, TLS, timeout).
    #[error("could not reach {service}: {reason}")]
    Unreachable { service: &'static str, reason: String },
    /// The SMTP server refused or failed; `transient` when it said to try later.
    #[error("SMTP: {reason}")]
    Smtp { reason: String, transient: bool },
}

impl Error {
    /// Whether the same delivery may succeed later: network trouble, a server error, rate
    /// limits and temporary mail failures. Bad options and refusals are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Options(_) | Error::MailNotConfigured => false,
            Error::Rejected { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Error::Unreachable { .. } => true,
            Error::Smtp { transient, .. } => *transient,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_network_trouble_are_retried_refusals_are_not() {
        let rejected = |status| Error::Rejected { service: "Slack", status };
        assert!(rejected(500).is_retryable() && rejected(503).is_retryable() && rejected(429).is_retryable());
        assert!(!rejected(400).is_retryable() && !rejected(404).is_retryable());
        assert!(Error::Unreachable { service: "Slack", reason: "refused".into() }.is_retryable());
        assert!(!Error::Options("x".into()).is_retryable());
        assert!(!Error::MailNotConfigured.is_retryable());
    }
}
