//! The settings table: every setting once, with its names, default, parser and meaning.
//!
//! The [`settings!`] invocation below is the single source of truth: it declares the fields of
//! [`Settings`] (with their doc comments), the [`SPECS`] table that drives `dashi settings`,
//! `dashi --help` and the README, and the loader that fills the struct. Adding a setting is adding
//! an entry here; the README test then asks for the regenerated table.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use dashi_core::Queue;

use crate::error::Error;
use crate::source::{FileValues, Origin, Sources};
use crate::value::{self, LogFormat, LogLevel, Rate, Secret, ServiceUrl, Show};

/// One row of the settings table.
#[derive(Debug)]
pub struct Spec {
    /// The TOML key, also the name flags refer to (`bind`).
    pub key: &'static str,
    /// Environment names in precedence order: the `DASHI_*` name first, then Redash's aliases.
    pub env: &'static [&'static str],
    /// The raw default fed to the parser; empty means "not set".
    pub default: &'static str,
    /// The default as the documentation shows it.
    pub shown_default: &'static str,
    /// The field's doc comment, one entry per line.
    pub doc: &'static [&'static str],
}

impl Spec {
    /// The doc comment as one paragraph.
    pub fn meaning(&self) -> String {
        self.doc.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ")
    }
}

macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty = $default:literal $(($shown:literal))?,
            parse $parse:expr, env [$($env:literal),+ $(,)?];
    )+) => {
        /// Every setting of every role, loaded and validated once at start.
        ///
        /// Load it with [`Settings::load`]; hand each crate only the part it needs.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
            origins: BTreeMap<&'static str, Origin>,
            warnings: Vec<String>,
        }

        /// The settings table, in the order of [`Settings`]' fields.
        pub static SPECS: &[Spec] = &[$(
            Spec {
                key: stringify!($field),
                env: &[$($env),+],
                default: $default,
                shown_default: settings!(@shown $default $(, $shown)?),
                doc: &[$($doc),+],
            },
        )+];

        impl Settings {
            /// Loads every setting from `sources` over the defaults. Every bad value is reported,
            /// each naming the variable, flag or file key it came from.
            pub fn load(sources: &Sources) -> Result<Settings, Error> {
                let mut problems = sources.unknown_flags(SPECS);
                let file = match sources.config_file() {
                    Some(path) => FileValues::read(&path, SPECS, &mut problems),
                    None => FileValues::default(),
                };
                let mut origins = BTreeMap::new();
                let mut specs = SPECS.iter();
                $(
                    let spec = specs.next().expect("SPECS has one entry per field");
                    let (raw, origin) = sources.raw(spec, &file).unwrap_or((spec.default, Origin::Default));
                    let $field = match ($parse)(raw) {
                        Ok(parsed) => Some(parsed),
                        Err(message) => {
                            problems.push(format!("{}: {message}", origin.label(spec)));
                            None
                        }
                    };
                    origins.insert(spec.key, origin);
                )+
                match ($($field,)+) {
                    ($(Some($field),)+) if problems.is_empty() => Ok(Settings {
                        $($field,)+
                        origins,
                        warnings: sources.unknown_env(SPECS),
                    }),
                    _ => Err(Error::new(problems)),
                }
            }

            /// The current value of the setting `key`, as `dashi settings` prints it (secrets and
            /// URL passwords masked); `None` for an unknown key.
            pub fn shown_value(&self, key: &str) -> Option<String> {
                match key {
                    $( stringify!($field) => Some(Show::show(&self.$field)), )+
                    _ => None,
                }
            }
        }
    };
    (@shown $default:literal) => { $default };
    (@shown $default:literal, $shown:literal) => { $shown };
}

