//! Rules about users that hold wherever a user is created or shown.

use md5::{Digest, Md5};

/// E-mail addresses are compared and stored lower-cased, as Redash does on create.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Redash's only syntactic e-mail check is "contains `@`"; we also want a non-empty local part
/// and domain so that `@` alone is refused.
pub fn is_plausible_email(email: &str) -> bool {
    match email.trim().split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    }
}

/// The Gravatar image Redash shows for users without a profile picture.
pub fn gravatar_url(email: &str) -> String {
    let digest = Md5::digest(normalize_email(email).as_bytes());
    format!("https://www.gravatar.com/avatar/{}?s=40&d=identicon", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_checks() {
        assert!(is_plausible_email("a@b.c"));
        assert!(!is_plausible_email("ab.c"));
        assert!(!is_plausible_email("@b.c"));
        assert!(!is_plausible_email("a@"));
        assert_eq!(normalize_email(" Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn gravatar_matches_the_md5_of_the_lowercased_email() {
        // md5("test@example.com") is a well-known value.
        assert_eq!(
            gravatar_url("Test@Example.com"),
            "https://www.gravatar.com/avatar/55502f40dc8b7c769880b10874abc9d0?s=40&d=identicon"
        );
    }
}
