//! Public dashboards and embeds: a share token reaches only its dashboard and its widgets'
//! results, a query's own key only that query's results, and neither ever sees SQL text, data
//! sources or anything else.

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::json;

use crate::objects::{dashboard, ok, other_member, query, quick, store_result, widget_of};
use crate::support::{Env, Who};

/// Every status a key holder gets on paths outside its reach.
async fn refused(env: &Env, key: &str, paths: &[(Method, String)]) {
    for (method, path) in paths {
        let reply = env.call(method.clone(), path, &Who::Key(key.to_owned()), Some(json!({}))).await;
        assert!(
            matches!(reply.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{method} {path}: {} {}",
            reply.status,
            reply.text
        );
        assert!(!reply.text.contains("select"), "{path} leaked SQL: {}", reply.text);
    }
}

dashi_testkit::backend_tests! {
    async fn a_share_token_reaches_only_its_dashboard_and_its_results(db: TestDb) {
        let env = Env::start_with(db, quick()).await;
        let admin = env.admin();
        let source = env.data_source("Shop").await;
        let shown = query(&env, &admin, source, "Shown", "select 'shown-secret-sql'").await;
        let hidden = query(&env, &admin, source, "Hidden", "select 'hidden-secret-sql'").await;
        let shown_id = shown["id"].as_i64().unwrap();
        let hidden_id = hidden["id"].as_i64().unwrap();
        let shown_result = store_result(&env, shown_id, &["north", "south"]).await;
        let hidden_result = store_result(&env, hidden_id, &["private"]).await;
        let board = dashboard(&env, &admin, "Public board").await;
        widget_of(&env, &admin, board, &shown, 0).await;
        ok(&env, Method::POST, "/api/widgets", &admin, Some(json!({"dashboard_id": board, "text": "Hello", "options": {}}))).await;
        let other_board = dashboard(&env, &admin, "Other board").await;
        widget_of(&env, &admin, other_board, &hidden, 0).await;

        // Only the owner or an admin may share.
        let (_, other) = other_member(&env).await;
        assert_eq!(env.call(Method::POST, &format!("/api/dashboards/{board}/share"), &other, None).await.status, StatusCode::FORBIDDEN);
        let shared = ok(&env, Method::POST, &format!("/api/dashboards/{board}/share"), &admin, None).await;
        let token = shared["api_key"].as_str().unwrap().to_owned();
        assert_eq!(token.len(), 40);
        assert_eq!(shared["public_url"], format!("/public/dashboards/{token}"));
        assert_eq!(ok(&env, Method::POST, &format!("/api/dashboards/{board}/share"), &admin, None).await["api_key"], token.as_str(),
            "sharing again keeps the active token");
        let owner_view = ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &admin, None).await;
        assert_eq!(owner_view["api_key"], token.as_str());
        assert!(ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &env.member(), None).await.get("api_key").is_none(),
            "members who may not share do not see the token");

        // Anyone with the token: the dashboard without SQL, data source or keys.
        let public = ok(&env, Method::GET, &format!("/api/dashboards/public/{token}"), &Who::Anonymous, None).await;
        assert_eq!(public["name"], "Public board");
        let widgets = public["widgets"].as_array().unwrap();
        assert_eq!(widgets.len(), 2);
        assert_eq!(widgets[0]["visualization"]["query"], json!({"id": shown_id, "name": "Shown", "description": null, "options": {}}));
        assert_eq!(widgets[1]["text"], "Hello");
        let text = public.to_string();
        for secret in ["secret-sql", "data_source", "api_key", "query_hash", &token, "Hidden"] {
            assert!(!text.contains(secret), "public dashboard leaks {secret}: {text}");
        }

        // Its widgets' results, with only data and retrieved_at.
        let results = ok(&env, Method::GET, &format!("/api/queries/{shown_id}/results.json?api_key={token}"), &Who::Anonymous, None).await;
        assert_eq!(results["query_result"]["data"]["rows"], json!([{"value": "north"}, {"value": "south"}]));
        assert!(results["query_result"]["retrieved_at"].is_string());
        assert_eq!(results["query_result"].as_object().unwrap().len(), 2, "only data and retrieved_at: {results}");
        let by_header = env.call(Method::GET, &format!("/api/queries/{shown_id}/results"), &Who::Key(token.clone()), None).await;
        assert_eq!(by_header.status, StatusCode::OK);
        let csv = env.call(Method::GET, &format!("/api/queries/{shown_id}/results.csv"), &Who::Key(token.clone()), None).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.text.starts_with("value") && csv.text.contains("south"), "{}", csv.text);
        let one = env.call(Method::GET, &format!("/api/queries/{shown_id}/results/{shown_result}.json"), &Who::Key(token.clone()), None).await;
        assert_eq!(one.status, StatusCode::OK);

        // Nothing else: other queries' results, results by id, the query, lists, other
        // dashboards, editing, running text.
        refused(&env, &token, &[
            (Method::GET, format!("/api/queries/{hidden_id}/results.json")),
            (Method::GET, format!("/api/queries/{hidden_id}/results/{hidden_result}.json")),
            (Method::GET, format!("/api/query_results/{shown_result}")),
            (Method::GET, format!("/api/query_results/{hidden_result}")),
            (Method::GET, format!("/api/queries/{shown_id}")),
            (Method::GET, "/api/queries".to_owned()),
            (Method::GET, format!("/api/dashboards/{board}")),
            (Method::GET, format!("/api/dashboards/{other_board}")),
            (Method::GET, "/api/dashboards".to_owned()),
            (Method::POST, format!("/api/dashboards/{board}")),
            (Method::POST, "/api/widgets".to_owned()),
            (Method::POST, "/api/query_results".to_owned()),
            (Method::GET, format!("/api/data_sources/{source}")),
            (Method::GET, format!("/api/embed/queries/{hidden_id}/visualizations/{}", hidden["visualizations"][0]["id"])),
        ]).await;
        assert_eq!(env.call(Method::GET, &format!("/api/dashboards/public/{token}x"), &Who::Anonymous, None).await.status, StatusCode::NOT_FOUND);

        // Unsharing revokes the token at once; sharing again makes a new one.
        ok(&env, Method::DELETE, &format!("/api/dashboards/{board}/share"), &admin, None).await;
        assert_eq!(env.call(Method::GET, &format!("/api/dashboards/public/{token}"), &Who::Anonymous, None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(env.call(Method::GET, &format!("/api/queries/{shown_id}/results.json?api_key={token}"), &Who::Anonymous, None).await.status, StatusCode::NOT_FOUND);
        assert!(ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &admin, None).await.get("api_key").is_none());
        let again = ok(&env, Method::POST, &format!("/api/dashboards/{board}/share"), &admin, None).await;
        assert_ne!(again["api_key"], token.as_str());

        // Archiving the dashboard ends its public life.
        let new_token = again["api_key"].as_str().unwrap().to_owned();
        ok(&env, Method::DELETE, &format!("/api/dashboards/{board}"), &admin, None).await;
        assert_eq!(env.call(Method::GET, &format!("/api/dashboards/public/{new_token}"), &Who::Anonymous, None).await.status, StatusCode::NOT_FOUND);
    }

    async fn a_query_key_reads_only_its_own_query_results(db: TestDb) {
        let env = Env::start_with(db, quick()).await;
        let member = env.member();
        let source = env.data_source("Shop").await;
        let orders = query(&env, &member, source, "Orders", "select 'orders-secret-sql'").await;
        let others = query(&env, &member, source, "Others", "select 'others-secret-sql'").await;
        let orders_id = orders["id"].as_i64().unwrap();
        let others_id = others["id"].as_i64().unwrap();
        let key = orders["api_key"].as_str().unwrap().to_owned();
        let keyed = Who::Key(key.clone());
        assert_eq!(env.call(Method::GET, &format!("/api/queries/{orders_id}/results.json"), &keyed, None).await.json["message"],
            "No cached result found for this query.");
        let result = store_result(&env, orders_id, &["1"]).await;
        let others_result = store_result(&env, others_id, &["2"]).await;

        let json = ok(&env, Method::GET, &format!("/api/queries/{orders_id}/results.json"), &keyed, None).await;
        assert_eq!(json["query_result"]["data"]["rows"], json!([{"value": "1"}]));
        assert!(!json.to_string().contains("secret-sql"));
        for (path, content_type) in [
            (format!("/api/queries/{orders_id}/results.csv"), "text/csv; charset=UTF-8"),
            (format!("/api/queries/{orders_id}/results.tsv"), "text/tab-separated-values; charset=UTF-8"),
            (format!("/api/queries/{orders_id}/results.xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (format!("/api/query_results/{result}.csv"), "text/csv; charset=UTF-8"),
            (format!("/api/query_results/{result}"), "application/json"),
        ] {
            let reply = env.call(Method::GET, &path, &keyed, None).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
            assert_eq!(reply.headers["content-type"], content_type, "{path}");
            assert!(!reply.text.contains("secret-sql"), "{path}");
        }

        // The embed endpoint: the visualization and the query's name, never its text.
        let visualization = orders["visualizations"][0]["id"].as_i64().unwrap();
        let embed = ok(&env, Method::GET, &format!("/api/embed/queries/{orders_id}/visualizations/{visualization}"), &keyed, None).await;
        assert_eq!((&embed["type"], &embed["query"]["name"]), (&json!("TABLE"), &json!("Orders")));
        assert!(!embed.to_string().contains("secret-sql"));
        let signed_in = ok(&env, Method::GET, &format!("/api/embed/queries/{orders_id}/visualizations/{visualization}"), &member, None).await;
        assert_eq!(signed_in, embed);

        refused(&env, &key, &[
            (Method::GET, format!("/api/queries/{others_id}/results.json")),
            (Method::GET, format!("/api/query_results/{others_result}")),
            (Method::GET, format!("/api/queries/{orders_id}")),
            (Method::POST, format!("/api/queries/{orders_id}")),
            (Method::POST, format!("/api/queries/{orders_id}/refresh")),
            (Method::POST, "/api/visualizations".to_owned()),
            (Method::GET, format!("/api/embed/queries/{others_id}/visualizations/{}", others["visualizations"][0]["id"])),
            (Method::GET, format!("/api/embed/queries/{orders_id}/visualizations/{}", others["visualizations"][0]["id"])),
            (Method::GET, "/api/dashboards".to_owned()),
        ]).await;

        // A new text makes the old result stale for key holders (Redash compares the hash).
        ok(&env, Method::POST, &format!("/api/queries/{orders_id}"), &member, Some(json!({"query": "select 'changed'"}))).await;
        assert_eq!(env.call(Method::GET, &format!("/api/queries/{orders_id}/results.json"), &keyed, None).await.status, StatusCode::NOT_FOUND);

        // Regenerating the key stops the old one at once.
        let fresh = store_result(&env, orders_id, &["3"]).await;
        let regenerated = ok(&env, Method::POST, &format!("/api/queries/{orders_id}/regenerate_api_key"), &member, None).await;
        let new_key = regenerated["api_key"].as_str().unwrap().to_owned();
        assert_ne!(new_key, key);
        assert_eq!(env.call(Method::GET, &format!("/api/query_results/{fresh}"), &keyed, None).await.status, StatusCode::NOT_FOUND);
        let with_new = env.call(Method::GET, &format!("/api/queries/{orders_id}/results.json?api_key={new_key}"), &Who::Anonymous, None).await;
        assert_eq!(with_new.status, StatusCode::OK);
        assert_eq!(with_new.json["query_result"]["data"]["rows"], json!([{"value": "3"}]));
    }
}
