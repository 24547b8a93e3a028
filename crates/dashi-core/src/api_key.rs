//! API keys in Redash's format: 40 characters from `[a-zA-Z0-9]`.
//!
//! Redash clients and Terraform providers store these keys verbatim, so the alphabet and length
//! are part of the contract.

use rand::Rng;
use rand::distr::Alphanumeric;

/// Length of every key Redash issues (user, query and share keys).
pub const API_KEY_LENGTH: usize = 40;

/// A fresh random key from the operating system's generator.
pub fn generate_api_key() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(API_KEY_LENGTH)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_forty_alphanumerics_and_differ() {
        let first = generate_api_key();
        let second = generate_api_key();
        assert_eq!(first.len(), API_KEY_LENGTH);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(first, second);
    }
}
