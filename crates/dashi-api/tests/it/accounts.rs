//! Accounts as Redash does them: setup, login, sessions, API keys, users and groups.

use axum::http::{Method, StatusCode};
use dashi_api::ApiSettings;
use dashi_testkit::TestDb;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Env, MEMBER_PASSWORD, Who, cookie_value};

dashi_testkit::backend_tests! {
    async fn first_run_setup_then_login_then_api_key(db: TestDb) {
        let env = Env::start_empty(db).await;
        // A newcomer opening the site is sent to setup; login also redirects there.
        let home = env.call(Method::GET, "/", &Who::Anonymous, None).await;
        assert_eq!(home.headers["location"], "/setup");
        let login_page = env.call(Method::GET, "/login", &Who::Anonymous, None).await;
        assert_eq!(login_page.headers["location"], "/setup");
        let form = env.call(Method::GET, "/setup", &Who::Anonymous, None).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.text.contains("name=\"org_name\""));

        // Bad input changes nothing.
        let bad = env.post_form("/setup", &[("name", "Ada"), ("email", "ada@example.com"), ("password", "123"), ("org_name", "Acme")]).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text.contains("at least 6 characters"));
        assert!(env.app.needs_setup().await.unwrap());

        let done = env.post_form("/setup", &[("name", "Ada"), ("email", "Ada@Example.com"), ("password", "secret1"), ("org_name", "Acme")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
        assert!(cookie_value(&done, "session").is_some());

        // A second setup is refused and creates nothing.
        let again = env.post_form("/setup", &[("name", "Eve"), ("email", "eve@example.com"), ("password", "secret1"), ("org_name", "Evil")]).await;
        assert_eq!(again.headers["location"], "/");
        assert!(env.app.default_org().await.unwrap().is_some());

        let session = env.login("ada@example.com", "secret1").await;
        let me = env.call(Method::GET, "/api/session", &session, None).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json["user"]["email"], "ada@example.com");
        assert_eq!(me.json["org_slug"], "default");
        let permissions = me.json["user"]["permissions"].as_array().unwrap();
        assert!(permissions.contains(&json!("admin")) && permissions.contains(&json!("super_admin")));
        assert!(permissions.contains(&json!("create_query")));

        // The user's own record carries the API key, which then authenticates both ways.
        let id = me.json["user"]["id"].as_i64().unwrap();
        let own = env.call(Method::GET, &format!("/api/users/{id}"), &session, None).await;
        let key = own.json["api_key"].as_str().unwrap().to_owned();
        assert_eq!(key.len(), 40);
        let by_header = env.call(Method::GET, "/api/session", &Who::Key(key.clone()), None).await;
        assert_eq!(by_header.json["user"]["id"], id);
        let by_param = env.call(Method::GET, &format!("/api/session?api_key={key}"), &Who::Anonymous, None).await;
        assert_eq!(by_param.json["user"]["id"], id);

        // Groups made by setup carry Redash's names, types and permissions.
        let groups = env.call(Method::GET, "/api/groups", &Who::Key(key), None).await;
        let names: Vec<_> = groups.json.as_array().unwrap().iter().map(|g| (g["name"].clone(), g["type"].clone())).collect();
        assert_eq!(names, vec![(json!("admin"), json!("builtin")), (json!("default"), json!("builtin"))]);
        assert_eq!(groups.json[0]["permissions"], json!(["admin", "super_admin"]));
        assert_eq!(groups.json[1]["permissions"].as_array().unwrap().len(), 12);
    }

    async fn unauthenticated_and_bad_keys_get_redash_404(db: TestDb) {
        let env = Env::start(db).await;
        for who in [Who::Anonymous, Who::Key("x".repeat(40)), Who::Key(String::new())] {
            let reply = env.call(Method::GET, "/api/session", &who, None).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND);
            assert_eq!(reply.json["message"], "Couldn't find resource. Please login and try again.");
        }
        // `/api/config` answers everybody.
        let config = env.call(Method::GET, "/api/config", &Who::Anonymous, None).await;
        assert_eq!(config.status, StatusCode::OK);
        assert_eq!(config.json["client_config"]["googleLoginEnabled"], false);
        assert!(config.json["client_config"].get("version").is_none());
        assert_eq!(env.call(Method::GET, "/ping", &Who::Anonymous, None).await.text, "PONG.");
    }

    async fn wrong_password_disabled_user_and_logout(db: TestDb) {
        let env = Env::start(db).await;
        let wrong = env.post_form("/login", &[("email", ADMIN_EMAIL), ("password", "nope")]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.text.contains("Wrong email or password."));
        assert!(cookie_value(&wrong, "session").is_none());

        let member_session = env.login("member@example.com", MEMBER_PASSWORD).await;
        let disable = env.call(Method::POST, &format!("/api/users/{}/disable", env.member_id), &env.admin(), None).await;
        assert_eq!(disable.json["is_disabled"], true);
        // Disabling ends existing sessions and refuses key and password.
        assert_eq!(env.call(Method::GET, "/api/session", &member_session, None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(env.call(Method::GET, "/api/session", &env.member(), None).await.status, StatusCode::NOT_FOUND);
        let refused = env.post_form("/login", &[("email", "member@example.com"), ("password", MEMBER_PASSWORD)]).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let enable = env.call(Method::DELETE, &format!("/api/users/{}/disable", env.member_id), &env.admin(), None).await;
        assert_eq!(enable.json["is_disabled"], false);

        let session = env.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let Who::Session { cookie, .. } = &session else { unreachable!() };
        let logout = env.call(Method::GET, "/logout", &session, None).await;
        assert_eq!(logout.headers["location"], "/login");
        let after = env.call(Method::GET, "/api/session", &Who::Session { cookie: cookie.clone(), csrf: None }, None).await;
        assert_eq!(after.status, StatusCode::NOT_FOUND);
    }

    async fn cookie_writes_need_the_csrf_token(db: TestDb) {
        let env = Env::start(db).await;
        let session = env.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let Who::Session { cookie, csrf } = session.clone() else { unreachable!() };
        let csrf = csrf.expect("csrf cookie set at login");
        let without = env.call(Method::POST, "/api/groups", &Who::Session { cookie: cookie.clone(), csrf: None }, Some(json!({"name": "x"}))).await;
        assert_eq!(without.status, StatusCode::BAD_REQUEST);
        assert!(without.json["message"].as_str().unwrap().contains("CSRF"));
        let forged = env.call(Method::POST, "/api/groups", &Who::Session { cookie: cookie.clone(), csrf: Some("forged".into()) }, Some(json!({"name": "x"}))).await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST);
        let groups = env.call(Method::GET, "/api/groups", &env.admin(), None).await;
        assert_eq!(groups.json.as_array().unwrap().len(), 2, "refused writes created nothing");
        let with = env.call(Method::POST, "/api/groups", &Who::Session { cookie, csrf: Some(csrf) }, Some(json!({"name": "Analysts"}))).await;
        assert_eq!(with.status, StatusCode::OK);
        assert_eq!(with.json["type"], "regular");
    }

    async fn invite_link_sets_a_password_once(db: TestDb) {
        let env = Env::start(db).await;
        let invited = env.call(Method::POST, "/api/users", &env.admin(), Some(json!({"name": "Ian", "email": "Ian@Example.com"}))).await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.text);
        assert_eq!(invited.json["email"], "ian@example.com");
        assert_eq!(invited.json["is_invitation_pending"], true);
        assert_eq!(invited.json["auth_type"], "external");
        let link = invited.json["invite_link"].as_str().unwrap().to_owned();
        let path = &link[link.find("/invite/").unwrap()..];
        assert_eq!(env.call(Method::GET, path, &Who::Anonymous, None).await.status, StatusCode::OK);
        let short = env.post_form(path, &[("password", "123")]).await;
        assert_eq!(short.status, StatusCode::BAD_REQUEST);
        let accepted = env.post_form(path, &[("password", "ian-password")]).await;
        assert_eq!(accepted.status, StatusCode::SEE_OTHER);
        assert!(cookie_value(&accepted, "session").is_some());
        // Used once: the password changed, so the link no longer verifies.
        assert_eq!(env.post_form(path, &[("password", "another-one")]).await.status, StatusCode::BAD_REQUEST);
        env.login("ian@example.com", "ian-password").await;

        let duplicate = env.call(Method::POST, "/api/users", &env.admin(), Some(json!({"name": "Ian", "email": "ian@example.com"}))).await;
        assert_eq!((duplicate.status, duplicate.json["message"].clone()), (StatusCode::BAD_REQUEST, json!("Email already taken.")));
        let bad = env.call(Method::POST, "/api/users", &env.admin(), Some(json!({"name": "Q", "email": "no-at-sign"}))).await;
        assert_eq!((bad.status, bad.json["message"].clone()), (StatusCode::BAD_REQUEST, json!("Bad email address.")));

        // An admin's reset link works the same way.
        let reset = env.call(Method::POST, &format!("/api/users/{}/reset_password", env.member_id), &env.admin(), None).await;
        let link = reset.json["reset_link"].as_str().unwrap().to_owned();
        let path = &link[link.find("/reset/").unwrap()..];
        assert_eq!(env.post_form(path, &[("password", "brand-new")]).await.status, StatusCode::SEE_OTHER);
        env.login("member@example.com", "brand-new").await;
    }

    async fn user_list_search_filters_and_pagination(db: TestDb) {
        let env = Env::start(db).await;
        for (name, email) in [("Zoë Zed", "zoe@example.com"), ("Bob", "bob@other.org")] {
            env.app.admin_create_user("default", name, email, Some("password"), false).await.unwrap();
        }
        let all = env.call(Method::GET, "/api/users?order=name", &env.member(), None).await;
        assert_eq!(all.json["count"], 4);
        assert_eq!(all.json["page_size"], 25);
        let names: Vec<_> = all.json["results"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["Ada Admin", "Bob", "Mel Member", "Zoë Zed"]);
        assert!(all.json["results"][0]["groups"][0]["name"].is_string(), "list groups are {{id, name}}");
        assert!(all.json["results"][0].get("api_key").is_none(), "lists never show keys");

        let search = env.call(Method::GET, "/api/users?q=ZOË", &env.member(), None).await;
        assert_eq!(search.json["count"], 1);
        let by_mail = env.call(Method::GET, "/api/users?q=other.org", &env.member(), None).await;
        assert_eq!(by_mail.json["results"][0]["name"], "Bob");
        let percent = env.call(Method::GET, "/api/users?q=%25", &env.member(), None).await;
        assert_eq!(percent.json["count"], 0, "a % searches for the character, not everything");

        let page2 = env.call(Method::GET, "/api/users?order=name&page=2&page_size=3", &env.member(), None).await;
        assert_eq!(page2.json["results"].as_array().unwrap().len(), 1);
        for (query, message) in [
            ("page=0", "Page must be positive integer."),
            ("page_size=500", "Page size is out of range (1-250)."),
            ("page=9", "Page is out of range."),
        ] {
            let reply = env.call(Method::GET, &format!("/api/users?{query}"), &env.member(), None).await;
            assert_eq!((reply.status, reply.json["message"].clone()), (StatusCode::BAD_REQUEST, json!(message)), "{query}");
        }

        env.call(Method::POST, &format!("/api/users/{}/disable", env.member_id), &env.admin(), None).await;
        let disabled = env.call(Method::GET, "/api/users?disabled=true", &env.admin(), None).await;
        assert_eq!(disabled.json["count"], 1);
        env.call(Method::POST, "/api/users", &env.admin(), Some(json!({"name": "P", "email": "p@example.com"}))).await;
        let pending = env.call(Method::GET, "/api/users?pending=true", &env.admin(), None).await;
        assert_eq!(pending.json["count"], 1);
        assert_eq!(pending.json["results"][0]["email"], "p@example.com");
    }

    async fn self_service_profile_password_and_key(db: TestDb) {
        let env = Env::start(db).await;
        let path = format!("/api/users/{}", env.member_id);
        let renamed = env.call(Method::POST, &path, &env.member(), Some(json!({"name": "Mel M."}))).await;
        assert_eq!(renamed.json["name"], "Mel M.");
        assert_eq!(renamed.json["api_key"], env.member_key);
        let no_old = env.call(Method::POST, &path, &env.member(), Some(json!({"password": "new-password"}))).await;
        assert_eq!(no_old.status, StatusCode::FORBIDDEN);
        let wrong_old = env.call(Method::POST, &path, &env.member(), Some(json!({"password": "new-password", "old_password": "x"}))).await;
        assert_eq!(wrong_old.status, StatusCode::FORBIDDEN);
        let changed = env.call(Method::POST, &path, &env.member(), Some(json!({"password": "new-password", "old_password": MEMBER_PASSWORD}))).await;
        assert_eq!(changed.status, StatusCode::OK);
        env.login("member@example.com", "new-password").await;
        // Members cannot move themselves into the admin group.
        let escalate = env.call(Method::POST, &path, &env.member(), Some(json!({"group_ids": [1]}))).await;
        assert_eq!(escalate.status, StatusCode::FORBIDDEN);

        let regenerated = env.call(Method::POST, &format!("{path}/regenerate_api_key"), &env.member(), None).await;
        let new_key = regenerated.json["api_key"].as_str().unwrap().to_owned();
        assert_ne!(new_key, env.member_key);
        assert_eq!(env.call(Method::GET, "/api/session", &env.member(), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(env.call(Method::GET, "/api/session", &Who::Key(new_key), None).await.status, StatusCode::OK);
    }

    async fn group_membership_and_builtin_protection(db: TestDb) {
        let env = Env::start(db).await;
        let group = env.call(Method::POST, "/api/groups", &env.admin(), Some(json!({"name": "Analysts"}))).await;
        let group_id = group.json["id"].as_i64().unwrap();
        let added = env.call(Method::POST, &format!("/api/groups/{group_id}/members"), &env.admin(), Some(json!({"user_id": env.member_id}))).await;
        assert_eq!(added.status, StatusCode::OK);
        assert!(added.json["groups"].as_array().unwrap().contains(&json!(group_id)));
        let members = env.call(Method::GET, &format!("/api/groups/{group_id}/members"), &env.member(), None).await;
        assert_eq!(members.json.as_array().unwrap().len(), 1);
        let mine = env.call(Method::GET, "/api/groups", &env.member(), None).await;
        assert_eq!(mine.json.as_array().unwrap().len(), 2, "default and Analysts, not admin");

        let renamed = env.call(Method::POST, &format!("/api/groups/{group_id}"), &env.admin(), Some(json!({"name": "Data"}))).await;
        assert_eq!(renamed.json["name"], "Data");
        for builtin in [1, 2] {
            let refused = env.call(Method::POST, &format!("/api/groups/{builtin}"), &env.admin(), Some(json!({"name": "x"}))).await;
            assert_eq!((refused.status, refused.json["message"].clone()), (StatusCode::BAD_REQUEST, json!("Can't modify built-in groups.")));
            let kept = env.call(Method::DELETE, &format!("/api/groups/{builtin}"), &env.admin(), None).await;
            assert_eq!(kept.status, StatusCode::BAD_REQUEST);
        }
        let removed = env.call(Method::DELETE, &format!("/api/groups/{group_id}/members/{}", env.member_id), &env.admin(), None).await;
        assert_eq!(removed.status, StatusCode::OK);
        let deleted = env.call(Method::DELETE, &format!("/api/groups/{group_id}"), &env.admin(), None).await;
        assert_eq!(deleted.status, StatusCode::OK);
        assert_eq!(env.call(Method::GET, &format!("/api/groups/{group_id}"), &env.admin(), None).await.status, StatusCode::NOT_FOUND);
    }

    async fn bad_input_gets_json_4xx(db: TestDb) {
        let env = Env::start(db).await;
        let cases: Vec<(Method, &str, Option<serde_json::Value>, StatusCode)> = vec![
            (Method::GET, "/api/users/abc", None, StatusCode::NOT_FOUND),
            (Method::GET, "/api/users/999999", None, StatusCode::NOT_FOUND),
            (Method::GET, "/api/groups/1.5", None, StatusCode::NOT_FOUND),
            (Method::POST, "/api/groups", None, StatusCode::BAD_REQUEST),
            (Method::POST, "/api/groups", Some(json!({"name": ""})), StatusCode::BAD_REQUEST),
            (Method::POST, "/api/groups/1/members", Some(json!({"user_id": "x"})), StatusCode::BAD_REQUEST),
            (Method::POST, "/api/groups/1/members", Some(json!({"user_id": 424242})), StatusCode::NOT_FOUND),
            (Method::POST, "/api/users/1", Some(json!({"group_ids": [999]})), StatusCode::BAD_REQUEST),
            (Method::GET, "/api/nothing-here", None, StatusCode::NOT_FOUND),
        ];
        for (method, path, body, expected) in cases {
            let reply = env.call(method.clone(), path, &env.admin(), body.clone()).await;
            assert_eq!(reply.status, expected, "{method} {path} {body:?}: {}", reply.text);
            assert!(reply.json["message"].is_string(), "{method} {path}: no JSON message in {}", reply.text);
        }
        let raw = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/groups")
            .header("authorization", format!("Key {}", env.admin_key))
            .body(axum::body::Body::from("{not json"))
            .unwrap();
        let reply = env.send(raw).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(reply.json["message"].as_str().unwrap().starts_with("Invalid JSON body"));
        // A trailing slash reaches the same route, as Flask clients expect.
        assert_eq!(env.call(Method::GET, "/api/groups/", &env.admin(), None).await.status, StatusCode::OK);
    }

    async fn login_is_throttled(db: TestDb) {
        let settings = ApiSettings { login_throttle_count: 2, ..ApiSettings::default() };
        let env = Env::start_with(db, settings).await;
        for _ in 0..2 {
            env.post_form("/login", &[("email", ADMIN_EMAIL), ("password", "wrong")]).await;
        }
        let third = env.post_form("/login", &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]).await;
        assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    }

    async fn redash_password_hash_is_upgraded_on_login(db: TestDb) {
        let env = Env::start(db).await;
        let org = env.app.default_org().await.unwrap().unwrap();
        let store = env.app.store();
        let user = dashi_store::user_by_email(store, org.id, "member@example.com").await.unwrap().unwrap();
        // passlib sha512_crypt of "password", as Redash stores it.
        let legacy = "$6$saltsaltsaltsalt$bcXJ8qxwY5sQ4v8MTl.0B1jeZ0z0JlA9jjmbUoCJZ.1wYXiLTU.q2ILyrDJLm890lyfuF7sWAeli0yjOyFPkf0";
        let changes = dashi_store::UserChanges { password_hash: Some(legacy.into()), ..Default::default() };
        dashi_store::update_user(store, &user, &changes, chrono::Utc::now()).await.unwrap();
        env.login("member@example.com", "password").await;
        let after = dashi_store::user_by_email(store, org.id, "member@example.com").await.unwrap().unwrap();
        assert!(after.password_hash.unwrap().starts_with("$argon2id$"));
        env.login("member@example.com", "password").await;
    }
}
