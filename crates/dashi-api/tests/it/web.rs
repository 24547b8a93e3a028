//! What the web UI reads before login: the setup state and the OpenAPI document.

use axum::http::{Method, StatusCode, header};
use dashi_testkit::TestDb;

use crate::support::{Env, Who};

dashi_testkit::backend_tests! {
    async fn setup_state_turns_false_once_the_first_admin_exists(db: TestDb) {
        let env = Env::start_empty(db).await;
        let before = env.call(Method::GET, "/api/setup", &Who::Anonymous, None).await;
        assert_eq!(before.status, StatusCode::OK, "{}", before.text);
        assert_eq!(before.json["needs_setup"], true);

        let fields = [("name", "Ada"), ("email", "ada@example.com"), ("password", "secret-password"), ("org_name", "Acme")];
        let done = env.post_form("/setup", &fields).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);

        let after = env.call(Method::GET, "/api/setup", &Who::Anonymous, None).await;
        assert_eq!(after.json["needs_setup"], false);
    }

    async fn openapi_document_is_served_without_login(db: TestDb) {
        let env = Env::start(db).await;
        for who in [Who::Anonymous, env.member()] {
            let reply = env.call(Method::GET, "/api/openapi.yaml", &who, None).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert!(reply.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/yaml"));
            assert!(reply.text.starts_with("openapi: 3.1"), "{}", &reply.text[..40.min(reply.text.len())]);
            assert!(reply.text.contains("  /api/queries/{id}:\n"));
        }
    }

    async fn unknown_api_paths_are_json_404s_not_the_app(db: TestDb) {
        let env = Env::start(db).await;
        let reply = env.call(Method::GET, "/api/no_such_thing", &env.member(), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert!(reply.json["message"].is_string(), "{}", reply.text);
    }
}
