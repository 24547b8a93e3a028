//! `dashi migrate` is safe to run from several processes at once, on both backends.

use std::path::Path;

use dashi_testkit::TestDb;

use crate::support::{dashi, finish};

async fn migrate_twice_at_once(data_dir: &Path, database_url: Option<&str>) {
    let command = || {
        let mut command = dashi(data_dir);
        if let Some(url) = database_url {
            command.env("DASHI_DATABASE_URL", url);
        }
        command.arg("migrate");
        command
    };
    let (first, second) = tokio::join!(finish(command()), finish(command()));
    for (status, stdout, stderr) in [first, second] {
        assert!(status.success(), "dashi migrate failed:\n{stderr}");
        assert!(stdout.contains("is up to date"), "stdout was: {stdout}");
    }
    let (status, _, stderr) = finish(command()).await;
    assert!(status.success(), "a third run with nothing to do failed:\n{stderr}");
}

#[tokio::test]
async fn parallel_migrations_succeed_on_sqlite() {
    let folder = tempfile::tempdir().expect("temp dir");
    migrate_twice_at_once(&folder.path().join("data"), None).await;
}

#[tokio::test]
async fn parallel_migrations_succeed_on_postgres() {
    let folder = tempfile::tempdir().expect("temp dir");
    let db = TestDb::postgres().await;
    migrate_twice_at_once(folder.path(), Some(&db.url)).await;
}