settings! {
    /// Folder for the embedded database, the lock file and the generated secret.
    data_dir: PathBuf = "./dashi-data", parse value::path, env ["DASHI_DATA_DIR"];

    /// Address the HTTP server listens on.
    bind: SocketAddr = "127.0.0.1:5000", parse value::socket_address, env ["DASHI_BIND"];

    /// Metadata database: `postgres://…` (distributed mode) or `sqlite:<path>`.
    database_url: Option<ServiceUrl> = "" ("sqlite:$DASHI_DATA_DIR/dashi.db"),
        parse value::optional(value::database_url),
        env ["DASHI_DATABASE_URL", "REDASH_DATABASE_URL", "DATABASE_URL"];

    /// Redis for the job queue (`redis://` or `rediss://`); unset means an in-process queue.
    redis_url: Option<ServiceUrl> = "" ("none (in-process queue)"),
        parse value::optional(value::redis_url),
        env ["DASHI_REDIS_URL", "REDASH_REDIS_URL", "REDIS_URL"];

    /// Key that encrypts data-source and destination options at rest; defaults to the cookie
    /// secret, as in Redash.
    secret_key: Option<Secret> = "" ("the cookie secret"),
        parse value::optional(value::secret), env ["DASHI_SECRET_KEY", "REDASH_SECRET_KEY"];

    /// Key that signs sessions, CSRF tokens and invite links. With neither secret set, the
    /// embedded mode generates one in the data folder; distributed mode refuses to start.
    cookie_secret: Option<Secret> = "" ("the secret key, else generated in the data folder"),
        parse value::optional(value::secret), env ["DASHI_COOKIE_SECRET", "REDASH_COOKIE_SECRET"];

    /// Public URL of this Dashi, used in links sent by e-mail and alerts.
    base_url: Option<String> = "" ("none (from the request)"),
        parse value::optional(value::base_url), env ["DASHI_BASE_URL", "REDASH_HOST"];

    /// Folder for query results when no bucket is set. Every server and worker must see the same
    /// folder, so a fleet on several machines needs a shared mount or a bucket.
    results_folder: Option<PathBuf> = "" ("$DASHI_DATA_DIR/results"),
        parse value::optional(value::path), env ["DASHI_RESULTS_FOLDER"];

    /// S3-compatible bucket for query results (AWS S3, MinIO, R2, …); set, it replaces the folder.
    results_s3_bucket: Option<String> = "" ("none (results in the folder)"),
        parse value::optional(value::text), env ["DASHI_RESULTS_S3_BUCKET"];

    /// Region of the results bucket.
    results_s3_region: String = "us-east-1", parse value::text, env ["DASHI_RESULTS_S3_REGION", "AWS_REGION"];

    /// Endpoint of a non-AWS S3 service, e.g. `http://minio:9000` (path-style requests; `http://`
    /// is allowed only when given here).
    results_s3_endpoint: Option<String> = "" ("AWS"),
        parse value::optional(value::text), env ["DASHI_RESULTS_S3_ENDPOINT"];

    /// Access key of the results bucket; unset means the role of the machine (instance metadata).
    results_s3_access_key_id: Option<String> = "" ("none (the machine's role)"),
        parse value::optional(value::text), env ["DASHI_RESULTS_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"];

    /// Secret key of the results bucket.
    results_s3_secret_access_key: Option<Secret> = "" ("none (the machine's role)"),
        parse value::optional(value::secret),
        env ["DASHI_RESULTS_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"];

    /// Log level: error, warn, info, debug or trace.
    log_level: LogLevel = "info", parse value::log_level, env ["DASHI_LOG_LEVEL", "REDASH_LOG_LEVEL"];

    /// Log line format: `text` or `json`.
    log_format: LogFormat = "text", parse value::log_format, env ["DASHI_LOG_FORMAT"];

    /// Seconds a login session lives without activity.
    session_expiry_time: Duration = "21600", parse value::seconds,
        env ["DASHI_SESSION_EXPIRY_TIME", "REDASH_SESSION_EXPIRY_TIME"];

    /// Name of the session cookie.
    session_cookie_name: String = "session", parse value::cookie_name,
        env ["DASHI_SESSION_COOKIE_NAME", "REDASH_SESSION_COOKIE_NAME"];

    /// Seconds a "remember me" session lives.
    remember_cookie_duration: Duration = "2678400", parse value::seconds,
        env ["DASHI_REMEMBER_COOKIE_DURATION", "REDASH_REMEMBER_COOKIE_DURATION"];

    /// Always set the `Secure` flag on cookies (turn on behind an HTTPS proxy).
    cookies_secure: bool = "false", parse value::boolean,
        env ["DASHI_COOKIES_SECURE", "REDASH_COOKIES_SECURE", "REDASH_SESSION_COOKIE_SECURE"];

    /// Require the CSRF token on cookie-authenticated writes (API keys are exempt). Redash
    /// defaults to off; Dashi to on.
    enforce_csrf: bool = "true", parse value::boolean, env ["DASHI_ENFORCE_CSRF", "REDASH_ENFORCE_CSRF"];

    /// Seconds an invitation or password-reset link stays valid.
    invitation_token_max_age: Duration = "604800", parse value::seconds,
        env ["DASHI_INVITATION_TOKEN_MAX_AGE", "REDASH_INVITATION_TOKEN_MAX_AGE"];

    /// Login attempts allowed per client address: `N/second`, `N/minute`, `N/hour` or `N/day`.
    throttle_login_pattern: Rate = "50/hour", parse value::rate,
        env ["DASHI_THROTTLE_LOGIN_PATTERN", "REDASH_THROTTLE_LOGIN_PATTERN"];

    /// Default of the org setting that allows e-mail and password login.
    password_login_enabled: bool = "true", parse value::boolean,
        env ["DASHI_PASSWORD_LOGIN_ENABLED", "REDASH_PASSWORD_LOGIN_ENABLED"];

    /// SMTP server for outgoing mail.
    mail_server: String = "localhost", parse value::text, env ["DASHI_MAIL_SERVER", "REDASH_MAIL_SERVER"];

    /// SMTP port.
    mail_port: u16 = "25", parse value::port, env ["DASHI_MAIL_PORT", "REDASH_MAIL_PORT"];

    /// Use STARTTLS with the SMTP server.
    mail_use_tls: bool = "false", parse value::boolean, env ["DASHI_MAIL_USE_TLS", "REDASH_MAIL_USE_TLS"];

    /// Use implicit TLS (SMTPS) with the SMTP server.
    mail_use_ssl: bool = "false", parse value::boolean, env ["DASHI_MAIL_USE_SSL", "REDASH_MAIL_USE_SSL"];

    /// SMTP user name.
    mail_username: Option<String> = "" ("none"),
        parse value::optional(value::text), env ["DASHI_MAIL_USERNAME", "REDASH_MAIL_USERNAME"];

    /// SMTP password.
    mail_password: Option<Secret> = "" ("none"),
        parse value::optional(value::secret), env ["DASHI_MAIL_PASSWORD", "REDASH_MAIL_PASSWORD"];

    /// Sender address of outgoing mail; mail is configured if and only if this is set.
    mail_default_sender: Option<String> = "" ("none (mail off)"),
        parse value::optional(value::text), env ["DASHI_MAIL_DEFAULT_SENDER", "REDASH_MAIL_DEFAULT_SENDER"];

    /// Google OAuth client id; Google login is on when both id and secret are set.
    google_client_id: Option<String> = "" ("none"),
        parse value::optional(value::text), env ["DASHI_GOOGLE_CLIENT_ID", "REDASH_GOOGLE_CLIENT_ID"];

    /// Google OAuth client secret.
    google_client_secret: Option<Secret> = "" ("none"),
        parse value::optional(value::secret),
        env ["DASHI_GOOGLE_CLIENT_SECRET", "REDASH_GOOGLE_CLIENT_SECRET"];

    /// Offer LDAP login.
    ldap_login_enabled: bool = "false", parse value::boolean,
        env ["DASHI_LDAP_LOGIN_ENABLED", "REDASH_LDAP_LOGIN_ENABLED"];

    /// Default date format of new orgs.
    date_format: String = "DD/MM/YY", parse value::text, env ["DASHI_DATE_FORMAT", "REDASH_DATE_FORMAT"];

    /// Default time format of new orgs.
    time_format: String = "HH:mm", parse value::text, env ["DASHI_TIME_FORMAT", "REDASH_TIME_FORMAT"];

    /// Default integer format of new orgs.
    integer_format: String = "0,0", parse value::text, env ["DASHI_INTEGER_FORMAT", "REDASH_INTEGER_FORMAT"];

    /// Default float format of new orgs.
    float_format: String = "0,0.00", parse value::text, env ["DASHI_FLOAT_FORMAT", "REDASH_FLOAT_FORMAT"];

    /// Default thousands separator of new orgs.
    thousands_separator: String = ",", parse value::text,
        env ["DASHI_THOUSANDS_SEPARATOR", "REDASH_THOUSANDS_SEPARATOR"];

    /// Default decimal separator of new orgs.
    decimal_separator: String = ".", parse value::text,
        env ["DASHI_DECIMAL_SEPARATOR", "REDASH_DECIMAL_SEPARATOR"];

    /// How new orgs display a null value.
    null_value: String = "null", parse value::text, env ["DASHI_NULL_VALUE", "REDASH_NULL_VALUE"];

    /// Auto-refresh choices offered on dashboards, in seconds.
    dashboard_refresh_intervals: Vec<u64> = "60,300,600,1800,3600,43200,86400",
        parse value::number_list,
        env ["DASHI_DASHBOARD_REFRESH_INTERVALS", "REDASH_DASHBOARD_REFRESH_INTERVALS"];

    /// Schedule choices offered for queries, in seconds.
    query_refresh_intervals: Vec<u64> =
        "60,300,600,900,1800,3600,7200,10800,14400,18000,21600,25200,28800,32400,36000,39600,43200,86400,604800,1209600,2592000",
        parse value::number_list,
        env ["DASHI_QUERY_REFRESH_INTERVALS", "REDASH_QUERY_REFRESH_INTERVALS"];

    /// Rows per page of the table visualization.
    page_size: u64 = "20", parse value::positive_u64, env ["DASHI_PAGE_SIZE", "REDASH_PAGE_SIZE"];

    /// Page sizes offered by the table visualization.
    page_size_options: Vec<u64> = "5,10,20,50,100", parse value::number_list,
        env ["DASHI_PAGE_SIZE_OPTIONS", "REDASH_PAGE_SIZE_OPTIONS"];

    /// E-mail domains that may not be invited, comma-separated.
    blocked_domains: Vec<String> = "qq.com", parse value::word_list,
        env ["DASHI_BLOCKED_DOMAINS", "REDASH_BLOCKED_DOMAINS"];

    /// Largest request body the server accepts, in bytes.
    max_body_bytes: usize = "16777216", parse value::positive_usize, env ["DASHI_MAX_BODY_BYTES"];

    /// Connections per process to the metadata database.
    db_pool_size: u32 = "10", parse value::positive_u32, env ["DASHI_DB_POOL_SIZE"];

    /// Queues a worker takes jobs from: `all`, or a comma-separated list of adhoc, scheduled,
    /// notifications, maintenance, schemas (Redash's queue names are accepted).
    worker_queues: Vec<Queue> = "all", parse value::queue_list, env ["DASHI_WORKER_QUEUES"];

    /// Jobs a worker runs at once.
    worker_concurrency: Option<usize> = "" ("number of CPU cores"),
        parse value::optional(value::positive_usize), env ["DASHI_WORKER_CONCURRENCY"];

    /// Seconds a stopping worker lets running jobs finish before handing them back to the queue.
    worker_shutdown_grace: Duration = "30", parse value::seconds, env ["DASHI_WORKER_SHUTDOWN_GRACE"];

    /// Seconds a worker's claim on a job lasts without renewal (renewed every third of it): how
    /// soon the job of a killed worker is retried.
    job_lease_ttl: Duration = "10", parse value::seconds, env ["DASHI_JOB_LEASE_TTL"];

    /// Address where `dashi`, `dashi worker` and `dashi scheduler` answer `/ping` and `/health`.
    health_bind: Option<SocketAddr> = "" ("none (no health listener)"),
        parse value::optional(value::socket_address), env ["DASHI_HEALTH_BIND"];

    /// Seconds the scheduler's leader lease lasts without renewal (renewed every third of it):
    /// how soon a standby scheduler takes over from one that died.
    scheduler_lease_ttl: Duration = "15", parse value::seconds, env ["DASHI_SCHEDULER_LEASE_TTL"];

    /// Turn off scheduled query refreshes (maintenance still runs).
    feature_disable_refresh_queries: bool = "false", parse value::boolean,
        env ["DASHI_FEATURE_DISABLE_REFRESH_QUERIES", "REDASH_FEATURE_DISABLE_REFRESH_QUERIES"];

    /// Minutes between refreshes of every data source's schema; 0 turns them off.
    schemas_refresh_schedule: u64 = "30", parse value::whole_u64,
        env ["DASHI_SCHEMAS_REFRESH_SCHEDULE", "REDASH_SCHEMAS_REFRESH_SCHEDULE"];

    /// Days audit events are kept; 0 keeps them forever. Redash keeps them forever.
    events_retention_days: u64 = "90", parse value::whole_u64, env ["DASHI_EVENTS_RETENTION_DAYS"];

    /// Days finished jobs stay in the job ledger (and on `/api/jobs/<id>`); 0 keeps them forever.
    job_retention_days: u64 = "7", parse value::whole_u64, env ["DASHI_JOB_RETENTION_DAYS"];

    /// Token that lets a scraper read `/metrics` with `Authorization: Bearer <token>`; without
    /// it `/metrics` needs an admin's session or API key, like `/status.json`.
    metrics_token: Option<Secret> = "" ("none (admins only)"),
        parse value::optional(value::secret), env ["DASHI_METRICS_TOKEN"];
}

