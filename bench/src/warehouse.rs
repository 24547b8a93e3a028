//! The warehouse: a PostgreSQL server holding the benchmark table, and the `psql \copy` reference.
//!
//! The reference is what a person would do to get the same rows out fastest: `\copy` of the same
//! `SELECT` to `/dev/null`, timed as a whole `psql` process (connect, copy, exit). `psql` is taken
//! from the server's own `bin` folder when it is there, because Debian's `psql` on the PATH is a
//! Perl wrapper whose start-up would be billed to the reference.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use dashi_testkit::PgServer;

/// The database that holds the table (the server's maintenance database stays untouched).
pub(crate) const DATABASE: &str = "bench";
/// The table every measurement reads.
pub(crate) const TABLE: &str = "t";
/// Where the server binaries of Debian's `postgresql` packages live, one folder per major version.
const POSTGRESQL_ROOT: &str = "/usr/lib/postgresql";

/// What the reference writes: PostgreSQL's text format, or CSV with a header as Dashi's download.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CopyFormat {
    Text,
    Csv,
}

/// A running PostgreSQL with the benchmark table filled and analyzed. Dropping it stops the server.
pub(crate) struct Warehouse {
    server: PgServer,
    psql: PathBuf,
}

impl Warehouse {
    /// Starts a server and fills `t` with `n_rows` rows of int, float, text, timestamp and bool.
    pub(crate) async fn start(n_rows: u64) -> anyhow::Result<Warehouse> {
        let server = PgServer::start().await.context("starting PostgreSQL")?;
        let warehouse = Warehouse { server, psql: find_psql() };
        warehouse.psql_command("postgres", &format!("CREATE DATABASE {DATABASE}")).await?;
        // Distinct texts and timestamps per row, so the result compresses like real data rather
        // than like eight repeated strings.
        let fill = format!(
            "CREATE TABLE {TABLE} AS SELECT \
                 n::integer AS id, \
                 (n * 0.37 + 0.01)::double precision AS amount, \
                 'customer ' || n AS name, \
                 TIMESTAMP '2024-01-01 00:00:00' + n * INTERVAL '1 second' AS created_at, \
                 n % 3 = 0 AS is_active \
             FROM generate_series(1, {n_rows}) AS n"
        );
        warehouse.psql_command(DATABASE, &fill).await?;
        warehouse.psql_command(DATABASE, &format!("VACUUM ANALYZE {TABLE}")).await?;
        Ok(warehouse)
    }

    /// The TCP port on 127.0.0.1, for the data source's options.
    pub(crate) fn port(&self) -> u16 {
        self.server.port()
    }

    /// Wall time of one `psql` process copying every row of the table to `/dev/null`.
    pub(crate) async fn copy_to_null(&self, format: CopyFormat) -> anyhow::Result<Duration> {
        let options = match format {
            CopyFormat::Text => "",
            CopyFormat::Csv => " WITH (FORMAT csv, HEADER)",
        };
        let copy = format!("\\copy (SELECT * FROM {TABLE}) TO '/dev/null'{options}");
        let clock = Instant::now();
        self.psql_command(DATABASE, &copy).await?;
        Ok(clock.elapsed())
    }

    /// Runs one `psql -c` against `database`, failing with psql's own message.
    async fn psql_command(&self, database: &str, command: &str) -> anyhow::Result<()> {
        let port = self.server.port().to_string();
        let output = tokio::process::Command::new(&self.psql)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
            .args(["-d", database, "-c", command])
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("running {}", self.psql.display()))?;
        if !output.status.success() {
            bail!("psql failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(())
    }
}

/// The `psql` next to the newest installed server, else whatever `psql` the PATH gives.
fn find_psql() -> PathBuf {
    newest_psql(Path::new(POSTGRESQL_ROOT)).unwrap_or_else(|| PathBuf::from("psql"))
}

fn newest_psql(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let psql = entry.path().join("bin").join("psql");
            psql.is_file().then_some((major, psql))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, psql)| psql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_psql_prefers_the_highest_major_version() {
        let root = tempfile::tempdir().expect("temporary folder");
        for version in ["13", "16", "9", "not-a-version"] {
            let bin_dir = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin_dir).expect("create bin folder");
            std::fs::write(bin_dir.join("psql"), "").expect("write psql");
        }
        // A newer major without a client is skipped.
        std::fs::create_dir_all(root.path().join("17").join("bin")).expect("create empty folder");

        let found = newest_psql(root.path()).expect("a psql");
        assert_eq!(found, root.path().join("16").join("bin").join("psql"));
    }

    #[test]
    fn no_postgresql_folder_finds_no_psql() {
        let root = tempfile::tempdir().expect("temporary folder");
        assert_eq!(newest_psql(&root.path().join("absent")), None);
    }
}
