//! Helpers for the visualization, dashboard, widget, sharing and ACL tests: queries with stored
//! results, dashboards with widgets, and users in groups of their own.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Env, MEMBER_PASSWORD, Who};

/// Calls as `who` and returns the JSON; the call must answer 200.
pub async fn ok(env: &Env, method: Method, path: &str, who: &Who, body: Option<Value>) -> Value {
    let reply = env.call(method.clone(), path, who, body).await;
    assert_eq!(reply.status, StatusCode::OK, "{method} {path}: {}", reply.text);
    reply.json
}

/// A published query on `source` made by `who`; returns its dict.
pub async fn query(env: &Env, who: &Who, source: i64, name: &str, text: &str) -> Value {
    let created = ok(
        env,
        Method::POST,
        "/api/queries",
        who,
        Some(json!({"data_source_id": source, "name": name, "query": text})),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    ok(env, Method::POST, &format!("/api/queries/{id}"), who, Some(json!({"is_draft": false}))).await
}

/// A dashboard named `name` made by `who`; returns its id.
pub async fn dashboard(env: &Env, who: &Who, name: &str) -> i64 {
    ok(env, Method::POST, "/api/dashboards", who, Some(json!({"name": name}))).await["id"].as_i64().unwrap()
}

/// Places the query's first visualization on the dashboard at `col`; returns the widget id.
pub async fn widget_of(env: &Env, who: &Who, dashboard_id: i64, query: &Value, col: i64) -> i64 {
    let visualization = query["visualizations"][0]["id"].as_i64().unwrap();
    let options = json!({"position": {"col": col, "row": 0, "sizeX": 3, "sizeY": 8}, "parameterMappings": {}});
    let body = json!({"dashboard_id": dashboard_id, "visualization_id": visualization, "width": 1, "options": options});
    ok(env, Method::POST, "/api/widgets", who, Some(body)).await["id"].as_i64().unwrap()
}

/// A user only in group `group` (not in the default group).
pub async fn user_only_in(env: &Env, name: &str, email: &str, group: i64) -> (i64, Who) {
    let user = env.app.admin_create_user("default", name, email, Some(MEMBER_PASSWORD), false).await.unwrap();
    dashi_store::add_member(env.app.store(), user.id, dashi_core::GroupId(group)).await.unwrap();
    dashi_store::remove_member(env.app.store(), user.id, dashi_core::GroupId(2)).await.unwrap();
    (user.id.0, Who::Key(user.api_key))
}

/// Another member of the default group.
pub async fn other_member(env: &Env) -> (i64, Who) {
    let user = env.app.admin_create_user("default", "Otto Other", "other@example.com", None, false).await.unwrap();
    (user.id.0, Who::Key(user.api_key))
}

/// A group "Finance" with its own data source "Ledger" that the default group cannot use, the
/// admin in it; returns (group id, data source id).
pub async fn finance(env: &Env) -> (i64, i64) {
    let admin = env.admin();
    let group =
        ok(env, Method::POST, "/api/groups", &admin, Some(json!({"name": "Finance"}))).await["id"].as_i64().unwrap();
    let ledger = env.data_source("Ledger").await;
    env.call(Method::DELETE, &format!("/api/groups/2/data_sources/{ledger}"), &admin, None).await;
    ok(
        env,
        Method::POST,
        &format!("/api/groups/{group}/data_sources"),
        &admin,
        Some(json!({"data_source_id": ledger})),
    )
    .await;
    ok(env, Method::POST, &format!("/api/groups/{group}/members"), &admin, Some(json!({"user_id": env.admin_id})))
        .await;
    (group, ledger)
}

/// Runs the saved query now and plays the worker: claims the job and finishes it with a result
/// of one text column `value` holding `rows`. Returns the result id; the query points at it.
pub async fn store_result(env: &Env, query_id: i64, rows: &[&str]) -> i64 {
    let reply =
        ok(env, Method::POST, &format!("/api/queries/{query_id}/results"), &env.admin(), Some(json!({"max_age": 0})))
            .await;
    let job_id = reply["job"]["id"].as_str().expect("a fresh run is a job");
    crate::runs::complete_run(env, job_id, rows).await
}

/// Settings whose run endpoints answer with the job at once instead of waiting for it.
pub fn quick() -> dashi_api::ApiSettings {
    dashi_api::ApiSettings { job_wait: std::time::Duration::from_millis(20), ..Default::default() }
}