impl Settings {
    /// Where the value of `key` came from; `None` for an unknown key.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// Things worth a warning that did not stop loading (a misspelt `DASHI_*` variable).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The metadata database: the configured URL, else SQLite in the data folder.
    pub fn database_url(&self) -> ServiceUrl {
        match &self.database_url {
            Some(url) => url.clone(),
            None => {
                let path = self.data_dir.join("dashi.db");
                value::database_url(&format!("sqlite:{}", path.display()))
                    .expect("a sqlite: URL is always accepted")
            }
        }
    }

    /// True when the metadata database is PostgreSQL: several machines may share it, so nothing
    /// may be kept only in the local data folder.
    pub fn is_distributed(&self) -> bool {
        self.database_url().is_postgres()
    }

    /// Whether outgoing mail is configured (Redash: iff a default sender is set).
    pub fn mail_configured(&self) -> bool {
        self.mail_default_sender.is_some()
    }

    /// Whether Google login is configured (both client id and secret).
    pub fn google_login_enabled(&self) -> bool {
        self.google_client_id.is_some() && self.google_client_secret.is_some()
    }

    /// Jobs a worker runs at once: the setting, else the number of CPU cores.
    pub fn worker_concurrency(&self) -> usize {
        self.worker_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map(usize::from).unwrap_or(1))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<Settings, Error> {
        Settings::load(&Sources::from_env(env.iter().copied()))
    }

