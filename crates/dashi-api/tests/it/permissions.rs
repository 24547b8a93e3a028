//! Who may NOT call each endpoint: one table, one walk. A new route adds rows here.
//!
//! Callers: an admin, a member of the default group, and anonymous. Rows that disable the
//! member or remove them from the default group are undone after each call, so every row sees
//! the same starting point.

use axum::http::Method;
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::{Env, Who};

#[derive(Clone, Copy, Debug)]
enum Role {
    Admin,
    Member,
    Anonymous,
}

/// (method, path, body, expected status for admin, member, anonymous). `{member}` and `{admin}`
/// in the path are replaced by those users' ids; group 2 is the built-in default group.
fn table() -> Vec<(Method, &'static str, Option<Value>, [u16; 3])> {
    vec![
        (Method::GET, "/api/session", None, [200, 200, 404]),
        (Method::GET, "/api/config", None, [200, 200, 200]),
        (Method::GET, "/api/users", None, [200, 200, 404]),
        (Method::POST, "/api/users", Some(json!({"name": "N", "email": "n@example.com"})), [200, 403, 404]),
        (Method::GET, "/api/users/{admin}", None, [200, 200, 404]),
        (Method::GET, "/api/users/{member}", None, [200, 200, 404]),
        (Method::POST, "/api/users/{admin}", Some(json!({"name": "X"})), [200, 403, 404]),
        (Method::POST, "/api/users/{member}", Some(json!({"name": "X"})), [200, 200, 404]),
        (Method::DELETE, "/api/users/{member}", None, [403, 403, 404]),
        (Method::POST, "/api/users/{member}/invite", None, [200, 403, 404]),
        (Method::POST, "/api/users/{member}/reset_password", None, [200, 403, 404]),
        (Method::POST, "/api/users/{admin}/regenerate_api_key", None, [200, 403, 404]),
        (Method::POST, "/api/users/{member}/regenerate_api_key", None, [200, 200, 404]),
        (Method::POST, "/api/users/{member}/disable", None, [200, 403, 404]),
        (Method::POST, "/api/users/{admin}/disable", None, [403, 403, 404]),
        (Method::DELETE, "/api/users/{member}/disable", None, [200, 403, 404]),
        (Method::GET, "/api/groups", None, [200, 200, 404]),
        (Method::POST, "/api/groups", Some(json!({"name": "G"})), [200, 403, 404]),
        (Method::GET, "/api/groups/1", None, [200, 403, 404]),
        (Method::GET, "/api/groups/2", None, [200, 200, 404]),
        (Method::POST, "/api/groups/2", Some(json!({"name": "G"})), [400, 403, 404]),
        (Method::DELETE, "/api/groups/2", None, [400, 403, 404]),
        (Method::GET, "/api/groups/1/members", None, [200, 403, 404]),
        (Method::GET, "/api/groups/2/members", None, [200, 200, 404]),
        (Method::POST, "/api/groups/1/members", Some(json!({"user_id": "{member}"})), [200, 403, 404]),
        (Method::DELETE, "/api/groups/2/members/{member}", None, [200, 403, 404]),
        (Method::GET, "/api/groups/2/data_sources", None, [200, 403, 404]),
        (Method::POST, "/api/groups/1/data_sources", Some(json!({"data_source_id": "{source}"})), [200, 403, 404]),
        (Method::POST, "/api/groups/2/data_sources/{source}", Some(json!({"view_only": false})), [200, 403, 404]),
        (Method::DELETE, "/api/groups/1/data_sources/{source}", None, [200, 403, 404]),
        (Method::GET, "/api/data_sources", None, [200, 200, 404]),
        (Method::GET, "/api/data_sources/types", None, [200, 403, 404]),
        (Method::POST, "/api/data_sources", Some(json!({"name": "N", "type": "pg", "options": {"dbname": "d"}})), [200, 403, 404]),
        (Method::GET, "/api/data_sources/{source}", None, [200, 200, 404]),
        (Method::POST, "/api/data_sources/{source}", Some(json!({"name": "S", "type": "pg", "options": {"dbname": "d"}})), [200, 403, 404]),
        (Method::POST, "/api/data_sources/{source}/pause", None, [200, 403, 404]),
        (Method::DELETE, "/api/data_sources/{source}/pause", None, [200, 403, 404]),
        (Method::POST, "/api/data_sources/{source}/test", None, [200, 403, 404]),
        (Method::GET, "/api/data_sources/{source}/schema", None, [200, 200, 404]),
        (Method::GET, "/api/jobs/none", None, [404, 404, 404]),
        (Method::DELETE, "/api/jobs/none", None, [404, 404, 404]),
        // Query 1 and snippet 1 are the member's, query 2 and snippet 2 the admin's.
        (Method::GET, "/api/queries", None, [200, 200, 404]),
        (Method::POST, "/api/queries", Some(json!({"data_source_id": "{source}", "query": "select 1"})), [200, 200, 404]),
        (Method::GET, "/api/queries/my", None, [200, 200, 404]),
        (Method::GET, "/api/queries/archive", None, [200, 200, 404]),
        (Method::GET, "/api/queries/favorites", None, [200, 200, 404]),
        (Method::GET, "/api/queries/recent", None, [200, 200, 404]),
        (Method::GET, "/api/queries/tags", None, [200, 200, 404]),
        (Method::POST, "/api/queries/format", Some(json!({"query": "select 1"})), [200, 200, 404]),
        (Method::GET, "/api/queries/1", None, [200, 200, 404]),
        (Method::GET, "/api/queries/2", None, [200, 200, 404]),
        (Method::POST, "/api/queries/1", Some(json!({"name": "Renamed"})), [200, 200, 404]),
        (Method::POST, "/api/queries/2", Some(json!({"name": "Renamed"})), [200, 403, 404]),
        (Method::POST, "/api/queries/2/fork", None, [200, 200, 404]),
        (Method::POST, "/api/queries/1/regenerate_api_key", None, [200, 200, 404]),
        (Method::POST, "/api/queries/2/regenerate_api_key", None, [200, 403, 404]),
        (Method::POST, "/api/queries/2/favorite", None, [200, 200, 404]),
        (Method::DELETE, "/api/queries/2/favorite", None, [200, 200, 404]),
        (Method::GET, "/api/queries/2/versions", None, [200, 200, 404]),
        (Method::POST, "/api/queries/1/versions/1/restore", None, [200, 200, 404]),
        (Method::POST, "/api/queries/2/versions/1/restore", None, [200, 403, 404]),
        (Method::POST, "/api/queries/2/results", Some(json!({"max_age": 0})), [200, 200, 404]),
        (Method::GET, "/api/queries/2/results", None, [404, 404, 404]),
        (Method::GET, "/api/queries/2/results.csv", None, [404, 404, 404]),
        (Method::GET, "/api/queries/2/results/1.json", None, [404, 404, 404]),
        (Method::POST, "/api/queries/2/refresh", None, [200, 200, 404]),
        (Method::GET, "/api/queries/2/dropdown", None, [200, 200, 404]),
        (Method::GET, "/api/queries/2/dropdowns/1", None, [200, 200, 404]),
        (Method::POST, "/api/query_results", Some(json!({"query": "select 2", "data_source_id": "{source}"})), [200, 200, 404]),
        (Method::POST, "/api/query_results", Some(json!({"query": "select 2"})), [401, 401, 404]),
        (Method::GET, "/api/query_results/1", None, [404, 404, 404]),
        (Method::GET, "/api/query_results/1.csv", None, [404, 404, 404]),
        (Method::GET, "/api/query_results/1/page", None, [404, 404, 404]),
        // Dashboard 1 is the member's, dashboard 2 the admin's; visualizations 1 and 2 are the
        // default tables of queries 1 and 2.
        (Method::GET, "/api/dashboards", None, [200, 200, 404]),
        (Method::POST, "/api/dashboards", Some(json!({"name": "New"})), [200, 200, 404]),
        (Method::GET, "/api/dashboards/my", None, [200, 200, 404]),
        (Method::GET, "/api/dashboards/favorites", None, [200, 200, 404]),
        (Method::GET, "/api/dashboards/tags", None, [200, 200, 404]),
        (Method::GET, "/api/dashboards/2", None, [200, 200, 404]),
        (Method::GET, "/api/dashboards/theirs", None, [200, 200, 404]),
        (Method::POST, "/api/dashboards/1", Some(json!({"name": "Mine"})), [200, 200, 404]),
        (Method::POST, "/api/dashboards/2", Some(json!({"name": "Theirs"})), [200, 403, 404]),
        (Method::POST, "/api/dashboards/2/fork", None, [200, 200, 404]),
        (Method::POST, "/api/dashboards/2/favorite", None, [200, 200, 404]),
        (Method::DELETE, "/api/dashboards/2/favorite", None, [200, 200, 404]),
        (Method::POST, "/api/dashboards/2/share", None, [200, 403, 404]),
        (Method::DELETE, "/api/dashboards/2/share", None, [200, 403, 404]),
        (Method::GET, "/api/dashboards/public/none", None, [404, 404, 404]),
        (Method::GET, "/api/dashboards/2/parameters", None, [200, 200, 404]),
        (Method::POST, "/api/dashboards/2/refresh", None, [200, 200, 404]),
        (Method::GET, "/api/dashboards/2/acl", None, [200, 200, 404]),
        (Method::POST, "/api/dashboards/2/acl", Some(json!({"access_type": "view", "user_id": "{member}"})), [200, 403, 404]),
        (Method::DELETE, "/api/dashboards/2/acl", Some(json!({"access_type": "view", "user_id": "{member}"})), [200, 403, 404]),
        (Method::GET, "/api/dashboards/2/acl/modify", None, [200, 200, 404]),
        (Method::GET, "/api/queries/2/acl", None, [200, 200, 404]),
        (Method::POST, "/api/queries/2/acl", Some(json!({"access_type": "view", "user_id": "{member}"})), [200, 403, 404]),
        (Method::GET, "/api/queries/2/acl/modify", None, [200, 200, 404]),
        (Method::POST, "/api/visualizations", Some(json!({"query_id": 1, "type": "CHART"})), [200, 200, 404]),
        (Method::POST, "/api/visualizations", Some(json!({"query_id": 2, "type": "CHART"})), [200, 403, 404]),
        (Method::POST, "/api/visualizations/2", Some(json!({"name": "T"})), [200, 403, 404]),
        (Method::GET, "/api/embed/queries/2/visualizations/2", None, [200, 200, 404]),
        (Method::POST, "/api/widgets", Some(json!({"dashboard_id": 1, "visualization_id": 2})), [200, 200, 404]),
        (Method::POST, "/api/widgets", Some(json!({"dashboard_id": 2, "text": "t"})), [200, 403, 404]),
        (Method::POST, "/api/widgets/1", Some(json!({"text": "", "options": {}})), [200, 200, 404]),
        (Method::DELETE, "/api/dashboards/2", None, [200, 403, 404]),
        (Method::DELETE, "/api/queries/2", None, [200, 403, 404]),
        (Method::DELETE, "/api/queries/1", None, [200, 200, 404]),
        (Method::GET, "/api/query_snippets", None, [200, 200, 404]),
        (Method::POST, "/api/query_snippets", Some(json!({"trigger": "t{unique}", "description": "", "snippet": "s"})), [200, 200, 404]),
        (Method::GET, "/api/query_snippets/2", None, [200, 200, 404]),
        (Method::POST, "/api/query_snippets/1", Some(json!({"snippet": "x"})), [200, 200, 404]),
        (Method::POST, "/api/query_snippets/2", Some(json!({"snippet": "x"})), [200, 403, 404]),
        // The admin deletes the member's snippet first, so the member finds it gone.
        (Method::DELETE, "/api/query_snippets/1", None, [200, 404, 404]),
        (Method::DELETE, "/api/data_sources/{source}", None, [204, 403, 404]),
    ]
}

