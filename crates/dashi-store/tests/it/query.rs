//! Saved queries in the store: result linking, optimistic writes, archive clean-up and the
//! version history, on both backends.

use chrono::{DateTime, Duration, Utc};
use dashi_core::{OrgId, UserId};
use dashi_store::{
    DataSourceFields, DataSourceId, FirstOrg, NewQuery, NewVisualization, Query, QueryFields, QueryUpdate, Store, on_pool,
};
use dashi_testkit::TestDb;
use serde_json::{Map, json};
use sqlx::types::Json;

use crate::open;

struct Fixture {
    store: Store,
    org: OrgId,
    user: UserId,
    source: DataSourceId,
}

async fn fixture(db: &TestDb) -> Fixture {
    let store = open(db).await;
    let now = Utc::now();
    let first = FirstOrg {
        name: "Acme".into(),
        slug: "default".into(),
        settings: json!({}),
        admin_name: "Ada".into(),
        admin_email: "ada@example.com".into(),
        admin_password_hash: "unused".into(),
        admin_api_key: "k".repeat(40),
        admin_group_permissions: dashi_core::ADMIN_GROUP_PERMISSIONS,
        default_group_permissions: dashi_core::DEFAULT_GROUP_PERMISSIONS,
    };
    let (org, user) = dashi_store::create_org_with_admin(&store, &first, now).await.expect("org");
    let group = dashi_store::group_by_name(&store, org, "default").await.expect("group").expect("default group");
    let fields = DataSourceFields {
        name: "Shop".into(),
        type_name: "pg".into(),
        encrypted_options: "token".into(),
        queue_name: "queries".into(),
        scheduled_queue_name: "scheduled_queries".into(),
        concurrency_limit: None,
        timeout_secs: None,
    };
    let source = dashi_store::insert_data_source(&store, org, &fields, group.id, now).await.expect("data source").id;
    Fixture { store, org, user, source }
}

fn fields(source: DataSourceId, name: &str, hash: &str) -> QueryFields {
    QueryFields {
        name: name.into(),
        description: None,
        query_text: format!("select '{hash}'"),
        query_hash: hash.into(),
        data_source_id: Some(source),
        schedule: Some(json!({"interval": 600, "time": null, "day_of_week": null, "until": null})),
        options: Map::new(),
        tags: vec!["t".into()],
        is_draft: true,
        is_archived: false,
    }
}

async fn insert(fixture: &Fixture, fields: QueryFields, latest: Option<i64>, link: bool) -> Query {
    let new = NewQuery {
        org_id: fixture.org,
        user_id: fixture.user,
        api_key: dashi_core::generate_api_key(),
        fields,
        latest_query_data_id: latest,
        link_latest_result: link,
    };
    dashi_store::insert_query(&fixture.store, &new, &[NewVisualization::default_table()], Utc::now()).await.expect("insert")
}

async fn result(fixture: &Fixture, hash: &str, retrieved_at: DateTime<Utc>) -> i64 {
    on_pool!(fixture.store.writer(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO query_results (org_id, data_source_id, query_hash, query, runtime, retrieved_at, row_count, \
             byte_size, storage, location, inline_data, columns) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, NULL, NULL, $9) \
             RETURNING id",
        )
        .bind(fixture.org.0)
        .bind(fixture.source.0)
        .bind(hash)
        .bind("select 1")
        .bind(0.5_f64)
        .bind(retrieved_at)
        .bind(0_i64)
        .bind("inline")
        .bind(Json(json!([])))
        .fetch_one(pool)
        .await
    })
    .expect("result row")
}

async fn count(store: &Store, table: &'static str) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    on_pool!(store.reader(), |pool| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).expect("count")
}

fn update_of(fields: QueryFields, user: UserId) -> QueryUpdate {
    QueryUpdate { fields, latest_query_data_id: None, modified_by: user }
}

