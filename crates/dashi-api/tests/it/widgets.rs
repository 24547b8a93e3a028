//! Widgets: visualizations and text boxes on Redash's grid, edits, removal, what archiving a
//! query does to them, bad input, and who may place what.

use axum::http::{Method, StatusCode};
use dashi_testkit::TestDb;
use serde_json::{Value, json};

use crate::objects::{dashboard, finance, ok, query, widget_of};
use crate::support::Env;

dashi_testkit::backend_tests! {
    async fn widgets_keep_their_grid_position_and_show_their_query(db: TestDb) {
        let env = Env::start(db).await;
        let member = env.member();
        let source = env.data_source("Shop").await;
        let orders = query(&env, &member, source, "Orders", "select 1").await;
        let board = dashboard(&env, &member, "Board").await;
        let position = json!({"col": 6, "row": 2, "sizeX": 6, "sizeY": 14, "autoHeight": true, "minSizeX": 2, "maxSizeX": 12, "minSizeY": 1, "maxSizeY": 1000});
        let mappings = json!({"country": {"name": "country", "type": "dashboard-level", "mapTo": "country", "value": null, "title": ""}});
        let body = json!({"dashboard_id": board, "visualization_id": orders["visualizations"][0]["id"], "width": 1, "text": "",
                          "options": {"position": position, "parameterMappings": mappings, "isHidden": false}});
        let widget = ok(&env, Method::POST, "/api/widgets", &member, Some(body)).await;
        assert_eq!(widget["options"]["position"], position);
        assert_eq!(widget["options"]["parameterMappings"], mappings);
        assert_eq!((&widget["dashboard_id"], &widget["width"]), (&json!(board), &json!(1)));
        assert_eq!(widget["visualization"]["type"], "TABLE");
        assert_eq!(widget["visualization"]["query"]["id"], orders["id"]);
        assert_eq!(widget["visualization"]["query"]["query"], "select 1", "signed-in readers get Redash's full query");
        let text = ok(&env, Method::POST, "/api/widgets", &member,
            Some(json!({"dashboard_id": board, "visualization_id": null, "text": "## Notes", "width": 1, "options": {"position": {"col": 0, "row": 0, "sizeX": 6, "sizeY": 2}}}))).await;
        assert_eq!(text["text"], "## Notes");
        assert!(text.get("visualization").is_none());

        let read = ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &member, None).await;
        assert_eq!(read["widgets"].as_array().unwrap().len(), 2);
        assert_eq!(read["widgets"][0], widget);

        let text_id = text["id"].as_i64().unwrap();
        let moved = ok(&env, Method::POST, &format!("/api/widgets/{text_id}"), &member,
            Some(json!({"text": "## Changed", "options": {"position": {"col": 6, "row": 16, "sizeX": 6, "sizeY": 3}}}))).await;
        assert_eq!((&moved["text"], &moved["options"]["position"]["row"]), (&json!("## Changed"), &json!(16)));
        for (body, message) in [
            (json!({"text": "x"}), "options is required."),
            (json!({"options": {}}), "text is required."),
            (json!({"text": "x", "options": []}), "options must be a JSON object."),
        ] {
            let reply = env.call(Method::POST, &format!("/api/widgets/{text_id}"), &member, Some(body.clone())).await;
            assert_eq!((reply.status, reply.json["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)), "{body}");
        }
        assert_eq!(ok(&env, Method::DELETE, &format!("/api/widgets/{text_id}"), &member, None).await, Value::Null);
        assert_eq!(env.call(Method::DELETE, &format!("/api/widgets/{text_id}"), &member, None).await.status, StatusCode::NOT_FOUND);

        // Archiving a query removes its widgets from every dashboard (Redash).
        ok(&env, Method::DELETE, &format!("/api/queries/{}", orders["id"]), &member, None).await;
        assert_eq!(ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &member, None).await["widgets"], json!([]));
    }

    async fn bad_widgets_are_refused_and_nothing_is_placed(db: TestDb) {
        let env = Env::start(db).await;
        let member = env.member();
        let source = env.data_source("Shop").await;
        let board = dashboard(&env, &member, "Board").await;
        let orders = query(&env, &member, source, "Orders", "select 1").await;
        for (body, status, message) in [
            (json!({"text": "x"}), StatusCode::BAD_REQUEST, "dashboard_id is required."),
            (json!({"dashboard_id": board}), StatusCode::BAD_REQUEST, "A widget needs a visualization_id or a text."),
            (json!({"dashboard_id": board, "text": "x", "options": "left"}), StatusCode::BAD_REQUEST, "options must be a JSON object."),
            (json!({"dashboard_id": board, "visualization_id": 9999}), StatusCode::BAD_REQUEST, "Visualization 9999 does not exist."),
            (json!({"dashboard_id": 9999, "text": "x"}), StatusCode::NOT_FOUND, "dashboard not found"),
        ] {
            let reply = env.call(Method::POST, "/api/widgets", &member, Some(body.clone())).await;
            assert_eq!((reply.status, reply.json["message"].as_str()), (status, Some(message)), "{body}");
        }
        // A query of another group's data source cannot be put on a board, even one's own.
        let (_, ledger) = finance(&env).await;
        let books = query(&env, &env.admin(), ledger, "Books", "select 2").await;
        let reply = env.call(Method::POST, "/api/widgets", &member,
            Some(json!({"dashboard_id": board, "visualization_id": books["visualizations"][0]["id"]}))).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text);
        assert_eq!(ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &member, None).await["widgets"], json!([]));
        widget_of(&env, &member, board, &orders, 0).await;
        assert_eq!(ok(&env, Method::GET, &format!("/api/dashboards/{board}"), &member, None).await["widgets"].as_array().unwrap().len(), 1);
    }
}
