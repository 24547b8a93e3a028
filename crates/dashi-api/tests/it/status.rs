//! `/status.json`, `/api/admin/queries/*` and `/metrics`: Redash's shapes, our additions, and
//! who may read them (admins by session or key; `/metrics` also with the scrape token).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use dashi_store::NewJob;
use dashi_testkit::TestDb;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Env, Who};

/// A queued job on `queue` for `data_source`, written straight to the ledger.
async fn queued_job(env: &Env, queue: &str, data_source: i64, query_id: Option<i64>, run_key: &str) {
    let job = NewJob {
        org_id: None,
        queue: queue.into(),
        kind: "execute_query".into(),
        payload: json!({"scheduled": true}),
        data_source_id: Some(dashi_store::DataSourceId(data_source)),
        query_id,
        query_hash: None,
        dedupe_key: None,
        run_key: Some(run_key.into()),
        max_attempts: 1,
        run_after: chrono::Utc::now(),
    };
    dashi_store::enqueue(env.app.store(), &job, chrono::Utc::now() - chrono::Duration::seconds(30)).await.unwrap();
}

async fn scheduled_query(env: &Env, data_source: i64) -> i64 {
    let body = json!({"name": "hourly", "query": "select 1", "data_source_id": data_source, "schedule": {"interval": 3600}});
    let reply = env.call(Method::POST, "/api/queries", &env.admin(), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json["id"].as_i64().unwrap()
}

async fn scrape(env: &Env, token: Option<&str>, who: &Who) -> crate::support::Reply {
    let mut builder = Request::builder().uri("/metrics");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Who::Key(key) = who {
        builder = builder.header(header::AUTHORIZATION, format!("Key {key}"));
    }
    env.send(builder.body(Body::empty()).unwrap()).await
}

dashi_testkit::backend_tests! {
    async fn status_json_has_redash_keys_and_backlogs(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("shop").await;
        let query = scheduled_query(&env, source).await;
        queued_job(&env, "scheduled", source, Some(query), "refresh:test:1").await;
        let reply = env.call(Method::GET, "/status.json", &env.admin(), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let body = &reply.json;
        for key in ["version", "workers", "redis_used_memory", "queries_count", "query_results_count",
            "unused_query_results_count", "dashboards_count", "widgets_count", "manager", "database_metrics"] {
            assert!(body.get(key).is_some(), "status.json lacks {key}");
        }
        assert_eq!(body["queries_count"], 1);
        assert_eq!(body["manager"]["queues"]["scheduled"]["size"], 1);
        assert_eq!(body["manager"]["outdated_queries_count"], 1);
        assert_eq!(body["manager"]["query_ids"], format!("[{query}]"));
        assert_eq!(body["database_metrics"]["metrics"][1][0], "Redash DB Size");
        assert!(body["database_metrics"]["metrics"][1][1].as_i64().unwrap() > 0);
        assert_eq!(body["queues"]["scheduled"]["queued"], 1);
        assert!(body["queues"]["scheduled"]["oldest_queued_age"].as_f64().unwrap() >= 29.0);
        assert_eq!(body["data_sources"][0]["id"], source);
        assert_eq!(body["data_sources"][0]["name"], "shop");
        assert_eq!(body["data_sources"][0]["queued"], 1);
        assert_eq!(body["scheduler"]["leader"], json!(null));
        // A session works as well as a key.
        let session = env.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(env.call(Method::GET, "/status.json", &session, None).await.status, StatusCode::OK);
    }

    async fn only_admins_read_the_status_pages(db: TestDb) {
        let env = Env::start(db).await;
        for path in ["/status.json", "/api/admin/queries/outdated", "/api/admin/queries/rq_status", "/metrics"] {
            let member = env.call(Method::GET, path, &env.member(), None).await;
            assert_eq!(member.status, StatusCode::FORBIDDEN, "{path}: {}", member.text);
            assert!(member.json["message"].is_string(), "{path}");
            // Redash compat: nobody logged in gets Redash's 404 on API routes.
            let anonymous = env.call(Method::GET, path, &Who::Anonymous, None).await;
            assert_eq!(anonymous.status, StatusCode::NOT_FOUND, "{path}");
            let wrong_key = env.call(Method::GET, path, &Who::Key("x".repeat(40)), None).await;
            assert_eq!(wrong_key.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(env.call(Method::GET, path, &env.admin(), None).await.status, StatusCode::OK, "{path}");
        }
    }

    async fn outdated_and_rq_status_have_redash_shapes(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("shop").await;
        let query = scheduled_query(&env, source).await;
        let outdated = env.call(Method::GET, "/api/admin/queries/outdated", &env.admin(), None).await;
        assert_eq!(outdated.json["queries"][0]["id"], query);
        assert_eq!(outdated.json["queries"][0]["schedule"]["interval"], 3600);
        assert_eq!(outdated.json["updated_at"], json!(null));
        queued_job(&env, "scheduled", source, Some(query), "refresh:test:2").await;
        let outdated = env.call(Method::GET, "/api/admin/queries/outdated", &env.admin(), None).await;
        assert!(outdated.json["updated_at"].as_f64().is_some());
        let rq = env.call(Method::GET, "/api/admin/queries/rq_status", &env.admin(), None).await;
        assert_eq!(rq.status, StatusCode::OK);
        assert_eq!(rq.json["queues"]["scheduled"], json!({"name": "scheduled", "started": [], "queued": 1}));
        assert_eq!(rq.json["workers"], json!([]));
    }

    async fn metrics_need_an_admin_or_the_scrape_token(db: TestDb) {
        let settings = dashi_api::ApiSettings { metrics_token: Some("scrape-me".into()), ..Default::default() };
        let env = Env::start_with(db, settings).await;
        let source = env.data_source("shop").await;
        queued_job(&env, "adhoc", source, None, "manual:1").await;
        let reply = scrape(&env, Some("scrape-me"), &Who::Anonymous).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert!(reply.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
        assert!(reply.text.contains("dashi_queue_jobs{queue=\"adhoc\",state=\"queued\"} 1"), "{}", reply.text);
        assert!(reply.text.contains("dashi_queue_jobs{queue=\"scheduled\",state=\"queued\"} 0"), "{}", reply.text);
        assert!(reply.text.contains(&format!("dashi_data_source_jobs{{data_source_id=\"{source}\",data_source=\"shop\",state=\"queued\"}} 1")), "{}", reply.text);
        assert!(reply.text.contains("dashi_scheduler_leader 0"));
        // Requests are counted by route and status (the data source creation above included).
        let again = scrape(&env, Some("scrape-me"), &Who::Anonymous).await;
        assert!(again.text.contains("dashi_http_requests_total{method=\"POST\",route=\"/api/data_sources\",status=\"200\"} 1"), "{}", again.text);
        assert_eq!(scrape(&env, Some("wrong"), &Who::Anonymous).await.status, StatusCode::NOT_FOUND);
        assert_eq!(scrape(&env, None, &env.member()).await.status, StatusCode::FORBIDDEN);
        assert_eq!(scrape(&env, None, &env.admin()).await.status, StatusCode::OK);
    }
}
