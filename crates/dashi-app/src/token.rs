//! Signed, expiring links for invitations and password resets.
//!
//! A token names the user and the time it was issued, and carries an HMAC-SHA256 over both plus
//! a fingerprint of the user's current password hash, keyed by the cookie secret. Setting a
//! password changes the fingerprint, so a link works once; after `max_age` it stops working.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use dashi_core::UserId;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn signature(secret: &str, user_id: UserId, issued_at: i64, password_hash: Option<&str>) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(format!("dashi-user-link:{}:{}:{}", user_id.0, issued_at, password_hash.unwrap_or("")).as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Makes a token for `user_id`, issued at `now`.
pub(crate) fn issue(secret: &str, user_id: UserId, password_hash: Option<&str>, now: DateTime<Utc>) -> String {
    let issued_at = now.timestamp();
    let sig = URL_SAFE_NO_PAD.encode(signature(secret, user_id, issued_at, password_hash));
    format!("{}.{}.{}", user_id.0, issued_at, sig)
}

/// The user id a token was issued for, without checking it (to look the user up first).
pub(crate) fn user_of(token: &str) -> Option<UserId> {
    token.split('.').next()?.parse().ok().map(UserId)
}

/// Whether `token` is a valid, unexpired token for this user and password hash.
pub(crate) fn verify(
    secret: &str,
    token: &str,
    user_id: UserId,
    password_hash: Option<&str>,
    max_age: std::time::Duration,
    now: DateTime<Utc>,
) -> bool {
    let mut parts = token.split('.');
    let (Some(id), Some(issued), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(id), Ok(issued_at)) = (id.parse::<i64>(), issued.parse::<i64>()) else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    if id != user_id.0 {
        return false;
    }
    let age = now.timestamp() - issued_at;
    if age < 0 || age as u64 > max_age.as_secs() {
        return false;
    }
    let expected = signature(secret, user_id, issued_at, password_hash);
    subtle::ConstantTimeEq::ct_eq(expected.as_slice(), sig.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn token_is_bound_to_user_secret_password_and_age() {
        let now = Utc::now();
        let day = Duration::from_secs(86_400);
        let token = issue("s", UserId(7), Some("h1"), now);
        assert_eq!(user_of(&token), Some(UserId(7)));
        assert!(verify("s", &token, UserId(7), Some("h1"), day, now));
        assert!(!verify("other", &token, UserId(7), Some("h1"), day, now));
        assert!(!verify("s", &token, UserId(8), Some("h1"), day, now));
        assert!(!verify("s", &token, UserId(7), Some("h2"), day, now));
        assert!(!verify("s", &token, UserId(7), Some("h1"), day, now + chrono::Duration::days(2)));
        assert!(!verify("s", "7.1.x", UserId(7), Some("h1"), day, now));
        assert!(!verify("s", "garbage", UserId(7), Some("h1"), day, now));
    }
}