    fn loaded(env: &[(&str, &str)]) -> Settings {
        load(env).expect("settings load")
    }

    fn problems(env: &[(&str, &str)]) -> String {
        load(env).expect_err("settings must be rejected").to_string()
    }

    #[test]
    fn defaults_apply_with_an_empty_environment() {
        let settings = loaded(&[]);
        assert_eq!(settings.data_dir, PathBuf::from("./dashi-data"));
        assert_eq!(settings.bind.to_string(), "127.0.0.1:5000");
        assert_eq!(settings.database_url().expose(), "sqlite:./dashi-data/dashi.db");
        assert!(!settings.is_distributed());
        assert_eq!(settings.redis_url, None);
        assert_eq!(settings.log_level, LogLevel::Info);
        assert_eq!(settings.session_expiry_time, Duration::from_secs(21_600));
        assert!(settings.enforce_csrf);
        assert_eq!(settings.throttle_login_pattern, Rate { count: 50, period: Duration::from_secs(3600) });
        assert_eq!(settings.worker_queues, Queue::ALL.to_vec());
        assert_eq!(settings.blocked_domains, vec!["qq.com".to_owned()]);
        assert!(!settings.mail_configured());
        assert!(settings.worker_concurrency() >= 1);
        assert_eq!(settings.origin("bind"), Some(&Origin::Default));
    }

