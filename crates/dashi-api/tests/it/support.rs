//! A running API on a fresh database, with an admin, a member and helpers to call it as either.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use dashi_api::{ApiSettings, AppState, router};
use dashi_app::{App, AppSettings, SetupForm};
use dashi_store::{Store, StoreSettings};
use dashi_testkit::TestDb;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password";
pub const MEMBER_PASSWORD: &str = "member-password";

/// A catalog entry shaped like the PostgreSQL runner's, so data-source endpoints have a kind
/// to validate against (catalog data only; no runner is involved in API tests).
pub fn catalog() -> Vec<dashi_core::KindInfo> {
    vec![dashi_core::KindInfo {
        type_name: "pg".into(),
        display_name: "PostgreSQL".into(),
        syntax: "sql".into(),
        supports_auto_limit: true,
        placeholders: Some(dashi_core::Placeholders::Dollar),
        configuration_schema: serde_json::json!({
            "type": "object",
            "properties": {
                "host": {"type": "string", "default": "127.0.0.1"},
                "port": {"type": "number", "default": 5432},
                "user": {"type": "string"},
                "password": {"type": "string"},
                "dbname": {"type": "string", "title": "Database Name"}
            },
            "order": ["host", "port", "user", "password", "dbname"],
            "required": ["dbname"],
            "secret": ["password"],
            "extra_options": []
        }),
    }]
}

/// Who makes a request.
#[derive(Clone, Debug)]
pub enum Who {
    Anonymous,
    Key(String),
    /// Session cookie value and its CSRF token (None: send no CSRF header).
    Session { cookie: String, csrf: Option<String> },
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: Value,
    pub text: String,
}

pub struct Env {
    pub app: App,
    pub router: Router,
    pub admin_id: i64,
    pub admin_key: String,
    pub member_id: i64,
    pub member_key: String,
    _db: TestDb,
}

pub async fn open_store(db: &TestDb) -> Store {
    let store = Store::connect(&StoreSettings { url: db.url.clone(), max_connections: 4 }).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

impl Env {
    /// A fresh org with an admin (made through setup) and a member of the default group.
    pub async fn start(db: TestDb) -> Env {
        Env::start_with(db, ApiSettings::default()).await
    }

    /// A database nobody has set up yet: no org, no users (the ids and keys are empty).
    pub async fn start_empty(db: TestDb) -> Env {
        let store = open_store(&db).await;
        let app = App::new(store, AppSettings::with_secrets("test-secret", "test-cookie-secret"));
        let router = router(AppState::new(app.clone(), ApiSettings::default()));
        Env { app, router, admin_id: 0, admin_key: String::new(), member_id: 0, member_key: String::new(), _db: db }
    }

    pub async fn start_with(db: TestDb, api_settings: ApiSettings) -> Env {
        let store = open_store(&db).await;
        // Results small enough to stay inline never touch this folder; it only holds the spool.
        let results_folder = std::env::temp_dir().join(format!("dashi-api-it-{}", uuid::Uuid::new_v4()));
        let results = dashi_results::ResultsStore::local(results_folder).expect("results folder");
        let app = App::new(store, AppSettings::with_secrets("test-secret", "test-cookie-secret"))
            .with_catalog(catalog())
            .with_results(results);
        let admin = app
            .setup(&SetupForm {
                name: "Ada Admin".into(),
                email: ADMIN_EMAIL.into(),
                password: ADMIN_PASSWORD.into(),
                org_name: "Acme".into(),
            })
            .await
            .expect("setup");
        let member = app
            .admin_create_user("default", "Mel Member", "member@example.com", Some(MEMBER_PASSWORD), false)
            .await
            .expect("member");
        let router = router(AppState::new(app.clone(), api_settings));
        Env {
            app,
            router,
            admin_id: admin.id.0,
            admin_key: admin.api_key,
            member_id: member.id.0,
            member_key: member.api_key,
            _db: db,
        }
    }

    pub fn admin(&self) -> Who {
        Who::Key(self.admin_key.clone())
    }

    pub fn member(&self) -> Who {
        Who::Key(self.member_key.clone())
    }

    /// Creates a `pg` data source as the admin and returns its id.
    pub async fn data_source(&self, name: &str) -> i64 {
        let body = serde_json::json!({"name": name, "type": "pg", "options": {"dbname": "shop", "password": "s3cret", "port": 5432}});
        let reply = self.call(Method::POST, "/api/data_sources", &self.admin(), Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json["id"].as_i64().expect("id")
    }

    /// Sends a request; `body` is JSON for API paths.
    pub async fn call(&self, method: Method, path: &str, who: &Who, body: Option<Value>) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        match who {
            Who::Anonymous => {}
            Who::Key(key) => builder = builder.header(header::AUTHORIZATION, format!("Key {key}")),
            Who::Session { cookie, csrf } => {
                builder = builder.header(header::COOKIE, format!("session={cookie}"));
                if let Some(csrf) = csrf {
                    builder = builder.header("X-CSRFToken", csrf);
                }
            }
        }
        let body = match body {
            Some(json) => Body::from(json.to_string()),
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    /// Posts an HTML form (`/login`, `/setup`, …).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, json, text }
    }

    /// Logs in through the form and returns the session as a [`Who`] with its CSRF token.
    pub async fn login(&self, email: &str, password: &str) -> Who {
        let reply = self.post_form("/login", &[("email", email), ("password", password)]).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "login failed: {}", reply.text);
        let cookie = cookie_value(&reply, "session").expect("session cookie");
        let csrf = cookie_value(&reply, "csrf_token");
        Who::Session { cookie, csrf }
    }
}

/// The value a `Set-Cookie` header gives to `name`, if any.
pub fn cookie_value(reply: &Reply, name: &str) -> Option<String> {
    reply.headers.get_all(header::SET_COOKIE).iter().find_map(|value| {
        let text = value.to_str().ok()?;
        let (pair, _) = text.split_once(';').unwrap_or((text, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}
