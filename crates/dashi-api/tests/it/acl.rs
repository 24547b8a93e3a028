//! Per-object grants on queries and dashboards: listing, granting, checking and revoking, and
//! that a `modify` grant (and only it) lets a non-owner edit.

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::json;

use crate::objects::{dashboard, finance, ok, other_member, query};
use crate::support::{Env, Who};

dashi_testkit::backend_tests! {
    async fn a_modify_grant_lets_a_non_owner_edit_a_dashboard_until_revoked(db: TestDb) {
        let env = Env::start(db).await;
        let owner = env.member();
        let board = dashboard(&env, &owner, "Board").await;
        let (other_id, other) = other_member(&env).await;
        let acl = format!("/api/dashboards/{board}/acl");
        let edit = |who: &Who, name: &str| {
            let env = &env;
            let who = who.clone();
            let body = json!({"name": name});
            async move { env.call(Method::POST, &format!("/api/dashboards/{board}"), &who, Some(body)).await.status }
        };
        assert_eq!(edit(&other, "Theirs").await, StatusCode::FORBIDDEN);
        assert_eq!(ok(&env, Method::GET, &acl, &other, None).await, json!({}));
        assert_eq!(ok(&env, Method::GET, &format!("{acl}/modify"), &other, None).await, json!({"response": false}));
        assert_eq!(ok(&env, Method::GET, &format!("{acl}/modify"), &owner, None).await, json!({"response": true}));

        // Only the owner (or an admin) grants.
        let grant = json!({"access_type": "modify", "user_id": other_id});
        assert_eq!(env.call(Method::POST, &acl, &other, Some(grant.clone())).await.status, StatusCode::FORBIDDEN);
        let granted = ok(&env, Method::POST, &acl, &owner, Some(grant.clone())).await;
        assert_eq!((&granted["object_id"], &granted["object_type"], &granted["access_type"]), (&json!(board), &json!("dashboards"), &json!("modify")));
        assert_eq!((&granted["grantor"], &granted["grantee"]), (&json!(env.member_id), &json!(other_id)));
        assert_eq!(ok(&env, Method::POST, &acl, &owner, Some(grant.clone())).await["id"], granted["id"], "granting twice is one grant");
        let listed = ok(&env, Method::GET, &acl, &owner, None).await;
        assert_eq!(listed["modify"].as_array().unwrap().iter().map(|user| user["id"].clone()).collect::<Vec<_>>(), [json!(other_id)]);
        assert_eq!(ok(&env, Method::GET, &format!("{acl}/modify"), &other, None).await, json!({"response": true}));

        assert_eq!(edit(&other, "Shared work").await, StatusCode::OK);
        let read = ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &other, None).await;
        assert_eq!((&read["name"], &read["can_edit"]), (&json!("Shared work"), &json!(true)));
        ok(&env, Method::POST, "/api/widgets", &other, Some(json!({"dashboard_id": board, "text": "from a grantee"}))).await;
        // A grant to edit is not a grant to share or to grant further.
        assert_eq!(env.call(Method::POST, &format!("/api/dashboards/{board}/share"), &other, None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(env.call(Method::POST, &acl, &other, Some(json!({"access_type": "modify", "user_id": env.admin_id}))).await.status, StatusCode::FORBIDDEN);

        // A `view` grant changes nothing about editing.
        ok(&env, Method::DELETE, &acl, &owner, Some(grant)).await;
        ok(&env, Method::POST, &acl, &owner, Some(json!({"access_type": "view", "user_id": other_id}))).await;
        assert_eq!(edit(&other, "Again").await, StatusCode::FORBIDDEN);
        assert_eq!(ok(&env, Method::GET, &acl, &owner, None).await.get("modify"), None);

        for (body, message) in [
            (json!({"access_type": "own", "user_id": other_id}), "Unknown access type."),
            (json!({"access_type": "modify", "user_id": 9999}), "User not found."),
            (json!({"access_type": "modify"}), "User not found."),
        ] {
            let reply = env.call(Method::POST, &acl, &owner, Some(body.clone())).await;
            assert_eq!((reply.status, reply.json["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)), "{body}");
        }
        assert_eq!(env.call(Method::GET, &acl, &Who::Anonymous, None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(env.call(Method::GET, "/api/dashboards/9999/acl", &owner, None).await.status, StatusCode::NOT_FOUND);
    }

    async fn a_modify_grant_lets_a_non_owner_edit_a_query(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let owner = env.member();
        let orders = query(&env, &owner, source, "Orders", "select 1").await;
        let id = orders["id"].as_i64().unwrap();
        let (other_id, other) = other_member(&env).await;
        let acl = format!("/api/queries/{id}/acl");
        let rename = json!({"name": "Renamed"});
        assert_eq!(env.call(Method::POST, &format!("/api/queries/{id}"), &other, Some(rename.clone())).await.status, StatusCode::FORBIDDEN);
        let granted = ok(&env, Method::POST, &acl, &owner, Some(json!({"access_type": "modify", "user_id": other_id}))).await;
        assert_eq!(granted["object_type"], "queries");
        assert_eq!(ok(&env, Method::POST, &format!("/api/queries/{id}"), &other, Some(rename)).await["name"], "Renamed");
        assert_eq!(ok(&env, Method::GET, &format!("/api/queries/{id}"), &other, None).await["can_edit"], true);
        ok(&env, Method::DELETE, &acl, &owner, Some(json!({"access_type": "modify", "user_id": other_id}))).await;
        assert_eq!(env.call(Method::POST, &format!("/api/queries/{id}"), &other, Some(json!({"name": "x"}))).await.status, StatusCode::FORBIDDEN);

        // The grants of a query another group owns are not even listed.
        let (_, ledger) = finance(&env).await;
        let books = query(&env, &env.admin(), ledger, "Books", "select 2").await;
        let books_acl = format!("/api/queries/{}/acl", books["id"]);
        assert_eq!(env.call(Method::GET, &books_acl, &owner, None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(env.call(Method::POST, &books_acl, &owner, Some(json!({"access_type": "modify", "user_id": env.member_id}))).await.status, StatusCode::FORBIDDEN);
        // Admins may grant on anything.
        ok(&env, Method::POST, &books_acl, &env.admin(), Some(json!({"access_type": "modify", "user_id": env.member_id}))).await;
    }
}