fn fill(text: &str, env: &Env, source: i64) -> String {
    text.replace("{member}", &env.member_id.to_string())
        .replace("{admin}", &env.admin_id.to_string())
        .replace("{source}", &source.to_string())
        .replace("{unique}", &UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string())
}

/// A fresh number for each filled row, for values that must differ between calls.
static UNIQUE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn fill_body(body: &Option<Value>, env: &Env, source: i64) -> Option<Value> {
    body.as_ref().map(|value| {
        // A quoted id placeholder becomes a number.
        let text = value.to_string().replace("\"{member}\"", "{member}").replace("\"{source}\"", "{source}");
        let text = fill(&text, env, source);
        serde_json::from_str(&text).expect("table bodies are JSON")
    })
}

dashi_testkit::backend_tests! {
    async fn every_endpoint_refuses_who_may_not(db: TestDb) {
        let settings = dashi_api::ApiSettings { job_wait: std::time::Duration::from_millis(100), ..Default::default() };
        let env = Env::start_with(db, settings).await;
        let source = env.data_source("Shop").await;
        let query = json!({"data_source_id": source, "query": "select 1"});
        let snippet = |trigger: &str| json!({"trigger": trigger, "description": "", "snippet": "s"});
        for (who, path, body) in [
            (env.member(), "/api/queries", query.clone()),
            (env.admin(), "/api/queries", query),
            (env.member(), "/api/query_snippets", snippet("mine")),
            (env.admin(), "/api/query_snippets", snippet("theirs")),
            (env.member(), "/api/dashboards", json!({"name": "Mine"})),
            (env.admin(), "/api/dashboards", json!({"name": "Theirs"})),
        ] {
            assert_eq!(env.call(Method::POST, path, &who, Some(body)).await.status.as_u16(), 200, "{path}");
        }
        let mut failures = Vec::new();
        for (method, path, body, expected) in table() {
            for (role, status) in [Role::Admin, Role::Member, Role::Anonymous].into_iter().zip(expected) {
                let who = match role {
                    Role::Admin => Who::Key(current_key(&env, env.admin_id).await),
                    Role::Member => Who::Key(current_key(&env, env.member_id).await),
                    Role::Anonymous => Who::Anonymous,
                };
                let path = fill(path, &env, source);
                let reply = env.call(method.clone(), &path, &who, fill_body(&body, &env, source)).await;
                if reply.status.as_u16() != status {
                    failures.push(format!("{method} {path} as {role:?}: expected {status}, got {} {}", reply.status, reply.text));
                }
                // Redash compat: refused runs answer a failed job instead of a message.
                if !reply.status.is_success() && !reply.json["message"].is_string() && !reply.json["job"]["error"].is_string() {
                    failures.push(format!("{method} {path} as {role:?}: {} without a JSON message", reply.status));
                }
                // Undo state changes that would break later rows.
                restore(&env, source).await;
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// A row may have regenerated a key; read the current one.
async fn current_key(env: &Env, user_id: i64) -> String {
    let org = env.app.default_org().await.unwrap().unwrap();
    dashi_store::user_by_id(env.app.store(), org.id, dashi_core::UserId(user_id)).await.unwrap().unwrap().api_key
}

/// Re-enables both users, puts the member back into exactly the default group, and gives the
/// default group full access to the data source again.
async fn restore(env: &Env, source: i64) {
    let now = chrono::Utc::now();
    dashi_store::set_disabled(env.app.store(), dashi_core::UserId(env.member_id), None, now).await.unwrap();
    dashi_store::set_disabled(env.app.store(), dashi_core::UserId(env.admin_id), None, now).await.unwrap();
    dashi_store::add_member(env.app.store(), dashi_core::UserId(env.member_id), dashi_core::GroupId(2)).await.unwrap();
    dashi_store::remove_member(env.app.store(), dashi_core::UserId(env.member_id), dashi_core::GroupId(1)).await.unwrap();
    let data_source = dashi_store::DataSourceId(source);
    let org = env.app.default_org().await.unwrap().unwrap();
    // The last row deletes the data source; there is nothing to restore after it.
    if dashi_store::data_source_by_id(env.app.store(), org.id, data_source).await.unwrap().is_some() {
        dashi_store::link_group(env.app.store(), data_source, dashi_core::GroupId(2), false).await.unwrap();
    }
}

/// Callers of the run endpoints, each reaching the data source "Shop" differently.
#[derive(Clone, Copy, Debug)]
enum Runner {
    /// In the default group, which has full access.
    Member,
    /// Only in "Viewers", which has view-only access; calls with the user's API key.
    ViewOnly,
    /// The same user through a login session: a user API key must act exactly as its user.
    ViewOnlySession,
    /// Only in "Others", linked to another data source.
    OtherGroup,
    Anonymous,
}

const RUNNERS: [Runner; 5] = [Runner::Member, Runner::ViewOnly, Runner::ViewOnlySession, Runner::OtherGroup, Runner::Anonymous];

/// (method, path, body, expected status per [`RUNNERS`]). `{safe}` is a query with a number
/// parameter, `{unsafe}` one with a text parameter, `{regions}` a dropdown query, `{picker}` a
/// query whose parameter takes `{regions}`' values; `{result}` is `{safe}`'s stored result and
/// `{job}` a queued job. Anonymous callers get Redash's 404 for the API, as everywhere.
fn run_table() -> Vec<(Method, &'static str, Option<Value>, [u16; 5])> {
    let adhoc = json!({"query": "select 3", "data_source_id": "{source}", "max_age": 0});
    vec![
        // Ad-hoc text needs full access (Redash: execute_query and not view-only).
        (Method::POST, "/api/query_results", Some(adhoc), [200, 403, 403, 403, 404]),
        // Saved safe queries run with view-only access; unsafe (text) ones need full access.
        (Method::POST, "/api/queries/{safe}/results", Some(json!({"parameters": {"n": 2}, "max_age": 0})), [200, 200, 200, 403, 404]),
        (Method::POST, "/api/queries/{safe}/results", Some(json!({"parameters": {"n": 1}})), [200, 200, 200, 403, 404]),
        (Method::POST, "/api/queries/{unsafe}/results", Some(json!({"parameters": {"t": "x"}, "max_age": 0})), [200, 403, 403, 403, 404]),
        (Method::POST, "/api/queries/{picker}/results", Some(json!({"parameters": {"region": "north"}, "max_age": 0})), [200, 200, 200, 403, 404]),
        (Method::POST, "/api/queries/{safe}/refresh?p_n=3", None, [200, 403, 403, 403, 404]),
        (Method::GET, "/api/queries/{safe}/results", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/queries/{safe}/results.json", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/queries/{safe}/results.csv", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/queries/{safe}/results.tsv", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/queries/{safe}/results.xlsx", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/queries/{safe}/results/{result}.csv", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/query_results/{result}", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/query_results/{result}.json", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/query_results/{result}.csv", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/query_results/{result}/page", None, [200, 200, 200, 403, 404]),
        // Redash: any logged-in member of the organization may read or cancel a job by id.
        (Method::GET, "/api/jobs/{job}", None, [200, 200, 200, 200, 404]),
        (Method::GET, "/api/queries/{unsafe}/jobs/{job}", None, [200, 200, 200, 200, 404]),
        (Method::DELETE, "/api/jobs/{job}", None, [200, 200, 200, 200, 404]),
        // Dropdowns need view access to the query (and to the dropdown query unless it feeds
        // one of the parent's parameters).
        (Method::GET, "/api/queries/{regions}/dropdown", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/queries/{picker}/dropdowns/{regions}", None, [200, 200, 200, 403, 404]),
        (Method::GET, "/api/queries/{safe}/dropdowns/{regions}", None, [200, 200, 200, 403, 404]),
        (Method::POST, "/api/data_sources/{source}/test", None, [403, 403, 403, 403, 404]),
        (Method::GET, "/api/data_sources/{source}/schema", None, [200, 200, 200, 403, 404]),
    ]
}

/// A user only in the new group `group` (not in the default group), and their API key.
async fn user_only_in(env: &Env, name: &str, email: &str, group: i64) -> (i64, String) {
    let user = env.app.admin_create_user("default", name, email, Some(crate::support::MEMBER_PASSWORD), false).await.unwrap();
    dashi_store::add_member(env.app.store(), user.id, dashi_core::GroupId(group)).await.unwrap();
    dashi_store::remove_member(env.app.store(), user.id, dashi_core::GroupId(2)).await.unwrap();
    (user.id.0, user.api_key)
}

async fn post_ok(env: &Env, path: &str, body: Value) -> Value {
    let reply = env.call(Method::POST, path, &env.admin(), Some(body)).await;
    assert_eq!(reply.status.as_u16(), 200, "{path}: {}", reply.text);
    reply.json
}

dashi_testkit::backend_tests! {
    async fn run_endpoints_follow_data_source_access(db: TestDb) {
        let settings = dashi_api::ApiSettings { job_wait: std::time::Duration::from_millis(50), ..Default::default() };
        let env = Env::start_with(db, settings).await;
        let source = env.data_source("Shop").await;
        let elsewhere = env.data_source("Elsewhere").await;
        let viewers = post_ok(&env, "/api/groups", json!({"name": "Viewers"})).await["id"].as_i64().unwrap();
        post_ok(&env, &format!("/api/groups/{viewers}/data_sources"), json!({"data_source_id": source})).await;
        post_ok(&env, &format!("/api/groups/{viewers}/data_sources/{source}"), json!({"view_only": true})).await;
        let others = post_ok(&env, "/api/groups", json!({"name": "Others"})).await["id"].as_i64().unwrap();
        post_ok(&env, &format!("/api/groups/{others}/data_sources"), json!({"data_source_id": elsewhere})).await;
        post_ok(&env, &format!("/api/groups/2/data_sources/{elsewhere}"), json!({"view_only": false})).await;
        env.call(Method::DELETE, &format!("/api/groups/2/data_sources/{elsewhere}"), &env.admin(), None).await;
        let (_, viewer_key) = user_only_in(&env, "Vera Viewer", "viewer@example.com", viewers).await;
        let (_, other_key) = user_only_in(&env, "Otto Other", "other@example.com", others).await;
        let viewer_session = env.login("viewer@example.com", crate::support::MEMBER_PASSWORD).await;

        let query = |name: &str, text: &str, parameters: Value| {
            json!({"data_source_id": source, "name": name, "query": text, "options": {"parameters": parameters}})
        };
        let regions = post_ok(&env, "/api/queries", query("Regions", "select 'north' as value", json!([]))).await["id"].as_i64().unwrap();
        let number = json!([{"name": "n", "title": "n", "type": "number", "value": 1}]);
        let safe = post_ok(&env, "/api/queries", query("Safe", "select {{n}}", number)).await["id"].as_i64().unwrap();
        let text = json!([{"name": "t", "title": "t", "type": "text", "value": "x"}]);
        let unsafe_ = post_ok(&env, "/api/queries", query("Unsafe", "select '{{t}}'", text)).await["id"].as_i64().unwrap();
        let pick = json!([{"name": "region", "title": "Region", "type": "query", "queryId": regions, "value": "north"}]);
        let picker = post_ok(&env, "/api/queries", query("Picker", "select '{{region}}'", pick)).await["id"].as_i64().unwrap();

        // Results for the dropdown query and for `safe` with n = 1, and one job left queued.
        let run = |id: i64, body: Value| {
            let env = &env;
            async move { post_ok(env, &format!("/api/queries/{id}/results"), body).await["job"]["id"].as_str().unwrap().to_owned() }
        };
        let regions_job = run(regions, json!({"max_age": 0})).await;
        crate::runs::complete_run(&env, &regions_job, &["north", "south"]).await;
        let safe_job = run(safe, json!({"parameters": {"n": 1}, "max_age": 0})).await;
        let result = crate::runs::complete_run(&env, &safe_job, &["1"]).await;
        let job = run(unsafe_, json!({"parameters": {"t": "queued"}, "max_age": 0})).await;

        let mut failures = Vec::new();
        for (method, path, body, expected) in run_table() {
            let fill = |text: &str| {
                text.replace("{source}", &source.to_string())
                    .replace("{safe}", &safe.to_string())
                    .replace("{unsafe}", &unsafe_.to_string())
                    .replace("{regions}", &regions.to_string())
                    .replace("{picker}", &picker.to_string())
                    .replace("{result}", &result.to_string())
                    .replace("{job}", &job)
            };
            let path = fill(path);
            let body = body.map(|value| {
                let text = fill(&value.to_string().replace("\"{source}\"", "{source}"));
                serde_json::from_str::<Value>(&text).expect("table bodies are JSON")
            });
            for (runner, status) in RUNNERS.into_iter().zip(expected) {
                let who = match runner {
                    Runner::Member => env.member(),
                    Runner::ViewOnly => Who::Key(viewer_key.clone()),
                    Runner::ViewOnlySession => viewer_session.clone(),
                    Runner::OtherGroup => Who::Key(other_key.clone()),
                    Runner::Anonymous => Who::Anonymous,
                };
                let reply = env.call(method.clone(), &path, &who, body.clone()).await;
                if reply.status.as_u16() != status {
                    failures.push(format!("{method} {path} as {runner:?}: expected {status}, got {} {}", reply.status, reply.text));
                }
                // Redash compat: refused runs answer a failed job instead of a message.
                if !reply.status.is_success() && !reply.json["message"].is_string() && !reply.json["job"]["error"].is_string() {
                    failures.push(format!("{method} {path} as {runner:?}: {} without a JSON message", reply.status));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
