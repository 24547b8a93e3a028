//! Visualizations: every Redash type with its options kept exactly, edits, deletes (with their
//! widgets), bad input, and who may change them.

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::objects::{dashboard, finance, ok, other_member, query, widget_of};
use crate::support::{Env, Who};

const TYPES: [&str; 13] = [
    "CHART",
    "TABLE",
    "COUNTER",
    "PIVOT",
    "COHORT",
    "FUNNEL",
    "SANKEY",
    "SUNBURST_SEQUENCE",
    "WORD_CLOUD",
    "MAP",
    "CHOROPLETH",
    "BOXPLOT",
    "DETAILS",
];

/// Options as a client writes them, with nesting, nulls, numbers and unicode to round-trip.
fn options_for(type_name: &str) -> Value {
    json!({
        "globalSeriesType": "column",
        "columnMapping": {"day": "x", "count": "y"},
        "yAxis": [{"type": "linear", "rangeMin": null}, {"type": "linear", "opposite": true}],
        "seriesOptions": {"count": {"color": "#356AFF", "zIndex": 0}},
        "itemsPerPage": 25,
        "precision": 0.125,
        "label": format!("{type_name} — größe"),
    })
}

dashi_testkit::backend_tests! {
    async fn every_redash_type_keeps_its_options_exactly(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let orders = query(&env, &member, source, "Orders", "select 1").await;
        let query_id = orders["id"].as_i64().unwrap();
        for type_name in TYPES {
            let body = json!({"query_id": query_id, "type": type_name, "name": format!("My {type_name}"),
                              "description": "d", "options": options_for(type_name)});
            let created = ok(&env, Method::POST, "/api/visualizations", &member, Some(body)).await;
            assert_eq!(created["type"], type_name);
            assert_eq!(created["options"], options_for(type_name));
            for field in ["id", "type", "name", "description", "options", "updated_at", "created_at"] {
                assert!(created.get(field).is_some(), "visualization dict lacks {field}");
            }
        }
        let read = ok(&env, Method::GET, &format!("/api/queries/{query_id}"), &member, None).await;
        let visualizations = read["visualizations"].as_array().unwrap();
        assert_eq!(visualizations.len(), 14, "the default table and one of each type");
        for (visualization, type_name) in visualizations[1..].iter().zip(TYPES) {
            assert_eq!(visualization["type"], type_name);
            assert_eq!(visualization["options"], options_for(type_name), "{type_name} options changed in storage");
        }
        // The name defaults to the type's name in Redash's UI.
        let unnamed = ok(&env, Method::POST, "/api/visualizations", &member, Some(json!({"query_id": query_id, "type": "PIVOT"}))).await;
        assert_eq!(unnamed["name"], "Pivot Table");
        assert_eq!(unnamed["options"], json!({}));
    }

    async fn edits_change_only_what_is_sent_and_deletes_take_widgets_along(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let orders = query(&env, &member, source, "Orders", "select 1").await;
        let query_id = orders["id"].as_i64().unwrap();
        let chart = ok(&env, Method::POST, "/api/visualizations", &member,
            Some(json!({"query_id": query_id, "type": "CHART", "name": "Trend", "options": {"a": 1}}))).await;
        let id = chart["id"].as_i64().unwrap();
        let path = format!("/api/visualizations/{id}");
        let renamed = ok(&env, Method::POST, &path, &member, Some(json!({"name": "Daily", "id": 999, "query_id": 999}))).await;
        assert_eq!((renamed["id"].as_i64(), &renamed["name"], &renamed["type"], &renamed["options"]), (Some(id), &json!("Daily"), &json!("CHART"), &json!({"a": 1})));
        let retyped = ok(&env, Method::POST, &path, &member, Some(json!({"type": "COUNTER", "options": {"counterColName": "n"}}))).await;
        assert_eq!((&retyped["name"], &retyped["type"], &retyped["options"]), (&json!("Daily"), &json!("COUNTER"), &json!({"counterColName": "n"})));

        let board = dashboard(&env, &member, "Board").await;
        let mut with_chart = orders.clone();
        with_chart["visualizations"] = json!([{"id": id}]);
        widget_of(&env, &member, board, &with_chart, 0).await;
        assert_eq!(ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &member, None).await["widgets"].as_array().unwrap().len(), 1);
        assert_eq!(ok(&env, Method::DELETE, &path, &member, None).await, Value::Null);
        assert_eq!(env.call(Method::POST, &path, &member, Some(json!({"name": "x"}))).await.status, StatusCode::NOT_FOUND);
        assert_eq!(ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &member, None).await["widgets"], json!([]),
            "deleting a visualization deletes its widgets");
        let read = ok(&env, Method::GET, &format!("/api/queries/{query_id}"), &member, None).await;
        assert_eq!(read["visualizations"].as_array().unwrap().len(), 1);
    }

    async fn bad_input_gets_a_clear_400_and_writes_nothing(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let member = env.member();
        let orders = query(&env, &member, source, "Orders", "select 1").await;
        let query_id = orders["id"].as_i64().unwrap();
        for (body, message) in [
            (json!({"type": "CHART"}), "query_id is required."),
            (json!({"query_id": query_id}), "type is required."),
            (json!({"query_id": query_id, "type": "PIE"}), "Unknown visualization type \"PIE\"; use one of CHART, TABLE, COUNTER, PIVOT, COHORT, FUNNEL, SANKEY, SUNBURST_SEQUENCE, WORD_CLOUD, MAP, CHOROPLETH, BOXPLOT, DETAILS."),
            (json!({"query_id": query_id, "type": "CHART", "options": [1]}), "options must be a JSON object."),
            (json!({"query_id": query_id, "type": "CHART", "name": 5}), "name must be a string."),
            (json!({"query_id": "one", "type": "CHART"}), "query_id must be an integer."),
        ] {
            let reply = env.call(Method::POST, "/api/visualizations", &member, Some(body.clone())).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.text);
            assert_eq!(reply.json["message"], message, "{body}");
        }
        let missing = env.call(Method::POST, "/api/visualizations", &member, Some(json!({"query_id": 9999, "type": "CHART"}))).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let read = ok(&env, Method::GET, &format!("/api/queries/{query_id}"), &member, None).await;
        assert_eq!(read["visualizations"].as_array().unwrap().len(), 1, "nothing was written");
    }

    async fn only_who_may_edit_the_query_changes_its_visualizations(db: TestDb) {
        let env = Env::start(db).await;
        let source = env.data_source("Shop").await;
        let owner = env.member();
        let orders = query(&env, &owner, source, "Orders", "select 1").await;
        let query_id = orders["id"].as_i64().unwrap();
        let table = orders["visualizations"][0]["id"].as_i64().unwrap();
        let create = json!({"query_id": query_id, "type": "CHART", "name": "Mine"});
        let (other_id, other) = other_member(&env).await;

        for who in [Who::Anonymous, other.clone()] {
            let expected = if matches!(who, Who::Anonymous) { StatusCode::NOT_FOUND } else { StatusCode::FORBIDDEN };
            assert_eq!(env.call(Method::POST, "/api/visualizations", &who, Some(create.clone())).await.status, expected);
            assert_eq!(env.call(Method::POST, &format!("/api/visualizations/{table}"), &who, Some(json!({"name": "x"}))).await.status, expected);
            assert_eq!(env.call(Method::DELETE, &format!("/api/visualizations/{table}"), &who, None).await.status, expected);
        }
        // A `modify` grant from the owner lets the other member edit.
        ok(&env, Method::POST, &format!("/api/queries/{query_id}/acl"), &owner, Some(json!({"access_type": "modify", "user_id": other_id}))).await;
        ok(&env, Method::POST, &format!("/api/visualizations/{table}"), &other, Some(json!({"name": "Granted"}))).await;
        ok(&env, Method::POST, "/api/visualizations", &other, Some(create.clone())).await;
        // Admins may always.
        ok(&env, Method::POST, &format!("/api/visualizations/{table}"), &env.admin(), Some(json!({"name": "By admin"}))).await;

        // A query of another group's data source: its visualizations are out of reach.
        let (_, ledger) = finance(&env).await;
        let books = query(&env, &env.admin(), ledger, "Books", "select 2").await;
        let books_table = books["visualizations"][0]["id"].as_i64().unwrap();
        let reply = env.call(Method::POST, &format!("/api/visualizations/{books_table}"), &owner, Some(json!({"name": "x"}))).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        let names: Vec<Value> = ok(&env, Method::GET, &format!("/api/queries/{query_id}"), &owner, None).await["visualizations"]
            .as_array().unwrap().iter().map(|v| v["name"].clone()).collect();
        assert_eq!(names, [json!("By admin"), json!("Mine")]);
    }
}
