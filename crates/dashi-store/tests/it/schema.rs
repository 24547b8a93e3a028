//! One schema on two dialects: both migration folders carry the same migrations, the databases
//! they build have the same tables, columns, keys, indexes and foreign keys, and migrating is
//! idempotent and safe when several processes start at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use dashi_store::{Pool, Store, StoreSettings};
use dashi_testkit::TestDb;
use sqlx::{PgPool, SqlitePool};

use crate::open;

const MIGRATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");

/// The file names in one migration folder, sorted.
fn migration_files(dialect: &str) -> Vec<String> {
    let folder = Path::new(MIGRATIONS).join(dialect);
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .map(|entry| {
            let entry = entry.expect("readable folder entry");
            entry.file_name().into_string().expect("UTF-8 file name")
        })
        .collect();
    names.sort();
    names
}

#[test]
fn migration_folders_list_the_same_versions_and_names() {
    let postgres = migration_files("postgres");
    let sqlite = migration_files("sqlite");
    assert_eq!(postgres, sqlite, "migrations/postgres and migrations/sqlite must match file for file");
    assert!(!postgres.is_empty());
    for (index, name) in postgres.iter().enumerate() {
        let (version, rest) = name.split_once('_').unwrap_or_else(|| panic!("{name}: want NNNN_name.sql"));
        assert!(version.len() == 4 && rest.ends_with(".sql"), "{name}: want NNNN_name.sql");
        let version: usize = version.parse().unwrap_or_else(|_| panic!("{name}: version is not a number"));
        assert_eq!(version, index + 1, "{name}: versions must count up from 0001 without gaps");
    }
}

/// The column types both dialects are reduced to before comparing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Canonical {
    Integer,
    Text,
    Bool,
    Timestamp,
    Json,
    Bytes,
    Float,
    /// A type outside the conventions (say PostgreSQL `integer`, which sqlx will not decode
    /// into `i64`); always reported.
    Other(String),
}

impl Canonical {
    fn from_postgres(data_type: &str) -> Canonical {
        match data_type {
            "bigint" => Canonical::Integer,
            "text" => Canonical::Text,
            "boolean" => Canonical::Bool,
            "timestamp with time zone" => Canonical::Timestamp,
            "jsonb" => Canonical::Json,
            "bytea" => Canonical::Bytes,
            "double precision" => Canonical::Float,
            other => Canonical::Other(format!("postgres {other}")),
        }
    }

    fn from_sqlite(declared: &str) -> Canonical {
        match declared.to_ascii_uppercase().as_str() {
            "INTEGER" | "BIGINT" => Canonical::Integer,
            "TEXT" => Canonical::Text,
            "BOOLEAN" => Canonical::Bool,
            "BLOB" => Canonical::Bytes,
            "REAL" => Canonical::Float,
            other => Canonical::Other(format!("sqlite {other}")),
        }
    }

    /// Whether a PostgreSQL column of type `self` has a faithful SQLite twin of type `sqlite`.
    /// SQLite has no time or JSON type: both are TEXT there (RFC 3339 and JSON text).
    fn matches_sqlite(&self, sqlite: &Canonical) -> bool {
        match (self, sqlite) {
            (Canonical::Other(_), _) | (_, Canonical::Other(_)) => false,
            (Canonical::Timestamp | Canonical::Json, Canonical::Text) => true,
            (postgres, sqlite) => postgres == sqlite,
        }
    }
}

impl fmt::Display for Canonical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Canonical::Integer => f.write_str("integer"),
            Canonical::Text => f.write_str("text"),
            Canonical::Bool => f.write_str("bool"),
            Canonical::Timestamp => f.write_str("timestamp"),
            Canonical::Json => f.write_str("json"),
            Canonical::Bytes => f.write_str("bytes"),
            Canonical::Float => f.write_str("float"),
            Canonical::Other(name) => write!(f, "{name} (outside the conventions)"),
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Canonical,
    nullable: bool,
}

/// What one migrated database looks like, reduced to what both dialects can express.
#[derive(Debug, Default)]
struct Schema {
    /// Table → columns in declaration order.
    tables: BTreeMap<String, Vec<Column>>,
    /// "table: primary key (a, b)" and "table: unique (a, b)".
    keys: BTreeSet<String>,
    /// "table: [unique ][partial ]index name (a, b)", for indexes made by CREATE INDEX.
    indexes: BTreeSet<String>,
    /// "table (a) → other (b) on delete ACTION".
    foreign_keys: BTreeSet<String>,
}

fn key(table: &str, kind: &str, columns: &[String]) -> String {
    format!("{table}: {kind} ({})", columns.join(", "))
}

