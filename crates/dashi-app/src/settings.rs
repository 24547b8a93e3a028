//! What the use cases need to know about the deployment, handed in by the binary.

use std::time::Duration;

/// Settings of the application layer; built by the binary from `dashi-config`.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Key for data-source and destination options at rest (Redash's `REDASH_SECRET_KEY`).
    pub secret_key: String,
    /// Key that signs invite and password-reset links (Redash's `REDASH_COOKIE_SECRET`).
    pub cookie_secret: String,
    /// External base URL (`https://dashi.example.com`), used in links we hand out.
    pub base_url: Option<String>,
    /// Idle lifetime of a login session.
    pub session_expiry: Duration,
    /// Lifetime of a session whose user ticked "remember me".
    pub remember_duration: Duration,
    /// How long invite and reset links stay valid.
    pub invitation_token_max_age: Duration,
    /// Default of the org setting `auth_password_login_enabled`.
    pub password_login_enabled: bool,
    /// Whether outgoing mail is configured (`mailSettingsMissing` is its negation).
    pub mail_configured: bool,
    /// Whether Google login is configured (client id and secret both set).
    pub google_login_enabled: bool,
    /// Whether LDAP login is configured.
    pub ldap_login_enabled: bool,
    /// Org-level display defaults; they become the org settings' defaults.
    pub formats: FormatDefaults,
    /// Choices offered for dashboard auto-refresh, in seconds.
    pub dashboard_refresh_intervals: Vec<u64>,
    /// Choices offered for query schedules, in seconds.
    pub query_refresh_intervals: Vec<u64>,
    /// Rows per page of the table visualization, and the choices offered.
    pub page_size: u64,
    pub page_size_options: Vec<u64>,
    /// Domains refused when inviting users.
    pub blocked_domains: Vec<String>,
}

/// Redash's format settings (`REDASH_DATE_FORMAT` and friends), with Redash's defaults.
#[derive(Debug, Clone)]
pub struct FormatDefaults {
    pub date_format: String,
    pub time_format: String,
    pub integer_format: String,
    pub float_format: String,
    pub thousands_separator: String,
    pub decimal_separator: String,
    pub null_value: String,
}

impl Default for FormatDefaults {
    fn default() -> FormatDefaults {
        FormatDefaults {
            date_format: "DD/MM/YY".into(),
            time_format: "HH:mm".into(),
            integer_format: "0,0".into(),
            float_format: "0,0.00".into(),
            thousands_separator: ",".into(),
            decimal_separator: ".".into(),
            null_value: "null".into(),
        }
    }
}

impl AppSettings {
    /// Redash's defaults with the given secrets; tests and the binary start from here.
    pub fn with_secrets(secret_key: impl Into<String>, cookie_secret: impl Into<String>) -> AppSettings {
        AppSettings {
            secret_key: secret_key.into(),
            cookie_secret: cookie_secret.into(),
            base_url: None,
            session_expiry: Duration::from_secs(21_600),
            remember_duration: Duration::from_secs(2_678_400),
            invitation_token_max_age: Duration::from_secs(604_800),
            password_login_enabled: true,
            mail_configured: false,
            google_login_enabled: false,
            ldap_login_enabled: false,
            formats: FormatDefaults::default(),
            dashboard_refresh_intervals: vec![60, 300, 600, 1800, 3600, 43_200, 86_400],
            query_refresh_intervals: vec![
                60, 300, 600, 900, 1800, 3600, 7200, 10_800, 14_400, 18_000, 21_600, 25_200,
                28_800, 32_400, 36_000, 39_600, 43_200, 86_400, 604_800, 1_209_600, 2_592_000,
            ],
            page_size: 20,
            page_size_options: vec![5, 10, 20, 50, 100],
            blocked_domains: vec!["qq.com".into()],
        }
    }
}
