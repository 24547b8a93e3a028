//! The two signing and encryption keys, with Redash's fallbacks and the embedded default.
//!
//! Redash needs `REDASH_COOKIE_SECRET` and derives `REDASH_SECRET_KEY` from it; either one is
//! enough here. With neither, the embedded mode generates a random key once and keeps it in the
//! data folder (mode 0600), so restarts keep sessions valid and encrypted options readable.
//! Distributed mode refuses: machines sharing a database must share the key, and a key made up
//! on one of them would lock the others out.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::error::Error;
use crate::setting::Settings;
use crate::value::Secret;

/// Name of the generated key's file inside the data folder.
pub const SECRET_FILE_NAME: &str = "secret-key";

/// The keys every role signs and encrypts with.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// Encrypts data-source and destination options at rest.
    pub secret_key: Secret,
    /// Signs sessions, CSRF tokens and invite links.
    pub cookie_secret: Secret,
    /// The file the keys were read from or written to, when neither was configured.
    pub generated_in: Option<PathBuf>,
}

impl Settings {
    /// Resolves both keys. In the embedded mode with neither configured, reads the key file in
    /// the data folder, creating folder and file on first use; two processes racing to create it
    /// end up with the same key. Errors name the missing setting.
    pub fn secrets(&self) -> Result<Secrets, Error> {
        let configured = self.secret_key.clone().or_else(|| self.cookie_secret.clone());
        if let Some(first) = configured {
            return Ok(Secrets {
                secret_key: first.clone(),
                cookie_secret: self.cookie_secret.clone().unwrap_or(first),
                generated_in: None,
            });
        }
        if self.is_distributed() {
            return Err(Error::new(vec![
                "DASHI_SECRET_KEY: must be set when the metadata database is PostgreSQL \
                 (every process must sign and encrypt with the same key; \
                 REDASH_SECRET_KEY or REDASH_COOKIE_SECRET also work)"
                    .into(),
            ]));
        }
        let path = self.data_dir.join(SECRET_FILE_NAME);
        let key = read_or_create(&path).map_err(|error| {
            Error::new(vec![format!("DASHI_SECRET_KEY: not set, and the generated key in {} is unusable ({error})", path.display())])
        })?;
        Ok(Secrets { secret_key: key.clone(), cookie_secret: key, generated_in: Some(path) })
    }
}

fn read_or_create(path: &Path) -> std::io::Result<Secret> {
    if let Some(key) = read(path)? {
        return Ok(key);
    }
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    // Written under a private name, then linked into place: the link fails if another process
    // won the race, and nobody ever reads a half-written key.
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(key.as_bytes()).and_then(|()| file.sync_all()));
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(Secret::new(key)),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read(path)?
            .ok_or_else(|| std::io::Error::other("the key file is empty")),
        Err(error) => Err(error),
    }
}

fn read(path: &Path) -> std::io::Result<Option<Secret>> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Err(std::io::Error::other("the key file is empty")),
        Ok(text) => Ok(Some(Secret::new(text.trim()))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::source::Sources;

    fn settings(env: &[(&str, &str)]) -> Settings {
        Settings::load(&Sources::from_env(env.iter().copied())).expect("settings load")
    }

    #[test]
    fn one_secret_fills_the_other_as_redash_does() {
        let secrets = settings(&[("REDASH_COOKIE_SECRET", "cookie")]).secrets().expect("secrets");
        assert_eq!(secrets.secret_key.expose(), "cookie");
        assert_eq!(secrets.cookie_secret.expose(), "cookie");
        let secrets = settings(&[("DASHI_SECRET_KEY", "key")]).secrets().expect("secrets");
        assert_eq!(secrets.cookie_secret.expose(), "key");
        let secrets = settings(&[("DASHI_SECRET_KEY", "key"), ("DASHI_COOKIE_SECRET", "cookie")])
            .secrets()
            .expect("secrets");
        assert_eq!((secrets.secret_key.expose(), secrets.cookie_secret.expose()), ("key", "cookie"));
        assert_eq!(secrets.generated_in, None);
    }

    #[test]
    fn embedded_mode_generates_one_private_key_and_keeps_it() {
        let directory = tempfile::tempdir().expect("temp dir");
        let data_dir = directory.path().join("data");
        let data_dir_text = data_dir.display().to_string();
        let settings = settings(&[("DASHI_DATA_DIR", &data_dir_text)]);
        let first = settings.secrets().expect("generated");
        let path = data_dir.join(SECRET_FILE_NAME);
        assert_eq!(first.generated_in.as_deref(), Some(path.as_path()));
        assert_eq!(first.secret_key.expose().len(), 64);
        let mode = std::fs::metadata(&path).expect("key file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = settings.secrets().expect("read back");
        assert_eq!(first.secret_key, second.secret_key);
    }

    #[test]
    fn distributed_mode_without_a_secret_is_an_error() {
        let error = settings(&[("DASHI_DATABASE_URL", "postgres://db/dashi")]).secrets().expect_err("refused");
        assert!(error.to_string().starts_with("DASHI_SECRET_KEY: must be set"), "{error}");
    }
}