dashi_testkit::backend_tests! {
    async fn queries_point_at_the_newest_result_of_their_text(db: TestDb) {
        let fixture = fixture(&db).await;
        let now = Utc::now();
        let older = result(&fixture, "aaa", now - Duration::hours(2)).await;
        let newer = result(&fixture, "aaa", now - Duration::hours(1)).await;
        let other = result(&fixture, "bbb", now).await;

        let linked = insert(&fixture, fields(fixture.source, "A", "aaa"), Some(other), true).await;
        assert_eq!(linked.latest_query_data_id, Some(newer), "the newest result of the same text wins");
        let unmatched = insert(&fixture, fields(fixture.source, "C", "ccc"), Some(older), true).await;
        assert_eq!(unmatched.latest_query_data_id, Some(older), "without a match the given result stays");
        let forked = insert(&fixture, fields(fixture.source, "F", "aaa"), Some(older), false).await;
        assert_eq!(forked.latest_query_data_id, Some(older), "a fork keeps its original's result");
        let bogus = insert(&fixture, fields(fixture.source, "X", "xxx"), Some(987_654), true).await;
        assert_eq!(bogus.latest_query_data_id, None, "an unknown result id is dropped, not a foreign-key error");

        let retexted = QueryFields { query_hash: "bbb".into(), ..linked.fields() };
        let updated = dashi_store::update_query(&fixture.store, &linked, &update_of(retexted, fixture.user), Utc::now())
            .await
            .expect("update");
        assert_eq!(updated.latest_query_data_id, Some(other));

        let fresh = result(&fixture, "aaa", now).await;
        let mut relinked = dashi_store::link_latest_result(&fixture.store, fixture.source, "aaa", fresh).await.expect("link");
        relinked.sort();
        assert_eq!(relinked, vec![forked.id]);
        let reread = dashi_store::query_by_id(&fixture.store, fixture.org, forked.id).await.unwrap().unwrap();
        assert_eq!((reread.latest_query_data_id, reread.version), (Some(fresh), 1), "linking is not a new version");
    }

    async fn a_write_from_a_stale_read_is_refused(db: TestDb) {
        let fixture = fixture(&db).await;
        let read = insert(&fixture, fields(fixture.source, "A", "aaa"), None, true).await;
        let first = QueryFields { name: "First".into(), ..read.fields() };
        let saved = dashi_store::update_query(&fixture.store, &read, &update_of(first, fixture.user), Utc::now())
            .await
            .expect("first write");
        assert_eq!(saved.version, 2);
        let second = QueryFields { name: "Second".into(), ..read.fields() };
        let refused = dashi_store::update_query(&fixture.store, &read, &update_of(second, fixture.user), Utc::now()).await;
        assert!(matches!(refused, Err(dashi_store::Error::VersionConflict { .. })), "{refused:?}");
        let archived = dashi_store::archive_query(&fixture.store, &read, fixture.user, Utc::now()).await;
        assert!(matches!(archived, Err(dashi_store::Error::VersionConflict { .. })), "{archived:?}");
        let now = dashi_store::query_by_id(&fixture.store, fixture.org, read.id).await.unwrap().unwrap();
        assert_eq!((now.name.as_str(), now.version, now.is_archived), ("First", 2, false));
        assert_eq!(dashi_store::query_versions(&fixture.store, read.id).await.unwrap().len(), 2);
    }

    async fn archiving_removes_widgets_and_alerts(db: TestDb) {
        let fixture = fixture(&db).await;
        let query = insert(&fixture, fields(fixture.source, "A", "aaa"), None, true).await;
        let keep = insert(&fixture, fields(fixture.source, "B", "bbb"), None, true).await;
        let now = Utc::now();
        for owner in [&query, &keep] {
            let visualization = dashi_store::visualizations_of(&fixture.store, owner.id).await.unwrap()[0].id;
            on_pool!(fixture.store.writer(), |pool| async {
                let dashboard = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO dashboards (version, org_id, slug, name, user_id, layout, dashboard_filters_enabled, \
                     is_archived, is_draft, options, search_text, created_at, updated_at) \
                     VALUES ($1, $2, $3, $3, $4, $5, $6, $6, $6, $7, $3, $8, $8) RETURNING id",
                )
                .bind(1_i64)
                .bind(fixture.org.0)
                .bind("board")
                .bind(fixture.user.0)
                .bind(Json(json!([])))
                .bind(false)
                .bind(Json(json!({})))
                .bind(now)
                .fetch_one(pool)
                .await?;
                sqlx::query(
                    "INSERT INTO widgets (dashboard_id, visualization_id, text, width, options, created_at, updated_at) \
                     VALUES ($1, $2, NULL, $3, $4, $5, $5)",
                )
                .bind(dashboard)
                .bind(visualization.0)
                .bind(1_i64)
                .bind(Json(json!({})))
                .bind(now)
                .execute(pool)
                .await?;
                sqlx::query(
                    "INSERT INTO alerts (org_id, name, query_id, user_id, options, state, last_triggered_at, rearm, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $7)",
                )
                .bind(fixture.org.0)
                .bind("alert")
                .bind(owner.id.0)
                .bind(fixture.user.0)
                .bind(Json(json!({})))
                .bind("unknown")
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
            }
            .await)
            .expect("dashboard, widget and alert");
        }

        let archived = dashi_store::archive_query(&fixture.store, &query, fixture.user, Utc::now()).await.expect("archive");
        assert!(archived.is_archived);
        assert_eq!(archived.schedule, None);
        assert_eq!(archived.version, 2);
        assert_eq!(archived.last_modified_by_id, Some(fixture.user));
        assert_eq!((count(&fixture.store, "widgets").await, count(&fixture.store, "alerts").await), (1, 1), "only the archived query's go");
        assert_eq!(dashi_store::visualizations_of(&fixture.store, query.id).await.unwrap().len(), 1, "visualizations stay");
        let versions = dashi_store::query_versions(&fixture.store, query.id).await.unwrap();
        assert_eq!(versions[0].object_version, 2);
        assert_eq!(
            serde_json::Value::Object(versions[0].change.clone()),
            json!({"is_archived": {"previous": false, "current": true},
                   "schedule": {"previous": {"interval": 600, "time": null, "day_of_week": null, "until": null}, "current": null}})
        );
    }

    async fn every_version_can_be_rebuilt(db: TestDb) {
        let fixture = fixture(&db).await;
        let v1 = insert(&fixture, fields(fixture.source, "One", "aaa"), None, true).await;
        let renamed = QueryFields { name: "Two".into(), ..v1.fields() };
        let v2 = dashi_store::update_query(&fixture.store, &v1, &update_of(renamed, fixture.user), Utc::now()).await.unwrap();
        let retagged = QueryFields { tags: vec!["u".into(), "t".into()], description: Some("d".into()), ..v2.fields() };
        let v3 = dashi_store::update_query(&fixture.store, &v2, &update_of(retagged, fixture.user), Utc::now()).await.unwrap();
        assert_eq!(v3.version, 3);
        assert_eq!(v3.tags, vec!["t".to_string(), "u".to_string()]);

        let at = |version: i64| {
            let store = fixture.store.clone();
            let current = v3.clone();
            async move { dashi_store::query_fields_at(&store, &current, version).await.unwrap() }
        };
        assert_eq!(at(1).await, Some(QueryFields { tags: vec!["t".into()], ..v1.fields() }));
        assert_eq!(at(2).await.map(|fields| (fields.name, fields.description)), Some(("Two".to_string(), None)));
        assert_eq!(at(3).await, Some(v3.fields()));
        assert_eq!(at(4).await, None);
    }
}