    #[test]
    fn every_default_parses_and_every_key_follows_its_env_name() {
        let settings = loaded(&[]);
        for spec in SPECS {
            let expected_key = spec.env[0].strip_prefix("DASHI_").map(str::to_ascii_lowercase);
            assert_eq!(Some(spec.key.to_owned()), expected_key, "{}", spec.env[0]);
            assert!(settings.shown_value(spec.key).is_some(), "{}", spec.key);
            assert!(!spec.meaning().is_empty(), "{}", spec.key);
        }
    }

    #[test]
    fn redash_aliases_fill_settings() {
        let settings = loaded(&[
            ("REDASH_DATABASE_URL", "postgresql://redash:pw@db/redash"),
            ("REDASH_REDIS_URL", "redis://cache:6379/0"),
            ("REDASH_COOKIE_SECRET", "cookie"),
            ("REDASH_HOST", "https://bi.example.com/"),
            ("REDASH_LOG_LEVEL", "WARNING"),
            ("REDASH_ENFORCE_CSRF", "no"),
            ("REDASH_MAIL_DEFAULT_SENDER", "bi@example.com"),
            ("REDASH_GOOGLE_CLIENT_ID", "id"),
            ("REDASH_GOOGLE_CLIENT_SECRET", "secret"),
            ("REDASH_THROTTLE_LOGIN_PATTERN", "10/minute"),
        ]);
        assert!(settings.is_distributed());
        assert_eq!(settings.redis_url.as_ref().map(ServiceUrl::expose), Some("redis://cache:6379/0"));
        assert_eq!(settings.cookie_secret.as_ref().map(Secret::expose), Some("cookie"));
        assert_eq!(settings.base_url.as_deref(), Some("https://bi.example.com"));
        assert_eq!(settings.log_level, LogLevel::Warn);
        assert!(!settings.enforce_csrf);
        assert!(settings.mail_configured());
        assert!(settings.google_login_enabled());
        assert_eq!(settings.throttle_login_pattern.count, 10);
        assert_eq!(settings.origin("base_url"), Some(&Origin::Env("REDASH_HOST")));
    }