fn index(table: &str, name: &str, unique: bool, partial: bool, columns: &[String]) -> String {
    let unique = if unique { "unique " } else { "" };
    let partial = if partial { "partial " } else { "" };
    format!("{table}: {unique}{partial}index {name} ({})", columns.join(", "))
}

fn foreign_key(table: &str, columns: &[String], target: &str, target_columns: &[String], on_delete: &str) -> String {
    format!("{table} ({}) → {target} ({}) on delete {on_delete}", columns.join(", "), target_columns.join(", "))
}

/// A foreign key as PostgreSQL lists it: table, columns, target table, target columns, action.
type PgForeignKeyRow = (String, Vec<String>, String, Vec<String>, String);

/// sqlx keeps its own bookkeeping table; it differs by design and is not ours.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

async fn introspect_postgres(pool: &PgPool) -> Schema {
    let mut schema = Schema::default();
    let columns: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'YES'
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> $1
         ORDER BY table_name, ordinal_position",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(pool)
    .await
    .expect("list postgres columns");
    for (table, name, data_type, nullable) in columns {
        let kind = Canonical::from_postgres(&data_type);
        schema.tables.entry(table).or_default().push(Column { name, kind, nullable });
    }

    // Primary keys and UNIQUE constraints; `conkey` lists the columns in key order.
    let keys: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT t.relname::text, c.contype::text,
                ARRAY(SELECT a.attname::text
                      FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                      ORDER BY k.position)
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema() AND c.contype IN ('p', 'u') AND t.relname <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(pool)
    .await
    .expect("list postgres keys");
    for (table, kind, columns) in keys {
        let kind = if kind == "p" { "primary key" } else { "unique" };
        schema.keys.insert(key(&table, kind, &columns));
    }

    // Indexes from CREATE INDEX, not the ones backing a key constraint (listed above).
    let indexes: Vec<(String, String, bool, bool, Vec<String>)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, x.indisunique, x.indpred IS NOT NULL,
                ARRAY(SELECT a.attname::text
                      FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                      ORDER BY k.position)
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema() AND t.relname <> $1
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                           WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u', 'x'))",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(pool)
    .await
    .expect("list postgres indexes");
    for (table, name, unique, partial, columns) in indexes {
        schema.indexes.insert(index(&table, &name, unique, partial, &columns));
    }

    let foreign_keys: Vec<PgForeignKeyRow> = sqlx::query_as(
        "SELECT t.relname::text,
                ARRAY(SELECT a.attname::text
                      FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                      ORDER BY k.position),
                r.relname::text,
                ARRAY(SELECT a.attname::text
                      FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
                      ORDER BY k.position),
                CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
                     WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_class r ON r.oid = c.confrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema() AND c.contype = 'f'",
    )
    .fetch_all(pool)
    .await
    .expect("list postgres foreign keys");
    for (table, columns, target, target_columns, on_delete) in foreign_keys {
        schema.foreign_keys.insert(foreign_key(&table, &columns, &target, &target_columns, &on_delete));
    }
    schema
}

