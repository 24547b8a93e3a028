//! Alerts, subscriptions, destinations and the events API: Redash's shapes, and who may call
//! each endpoint (owner, another member, a user outside the data source's groups, admin,
//! anonymous).

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::{Env, Who};

/// The org as these tests need it: a data source, the member's query and alert on it, a
/// second member, a user in no group that may use the source, and a webhook destination.
struct Fixture {
    env: Env,
    query: i64,
    alert: i64,
    destination: i64,
    other: Who,
    outsider: Who,
}

async fn fixture(db: TestDb) -> Fixture {
    let env = Env::start(db).await;
    let source = env.data_source("warehouse").await;
    let member = env.member();
    let body = json!({"name": "Orders", "query": "select 1 as n", "data_source_id": source});
    let reply = env.call(Method::POST, "/api/queries", &member, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let query = reply.json["id"].as_i64().unwrap();
    let body = json!({"name": "Few orders", "query_id": query, "options": {"column": "n", "op": "<", "value": 10}, "rearm": 60});
    let reply = env.call(Method::POST, "/api/alerts", &member, Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let alert = reply.json["id"].as_i64().unwrap();
    let destination = json!({"name": "Ops hook", "type": "webhook", "options": {"url": "https://hooks.example.com/x", "username": "u", "password": "p"}});
    let reply = env.call(Method::POST, "/api/destinations", &env.admin(), Some(destination)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let destination = reply.json["id"].as_i64().unwrap();
    let other = env
        .app
        .admin_create_user("default", "Olga Other", "other@example.com", Some("other-password"), false)
        .await
        .unwrap();
    let outsider = env
        .app
        .admin_create_user("default", "Oscar Outside", "out@example.com", Some("out-password"), false)
        .await
        .unwrap();
    // A group of their own with the default permissions but no data source.
    let reply = env.call(Method::POST, "/api/groups", &env.admin(), Some(json!({"name": "Elsewhere"}))).await;
    let group = reply.json["id"].as_i64().unwrap();
    let add = json!({"user_id": outsider.id.0});
    assert_eq!(
        env.call(Method::POST, &format!("/api/groups/{group}/members"), &env.admin(), Some(add)).await.status,
        StatusCode::OK
    );
    let removed =
        env.call(Method::DELETE, &format!("/api/groups/2/members/{}", outsider.id.0), &env.admin(), None).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text);
    Fixture { env, query, alert, destination, other: Who::Key(other.api_key), outsider: Who::Key(outsider.api_key) }
}

dashi_testkit::backend_tests! {
    async fn alerts_come_back_in_redash_shapes_and_change_as_asked(db: TestDb) {
        let fx = fixture(db).await;
        let member = fx.env.member();
        let reply = fx.env.call(Method::GET, &format!("/api/alerts/{}", fx.alert), &member, None).await;
        assert_eq!(reply.status, StatusCode::OK);
        let alert = &reply.json;
        assert_eq!(alert["name"], "Few orders");
        assert_eq!(alert["state"], "unknown");
        assert_eq!(alert["rearm"], 60);
        assert_eq!(alert["last_triggered_at"], Value::Null);
        assert_eq!(alert["options"], json!({"column": "n", "op": "<", "value": 10}));
        assert_eq!(alert["query"]["id"], fx.query);
        assert_eq!(alert["user"]["email"], "member@example.com");
        assert!(alert["created_at"].as_str().unwrap().ends_with("+00:00"));

        let change = json!({"name": "Very few orders", "options": {"column": "n", "op": "<=", "value": 2, "selector": "min"}, "rearm": null});
        let reply = fx.env.call(Method::POST, &format!("/api/alerts/{}", fx.alert), &member, Some(change)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!((reply.json["name"].clone(), reply.json["rearm"].clone()), (json!("Very few orders"), Value::Null));
        assert_eq!(reply.json["options"]["selector"], "min");

        assert_eq!(fx.env.call(Method::POST, &format!("/api/alerts/{}/mute", fx.alert), &member, None).await.json, Value::Null);
        let reply = fx.env.call(Method::GET, &format!("/api/alerts/{}", fx.alert), &member, None).await;
        assert_eq!(reply.json["options"]["muted"], true);
        fx.env.call(Method::DELETE, &format!("/api/alerts/{}/mute", fx.alert), &member, None).await;
        let reply = fx.env.call(Method::GET, "/api/alerts", &member, None).await;
        assert_eq!(reply.json.as_array().unwrap().len(), 1);
        assert_eq!(reply.json[0]["options"]["muted"], false);

        // Bad input: a 400 with a message, and nothing written.
        for (body, message) in [
            (json!({"query_id": fx.query, "options": {}}), "Name is required."),
            (json!({"name": "x", "options": {}}), "query_id is required."),
            (json!({"name": "x", "query_id": fx.query}), "options is required."),
            (json!({"name": "x", "query_id": fx.query, "options": {"op": "~"}}), "Unknown alert operator \"~\"."),
            (json!({"name": "x", "query_id": fx.query, "options": {}, "rearm": -5}), "Rearm must be a number of seconds, 0 or more."),
        ] {
            let reply = fx.env.call(Method::POST, "/api/alerts", &member, Some(body)).await;
            assert_eq!((reply.status, reply.json["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)));
        }
        assert_eq!(fx.env.call(Method::GET, "/api/alerts", &member, None).await.json.as_array().unwrap().len(), 1);
        let reply = fx.env.call(Method::POST, "/api/alerts", &member, Some(json!({"name": "x", "query_id": 999, "options": {}}))).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);

        let reply = fx.env.call(Method::DELETE, &format!("/api/alerts/{}", fx.alert), &member, None).await;
        assert_eq!((reply.status, reply.json.clone()), (StatusCode::OK, Value::Null));
        assert_eq!(fx.env.call(Method::GET, &format!("/api/alerts/{}", fx.alert), &member, None).await.status, StatusCode::NOT_FOUND);
    }

    async fn subscriptions_by_mail_and_through_destinations(db: TestDb) {
        let fx = fixture(db).await;
        let path = format!("/api/alerts/{}/subscriptions", fx.alert);
        let mail = fx.env.call(Method::POST, &path, &fx.other, None).await;
        assert_eq!(mail.status, StatusCode::OK, "{}", mail.text);
        assert_eq!(mail.json["alert_id"], fx.alert);
        assert_eq!(mail.json["user"]["email"], "other@example.com");
        assert!(mail.json.get("destination").is_none());
        let hook = fx.env.call(Method::POST, &path, &fx.env.member(), Some(json!({"destination_id": fx.destination}))).await;
        assert_eq!(hook.json["destination"], json!({"id": fx.destination, "name": "Ops hook", "type": "webhook", "icon": "fa-bolt"}));
        let again = fx.env.call(Method::POST, &path, &fx.env.member(), Some(json!({"destination_id": fx.destination}))).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
        let missing = fx.env.call(Method::POST, &path, &fx.env.member(), Some(json!({"destination_id": 999}))).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        let listed = fx.env.call(Method::GET, &path, &fx.other, None).await;
        assert_eq!(listed.json.as_array().unwrap().len(), 2);

        // Only the subscriber (or an admin) may remove a subscription.
        let mail_id = mail.json["id"].as_i64().unwrap();
        let hook_id = hook.json["id"].as_i64().unwrap();
        let by_other = fx.env.call(Method::DELETE, &format!("{path}/{hook_id}"), &fx.other, None).await;
        assert_eq!(by_other.status, StatusCode::FORBIDDEN);
        assert_eq!(fx.env.call(Method::DELETE, &format!("{path}/{mail_id}"), &fx.other, None).await.status, StatusCode::OK);
        assert_eq!(fx.env.call(Method::DELETE, &format!("{path}/{hook_id}"), &fx.env.admin(), None).await.status, StatusCode::OK);
        assert_eq!(fx.env.call(Method::GET, &path, &fx.other, None).await.json, json!([]));
    }

    async fn destinations_mask_secrets_keep_them_on_update_and_refuse_duplicates(db: TestDb) {
        let fx = fixture(db).await;
        let admin = fx.env.admin();
        let path = format!("/api/destinations/{}", fx.destination);
        let reply = fx.env.call(Method::GET, &path, &admin, None).await;
        assert_eq!(reply.json["options"], json!({"url": "--------", "username": "u", "password": "--------"}));
        assert_eq!(reply.json["icon"], "fa-bolt");

        let update = json!({"name": "Ops hook 2", "type": "webhook", "options": {"url": "--------", "username": "v", "password": "--------"}});
        let reply = fx.env.call(Method::POST, &path, &admin, Some(update)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.json["name"], "Ops hook 2");
        let stored = dashi_store::destination_by_id(fx.env.app.store(), dashi_core::OrgId(1), dashi_store::DestinationId(fx.destination))
            .await
            .unwrap()
            .unwrap();
        let options = fx.env.app.cipher().decrypt(&stored.encrypted_options).unwrap();
        assert_eq!(options["url"], "https://hooks.example.com/x");
        assert_eq!(options["password"], "p");
        assert_eq!(options["username"], "v");

        let duplicate = json!({"name": "Ops hook 2", "type": "slack", "options": {"url": "https://hooks.slack.com/x"}});
        let reply = fx.env.call(Method::POST, "/api/destinations", &admin, Some(duplicate)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.json["message"], "Alert Destination with the name Ops hook 2 already exists.");
        for (body, message) in [
            (json!({"name": "A", "type": "carrier_pigeon", "options": {}}), "Unknown destination type \"carrier_pigeon\"."),
            (json!({"name": "A", "type": "webhook", "options": {}}), "Option \"url\" is required."),
            (json!({"name": "A", "type": "webhook", "options": {"url": "x", "colour": "red"}}), "Unknown option \"colour\" for Webhook."),
            (json!({"name": " ", "type": "webhook", "options": {"url": "x"}}), "Name is required."),
        ] {
            let reply = fx.env.call(Method::POST, "/api/destinations", &admin, Some(body)).await;
            assert_eq!((reply.status, reply.json["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)));
        }
        let listed = fx.env.call(Method::GET, "/api/destinations", &fx.env.member(), None).await;
        assert_eq!(listed.json, json!([{"id": fx.destination, "name": "Ops hook 2", "type": "webhook", "icon": "fa-bolt"}]));

        let types = fx.env.call(Method::GET, "/api/destinations/types", &admin, None).await;
        let types = types.json.as_array().unwrap();
        assert_eq!(types.len(), 12);
        let slack = types.iter().find(|kind| kind["type"] == "slack").unwrap();
        assert_eq!(slack["name"], "Slack");
        assert_eq!(slack["icon"], "fa-slack");
        assert_eq!(slack["configuration_schema"]["secret"], json!(["url"]));

        let reply = fx.env.call(Method::DELETE, &path, &admin, None).await;
        assert_eq!((reply.status, reply.text.as_str()), (StatusCode::NO_CONTENT, ""));
        assert_eq!(fx.env.call(Method::GET, &path, &admin, None).await.status, StatusCode::NOT_FOUND);
    }

    async fn admins_read_the_audit_log_and_clients_report_into_it(db: TestDb) {
        let fx = fixture(db).await;
        let member = fx.env.member();
        let report = json!([{"action": "view", "object_type": "page", "object_id": "dashboards", "screen_resolution": "1x1"}]);
        let reply = fx.env.call(Method::POST, "/api/events", &member, Some(report)).await;
        assert_eq!((reply.status, reply.json.clone()), (StatusCode::OK, Value::Null));
        let bad = fx.env.call(Method::POST, "/api/events", &member, Some(json!([{"action": "view"}]))).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);

        let reply = fx.env.call(Method::GET, "/api/events?page_size=5", &fx.env.admin(), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.json["page_size"], 5);
        let newest = &reply.json["results"][0];
        assert_eq!(newest["action"], "view");
        assert_eq!(newest["user_name"], "Mel Member");
        assert_eq!(newest["details"], json!({"page": "dashboards"}));
        assert_eq!(newest["location"], "Unknown");
        let all = fx.env.call(Method::GET, "/api/events?page_size=250", &fx.env.admin(), None).await;
        let actions: Vec<(String, String)> = all.json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| (event["action"].as_str().unwrap().to_owned(), event["object_type"].as_str().unwrap().to_owned()))
            .collect();
        for recorded in [("create", "alert"), ("create", "destination"), ("create", "query"), ("create", "datasource")] {
            assert!(actions.contains(&(recorded.0.to_owned(), recorded.1.to_owned())), "{recorded:?} in {actions:?}");
        }
    }

    async fn who_may_not_call_the_alert_destination_and_event_endpoints(db: TestDb) {
        let fx = fixture(db).await;
        let (alert, query, destination) = (fx.alert, fx.query, fx.destination);
        let owner = fx.env.member();
        let admin = fx.env.admin();
        let callers: [(&str, &Who); 5] =
            [("admin", &admin), ("owner", &owner), ("other", &fx.other), ("outsider", &fx.outsider), ("anonymous", &Who::Anonymous)];
        let alert_body = json!({"name": "N", "query_id": query, "options": {"column": "n", "op": ">", "value": 1}});
        let destination_body = json!({"name": "D", "type": "slack", "options": {"url": "https://hooks.slack.com/x"}});
        let renamed = json!({"name": "E", "type": "slack", "options": {"url": "https://hooks.slack.com/x"}});
        // Expected status for admin, owner, another member, an outsider and anonymous (0: not
        // tried). Reads come first so they see the fixture.
        let table: Vec<(Method, String, Option<Value>, [u16; 5])> = vec![
            (Method::GET, "/api/alerts".into(), None, [200, 200, 200, 200, 404]),
            (Method::GET, format!("/api/alerts/{alert}"), None, [200, 200, 200, 403, 404]),
            (Method::GET, format!("/api/alerts/{alert}/subscriptions"), None, [200, 200, 200, 403, 404]),
            (Method::POST, "/api/alerts".into(), Some(alert_body.clone()), [200, 200, 200, 403, 404]),
            (Method::POST, format!("/api/alerts/{alert}"), Some(json!({"name": "Renamed"})), [200, 200, 403, 403, 404]),
            (Method::POST, format!("/api/alerts/{alert}/mute"), None, [200, 200, 403, 403, 404]),
            (Method::DELETE, format!("/api/alerts/{alert}/mute"), None, [200, 200, 403, 403, 404]),
            (Method::POST, format!("/api/alerts/{alert}/eval"), None, [200, 200, 403, 403, 404]),
            (Method::POST, format!("/api/alerts/{alert}/subscriptions"), None, [200, 200, 200, 403, 404]),
            (Method::GET, "/api/destinations".into(), None, [200, 200, 200, 200, 404]),
            (Method::GET, "/api/destinations/types".into(), None, [200, 403, 403, 403, 404]),
            (Method::GET, format!("/api/destinations/{destination}"), None, [200, 403, 403, 403, 404]),
            (Method::POST, "/api/destinations".into(), Some(destination_body.clone()), [200, 403, 403, 403, 404]),
            (Method::POST, format!("/api/destinations/{destination}"), Some(renamed), [200, 403, 403, 403, 404]),
            (Method::GET, "/api/events".into(), None, [200, 403, 403, 403, 404]),
            (Method::POST, "/api/events".into(), Some(json!([{"action": "view", "object_type": "page"}])), [200, 200, 200, 200, 404]),
            (Method::DELETE, format!("/api/alerts/{alert}"), None, [0, 200, 403, 403, 404]),
            (Method::DELETE, format!("/api/destinations/{destination}"), None, [204, 403, 403, 403, 404]),
        ];
        for (method, path, body, expected) in table {
            // The least privileged try first, so a delete that succeeds cannot hide a refusal.
            for (index, (name, who)) in callers.iter().enumerate().rev().filter(|(index, _)| expected[*index] != 0) {
                let reply = fx.env.call(method.clone(), &path, who, body.clone()).await;
                assert_eq!(reply.status.as_u16(), expected[index], "{method} {path} as {name}: {}", reply.text);
            }
        }
    }
}
