//! Password hashing: Argon2id for new hashes; Redash's passlib SHA-crypt hashes still verify.
//!
//! An imported Redash user keeps the `$6$…` (sha512_crypt) or `$5$…` (sha256_crypt) hash until
//! the first successful login, when the caller stores the Argon2id hash we hand back. Hashing
//! costs tens of milliseconds of CPU: callers on an async runtime run it on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha_crypt::ShaCrypt;

/// Redash's minimum password length (setup, invite, reset).
pub const MIN_PASSWORD_LENGTH: usize = 6;

/// Outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Wrong password, or a stored hash we cannot read.
    Mismatch,
    /// Right password and the stored hash is current.
    Match,
    /// Right password, but the stored hash is a legacy format: store this one instead.
    MatchRehashed(String),
}

/// Hashes a password with Argon2id and a random salt into a PHC string.
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters and a generated salt cannot fail")
        .to_string()
}

/// Checks `password` against `stored` (Argon2 PHC string or SHA-crypt modular crypt string).
pub fn verify_password(password: &str, stored: &str) -> PasswordCheck {
    if stored.starts_with("$argon2") {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return PasswordCheck::Mismatch;
        };
        return match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => PasswordCheck::Match,
            Err(_) => PasswordCheck::Mismatch,
        };
    }
    if stored.starts_with("$6$") || stored.starts_with("$5$") {
        return match ShaCrypt::default().verify_password(password.as_bytes(), stored) {
            Ok(()) => PasswordCheck::MatchRehashed(hash_password(password)),
            Err(_) => PasswordCheck::Mismatch,
        };
    }
    PasswordCheck::Mismatch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip() {
        let stored = hash_password("s3cret!");
        assert!(stored.starts_with("$argon2id$"));
        assert_eq!(verify_password("s3cret!", &stored), PasswordCheck::Match);
        assert_eq!(verify_password("wrong", &stored), PasswordCheck::Mismatch);
    }

    #[test]
    fn passlib_sha512_crypt_hash_verifies_and_asks_for_rehash() {
        // Made with Python's passlib (the library behind Redash's custom_app_context):
        // sha512_crypt.using(rounds=5000, salt="saltsaltsaltsalt").hash("password") and
        // sha256_crypt.using(rounds=5000, salt="saltsalt").hash("password").
        for stored in [
            "$6$saltsaltsaltsalt$bcXJ8qxwY5sQ4v8MTl.0B1jeZ0z0JlA9jjmbUoCJZ.1wYXiLTU.q2ILyrDJLm890lyfuF7sWAeli0yjOyFPkf0",
            "$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC.",
        ] {
            let PasswordCheck::MatchRehashed(new_hash) = verify_password("password", stored) else {
                panic!("expected a rehash for {stored}");
            };
            assert_eq!(verify_password("password", &new_hash), PasswordCheck::Match);
            assert_eq!(verify_password("Password", stored), PasswordCheck::Mismatch);
        }
    }

    #[test]
    fn unknown_or_empty_hash_never_matches() {
        assert_eq!(verify_password("", ""), PasswordCheck::Mismatch);
        assert_eq!(verify_password("x", "plain-text"), PasswordCheck::Mismatch);
        assert_eq!(verify_password("x", "$argon2id$garbage"), PasswordCheck::Mismatch);
    }
}