    #[test]
    fn dashi_names_beat_redash_names_and_redash_beats_generic_names() {
        let settings = loaded(&[
            ("DATABASE_URL", "postgres://generic/db"),
            ("REDASH_DATABASE_URL", "postgres://redash/db"),
            ("DASHI_DATABASE_URL", "sqlite:/tmp/dashi.db"),
            ("REDIS_URL", "redis://generic"),
            ("REDASH_REDIS_URL", "redis://redash"),
        ]);
        assert_eq!(settings.database_url().expose(), "sqlite:/tmp/dashi.db");
        assert_eq!(settings.redis_url.as_ref().map(ServiceUrl::expose), Some("redis://redash"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let settings = loaded(&[("DASHI_BASE_URL", ""), ("REDASH_HOST", "https://bi.example.com")]);
        assert_eq!(settings.base_url.as_deref(), Some("https://bi.example.com"));
    }

    #[test]
    fn flags_beat_env_and_env_beats_the_file() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("dashi.toml");
        let mut file = std::fs::File::create(&path).expect("create config file");
        writeln!(
            file,
            "bind = \"0.0.0.0:8000\"\nlog_format = \"json\"\nmail_port = 587\n\
             enforce_csrf = false\npage_size_options = [10, 25]"
        )
        .expect("write config file");
        let sources = Sources::from_env([("DASHI_LOG_FORMAT", "text"), ("DASHI_MAIL_PORT", "2525")])
            .with_config_file(&path)
            .with_flag("mail_port", "--mail-port", "465");
        let settings = Settings::load(&sources).expect("settings load");
        assert_eq!(settings.bind.to_string(), "0.0.0.0:8000");
        assert_eq!(settings.origin("bind"), Some(&Origin::File(path.clone())));
        assert_eq!(settings.log_format, LogFormat::Text);
        assert_eq!(settings.mail_port, 465);
        assert_eq!(settings.origin("mail_port"), Some(&Origin::Flag("--mail-port")));
        assert!(!settings.enforce_csrf);
        assert_eq!(settings.page_size_options, vec![10, 25]);
    }

    #[test]
    fn the_config_file_may_come_from_dashi_config() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("dashi.toml");
        std::fs::write(&path, "data_dir = \"/srv/dashi\"\n").expect("write config file");
        let path_text = path.display().to_string();
        let settings = loaded(&[("DASHI_CONFIG", &path_text)]);
        assert_eq!(settings.data_dir, PathBuf::from("/srv/dashi"));
    }

