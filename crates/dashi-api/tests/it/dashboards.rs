//! Dashboards: create, read by id and by slug, edit with version checks, archive, fork, lists
//! with search, tags, stars and pages, and who may see and change what.

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::objects::{dashboard, finance, ok, other_member, query, quick, user_only_in, widget_of};
use crate::support::{Env, Reply};

fn names(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json["results"].as_array().unwrap().iter().map(|item| item["name"].as_str().unwrap().to_owned()).collect()
}

dashi_testkit::backend_tests! {
    async fn create_read_by_id_and_slug_edit_and_archive(db: TestDb) {
        let env = Env::start(db).await;
        let member = env.member();
        let created = ok(&env, Method::POST, "/api/dashboards", &member, Some(json!({"name": "Sales & Ops"}))).await;
        assert_eq!(created["slug"], "sales-ops");
        assert_eq!((&created["is_draft"], &created["version"], &created["layout"], &created["widgets"]), (&json!(true), &json!(1), &json!([]), &json!([])));
        assert_eq!(created["user"]["id"], env.member_id);
        assert_eq!(created["can_edit"], true);
        for field in ["id", "slug", "name", "user_id", "user", "layout", "dashboard_filters_enabled", "widgets", "options",
                      "is_archived", "is_draft", "tags", "updated_at", "created_at", "version", "can_edit", "is_favorite"] {
            assert!(created.get(field).is_some(), "dashboard dict lacks {field}");
        }
        let id = created["id"].as_i64().unwrap();
        // A second dashboard of the same name gets the next free slug.
        let twin = dashboard(&env, &member, "Sales & Ops").await;

        let path = format!("/api/dashboards/{id}");
        assert_eq!(ok(&env, Method::GET, &path, &member, None).await["name"], "Sales & Ops");
        assert_eq!(ok(&env, Method::GET, "/api/dashboards/sales-ops", &member, None).await["id"], id);
        let by_legacy_slug = env.call(Method::GET, &format!("/api/dashboards/{twin}?legacy"), &member, None).await;
        assert_eq!(by_legacy_slug.status, StatusCode::NOT_FOUND, "with ?legacy the segment is a slug");
        assert_eq!(env.call(Method::GET, "/api/dashboards/no-such-board", &member, None).await.status, StatusCode::NOT_FOUND);

        let body = json!({"name": "Ops", "tags": ["ops", "", "ops", "daily"], "is_draft": false, "version": 1,
                          "layout": [[1, 2]], "options": {"globalParamOrder": ["p"]}, "dashboard_filters_enabled": true,
                          "user_id": 999, "slug": "ignored"});
        let updated = ok(&env, Method::POST, &path, &member, Some(body)).await;
        assert_eq!((&updated["name"], &updated["slug"], &updated["version"]), (&json!("Ops"), &json!("ops"), &json!(2)));
        assert_eq!(updated["tags"], json!(["daily", "ops"]));
        assert_eq!((&updated["layout"], &updated["options"]), (&json!([[1, 2]]), &json!({"globalParamOrder": ["p"]})));
        assert_eq!((&updated["is_draft"], &updated["dashboard_filters_enabled"], &updated["user_id"]), (&json!(false), &json!(true), &json!(env.member_id)));
        // The stored slug stays what it was made with; legacy links keep working.
        assert_eq!(ok(&env, Method::GET, "/api/dashboards/sales-ops", &member, None).await["id"], id);

        let stale = env.call(Method::POST, &path, &member, Some(json!({"name": "Late", "version": 1}))).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
        assert_eq!(ok(&env, Method::GET, &path, &member, None).await["name"], "Ops", "a conflict changes nothing");
        for (body, message) in [
            (json!({"name": ""}), "Dashboard name is required."),
            (json!({"tags": "ops"}), "tags must be a list of strings."),
            (json!({"options": 3}), "options must be a JSON object."),
            (json!({"version": "2"}), "version must be an integer."),
        ] {
            let reply = env.call(Method::POST, &path, &member, Some(body.clone())).await;
            assert_eq!((reply.status, reply.json["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)), "{body}");
        }
        let missing_name = env.call(Method::POST, "/api/dashboards", &member, Some(json!({}))).await;
        assert_eq!(missing_name.status, StatusCode::BAD_REQUEST);
        assert_eq!(ok(&env, Method::GET, &path, &member, None).await["version"], 2, "bad input wrote nothing");

        let archived = ok(&env, Method::DELETE, &path, &member, None).await;
        assert_eq!(archived["is_archived"], true);
        assert_eq!(names(&env.call(Method::GET, "/api/dashboards/my", &member, None).await), ["Sales & Ops"]);
    }

    async fn lists_search_filter_by_tags_star_and_page(db: TestDb) {
        let env = Env::start(db).await;
        let member = env.member();
        let source = env.data_source("Shop").await;
        let shown = query(&env, &env.admin(), source, "Orders", "select 1").await;
        for (name, tags) in [("Alpha sales", json!(["sales"])), ("Beta sales", json!(["sales", "eu"])), ("Gamma", json!(["eu"]))] {
            let id = dashboard(&env, &member, name).await;
            ok(&env, Method::POST, &format!("/api/dashboards/{id}"), &member, Some(json!({"tags": tags, "is_draft": false}))).await;
        }
        // The admin's published dashboard shows a query of the default group: listed for the member.
        let admins = dashboard(&env, &env.admin(), "Admin board").await;
        widget_of(&env, &env.admin(), admins, &shown, 0).await;
        ok(&env, Method::POST, &format!("/api/dashboards/{admins}"), &env.admin(), Some(json!({"is_draft": false}))).await;
        // The admin's draft is not.
        dashboard(&env, &env.admin(), "Admin draft").await;

        let list = |path: &'static str| {
            let env = &env;
            let member = member.clone();
            async move { names(&env.call(Method::GET, path, &member, None).await) }
        };
        assert_eq!(list("/api/dashboards").await, ["Admin board", "Gamma", "Beta sales", "Alpha sales"]);
        assert_eq!(list("/api/dashboards?order=name").await, ["Admin board", "Alpha sales", "Beta sales", "Gamma"]);
        assert_eq!(list("/api/dashboards?order=-name").await, ["Gamma", "Beta sales", "Alpha sales", "Admin board"]);
        assert_eq!(list("/api/dashboards?q=SALES").await, ["Beta sales", "Alpha sales"]);
        assert_eq!(list("/api/dashboards?tags=sales&tags=eu").await, ["Beta sales"]);
        assert_eq!(list("/api/dashboards/my").await, ["Gamma", "Beta sales", "Alpha sales"]);
        let page = env.call(Method::GET, "/api/dashboards?order=name&page=2&page_size=3", &member, None).await;
        assert_eq!(names(&page), ["Gamma"]);
        assert_eq!((&page.json["count"], &page.json["page"], &page.json["page_size"]), (&json!(4), &json!(2), &json!(3)));
        assert_eq!(env.call(Method::GET, "/api/dashboards?page=9", &member, None).await.json["message"], "Page is out of range.");
        assert_eq!(env.call(Method::GET, "/api/dashboards?page_size=0", &member, None).await.status, StatusCode::BAD_REQUEST);

        let all = env.call(Method::GET, "/api/dashboards", &member, None).await.json;
        let gamma = all["results"][1]["id"].as_i64().unwrap();
        assert_eq!(all["results"][1]["widgets"], Value::Null);
        ok(&env, Method::POST, &format!("/api/dashboards/{gamma}/favorite"), &member, None).await;
        ok(&env, Method::POST, &format!("/api/dashboards/{gamma}/favorite"), &member, None).await;
        ok(&env, Method::POST, &format!("/api/dashboards/{admins}/favorite"), &member, None).await;
        assert_eq!(list("/api/dashboards/favorites").await, ["Admin board", "Gamma"]);
        let starred = env.call(Method::GET, "/api/dashboards?q=gamma", &member, None).await.json;
        assert_eq!((&starred["results"][0]["is_favorite"], starred["results"][0]["starred_at"].is_string()), (&json!(true), true));
        assert_eq!(ok(&env, Method::GET, &format!("/api/dashboards/{gamma}"), &member, None).await["is_favorite"], true);
        ok(&env, Method::DELETE, &format!("/api/dashboards/{gamma}/favorite"), &member, None).await;
        assert_eq!(list("/api/dashboards/favorites").await, ["Admin board"]);

        let tags = ok(&env, Method::GET, "/api/dashboards/tags", &member, None).await;
        assert_eq!(tags, json!({"tags": [{"name": "eu", "count": 2}, {"name": "sales", "count": 2}]}));
    }

    async fn fork_copies_the_dashboard_with_its_widgets(db: TestDb) {
        let env = Env::start(db).await;
        let member = env.member();
        let source = env.data_source("Shop").await;
        let orders = query(&env, &member, source, "Orders", "select 1").await;
        let board = dashboard(&env, &member, "Board").await;
        widget_of(&env, &member, board, &orders, 0).await;
        ok(&env, Method::POST, "/api/widgets", &member, Some(json!({"dashboard_id": board, "text": "# Notes", "width": 1, "options": {"position": {"col": 3, "row": 0, "sizeX": 3, "sizeY": 2}}}))).await;
        ok(&env, Method::POST, &format!("/api/dashboards/{board}"), &member, Some(json!({"tags": ["t"], "is_draft": false}))).await;
        let (other_id, other) = other_member(&env).await;
        let fork = ok(&env, Method::POST, &format!("/api/dashboards/{board}/fork"), &other, None).await;
        assert_eq!(fork["name"], format!("Copy of (#{board}) Board"));
        assert_eq!((&fork["user"]["id"], &fork["is_draft"], &fork["tags"], &fork["can_edit"]), (&json!(other_id), &json!(true), &json!(["t"]), &json!(true)));
        let original = ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &member, None).await;
        let copied = fork["widgets"].as_array().unwrap();
        assert_eq!(copied.len(), 2);
        for (copy, widget) in copied.iter().zip(original["widgets"].as_array().unwrap()) {
            assert_ne!(copy["id"], widget["id"]);
            assert_eq!(copy["dashboard_id"], fork["id"]);
            assert_eq!((&copy["options"], &copy["text"]), (&widget["options"], &widget["text"]));
            assert_eq!(copy["visualization"]["id"], widget["visualization"]["id"]);
        }
        assert_eq!(env.call(Method::POST, "/api/dashboards/9999/fork", &member, None).await.status, StatusCode::NOT_FOUND);
    }

    async fn non_owners_read_but_do_not_edit_and_other_groups_see_only_placeholders(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let (_, ledger) = finance(&env).await;
        let admin = env.admin();
        let orders = query(&env, &admin, source, "Orders", "select 1").await;
        let books = query(&env, &admin, ledger, "Books", "select 'secret'").await;
        let board = dashboard(&env, &admin, "Board").await;
        widget_of(&env, &admin, board, &orders, 0).await;
        widget_of(&env, &admin, board, &books, 3).await;
        ok(&env, Method::POST, &format!("/api/dashboards/{board}"), &admin, Some(json!({"is_draft": false}))).await;
        let path = format!("/api/dashboards/{board}");

        // A member of the default group (full access to Shop, none to Ledger), not the owner.
        let member = env.member();
        let read = ok(&env, Method::GET, &path, &member, None).await;
        assert_eq!(read["can_edit"], false);
        assert!(read.get("api_key").is_none() && read.get("public_url").is_none());
        let widgets = read["widgets"].as_array().unwrap();
        assert_eq!(widgets[0]["visualization"]["query"]["name"], "Orders");
        assert_eq!(widgets[1]["restricted"], true, "Books is another group's query");
        assert!(widgets[1].get("visualization").is_none());
        assert!(!read.to_string().contains("secret"), "no trace of the restricted query");
        for (method, target, body) in [
            (Method::POST, path.clone(), Some(json!({"name": "Mine"}))),
            (Method::DELETE, path.clone(), None),
            (Method::POST, format!("{path}/share"), None),
            (Method::DELETE, format!("{path}/share"), None),
            (Method::POST, "/api/widgets".to_owned(), Some(json!({"dashboard_id": board, "text": "hi"}))),
        ] {
            let reply = env.call(method.clone(), &target, &member, body).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {target}: {}", reply.text);
        }
        let widget = widgets[0]["id"].as_i64().unwrap();
        let move_it = json!({"text": "", "options": {"position": {"col": 9}}});
        assert_eq!(env.call(Method::POST, &format!("/api/widgets/{widget}"), &member, Some(move_it)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(env.call(Method::DELETE, &format!("/api/widgets/{widget}"), &member, None).await.status, StatusCode::FORBIDDEN);

        // A view-only member of Shop reads both Shop widgets unrestricted and still cannot edit.
        let viewers = ok(&env, Method::POST, "/api/groups", &admin, Some(json!({"name": "Viewers"}))).await["id"].as_i64().unwrap();
        ok(&env, Method::POST, &format!("/api/groups/{viewers}/data_sources"), &admin, Some(json!({"data_source_id": source}))).await;
        ok(&env, Method::POST, &format!("/api/groups/{viewers}/data_sources/{source}"), &admin, Some(json!({"view_only": true}))).await;
        let (_, viewer) = user_only_in(&env, "Vera Viewer", "viewer@example.com", viewers).await;
        let seen = ok(&env, Method::GET, &path, &viewer, None).await;
        assert_eq!(seen["widgets"][0]["visualization"]["query"]["name"], "Orders");
        assert_eq!(env.call(Method::POST, &path, &viewer, Some(json!({"name": "Viewer's"}))).await.status, StatusCode::FORBIDDEN);
        assert_eq!(names(&env.call(Method::GET, "/api/dashboards", &viewer, None).await), ["Board"]);

        // A member only of a group with neither data source: every widget is a placeholder and
        // the dashboard is not in their list.
        let strangers = ok(&env, Method::POST, "/api/groups", &admin, Some(json!({"name": "Strangers"}))).await["id"].as_i64().unwrap();
        let (_, stranger) = user_only_in(&env, "Sam Stranger", "stranger@example.com", strangers).await;
        let placeholders = ok(&env, Method::GET, &path, &stranger, None).await;
        assert!(placeholders["widgets"].as_array().unwrap().iter().all(|widget| widget["restricted"] == true));
        assert!(!placeholders.to_string().contains("select"));
        assert_eq!(names(&env.call(Method::GET, "/api/dashboards", &stranger, None).await), Vec::<String>::new());
        assert_eq!(env.call(Method::POST, &path, &stranger, Some(json!({"name": "x"}))).await.status, StatusCode::FORBIDDEN);

        // Nobody logged in: Redash's 404 everywhere.
        for (method, target) in [(Method::GET, "/api/dashboards".to_owned()), (Method::GET, path.clone()), (Method::POST, "/api/dashboards".to_owned())] {
            let reply = env.call(method, &target, &crate::support::Who::Anonymous, Some(json!({"name": "x"}))).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{target}");
        }
        assert_eq!(ok(&env, Method::GET, &path, &admin, None).await["name"], "Board", "nothing was changed");
    }
    async fn parameters_map_by_name_and_refresh_runs_every_widget(db: TestDb) {
        let env = Env::start_with(db, quick()).await;
        let member = env.member();
        let source = env.data_source("Shop").await;
        let text = |name: &str, default: &str| json!({"name": name, "title": name, "type": "text", "value": default});
        // Declared in different orders, so a mapping by position would cross the values.
        let sales = ok(&env, Method::POST, "/api/queries", &member, Some(json!({"data_source_id": source, "name": "Sales",
            "query": "select '{{country}}' as c, '{{year}}' as y", "options": {"parameters": [text("country", "FR"), text("year", "2020")]}}))).await;
        let stock = ok(&env, Method::POST, "/api/queries", &member, Some(json!({"data_source_id": source, "name": "Stock",
            "query": "select '{{period}}' as p, '{{nation}}' as n, '{{unit}}' as u",
            "options": {"parameters": [text("period", "2021"), text("nation", "IT"), text("unit", "kg")]}}))).await;
        let board = dashboard(&env, &member, "Board").await;
        let place = |query: &Value, mappings: Value| {
            let env = &env;
            let member = member.clone();
            let body = json!({"dashboard_id": board, "visualization_id": query["visualizations"][0]["id"], "options": {"parameterMappings": mappings}});
            async move { ok(env, Method::POST, "/api/widgets", &member, Some(body)).await["id"].as_i64().unwrap() }
        };
        let level = |map_to: &str| json!({"type": "dashboard-level", "mapTo": map_to, "value": null, "title": ""});
        let sales_widget = place(&sales, json!({"country": level("country"), "year": level("year")})).await;
        let stock_widget = place(&stock, json!({"nation": level("country"), "period": level("year"),
            "unit": {"type": "static-value", "mapTo": "unit", "value": "t", "title": ""}})).await;
        ok(&env, Method::POST, &format!("/api/dashboards/{board}"), &member, Some(json!({"options": {"globalParamOrder": ["year", "country"]}}))).await;

        let parameters = ok(&env, Method::GET, &format!("/api/dashboards/{board}/parameters"), &member, None).await;
        let listed = parameters["parameters"].as_array().unwrap();
        assert_eq!(listed.iter().map(|parameter| parameter["name"].clone()).collect::<Vec<_>>(), [json!("year"), json!("country")]);
        assert_eq!((&listed[1]["type"], &listed[1]["value"]), (&json!("text"), &json!("FR")), "the first mapped definition");
        assert_eq!(listed[1]["mappings"], json!([
            {"widget_id": sales_widget, "query_id": sales["id"], "parameter": "country"},
            {"widget_id": stock_widget, "query_id": stock["id"], "parameter": "nation"},
        ]));

        let refreshed = ok(&env, Method::POST, &format!("/api/dashboards/{board}/refresh"), &member,
            Some(json!({"parameters": {"country": "DE", "year": "2026"}}))).await;
        let results = refreshed["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        let text_of = |reply: &Value| {
            let job = dashi_store::JobId(reply["job"]["id"].as_str().unwrap_or_else(|| panic!("not a job: {reply}")).to_owned());
            let store = env.app.store().clone();
            async move { dashi_store::job_by_id(&store, &job).await.unwrap().unwrap().payload["query"].as_str().unwrap().to_owned() }
        };
        assert_eq!(results[0]["widget_id"], sales_widget);
        assert_eq!(text_of(&results[0]).await, "select 'DE' as c, '2026' as y");
        assert_eq!(results[1]["widget_id"], stock_widget);
        assert_eq!(text_of(&results[1]).await, "select '2026' as p, 'DE' as n, 't' as u");

        // Without values each query keeps its own defaults.
        let defaults = ok(&env, Method::POST, &format!("/api/dashboards/{board}/refresh"), &member, None).await;
        assert_eq!(text_of(&defaults["results"][1]).await, "select '2021' as p, 'IT' as n, 't' as u");
        let bad = env.call(Method::POST, &format!("/api/dashboards/{board}/refresh"), &member, Some(json!({"parameters": [1]}))).await;
        assert_eq!((bad.status, bad.json["message"].as_str()), (StatusCode::BAD_REQUEST, Some("parameters must be a JSON object.")));

        // Another group's member sees no parameters and runs nothing; anonymous gets Redash's 404.
        let strangers = ok(&env, Method::POST, "/api/groups", &env.admin(), Some(json!({"name": "Strangers"}))).await["id"].as_i64().unwrap();
        let (_, stranger) = user_only_in(&env, "Sam Stranger", "stranger@example.com", strangers).await;
        assert_eq!(ok(&env, Method::GET, &format!("/api/dashboards/{board}/parameters"), &stranger, None).await, json!({"parameters": []}));
        assert_eq!(ok(&env, Method::POST, &format!("/api/dashboards/{board}/refresh"), &stranger, None).await, json!({"results": []}));
        let anonymous = env.call(Method::POST, &format!("/api/dashboards/{board}/refresh"), &crate::support::Who::Anonymous, None).await;
        assert_eq!(anonymous.status, StatusCode::NOT_FOUND);
    }
}
