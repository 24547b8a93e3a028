//! File locks that keep processes from stepping on each other's local files.
//!
//! [`DataDirLock`]: one `dashi all` per data folder, since the embedded queue lives in that
//! process. [`migration_lock`]: sqlx guards PostgreSQL migrations with an advisory lock but does
//! nothing for SQLite, so two processes migrating one SQLite file would both try to create the
//! same tables; a lock file next to the database serialises them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use fs2::FileExt;

/// Name of the lock file in the data folder.
pub(crate) const LOCK_FILE_NAME: &str = "dashi.lock";

/// Exclusive use of a data folder, held until dropped (or the process dies: the OS releases it).
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock or fails with `another dashi process is using <dir> (pid N)`. Writes this
    /// process's pid into the file for the next one to name.
    pub(crate) fn acquire(data_dir: &Path) -> anyhow::Result<DataDirLock> {
        let path = data_dir.join(LOCK_FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        if file.try_lock_exclusive().is_err() {
            let mut holder = String::new();
            let pid = match file.read_to_string(&mut holder) {
                Ok(_) if !holder.trim().is_empty() => holder.trim().to_owned(),
                _ => "unknown".to_owned(),
            };
            anyhow::bail!("another dashi process is using {} (pid {pid})", data_dir.display());
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(DataDirLock { _file: file })
    }
}

/// The SQLite file a `sqlite:` URL points at; `None` for other URLs and in-memory databases.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Waits for the migration lock of the SQLite file `database` and holds it until dropped.
pub(crate) async fn migration_lock(database: &Path) -> anyhow::Result<File> {
    let path = PathBuf::from(format!("{}.migrate.lock", database.display()));
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open the migration lock {}", path.display()))?;
    let file = tokio::task::spawn_blocking(move || file.lock_exclusive().map(|()| file))
        .await
        .context("waiting for the migration lock")?
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        let check = |url: &str, expected: Option<&str>| {
            assert_eq!(sqlite_file(url), expected.map(PathBuf::from), "{url}");
        };
        check("sqlite:./dashi-data/dashi.db", Some("./dashi-data/dashi.db"));
        check("sqlite:///var/lib/dashi/dashi.db?mode=rwc", Some("/var/lib/dashi/dashi.db"));
        check("sqlite::memory:", None);
        check("postgres://db/dashi", None);
    }

    #[test]
    fn a_second_lock_on_one_folder_names_the_first_holder() {
        let folder = tempfile::tempdir().expect("temp dir");
        let first = DataDirLock::acquire(folder.path()).expect("first lock");
        let error = DataDirLock::acquire(folder.path()).expect_err("second lock refused");
        let expected = format!("another dashi process is using {} (pid {})", folder.path().display(), std::process::id());
        assert_eq!(error.to_string(), expected);
        drop(first);
        DataDirLock::acquire(folder.path()).expect("free again after drop");
    }
}