async fn introspect_sqlite(pool: &SqlitePool) -> Schema {
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema
         WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> $1
         ORDER BY name",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(pool)
    .await
    .expect("list sqlite tables");

    for table in tables {
        // `pk` is the column's position in the primary key, 0 if it is not part of it.
        let columns: Vec<(String, String, bool, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid")
                .bind(&table)
                .fetch_all(pool)
                .await
                .expect("list sqlite columns");
        let mut primary_key: Vec<(i64, String)> = Vec::new();
        for (name, declared, not_null, pk_position) in columns {
            if pk_position > 0 {
                primary_key.push((pk_position, name.clone()));
            }
            // Key columns count as NOT NULL: PostgreSQL makes them so, and SQLite's rowid alias
            // (INTEGER PRIMARY KEY) can never be NULL though table_info says notnull = 0.
            let nullable = !not_null && pk_position == 0;
            let kind = Canonical::from_sqlite(&declared);
            schema.tables.entry(table.clone()).or_default().push(Column { name, kind, nullable });
        }
        if !primary_key.is_empty() {
            primary_key.sort();
            let columns: Vec<String> = primary_key.into_iter().map(|(_, name)| name).collect();
            schema.keys.insert(key(&table, "primary key", &columns));
        }

        // origin: 'c' CREATE INDEX, 'u' UNIQUE constraint, 'pk' PRIMARY KEY (listed above).
        let indexes: Vec<(String, bool, String, bool)> =
            sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
                .bind(&table)
                .fetch_all(pool)
                .await
                .expect("list sqlite indexes");
        for (name, unique, origin, partial) in indexes {
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                .bind(&name)
                .fetch_all(pool)
                .await
                .expect("list sqlite index columns");
            match origin.as_str() {
                "c" => {
                    schema.indexes.insert(index(&table, &name, unique, partial, &columns));
                }
                "u" => {
                    schema.keys.insert(key(&table, "unique", &columns));
                }
                _ => {}
            }
        }

        let foreign_keys: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT id, \"from\", \"table\", \"to\", on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .expect("list sqlite foreign keys");
        let mut grouped: BTreeMap<i64, (Vec<String>, String, Vec<String>, String)> = BTreeMap::new();
        for (id, from, target, to, on_delete) in foreign_keys {
            let entry = grouped.entry(id).or_insert_with(|| (Vec::new(), target, Vec::new(), on_delete));
            entry.0.push(from);
            // `to` is NULL when the key names only the table (its primary key); ours always name
            // the column, so NULL shows up as a difference.
            entry.2.push(to.unwrap_or_else(|| "<primary key>".to_owned()));
        }
        for (columns, target, target_columns, on_delete) in grouped.into_values() {
            schema.foreign_keys.insert(foreign_key(&table, &columns, &target, &target_columns, &on_delete));
        }
    }
    schema
}

/// Every way the two schemas differ, one line each; empty when they agree.
fn differences(postgres: &Schema, sqlite: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    for table in postgres.tables.keys().filter(|table| !sqlite.tables.contains_key(*table)) {
        found.push(format!("table {table}: only in postgres"));
    }
    for table in sqlite.tables.keys().filter(|table| !postgres.tables.contains_key(*table)) {
        found.push(format!("table {table}: only in sqlite"));
    }
    for (table, postgres_columns) in &postgres.tables {
        let Some(sqlite_columns) = sqlite.tables.get(table) else { continue };
        let names = |columns: &[Column]| columns.iter().map(|column| column.name.clone()).collect::<Vec<_>>();
        let (postgres_names, sqlite_names) = (names(postgres_columns), names(sqlite_columns));
        if postgres_names != sqlite_names {
            found.push(format!(
                "table {table}: columns differ\n    postgres: {}\n    sqlite:   {}",
                postgres_names.join(", "),
                sqlite_names.join(", ")
            ));
        }
        for postgres_column in postgres_columns {
            let Some(sqlite_column) = sqlite_columns.iter().find(|column| column.name == postgres_column.name) else {
                continue;
            };
            let null = |nullable: bool| if nullable { "NULL" } else { "NOT NULL" };
            if !postgres_column.kind.matches_sqlite(&sqlite_column.kind)
                || postgres_column.nullable != sqlite_column.nullable
            {
                found.push(format!(
                    "column {table}.{}: postgres {} {} vs sqlite {} {}",
                    postgres_column.name,
                    postgres_column.kind,
                    null(postgres_column.nullable),
                    sqlite_column.kind,
                    null(sqlite_column.nullable)
                ));
            }
        }
    }
    let mut compare_sets = |what: &str, postgres: &BTreeSet<String>, sqlite: &BTreeSet<String>| {
        for only in postgres.difference(sqlite) {
            found.push(format!("{what} only in postgres: {only}"));
        }
        for only in sqlite.difference(postgres) {
            found.push(format!("{what} only in sqlite: {only}"));
        }
    };
    compare_sets("key", &postgres.keys, &sqlite.keys);
    compare_sets("index", &postgres.indexes, &sqlite.indexes);
    compare_sets("foreign key", &postgres.foreign_keys, &sqlite.foreign_keys);
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_build_the_same_schema() {
    let (postgres_db, sqlite_db) = (TestDb::postgres().await, TestDb::sqlite().await);
    let (postgres_store, sqlite_store) = (open(&postgres_db).await, open(&sqlite_db).await);
    let postgres = match postgres_store.reader() {
        Pool::Pg(pool) => introspect_postgres(pool).await,
        Pool::Sqlite(_) => panic!("a postgres URL opened a SQLite store"),
    };
    let sqlite = match sqlite_store.reader() {
        Pool::Sqlite(pool) => introspect_sqlite(pool).await,
        Pool::Pg(_) => panic!("a sqlite URL opened a PostgreSQL store"),
    };

    // Guard against comparing two empty results of a broken introspection.
    for table in ["organizations", "queries", "query_results", "jobs", "notification_outbox"] {
        assert!(postgres.tables.contains_key(table), "postgres has no table {table}");
    }
    assert!(postgres.indexes.iter().any(|index| index.contains("unique partial index jobs_dedupe_key")));
    assert!(postgres.foreign_keys.iter().any(|key| key.starts_with("widgets (dashboard_id) → dashboards")));

    let found = differences(&postgres, &sqlite);
    assert!(found.is_empty(), "the postgres and sqlite schemas differ:\n  {}", found.join("\n  "));
}

/// Every migration of the folder, applied and successful, per sqlx's bookkeeping.
async fn assert_fully_migrated(store: &Store) {
    let expected = migration_files("postgres").len();
    let (applied, failed): (i64, i64) = dashi_store::on_pool!(store.reader(), |pool| sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE NOT success) FROM _sqlx_migrations"
    )
    .fetch_one(pool)
    .await)
    .expect("read the migrations table");
    assert_eq!(applied, i64::try_from(expected).expect("few migrations"), "applied migrations");
    assert_eq!(failed, 0, "failed migrations");
}

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + seconds, 0).single().expect("a valid instant")
}

