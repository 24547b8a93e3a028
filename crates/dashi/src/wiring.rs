//! From `Settings` to what each crate takes: the store, the application, the API and the roles.
//!
//! `dashi-config` does not know the other crates' settings types, and they do not know it; this
//! module is the one place that maps one onto the other.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dashi_api::ApiSettings;
use dashi_app::{App, AppSettings, FormatDefaults};
use dashi_config::{Secrets, Settings};
use dashi_scheduler::{MaintenanceSettings, SchedulerSettings};
use dashi_store::{Store, StoreSettings};
use dashi_core::OptionsCipher;
use dashi_queue::{Dispatcher, InProcessDispatcher, RedisDispatcher};
use dashi_results::{ResultsStore, S3Settings, StoreSettings as ResultsSettings};
use dashi_worker::{Endpoints, Execution, MailSettings, Notifications, Outbound, WorkerSettings};
use tracing::info;

use crate::lock;

/// Whether opening the store also applies pending migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Migrations {
    /// Always (`dashi migrate`, `dashi all`).
    Apply,
    /// Only on SQLite, where the data is local and nobody else runs `dashi migrate` for us;
    /// on PostgreSQL migrating is a deploy step of its own.
    ApplyIfEmbedded,
    /// Never (`dashi status`: looking must not change anything).
    Skip,
}

/// Connects to the metadata database, creating the folder of a SQLite file if needed.
pub(crate) async fn open_store(settings: &Settings, migrations: Migrations) -> anyhow::Result<Store> {
    let url = settings.database_url();
    let sqlite_file = lock::sqlite_file(url.expose());
    let folder = sqlite_file.as_deref().and_then(std::path::Path::parent);
    if let Some(folder) = folder.filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the database folder {}", folder.display()))?;
    }
    let store_settings = StoreSettings { url: url.expose().to_owned(), max_connections: settings.db_pool_size };
    let store = Store::connect(&store_settings)
        .await
        .with_context(|| format!("cannot open the metadata database {url}"))?;
    let migrate = match migrations {
        Migrations::Apply => true,
        Migrations::ApplyIfEmbedded => sqlite_file.is_some(),
        Migrations::Skip => false,
    };
    if migrate {
        let _guard = match &sqlite_file {
            Some(file) => Some(lock::migration_lock(file).await?),
            None => None,
        };
        store.migrate().await.with_context(|| format!("cannot migrate the metadata database {url}"))?;
        info!(database = %url, "metadata database is up to date");
    }
    Ok(store)
}

/// What carries job ids from the servers to the workers: Redis Streams when `DASHI_REDIS_URL` is
/// set. Without Redis the ledger itself does: workers in this or any other process scan it every
/// second, and a worker in the same process is woken at once.
pub(crate) fn dispatcher(settings: &Settings, store: &Store) -> anyhow::Result<Arc<dyn Dispatcher>> {
    let Some(url) = &settings.redis_url else {
        return Ok(Arc::new(InProcessDispatcher::new(store.clone())));
    };
    let dispatcher = RedisDispatcher::new(store.clone(), url.expose(), &hostname())
        .with_context(|| format!("DASHI_REDIS_URL: cannot use {url}"))?;
    info!(redis = %url, consumer = dispatcher.consumer(), "jobs are dispatched through Redis");
    Ok(Arc::new(dispatcher))
}

/// Where results are stored: the bucket when one is set, else the results folder (by default in
/// the data folder). Results being written to a bucket spool in the data folder first.
pub(crate) fn results_store(settings: &Settings) -> anyhow::Result<ResultsStore> {
    if let Some(bucket) = &settings.results_s3_bucket {
        let endpoint = settings.results_s3_endpoint.clone();
        let s3 = S3Settings {
            bucket: bucket.clone(),
            region: Some(settings.results_s3_region.clone()),
            allow_http: endpoint.as_deref().is_some_and(|url| url.starts_with("http://")),
            endpoint,
            access_key_id: settings.results_s3_access_key_id.clone(),
            secret_access_key: settings.results_s3_secret_access_key.as_ref().map(|key| key.expose().to_owned()),
            spool_dir: settings.data_dir.join("spool"),
        };
        return ResultsStore::open(&ResultsSettings::S3(s3))
            .with_context(|| format!("cannot open the results bucket {bucket} (DASHI_RESULTS_S3_BUCKET)"));
    }
    let folder = settings.results_folder.clone().unwrap_or_else(|| settings.data_dir.join("results"));
    if settings.is_distributed() && settings.results_folder.is_none() {
        tracing::warn!(
            folder = %folder.display(),
            "results go to a folder on this machine; set DASHI_RESULTS_S3_BUCKET (or a shared DASHI_RESULTS_FOLDER) \
             when servers and workers run on different machines"
        );
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("cannot create the results folder {}", folder.display()))?;
    ResultsStore::local(&folder).with_context(|| format!("cannot open the results folder {}", folder.display()))
}

