//! Saved queries: create, read, lists and their filters, edit with version checks, archive,
//! fork, stars, tags, version history, bad input, and who may see and change what.

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::support::{Env, Reply, Who};

fn query_path(id: i64) -> String {
    format!("/api/queries/{id}")
}

/// Creates a query as `who` and returns its dict; the call must succeed.
async fn create(env: &Env, who: &Who, body: Value) -> Value {
    let reply = env.call(Method::POST, "/api/queries", who, Some(body.clone())).await;
    assert_eq!(reply.status, StatusCode::OK, "{body}: {}", reply.text);
    reply.json
}

async fn update(env: &Env, who: &Who, id: i64, body: Value) -> Reply {
    env.call(Method::POST, &query_path(id), who, Some(body)).await
}

/// Another member of the default group.
async fn other_member(env: &Env) -> Who {
    let user = env.app.admin_create_user("default", "Otto Other", "other@example.com", None, false).await.expect("user");
    Who::Key(user.api_key)
}

/// Names of a list reply's results, in order.
fn names(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json["results"].as_array().expect("results").iter().map(|query| query["name"].as_str().unwrap().to_owned()).collect()
}

async fn list(env: &Env, who: &Who, path: &str) -> Vec<String> {
    names(&env.call(Method::GET, path, who, None).await)
}

