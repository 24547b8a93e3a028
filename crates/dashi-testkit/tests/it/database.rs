//! `TestDb` and `backend_tests!`: every test gets a fresh, empty, writable database.

use dashi_testkit::TestDb;
use sqlx::{Connection, PgConnection, SqliteConnection};

/// Creates a table, writes a row and counts the user tables that existed before.
async fn tables_before_first_write(db: &TestDb) -> i64 {
    let create = "CREATE TABLE probe (id BIGINT PRIMARY KEY)";
    let insert = "INSERT INTO probe (id) VALUES (1)";
    if db.url.starts_with("postgres://") {
        let mut connection = PgConnection::connect(&db.url).await.expect("connect");
        let n_tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&mut connection)
        .await
        .expect("count tables");
        sqlx::query(create).execute(&mut connection).await.expect("create table");
        sqlx::query(insert).execute(&mut connection).await.expect("insert");
        n_tables
    } else {
        let options = db.url.parse::<sqlx::sqlite::SqliteConnectOptions>().expect("sqlite URL");
        let mut connection = SqliteConnection::connect_with(&options.create_if_missing(true))
            .await
            .expect("connect");
        let n_tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
                .fetch_one(&mut connection)
                .await
                .expect("count tables");
        sqlx::query(create).execute(&mut connection).await.expect("create table");
        sqlx::query(insert).execute(&mut connection).await.expect("insert");
        n_tables
    }
}

dashi_testkit::backend_tests! {
    async fn each_test_gets_an_empty_writable_database(db: TestDb) {
        assert_eq!(tables_before_first_write(&db).await, 0);
        let second = if db.url.starts_with("postgres://") {
            TestDb::postgres().await
        } else {
            TestDb::sqlite().await
        };
        assert_ne!(second.url, db.url);
        assert_eq!(tables_before_first_write(&second).await, 0, "databases are not shared");
    }

    async fn bodies_may_return_results(db: TestDb) -> anyhow::Result<()> {
        anyhow::ensure!(!db.url.is_empty());
        Ok(())
    }
}

#[tokio::test]
async fn sqlite_folder_is_removed_on_drop() {
    let db = TestDb::sqlite().await;
    let path = db.url.strip_prefix("sqlite:").expect("sqlite URL").to_owned();
    let folder = std::path::Path::new(&path).parent().expect("a folder").to_owned();
    assert!(folder.is_dir());
    drop(db);
    assert!(!folder.exists());
}

#[tokio::test]
async fn postgres_databases_come_from_one_shared_server_per_process() {
    let (first, second) = tokio::join!(TestDb::postgres(), TestDb::postgres());
    let server = |db: &TestDb| {
        let url = url::Url::parse(&db.url).expect("postgres URL");
        (url.host_str().map(str::to_owned), url.port())
    };
    assert_eq!(server(&first), server(&second));
}
