//! Secrets at rest: data-source and destination options, encrypted with Fernet.
//!
//! Redash compat: the key is the URL-safe base64 of SHA-256 over the UTF-8 bytes of the secret
//! key (`REDASH_SECRET_KEY`, falling back to the cookie secret), and the plaintext is the options
//! object as JSON. A token written by Redash decrypts here unchanged and the reverse holds too,
//! so an imported `encrypted_options` column needs no re-encryption.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use sha2::{Digest, Sha256};

/// Why a stored token could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("encrypted options could not be decrypted: wrong secret key or damaged value")]
    Undecryptable,
    #[error("decrypted options are not a JSON object")]
    NotJson(#[source] serde_json::Error),
}

impl crate::Classify for SecretError {
    fn fault(&self) -> crate::Fault {
        crate::Fault::Internal
    }
}

/// Encrypts and decrypts option objects with one secret key.
#[derive(Clone)]
pub struct OptionsCipher {
    fernet: fernet::Fernet,
}

impl std::fmt::Debug for OptionsCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OptionsCipher(***)")
    }
}

impl OptionsCipher {
    /// Derives the Fernet key from `secret_key` exactly as Redash does.
    pub fn new(secret_key: &str) -> OptionsCipher {
        let digest = Sha256::digest(secret_key.as_bytes());
        let key = URL_SAFE.encode(digest);
        let fernet = fernet::Fernet::new(&key).expect("a 32-byte digest is always a valid Fernet key");
        OptionsCipher { fernet }
    }

    /// Encrypts an options object into the token text stored in `encrypted_options`.
    pub fn encrypt(&self, options: &serde_json::Map<String, serde_json::Value>) -> String {
        // Redash serialises with sorted keys; sorting keeps tokens' plaintext identical to
        // what Redash would have written for the same options.
        let sorted: std::collections::BTreeMap<&String, &serde_json::Value> = options.iter().collect();
        let plaintext = serde_json::to_vec(&sorted).expect("a map of JSON values always serialises");
        self.fernet.encrypt(&plaintext)
    }

    /// Decrypts a stored token. An empty token (Redash's NULL) is an empty object.
    pub fn decrypt(&self, token: &str) -> Result<serde_json::Map<String, serde_json::Value>, SecretError> {
        if token.is_empty() {
            return Ok(serde_json::Map::new());
        }
        let plaintext = self.fernet.decrypt(token).map_err(|_| SecretError::Undecryptable)?;
        serde_json::from_slice(&plaintext).map_err(SecretError::NotJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decrypts_a_token_written_the_way_redash_writes_it() {
        // Made with Python's `cryptography` Fernet, key = urlsafe_b64encode(sha256(b"redash-secret")),
        // plaintext = json.dumps(options, sort_keys=True, ensure_ascii=False): Redash's recipe.
        let token = "gAAAAABrBr0-PRE_RM-awJccsrUwEeU6DHVfDhlTrS2_t4s95oDwB7wItm7-F0MkOAs3WfTEC1Rw0ga_9rpoX5rfJvmXQr2ouMErwk1XbMy_kP5cCqbjCnZU8fNa0nUT4I5uYxpJpCl7zE2ADqcUfqKxmqZucrSPXw==";
        let options = OptionsCipher::new("redash-secret").decrypt(token).unwrap();
        assert_eq!(
            serde_json::Value::Object(options),
            json!({"host": "db.internal", "password": "päss", "port": 5432})
        );
    }

    #[test]
    fn round_trip_and_wrong_key() {
        let cipher = OptionsCipher::new("k1");
        let options = json!({"b": 1, "a": "x"}).as_object().unwrap().clone();
        let token = cipher.encrypt(&options);
        assert_eq!(cipher.decrypt(&token).unwrap(), options);
        assert!(matches!(OptionsCipher::new("k2").decrypt(&token), Err(SecretError::Undecryptable)));
        assert!(cipher.decrypt("").unwrap().is_empty());
    }
}