dashi_testkit::backend_tests! {
    async fn create_makes_a_draft_with_a_default_table(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let created = create(&env, &env.member(), json!({
            "data_source_id": source, "name": "Orders", "query": "select * from orders",
            "description": "All of them", "tags": ["sales", "", "daily"], "options": {"apply_auto_limit": false},
            "schedule": {"interval": 3600, "time": null, "day_of_week": null, "until": null},
            "is_draft": false, "id": 999, "api_key": "mine", "user": {"id": 1},
        })).await;
        assert_eq!(created["name"], "Orders");
        assert_eq!(created["is_draft"], true, "new queries are drafts whatever the body says");
        assert_eq!(created["version"], 1);
        assert_eq!(created["user"]["id"], env.member_id);
        assert_eq!(created["last_modified_by"]["id"], env.member_id);
        assert_eq!(created["data_source_id"], source);
        assert_eq!(created["tags"], json!(["daily", "sales"]));
        assert_eq!(created["schedule"]["interval"], 3600);
        assert_eq!(created["is_safe"], true);
        assert_eq!(created["latest_query_data_id"], Value::Null);
        assert_ne!(created["id"], 999);
        let api_key = created["api_key"].as_str().unwrap();
        assert!(api_key.len() == 40 && api_key != "mine");
        assert_eq!(created["query_hash"], dashi_core::query_hash(&dashi_core::apply_auto_limit("select * from orders", true, false)));
        let visualizations = created["visualizations"].as_array().unwrap();
        assert_eq!(visualizations.len(), 1);
        assert_eq!(visualizations[0]["type"], "TABLE");
        assert_eq!(visualizations[0]["name"], "Table");
        assert_eq!(visualizations[0]["options"], json!({}));

        let id = created["id"].as_i64().unwrap();
        let read = env.call(Method::GET, &query_path(id), &env.member(), None).await;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.json["can_edit"], true);
        assert_eq!(read.json["is_favorite"], false);
        assert_eq!(read.json["visualizations"], created["visualizations"]);
        for field in ["id", "latest_query_data_id", "name", "description", "query", "query_hash", "schedule", "api_key",
                      "is_archived", "is_draft", "updated_at", "created_at", "data_source_id", "options", "version", "tags",
                      "is_safe", "user", "last_modified_by", "visualizations", "can_edit"] {
            assert!(read.json.get(field).is_some(), "query dict lacks {field}");
        }
        assert!(read.json["created_at"].as_str().unwrap().ends_with("+00:00"));

        // Same text modulo whitespace and comments hashes the same; a text parameter is unsafe.
        let twin = create(&env, &env.member(), json!({"data_source_id": source, "query": "select *\n  from orders /* x */",
            "options": {"parameters": [{"name": "who", "type": "text", "value": "x"}]}})).await;
        assert_eq!(twin["query_hash"], created["query_hash"]);
        let with_default = create(&env, &env.member(), json!({"data_source_id": source, "query": "select {{ n }}",
            "options": {"parameters": [{"name": "n", "type": "number", "value": 5}]}})).await;
        assert_eq!(with_default["query_hash"], dashi_core::query_hash(&dashi_core::apply_auto_limit("select 5", true, false)),
            "the hash is of the text with default values, as Redash takes it");
        assert_eq!(twin["name"], "New Query");
        assert_eq!(twin["is_safe"], false);
        let other = env.call(Method::GET, &query_path(id), &other_member(&env).await, None).await;
        assert_eq!(other.json["can_edit"], false, "another member may read but not edit");
    }

    async fn lists_filter_search_tag_order_and_page(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let admin = env.admin();
        for (name, text, tags) in [
            ("Orders by day", "select day, count(*) from orders", json!(["sales", "daily"])),
            ("Revenue", "select sum(total) from orders", json!(["sales"])),
            ("Signups", "select * from users -- 50% of them", json!(["growth"])),
        ] {
            let id = create(&env, &admin, json!({"data_source_id": source, "name": name, "query": text, "tags": tags})).await["id"]
                .as_i64().unwrap();
            let published = update(&env, &admin, id, json!({"is_draft": false})).await;
            assert_eq!(published.status, StatusCode::OK, "{}", published.text);
        }
        let all = env.call(Method::GET, "/api/queries", &admin, None).await;
        assert_eq!(all.json["count"], 3);
        assert_eq!(all.json["page"], 1);
        assert_eq!(all.json["page_size"], 25);
        assert_eq!(names(&all), ["Signups", "Revenue", "Orders by day"], "newest first by default");
        let listed = &all.json["results"][0];
        for field in ["user", "last_modified_by_id", "retrieved_at", "runtime", "is_favorite", "starred_at", "tags", "is_safe"] {
            assert!(listed.get(field).is_some(), "listed query lacks {field}");
        }
        assert_eq!(listed["user"]["id"], env.admin_id);

        assert_eq!(list(&env, &admin, "/api/queries?order=name").await, ["Orders by day", "Revenue", "Signups"]);
        assert_eq!(list(&env, &admin, "/api/queries?order=-name").await, ["Signups", "Revenue", "Orders by day"]);
        assert_eq!(list(&env, &admin, "/api/queries?order=created_at").await, ["Orders by day", "Revenue", "Signups"]);
        assert_eq!(list(&env, &admin, "/api/queries?order=-executed_at&page_size=1").await.len(), 1);
        assert_eq!(list(&env, &admin, "/api/queries?order=schedule").await.len(), 3);
        assert_eq!(list(&env, &admin, "/api/queries?order=created_by").await.len(), 3);
        assert_eq!(list(&env, &admin, "/api/queries?q=ORDERS").await, ["Orders by day", "Revenue"], "name matches rank first");
        assert_eq!(list(&env, &admin, "/api/queries?q=sum%20orders").await, ["Revenue"], "every word must match");
        assert_eq!(list(&env, &admin, "/api/queries?q=50%25").await, ["Signups"], "wildcards are literal");
        assert_eq!(list(&env, &admin, "/api/queries?q=_").await, Vec::<String>::new());
        let revenue_id = all.json["results"][1]["id"].as_i64().unwrap();
        assert_eq!(list(&env, &admin, &format!("/api/queries?q=%23{revenue_id}")).await, ["Revenue"]);
        assert_eq!(list(&env, &admin, "/api/queries?tags=sales").await, ["Revenue", "Orders by day"]);
        assert_eq!(list(&env, &admin, "/api/queries?tags=sales&tags=daily").await, ["Orders by day"]);
        assert_eq!(list(&env, &admin, "/api/queries?tags=nope").await, Vec::<String>::new());

        let second = env.call(Method::GET, "/api/queries?order=name&page=2&page_size=2", &admin, None).await;
        assert_eq!(second.json["count"], 3);
        assert_eq!(names(&second), ["Signups"]);
        for (path, message) in [
            ("/api/queries?page=3&page_size=2", "Page is out of range."),
            ("/api/queries?page=0", "Page must be positive integer."),
            ("/api/queries?page_size=300", "Page size is out of range (1-250)."),
        ] {
            let reply = env.call(Method::GET, path, &admin, None).await;
            assert_eq!((reply.status, reply.json["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)), "{path}");
        }

        let tags = env.call(Method::GET, "/api/queries/tags", &admin, None).await;
        assert_eq!(tags.json, json!({"tags": [{"name": "daily", "count": 1}, {"name": "growth", "count": 1}, {"name": "sales", "count": 2}]}));
    }

    async fn drafts_show_only_to_their_owner_and_lists_follow_groups(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let other = other_member(&env).await;
        create(&env, &member, json!({"data_source_id": source, "name": "Member draft", "query": "select 1"})).await;
        let published = create(&env, &other, json!({"data_source_id": source, "name": "Other published", "query": "select 2"})).await;
        update(&env, &other, published["id"].as_i64().unwrap(), json!({"is_draft": false})).await;
        create(&env, &other, json!({"data_source_id": source, "name": "Other draft", "query": "select 3"})).await;

        assert_eq!(list(&env, &member, "/api/queries").await, ["Other published", "Member draft"]);
        assert_eq!(list(&env, &other, "/api/queries").await, ["Other draft", "Other published"]);
        assert_eq!(list(&env, &member, "/api/queries/my").await, ["Member draft"]);
        assert_eq!(list(&env, &env.admin(), "/api/queries").await, ["Other published"], "admins see others' drafts no more than members");

        // Redash lists are purely group-based: a source of no group of the caller lists nothing,
        // even for an admin, although the admin may still open each query.
        let group = env.call(Method::POST, "/api/groups", &env.admin(), Some(json!({"name": "Finance"}))).await.json["id"].as_i64().unwrap();
        let ledger = env.data_source("Ledger").await;
        env.call(Method::DELETE, &format!("/api/groups/2/data_sources/{ledger}"), &env.admin(), None).await;
        env.call(Method::POST, &format!("/api/groups/{group}/data_sources"), &env.admin(), Some(json!({"data_source_id": ledger}))).await;
        let books = create(&env, &env.admin(), json!({"data_source_id": ledger, "name": "Books", "query": "select 4"})).await;
        assert_eq!(list(&env, &env.admin(), "/api/queries/my").await, Vec::<String>::new());
        let read = env.call(Method::GET, &query_path(books["id"].as_i64().unwrap()), &env.admin(), None).await;
        assert_eq!(read.status, StatusCode::OK);
    }

    async fn my_archive_favorites_recent_and_tags(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let first = create(&env, &member, json!({"data_source_id": source, "name": "First", "query": "select 1", "tags": ["a"]})).await;
        let second = create(&env, &member, json!({"data_source_id": source, "name": "Second", "query": "select 2", "tags": ["a", "b"]})).await;
        let (first_id, second_id) = (first["id"].as_i64().unwrap(), second["id"].as_i64().unwrap());

        for _ in 0..2 {
            let starred = env.call(Method::POST, &format!("/api/queries/{first_id}/favorite"), &member, None).await;
            assert_eq!((starred.status, starred.json.clone()), (StatusCode::OK, Value::Null), "starring twice is fine");
        }
        let favorites = env.call(Method::GET, "/api/queries/favorites", &member, None).await;
        assert_eq!(names(&favorites), ["First"]);
        assert_eq!(favorites.json["results"][0]["is_favorite"], true);
        assert!(favorites.json["results"][0]["starred_at"].is_string());
        assert_eq!(list(&env, &member, "/api/queries/favorites?order=-starred_at").await, ["First"]);
        assert_eq!(list(&env, &env.admin(), "/api/queries/favorites").await, Vec::<String>::new(), "stars are per user");
        let read = env.call(Method::GET, &query_path(first_id), &member, None).await;
        assert_eq!(read.json["is_favorite"], true);
        env.call(Method::DELETE, &format!("/api/queries/{first_id}/favorite"), &member, None).await;
        assert_eq!(list(&env, &member, "/api/queries/favorites").await, Vec::<String>::new());

        update(&env, &member, first_id, json!({"description": "touched"})).await;
        let recent = env.call(Method::GET, "/api/queries/recent", &member, None).await;
        let recent_names: Vec<_> = recent.json.as_array().unwrap().iter().map(|query| query["name"].clone()).collect();
        assert_eq!(recent_names, [json!("First"), json!("Second")], "last changed first");
        assert_eq!(recent.json[0]["user_id"], env.member_id);
        assert!(recent.json[0].get("user").is_none());

        let archived = env.call(Method::DELETE, &query_path(second_id), &member, None).await;
        assert_eq!((archived.status, archived.json.clone()), (StatusCode::OK, Value::Null));
        assert_eq!(list(&env, &member, "/api/queries/my").await, ["First"]);
        assert_eq!(list(&env, &member, "/api/queries/archive").await, ["Second"]);
        assert_eq!(list(&env, &member, "/api/queries/archive?q=second").await, ["Second"]);
        let tags = env.call(Method::GET, "/api/queries/tags", &member, None).await;
        assert_eq!(tags.json, json!({"tags": [{"name": "a", "count": 1}]}), "archived queries do not count");
    }

    async fn a_stale_version_is_a_conflict_that_changes_nothing(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let created = create(&env, &member, json!({"data_source_id": source, "name": "Orders", "query": "select 1"})).await;
        let id = created["id"].as_i64().unwrap();

        let saved = update(&env, &member, id, json!({"name": "Orders v2", "query": "select 2", "version": 1})).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        assert_eq!(saved.json["version"], 2);
        assert_eq!(saved.json["name"], "Orders v2");
        assert_ne!(saved.json["query_hash"], created["query_hash"]);
        assert_eq!(saved.json["visualizations"].as_array().unwrap().len(), 1);

        let stale = update(&env, &member, id, json!({"name": "Lost edit", "version": 1})).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
        assert!(stale.json["message"].is_string());
        let read = env.call(Method::GET, &query_path(id), &member, None).await;
        assert_eq!((read.json["name"].clone(), read.json["version"].clone()), (json!("Orders v2"), json!(2)));

        // Without a version the write applies; an unchanged body makes no new version.
        let unchanged = update(&env, &member, id, json!({"name": "Orders v2"})).await;
        assert_eq!(unchanged.json["version"], 2);
        let admin_edit = update(&env, &env.admin(), id, json!({"name": "By admin", "tags": ["x", ""]})).await;
        assert_eq!(admin_edit.json["version"], 3);
        assert_eq!(admin_edit.json["tags"], json!(["x"]));
        assert_eq!(admin_edit.json["last_modified_by"]["id"], env.admin_id);
        assert_eq!(admin_edit.json["user"]["id"], env.member_id, "editing keeps the owner");
    }

    async fn archiving_unschedules_and_only_owner_or_admin_may(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let created = create(&env, &member, json!({"data_source_id": source, "name": "Nightly", "query": "select 1",
            "schedule": {"interval": 86400, "time": "02:00", "day_of_week": null, "until": null}})).await;
        let id = created["id"].as_i64().unwrap();
        let other = other_member(&env).await;
        let refused = env.call(Method::DELETE, &query_path(id), &other, None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.json["message"], "You don't have permission to edit this resource.");

        let archived = env.call(Method::DELETE, &query_path(id), &env.admin(), None).await;
        assert_eq!(archived.status, StatusCode::OK, "{}", archived.text);
        let read = env.call(Method::GET, &query_path(id), &member, None).await;
        assert_eq!(read.json["is_archived"], true);
        assert_eq!(read.json["schedule"], Value::Null);
        assert_eq!(read.json["version"], 2);
        assert_eq!(list(&env, &member, "/api/queries").await, Vec::<String>::new());

        // Unarchiving is an ordinary edit, as in Redash.
        let back = update(&env, &member, id, json!({"is_archived": false})).await;
        assert_eq!(back.json["is_archived"], false);
        assert_eq!(list(&env, &member, "/api/queries").await, ["Nightly"]);
    }

    async fn fork_copies_text_and_visualizations_as_a_new_draft(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let original = create(&env, &env.admin(), json!({"data_source_id": source, "name": "Orders", "query": "select 1",
            "description": "d", "tags": ["t"], "options": {"parameters": []},
            "schedule": {"interval": 600, "time": null, "day_of_week": null, "until": null}})).await;
        let id = original["id"].as_i64().unwrap();
        update(&env, &env.admin(), id, json!({"is_draft": false})).await;

        let forked = env.call(Method::POST, &format!("/api/queries/{id}/fork"), &env.member(), None).await;
        assert_eq!(forked.status, StatusCode::OK, "{}", forked.text);
        let fork = forked.json;
        assert_eq!(fork["name"], format!("Copy of (#{id}) Orders"));
        assert_ne!(fork["id"], original["id"]);
        assert_ne!(fork["api_key"], original["api_key"]);
        assert_eq!(fork["user"]["id"], env.member_id);
        assert_eq!(fork["is_draft"], true);
        assert_eq!(fork["schedule"], Value::Null);
        assert_eq!(fork["version"], 1);
        for field in ["query", "query_hash", "description", "data_source_id", "options", "tags", "latest_query_data_id"] {
            assert_eq!(fork[field], original[field], "{field}");
        }
        let visualizations = fork["visualizations"].as_array().unwrap();
        assert_eq!(visualizations.len(), 1);
        assert_eq!(visualizations[0]["type"], "TABLE");
        assert_ne!(visualizations[0]["id"], original["visualizations"][0]["id"], "copies, not shared rows");
    }

    async fn regenerating_the_query_key_replaces_it(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let created = create(&env, &env.member(), json!({"data_source_id": source, "query": "select 1"})).await;
        let id = created["id"].as_i64().unwrap();
        let path = format!("/api/queries/{id}/regenerate_api_key");
        let refused = env.call(Method::POST, &path, &other_member(&env).await, None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let renewed = env.call(Method::POST, &path, &env.member(), None).await;
        assert_eq!(renewed.status, StatusCode::OK);
        assert_ne!(renewed.json["api_key"], created["api_key"]);
        assert_eq!(renewed.json["api_key"].as_str().unwrap().len(), 40);
        assert_eq!(renewed.json["version"], 1, "the key is not part of the history");
    }

    async fn versions_are_listed_and_restored_as_a_new_version(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let created = create(&env, &member, json!({"data_source_id": source, "name": "V1", "query": "select 1", "tags": ["one"]})).await;
        let id = created["id"].as_i64().unwrap();
        update(&env, &member, id, json!({"name": "V2", "query": "select 2"})).await;
        update(&env, &env.admin(), id, json!({"tags": ["two"], "is_draft": false})).await;

        let versions = env.call(Method::GET, &format!("/api/queries/{id}/versions"), &member, None).await;
        assert_eq!(versions.status, StatusCode::OK, "{}", versions.text);
        let entries = versions.json.as_array().unwrap();
        let numbers: Vec<_> = entries.iter().map(|entry| entry["object_version"].clone()).collect();
        assert_eq!(numbers, [json!(3), json!(2), json!(1)], "newest first");
        assert_eq!(entries[0]["user"]["id"], env.admin_id);
        assert_eq!(entries[0]["object_type"], "queries");
        assert_eq!(entries[0]["object_id"], id);
        assert_eq!(entries[1]["change"], json!({
            "name": {"previous": "V1", "current": "V2"},
            "query": {"previous": "select 1", "current": "select 2"},
            "query_hash": {"previous": created["query_hash"], "current": dashi_core::query_hash(&dashi_core::apply_auto_limit("select 2", true, false))},
        }));
        assert_eq!(entries[2]["change"]["name"], json!({"previous": null, "current": "V1"}));

        let restored = env.call(Method::POST, &format!("/api/queries/{id}/versions/1/restore"), &member, None).await;
        assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
        assert_eq!(restored.json["version"], 4);
        assert_eq!(restored.json["name"], "V1");
        assert_eq!(restored.json["query"], "select 1");
        assert_eq!(restored.json["query_hash"], created["query_hash"]);
        assert_eq!(restored.json["tags"], json!(["one"]));
        assert_eq!(restored.json["is_draft"], false, "publishing is not undone by a restore");
        let history = env.call(Method::GET, &format!("/api/queries/{id}/versions"), &member, None).await;
        assert_eq!(history.json.as_array().unwrap().len(), 4);

        let missing = env.call(Method::POST, &format!("/api/queries/{id}/versions/9/restore"), &member, None).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let refused = env.call(Method::POST, &format!("/api/queries/{id}/versions/2/restore"), &other_member(&env).await, None).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let bad = env.call(Method::POST, &format!("/api/queries/{id}/versions/latest/restore"), &member, None).await;
        assert_eq!(bad.status, StatusCode::NOT_FOUND);
        assert!(bad.json["message"].is_string());
    }

    async fn bad_input_gets_a_clear_4xx_and_writes_nothing(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let group = env.call(Method::POST, "/api/groups", &env.admin(), Some(json!({"name": "Finance"}))).await.json["id"].as_i64().unwrap();
        let ledger = env.data_source("Ledger").await;
        env.call(Method::DELETE, &format!("/api/groups/2/data_sources/{ledger}"), &env.admin(), None).await;
        env.call(Method::POST, &format!("/api/groups/{group}/data_sources"), &env.admin(), Some(json!({"data_source_id": ledger}))).await;
        let good = json!({"data_source_id": source, "name": "Q", "query": "select 1"});
        let with = |field: &str, value: Value| {
            let mut body = good.clone();
            body[field] = value;
            body
        };
        let cases = [
            (json!({"name": "Q", "query": "select 1"}), 400, "data_source_id is required."),
            (with("data_source_id", json!("one")), 400, "data_source_id must be an integer."),
            (with("data_source_id", json!(9999)), 400, "Data source 9999 does not exist."),
            (with("data_source_id", json!(ledger)), 403, "permission"),
            (with("schedule", json!({"interval": 0})), 400, "schedule.interval"),
            (with("schedule", json!({"interval": 3600, "time": "7pm"})), 400, "schedule.time"),
            (with("schedule", json!({"until": "tomorrow"})), 400, "schedule.until"),
            (with("schedule", json!([3600])), 400, "schedule must be an object or null."),
            (with("options", json!("none")), 400, "options must be a JSON object."),
            (with("options", json!({"parameters": "x"})), 400, "query parameters are malformed"),
            (with("options", json!({"parameters": [{"type": "text"}]})), 400, "query parameters are malformed"),
            (with("options", json!({"parameters": [{"name": "p", "type": "query", "queryId": 4242}]})), 400, "dropdown query"),
            (with("tags", json!("sales")), 400, "tags must be a list of strings."),
            (with("tags", json!([1, 2])), 400, "tags must be a list of strings."),
            (with("name", json!("n".repeat(256))), 400, "at most 255 characters"),
            (with("name", json!(null)), 400, "name must be a string."),
            (with("description", json!("d".repeat(4097))), 400, "at most 4096 characters"),
            (with("is_draft", json!("yes")), 400, "is_draft must be true or false."),
            (json!([1, 2]), 400, "The request body must be a JSON object."),
        ];
        for (body, status, message) in cases {
            let reply = env.call(Method::POST, "/api/queries", &env.member(), Some(body.clone())).await;
            assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.text);
            assert!(reply.json["message"].as_str().unwrap_or_default().contains(message), "{body}: {}", reply.text);
        }
        let raw = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/queries")
            .header(axum::http::header::AUTHORIZATION, format!("Key {}", env.member_key))
            .body(axum::body::Body::from("{not json"))
            .unwrap();
        let reply = env.send(raw).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.json["message"].as_str().unwrap().starts_with("Invalid JSON body"));
        assert_eq!(env.call(Method::GET, "/api/queries/my", &env.member(), None).await.json["count"], 0, "nothing was written");

        let created = create(&env, &env.member(), good.clone()).await;
        let id = created["id"].as_i64().unwrap();
        for body in [json!({"schedule": {"day_of_week": "Caturday"}}), json!({"data_source_id": ledger}), json!({"options": []})] {
            let reply = update(&env, &env.member(), id, body.clone()).await;
            assert!(reply.status.is_client_error(), "{body}: {}", reply.text);
        }
        let read = env.call(Method::GET, &query_path(id), &env.member(), None).await;
        assert_eq!((read.json["version"].clone(), read.json["data_source_id"].clone()), (json!(1), json!(source)));
        for (method, path) in [
            (Method::GET, "/api/queries/abc"),
            (Method::POST, "/api/queries/1.5/fork"),
            (Method::GET, "/api/queries/99999"),
            (Method::GET, "/api/queries/x/versions"),
            (Method::DELETE, "/api/queries/-"),
        ] {
            let reply = env.call(method.clone(), path, &env.member(), None).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert!(reply.json["message"].is_string(), "{method} {path}");
        }
    }

    async fn view_only_members_read_but_do_not_write(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let created = create(&env, &env.admin(), json!({"data_source_id": source, "name": "Shared", "query": "select 1"})).await;
        let id = created["id"].as_i64().unwrap();
        update(&env, &env.admin(), id, json!({"is_draft": false})).await;
        let mine = create(&env, &member, json!({"data_source_id": source, "name": "Mine", "query": "select 2"})).await;
        let view_only = env.call(Method::POST, &format!("/api/groups/2/data_sources/{source}"), &env.admin(), Some(json!({"view_only": true}))).await;
        assert_eq!(view_only.json["view_only"], true);

        assert_eq!(env.call(Method::GET, &query_path(id), &member, None).await.status, StatusCode::OK);
        assert_eq!(list(&env, &member, "/api/queries").await, ["Mine", "Shared"]);
        assert_eq!(env.call(Method::GET, &format!("/api/queries/{id}/versions"), &member, None).await.status, StatusCode::OK);
        assert_eq!(env.call(Method::POST, &format!("/api/queries/{id}/favorite"), &member, None).await.status, StatusCode::OK);

        let refused = env.call(Method::POST, "/api/queries", &member, Some(json!({"data_source_id": source, "query": "select 3"}))).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        assert_eq!(env.call(Method::POST, &format!("/api/queries/{id}/fork"), &member, None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(update(&env, &member, id, json!({"name": "Mine now"})).await.status, StatusCode::FORBIDDEN);
        let mine_id = mine["id"].as_i64().unwrap();
        let rebind = update(&env, &member, mine_id, json!({"data_source_id": source})).await;
        assert_eq!(rebind.status, StatusCode::FORBIDDEN, "binding needs full access");
        assert_eq!(list(&env, &member, "/api/queries/my").await, ["Mine"], "nothing was created");
    }

    async fn another_groups_member_cannot_see_the_query(db: TestDb) {
        let env = Env::start(db).await;
        let group = env.call(Method::POST, "/api/groups", &env.admin(), Some(json!({"name": "Finance"}))).await.json["id"].as_i64().unwrap();
        let ledger = env.data_source("Ledger").await;
        env.call(Method::DELETE, &format!("/api/groups/2/data_sources/{ledger}"), &env.admin(), None).await;
        env.call(Method::POST, &format!("/api/groups/{group}/data_sources"), &env.admin(), Some(json!({"data_source_id": ledger}))).await;
        env.call(Method::POST, &format!("/api/groups/{group}/members"), &env.admin(), Some(json!({"user_id": env.admin_id}))).await;
        let created = create(&env, &env.admin(), json!({"data_source_id": ledger, "name": "Books", "query": "select 1", "tags": ["money"]})).await;
        let id = created["id"].as_i64().unwrap();
        update(&env, &env.admin(), id, json!({"is_draft": false})).await;
        assert_eq!(list(&env, &env.admin(), "/api/queries").await, ["Books"]);

        let member = env.member();
        // Redash compat: a query of another group's data source is a 403, not a 404.
        for (method, path) in [
            (Method::GET, query_path(id)),
            (Method::GET, format!("/api/queries/{id}/versions")),
            (Method::POST, format!("/api/queries/{id}/favorite")),
            (Method::POST, format!("/api/queries/{id}/fork")),
            (Method::POST, query_path(id)),
        ] {
            let body = (method == Method::POST).then(|| json!({"name": "x"}));
            let reply = env.call(method.clone(), &path, &member, body).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}: {}", reply.text);
        }
        assert_eq!(list(&env, &member, "/api/queries").await, Vec::<String>::new());
        assert_eq!(list(&env, &member, "/api/queries?q=books").await, Vec::<String>::new());
        assert_eq!(env.call(Method::GET, "/api/queries/tags", &member, None).await.json, json!({"tags": []}));
    }

    async fn format_lays_out_sql_and_keeps_everything_else(db: TestDb) {
        let env = Env::start(db).await;
        let body = json!({"query": "select a, b from t where x = {{ x }} and y = 'from' -- note"});
        let reply = env.call(Method::POST, "/api/queries/format", &env.member(), Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json["query"], "SELECT a,\n       b\nFROM t\nWHERE x = {{ x }}\n  AND y = 'from' -- note");
        let empty = env.call(Method::POST, "/api/queries/format", &env.member(), Some(json!({}))).await;
        assert_eq!(empty.json, json!({"query": ""}));
        let bad = env.call(Method::POST, "/api/queries/format", &env.member(), Some(json!({"query": 1}))).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
}