/// Inserts a job with only what the ledger requires; returns whether the row went in.
async fn insert_job(store: &Store, dedupe_key: Option<&str>, run_key: Option<&str>, state: &str) -> bool {
    let id = uuid::Uuid::now_v7().to_string();
    let outcome = dashi_store::on_pool!(store.writer(), |pool| sqlx::query(
        "INSERT INTO jobs (id, org_id, queue, kind, payload, data_source_id, query_id, query_hash,
                           dedupe_key, run_key, state, attempts, max_attempts, run_after,
                           lease_owner, lease_expires_at, fence, cancel_requested, result_id, error,
                           created_at, started_at, finished_at, updated_at)
         VALUES ($1, NULL, 'adhoc', 'execute_query', '{}', NULL, NULL, NULL,
                 $2, $3, $4, 0, 2, $5, NULL, NULL, 0, $6, NULL, NULL, $5, NULL, NULL, $5)
         ON CONFLICT DO NOTHING"
    )
    .bind(&id)
    .bind(dedupe_key)
    .bind(run_key)
    .bind(state)
    .bind(at(0))
    .bind(false)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
    .expect("insert a job");
    outcome == 1
}

async fn set_job_states(store: &Store, from: &str, to: &str) {
    dashi_store::on_pool!(store.writer(), |pool| sqlx::query("UPDATE jobs SET state = $2 WHERE state = $1")
        .bind(from)
        .bind(to)
        .execute(pool)
        .await
        .map(drop))
    .expect("update job states");
}

dashi_testkit::backend_tests! {
    async fn migrating_again_changes_nothing(db: TestDb) {
        let store = open(&db).await;
        store.migrate().await.expect("second migration run");
        store.migrate().await.expect("third migration run");
        assert_fully_migrated(&store).await;
    }

    async fn concurrent_migrations_all_succeed(db: TestDb) {
        // Four processes' worth of stores, all connected before any migrates. (They connect one
        // after another: switching a fresh SQLite file to WAL takes a lock that SQLite's busy
        // timeout does not wait for, so racing connects are a different matter.)
        let settings = StoreSettings { url: db.url.clone(), max_connections: 4 };
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(Store::connect(&settings).await.expect("connect"));
        }
        let mut runs = tokio::task::JoinSet::new();
        for store in stores {
            runs.spawn(async move {
                store.migrate().await?;
                Ok::<Store, dashi_store::Error>(store)
            });
        }
        let mut stores = Vec::new();
        while let Some(run) = runs.join_next().await {
            match run.expect("migration task finished") {
                Ok(store) => stores.push(store),
                Err(error) => panic!("a concurrent migration failed: {error} ({error:?})"),
            }
        }
        for store in &stores {
            assert_fully_migrated(store).await;
        }
    }

    async fn dedupe_key_admits_one_active_job(db: TestDb) {
        let store = open(&db).await;
        assert!(insert_job(&store, Some("ds1:hash"), None, "queued").await);
        assert!(!insert_job(&store, Some("ds1:hash"), None, "queued").await, "second queued twin");
        set_job_states(&store, "queued", "running").await;
        assert!(!insert_job(&store, Some("ds1:hash"), None, "queued").await, "twin of a running job");
        set_job_states(&store, "running", "succeeded").await;
        assert!(insert_job(&store, Some("ds1:hash"), None, "queued").await, "after the first finished");
        assert!(insert_job(&store, None, None, "queued").await);
        assert!(insert_job(&store, None, None, "queued").await, "jobs without a key never collide");
    }

    async fn run_key_admits_one_job_ever(db: TestDb) {
        let store = open(&db).await;
        assert!(insert_job(&store, None, Some("sched:1:2026-01-01T00:00:00Z"), "queued").await);
        set_job_states(&store, "queued", "succeeded").await;
        assert!(
            !insert_job(&store, None, Some("sched:1:2026-01-01T00:00:00Z"), "queued").await,
            "a finished due run must not be enqueued again"
        );
        assert!(insert_job(&store, None, Some("sched:1:2026-01-01T00:05:00Z"), "queued").await);
    }
}