/// The application for the server side of a role: the store, the settings, the catalog of
/// data-source kinds (plain data: the server lists kinds but never links a driver's code path),
/// the dispatcher and the results store.
pub(crate) fn app(store: Store, settings: &Settings, secrets: &Secrets, dispatcher: Arc<dyn Dispatcher>, results: ResultsStore) -> App {
    App::new(store, app_settings(settings, secrets))
        .with_catalog(dashi_runners::catalog())
        .with_dispatcher(dispatcher)
        .with_results(results)
}

/// What the worker role runs jobs with.
pub(crate) fn execution(settings: &Settings, secrets: &Secrets, dispatcher: Arc<dyn Dispatcher>, results: ResultsStore) -> Execution {
    let mut execution = Execution::new(dispatcher, results, OptionsCipher::new(secrets.secret_key.expose()));
    // Renewals happen every third of the lease; below a few seconds they would only load the
    // database.
    execution.lease_ttl = settings.job_lease_ttl.max(MIN_LEASE_TTL);
    execution.shutdown_grace = settings.worker_shutdown_grace;
    execution.notifications = notifications(settings);
    execution
}

/// How alert notifications leave: the mail settings (mail is off without a sender) and the
/// base URL of links.
fn notifications(settings: &Settings) -> Notifications {
    let mail = settings.mail_default_sender.clone().map(|sender| MailSettings {
        server: settings.mail_server.clone(),
        port: settings.mail_port,
        use_tls: settings.mail_use_tls,
        use_ssl: settings.mail_use_ssl,
        username: settings.mail_username.clone(),
        password: settings.mail_password.as_ref().map(|password| password.expose().to_owned()),
        sender,
    });
    Notifications {
        outbound: Outbound::new(mail, Endpoints::default())
            .expect("a rustls client with the ring provider and bundled roots always builds"),
        base_url: settings.base_url.clone().unwrap_or_default(),
        ..Notifications::default()
    }
}

/// The shortest job lease a worker takes, whatever the setting says.
const MIN_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(3);

/// The application layer's settings.
pub(crate) fn app_settings(settings: &Settings, secrets: &Secrets) -> AppSettings {
    let mut app = AppSettings::with_secrets(secrets.secret_key.expose(), secrets.cookie_secret.expose());
    app.base_url = settings.base_url.clone();
    app.session_expiry = settings.session_expiry_time;
    app.remember_duration = settings.remember_cookie_duration;
    app.invitation_token_max_age = settings.invitation_token_max_age;
    app.password_login_enabled = settings.password_login_enabled;
    app.mail_configured = settings.mail_configured();
    app.google_login_enabled = settings.google_login_enabled();
    app.ldap_login_enabled = settings.ldap_login_enabled;
    app.formats = FormatDefaults {
        date_format: settings.date_format.clone(),
        time_format: settings.time_format.clone(),
        integer_format: settings.integer_format.clone(),
        float_format: settings.float_format.clone(),
        thousands_separator: settings.thousands_separator.clone(),
        decimal_separator: settings.decimal_separator.clone(),
        null_value: settings.null_value.clone(),
    };
    app.dashboard_refresh_intervals = settings.dashboard_refresh_intervals.clone();
    app.query_refresh_intervals = settings.query_refresh_intervals.clone();
    app.page_size = settings.page_size;
    app.page_size_options = settings.page_size_options.clone();
    app.blocked_domains = settings.blocked_domains.clone();
    app
}

/// The HTTP layer's settings; what no setting covers keeps the API's default.
pub(crate) fn api_settings(settings: &Settings) -> ApiSettings {
    ApiSettings {
        session_cookie_name: settings.session_cookie_name.clone(),
        cookies_secure: settings.cookies_secure,
        enforce_csrf: settings.enforce_csrf,
        login_throttle_count: settings.throttle_login_pattern.count,
        login_throttle_period: settings.throttle_login_pattern.period,
        max_body_bytes: settings.max_body_bytes,
        metrics_token: settings.metrics_token.as_ref().map(|token| token.expose().to_owned()),
        serve_web_ui: true,
        ..ApiSettings::default()
    }
}

pub(crate) fn worker_settings(settings: &Settings) -> WorkerSettings {
    WorkerSettings::new(settings.worker_queues.clone(), settings.worker_concurrency(), hostname())
}

