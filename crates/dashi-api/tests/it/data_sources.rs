//! Data sources: CRUD with encrypted, masked options; group access and view-only; pause; jobs.

use axum::http::{Method, StatusCode};
use dashi_api::ApiSettings;
use dashi_testkit::TestDb;
use serde_json::json;

use crate::support::{Env, Who};

dashi_testkit::backend_tests! {
    async fn options_are_encrypted_and_secrets_masked(db: TestDb) {
        let env = Env::start(db).await;
        let id = env.data_source("Shop").await;
        let full = env.call(Method::GET, &format!("/api/data_sources/{id}"), &env.admin(), None).await;
        assert_eq!(full.json["options"], json!({"dbname": "shop", "password": "--------", "port": 5432}));
        assert_eq!(full.json["groups"], json!({"2": false}));
        assert_eq!(full.json["queue_name"], "adhoc");
        // Stored encrypted: the secret never appears in the row.
        let org = env.app.default_org().await.unwrap().unwrap();
        let stored = dashi_store::data_source_by_id(env.app.store(), org.id, dashi_store::DataSourceId(id)).await.unwrap().unwrap();
        assert!(!stored.encrypted_options.contains("s3cret"));
        assert_eq!(env.app.cipher().decrypt(&stored.encrypted_options).unwrap()["password"], "s3cret");

        // Sending the mask back keeps the secret; a new value replaces it.
        let keep = json!({"name": "Shop2", "type": "pg", "options": {"dbname": "shop", "password": "--------"}});
        env.call(Method::POST, &format!("/api/data_sources/{id}"), &env.admin(), Some(keep)).await;
        let stored = dashi_store::data_source_by_id(env.app.store(), org.id, dashi_store::DataSourceId(id)).await.unwrap().unwrap();
        assert_eq!(env.app.cipher().decrypt(&stored.encrypted_options).unwrap()["password"], "s3cret");
        assert_eq!(stored.name, "Shop2");

        let types = env.call(Method::GET, "/api/data_sources/types", &env.admin(), None).await;
        assert_eq!(types.json[0]["type"], "pg");
        assert_eq!(types.json[0]["configuration_schema"]["secret"], json!(["password"]));

        let deleted = env.call(Method::DELETE, &format!("/api/data_sources/{id}"), &env.admin(), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(env.call(Method::GET, &format!("/api/data_sources/{id}"), &env.admin(), None).await.status, StatusCode::NOT_FOUND);
    }

    async fn bad_data_source_input_is_refused_and_changes_nothing(db: TestDb) {
        let env = Env::start(db).await;
        env.data_source("Shop").await;
        let cases = [
            (json!({"name": "X", "type": "nope", "options": {"dbname": "d"}}), "Unknown data source type"),
            (json!({"name": "X", "type": "pg", "options": {}}), "Option \"dbname\" is required."),
            (json!({"name": "X", "type": "pg", "options": {"dbname": "d", "port": "five"}}), "must be of type number"),
            (json!({"name": "X", "type": "pg", "options": {"dbname": "d", "bogus": 1}}), "Unknown option"),
            (json!({"name": "X", "type": "pg", "options": "text"}), "options must be a JSON object."),
            (json!({"name": "", "type": "pg", "options": {"dbname": "d"}}), "Name is required."),
            (json!({"name": "Shop", "type": "pg", "options": {"dbname": "d"}}), "Data source with the name Shop already exists."),
            (json!({"name": "X", "type": "pg", "options": {"dbname": "d"}, "queue_name": "bogus"}), "queue"),
            (json!({"name": "X", "type": "pg", "options": {"dbname": "d"}, "concurrency_limit": 0}), "Concurrency limit"),
        ];
        for (body, message) in cases {
            let reply = env.call(Method::POST, "/api/data_sources", &env.admin(), Some(body.clone())).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
            assert!(reply.json["message"].as_str().unwrap().contains(message), "{body}: {}", reply.text);
        }
        let list = env.call(Method::GET, "/api/data_sources", &env.admin(), None).await;
        assert_eq!(list.json.as_array().unwrap().len(), 1);
    }

    async fn group_access_and_view_only(db: TestDb) {
        let env = Env::start(db).await;
        let shop = env.data_source("Shop").await;
        let group = env.call(Method::POST, "/api/groups", &env.admin(), Some(json!({"name": "Finance"}))).await.json["id"].as_i64().unwrap();
        let finance = env.call(Method::POST, "/api/data_sources", &env.admin(), Some(json!({"name": "Ledger", "type": "pg", "options": {"dbname": "l"}}))).await.json["id"].as_i64().unwrap();
        // New sources go to the default group; take Ledger away from it and give it to Finance.
        env.call(Method::DELETE, &format!("/api/groups/2/data_sources/{finance}"), &env.admin(), None).await;
        let linked = env.call(Method::POST, &format!("/api/groups/{group}/data_sources"), &env.admin(), Some(json!({"data_source_id": finance}))).await;
        assert_eq!(linked.json["view_only"], false);

        let seen = env.call(Method::GET, "/api/data_sources", &env.member(), None).await;
        let names: Vec<_> = seen.json.as_array().unwrap().iter().map(|ds| ds["name"].clone()).collect();
        assert_eq!(names, vec![json!("Shop")], "another group's source is invisible");
        assert!(seen.json[0].get("options").is_none(), "members never see options");
        assert_eq!(env.call(Method::GET, &format!("/api/data_sources/{finance}"), &env.member(), None).await.status, StatusCode::FORBIDDEN);

        let view_only = env.call(Method::POST, &format!("/api/groups/2/data_sources/{shop}"), &env.admin(), Some(json!({"view_only": true}))).await;
        assert_eq!(view_only.json["view_only"], true);
        let seen = env.call(Method::GET, "/api/data_sources", &env.member(), None).await;
        assert_eq!(seen.json[0]["view_only"], true);
        let listed = env.call(Method::GET, &format!("/api/groups/{group}/data_sources"), &env.admin(), None).await;
        assert_eq!(listed.json[0]["name"], "Ledger");
    }

    async fn pause_resume_and_jobs(db: TestDb) {
        let settings = ApiSettings { job_wait: std::time::Duration::from_millis(300), ..ApiSettings::default() };
        let env = Env::start_with(db, settings).await;
        let id = env.data_source("Shop").await;
        let paused = env.call(Method::POST, &format!("/api/data_sources/{id}/pause"), &env.admin(), Some(json!({"reason": "maintenance"}))).await;
        assert_eq!((paused.json["paused"].clone(), paused.json["pause_reason"].clone()), (json!(1), json!("maintenance")));
        let by_query = env.call(Method::POST, &format!("/api/data_sources/{id}/pause?reason=upgrade"), &env.admin(), None).await;
        assert_eq!(by_query.json["pause_reason"], "upgrade");
        let resumed = env.call(Method::DELETE, &format!("/api/data_sources/{id}/pause"), &env.admin(), None).await;
        assert_eq!(resumed.json["paused"], 0);

        // Without a worker, the schema comes back as a queued job, and asking again attaches to it.
        let first = env.call(Method::GET, &format!("/api/data_sources/{id}/schema"), &env.member(), None).await;
        assert_eq!(first.json["job"]["status"], 1);
        let again = env.call(Method::GET, &format!("/api/data_sources/{id}/schema?refresh=true"), &env.member(), None).await;
        assert_eq!(again.json["job"]["id"], first.json["job"]["id"]);
        let job_id = first.json["job"]["id"].as_str().unwrap().to_owned();
        let status = env.call(Method::GET, &format!("/api/jobs/{job_id}"), &env.member(), None).await;
        assert_eq!((status.json["job"]["status"].clone(), status.json["job"]["position"].clone()), (json!(1), json!(0)));
        let cancelled = env.call(Method::DELETE, &format!("/api/jobs/{job_id}"), &env.member(), None).await;
        assert_eq!(cancelled.json, serde_json::Value::Null);
        let status = env.call(Method::GET, &format!("/api/jobs/{job_id}"), &env.member(), None).await;
        assert_eq!((status.json["job"]["status"].clone(), status.json["job"]["error"].clone()), (json!(4), json!("Query cancelled by user.")));

        // An unknown job is a 404 (Redash answers 500), also under a query's path.
        for path in ["/api/jobs/unknown", "/api/queries/1/jobs/unknown"] {
            let missing = env.call(Method::GET, path, &env.member(), None).await;
            assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        }

        // A connection test nobody picks up says so instead of hanging.
        let test = env.call(Method::POST, &format!("/api/data_sources/{id}/test"), &env.admin(), None).await;
        assert_eq!(test.json["ok"], false);
        assert!(test.json["message"].as_str().unwrap().contains("No worker"));
        let _ = Who::Anonymous;
    }
}
