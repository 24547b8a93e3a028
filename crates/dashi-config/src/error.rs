//! The config crate's one error: every problem found while loading, each naming its setting.

use std::fmt;

use dashi_core::{Classify, Fault};

/// Settings that cannot be used. Each problem reads `NAME: what is wrong`, where `NAME` is the
/// variable, flag or file key the value came from; loading reports all of them at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    problems: Vec<String>,
}

impl Error {
    pub(crate) fn new(problems: Vec<String>) -> Error {
        Error { problems }
    }

    /// One line per problem.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for Error {}

impl Classify for Error {
    fn fault(&self) -> Fault {
        Fault::Invalid
    }
}