pub(crate) fn scheduler_settings(settings: &Settings) -> SchedulerSettings {
    let days = |days: u64| (days > 0).then_some(days);
    let mut scheduler = SchedulerSettings::with_lease_ttl(hostname(), settings.scheduler_lease_ttl);
    scheduler.refresh_enabled = !settings.feature_disable_refresh_queries;
    scheduler.maintenance = MaintenanceSettings {
        schema_refresh_every: days(settings.schemas_refresh_schedule).map(|minutes| Duration::from_secs(minutes * 60)),
        events_retention_days: days(settings.events_retention_days),
        job_retention: days(settings.job_retention_days).map(|days| Duration::from_secs(days * 86_400)),
    };
    scheduler
}

/// This machine's name, for process ids; `localhost` if the system will not say.
pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The URL people open: the configured base URL, else the bound address (a wildcard address
/// shown as loopback, which is what works from the same machine).
pub(crate) fn public_url(settings: &Settings, bound: SocketAddr) -> String {
    if let Some(base_url) = &settings.base_url {
        return base_url.clone();
    }
    let mut address = bound;
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{address}")
}

#[cfg(test)]
mod tests {
    use dashi_config::Sources;

    use super::*;

    fn settings(env: &[(&str, &str)]) -> Settings {
        Settings::load(&Sources::from_env(env.iter().copied())).expect("settings load")
    }

    #[test]
    fn settings_reach_the_app_and_the_api() {
        let settings = settings(&[
            ("REDASH_SESSION_COOKIE_NAME", "redash_session"),
            ("REDASH_THROTTLE_LOGIN_PATTERN", "10/minute"),
            ("REDASH_DATE_FORMAT", "YYYY-MM-DD"),
            ("REDASH_MAIL_DEFAULT_SENDER", "bi@example.com"),
            ("REDASH_COOKIE_SECRET", "cookie"),
        ]);
        let secrets = settings.secrets().expect("secrets");
        let app = app_settings(&settings, &secrets);
        assert_eq!((app.secret_key.as_str(), app.cookie_secret.as_str()), ("cookie", "cookie"));
        assert_eq!(app.formats.date_format, "YYYY-MM-DD");
        assert!(app.mail_configured);
        let api = api_settings(&settings);
        assert_eq!(api.session_cookie_name, "redash_session");
        assert_eq!((api.login_throttle_count, api.login_throttle_period.as_secs()), (10, 60));
        assert!(api.enforce_csrf);
    }

    #[tokio::test]
    async fn a_results_bucket_setting_sends_results_to_that_bucket() {
        use dashi_core::{Column, ColumnType, OrgId, RowSink};

        let server = dashi_testkit::S3Server::start().await.expect("S3 server");
        server.create_bucket("team-results").await.expect("bucket");
        let data_dir = tempfile::tempdir().expect("data folder");
        let endpoint = server.endpoint();
        let settings = settings(&[
            ("DASHI_DATA_DIR", data_dir.path().to_str().expect("utf-8 path")),
            ("DASHI_RESULTS_S3_BUCKET", "team-results"),
            ("DASHI_RESULTS_S3_ENDPOINT", &endpoint),
            ("AWS_ACCESS_KEY_ID", "key"),
            ("DASHI_RESULTS_S3_SECRET_ACCESS_KEY", "secret"),
        ]);
        let results = results_store(&settings).expect("bucket store");
        let options = dashi_results::WriterOptions { inline_limit: 0, ..dashi_results::WriterOptions::default() };
        let mut writer = results.writer(OrgId(1), options);
        writer.columns(&[Column { name: "n".into(), friendly_name: "n".into(), column_type: ColumnType::Integer }]).expect("columns");
        writer.row(&[dashi_core::Cell::Int(7)]).expect("row");
        let stored = writer.finish().await.expect("stored");
        let dashi_results::Storage::Object { location } = stored.storage else { panic!("not inline: {:?}", stored.storage) };
        assert_eq!(server.list_keys("team-results").await.expect("list"), vec![location]);
        assert!(!data_dir.path().join("results").exists(), "no results folder when a bucket is set");
    }

    #[test]
    fn wildcard_binds_are_shown_as_loopback() {
        let settings = settings(&[]);
        let url = public_url(&settings, "0.0.0.0:5000".parse().expect("address"));
        assert_eq!(url, "http://127.0.0.1:5000");
        let settings = self::settings(&[("DASHI_BASE_URL", "https://bi.example.com")]);
        assert_eq!(public_url(&settings, "0.0.0.0:5000".parse().expect("address")), "https://bi.example.com");
    }
}
