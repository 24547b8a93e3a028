//! Query snippets: shared by the organization, changed only by their author or an admin,
//! one per trigger.

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::Env;

dashi_testkit::backend_tests! {
    async fn snippets_are_shared_and_owned(db: TestDb) {
        let env = Env::start(db).await;
        let body = json!({"trigger": "ord", "description": "Orders of today", "snippet": "select * from orders"});
        let created = env.call(Method::POST, "/api/query_snippets", &env.member(), Some(body)).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        assert_eq!(created.json["trigger"], "ord");
        assert_eq!(created.json["user"]["id"], env.member_id);
        for field in ["id", "trigger", "description", "snippet", "user", "updated_at", "created_at"] {
            assert!(created.json.get(field).is_some(), "snippet dict lacks {field}");
        }
        let id = created.json["id"].as_i64().unwrap();
        let path = format!("/api/query_snippets/{id}");

        let listed = env.call(Method::GET, "/api/query_snippets", &env.admin(), None).await;
        assert_eq!(listed.json.as_array().unwrap().len(), 1);
        assert_eq!(env.call(Method::GET, &path, &env.admin(), None).await.json["snippet"], "select * from orders");

        let edited = env.call(Method::POST, &path, &env.member(), Some(json!({"snippet": "select 1", "id": 77}))).await;
        assert_eq!(edited.status, StatusCode::OK);
        assert_eq!((edited.json["snippet"].clone(), edited.json["trigger"].clone()), (json!("select 1"), json!("ord")));
        let admin_edit = env.call(Method::POST, &path, &env.admin(), Some(json!({"description": "by admin"}))).await;
        assert_eq!(admin_edit.json["description"], "by admin");

        let other = env.app.admin_create_user("default", "Otto Other", "other@example.com", None, false).await.unwrap();
        let other = crate::support::Who::Key(other.api_key);
        let refused = env.call(Method::POST, &path, &other, Some(json!({"snippet": "mine"}))).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.json["message"], "You don't have permission to edit this resource.");
        assert_eq!(env.call(Method::DELETE, &path, &other, None).await.status, StatusCode::FORBIDDEN);

        let deleted = env.call(Method::DELETE, &path, &env.member(), None).await;
        assert_eq!((deleted.status, deleted.json.clone()), (StatusCode::OK, Value::Null));
        assert_eq!(env.call(Method::GET, &path, &env.member(), None).await.status, StatusCode::NOT_FOUND);
    }

    async fn bad_snippets_are_refused_and_triggers_are_unique(db: TestDb) {
        let env = Env::start(db).await;
        let first = json!({"trigger": "ord", "description": "", "snippet": "select 1"});
        assert_eq!(env.call(Method::POST, "/api/query_snippets", &env.member(), Some(first.clone())).await.status, StatusCode::OK);
        let other = env.call(Method::POST, "/api/query_snippets", &env.member(), Some(json!({"trigger": "usr", "description": "", "snippet": "x"}))).await;
        let other_id = other.json["id"].as_i64().unwrap();
        let cases = [
            (first.clone(), "A snippet with the trigger \"ord\" already exists."),
            (json!({"description": "", "snippet": "x"}), "trigger is required."),
            (json!({"trigger": "t", "snippet": "x"}), "description is required."),
            (json!({"trigger": "t", "description": ""}), "snippet is required."),
            (json!({"trigger": " ", "description": "", "snippet": "x"}), "trigger must not be empty."),
            (json!({"trigger": 5, "description": "", "snippet": "x"}), "trigger must be a string."),
            (json!("text"), "The request body must be a JSON object."),
        ];
        for (body, message) in cases {
            let reply = env.call(Method::POST, "/api/query_snippets", &env.admin(), Some(body.clone())).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
            assert_eq!(reply.json["message"], message, "{body}");
        }
        let renamed = env.call(Method::POST, &format!("/api/query_snippets/{other_id}"), &env.member(), Some(json!({"trigger": "ord"}))).await;
        assert_eq!(renamed.status, StatusCode::BAD_REQUEST, "{}", renamed.text);
        assert_eq!(env.call(Method::GET, &format!("/api/query_snippets/{other_id}"), &env.member(), None).await.json["trigger"], "usr");
        assert_eq!(env.call(Method::GET, "/api/query_snippets", &env.member(), None).await.json.as_array().unwrap().len(), 2);
        assert_eq!(env.call(Method::GET, "/api/query_snippets/abc", &env.member(), None).await.status, StatusCode::NOT_FOUND);
    }
}