    #[test]
    fn bad_values_name_the_setting_they_came_from() {
        assert_eq!(
            problems(&[("DASHI_BIND", "x")]),
            "DASHI_BIND: invalid socket address \"x\" (expected IP:PORT, e.g. 127.0.0.1:5000)"
        );
        assert!(problems(&[("REDASH_COOKIES_SECURE", "maybe")]).starts_with("REDASH_COOKIES_SECURE: "));
        assert!(problems(&[("DASHI_REDIS_URL", "http://cache")]).starts_with("DASHI_REDIS_URL: "));
        assert!(problems(&[("DATABASE_URL", "mysql://db")]).starts_with("DATABASE_URL: "));
        assert!(problems(&[("DASHI_WORKER_QUEUES", "adhoc,celery")]).contains("unknown queue \"celery\""));
        let both = problems(&[("DASHI_BIND", "x"), ("DASHI_PAGE_SIZE", "0")]);
        assert!(both.contains("DASHI_BIND: ") && both.contains("DASHI_PAGE_SIZE: "), "{both}");
        let flagged = Settings::load(&Sources::default().with_flag("bind", "--bind", "nope"))
            .expect_err("bad flag");
        assert!(flagged.to_string().starts_with("--bind: "), "{flagged}");
    }

    #[test]
    fn bad_config_files_are_errors() {
        let directory = tempfile::tempdir().expect("temp dir");
        let path = directory.path().join("dashi.toml");
        std::fs::write(&path, "bnid = \"0.0.0.0:1\"\nbind = \"x\"\n").expect("write config file");
        let error = Settings::load(&Sources::default().with_config_file(&path)).expect_err("rejected");
        let message = error.to_string();
        assert!(message.contains("unknown setting \"bnid\""), "{message}");
        assert!(message.contains(&format!("bind (in {}): invalid socket address", path.display())), "{message}");
        let missing = directory.path().join("missing.toml");
        let error = Settings::load(&Sources::default().with_config_file(&missing)).expect_err("rejected");
        assert!(error.to_string().contains("cannot read it"), "{error}");
    }

    #[test]
    fn misspelt_dashi_variables_are_warned_about() {
        let settings = loaded(&[("DASHI_BNID", "x"), ("DASHI_TEST_POSTGRES_URL", "postgres://x")]);
        assert_eq!(settings.warnings(), ["DASHI_BNID is not a Dashi setting and was ignored"]);
    }

    #[test]
    fn secrets_and_url_passwords_are_masked() {
        let settings = loaded(&[
            ("DASHI_SECRET_KEY", "hunter2"),
            ("DASHI_DATABASE_URL", "postgres://dashi:hunter2@db/dashi"),
        ]);
        assert_eq!(settings.shown_value("secret_key").as_deref(), Some("***"));
        assert_eq!(settings.shown_value("database_url").as_deref(), Some("postgres://dashi:***@db/dashi"));
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
