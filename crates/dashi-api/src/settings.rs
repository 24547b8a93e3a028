//! HTTP-level settings: cookies, CSRF, throttles and limits.

use std::time::Duration;

/// Settings of the HTTP layer; built by the binary from `dashi-config`.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Name of the session cookie (Redash's `REDASH_SESSION_COOKIE_NAME`, default `session`).
    pub session_cookie_name: String,
    /// Force the `Secure` cookie flag even when the request did not arrive over HTTPS.
    pub cookies_secure: bool,
    /// Require the CSRF token on cookie-authenticated writes (API keys are exempt).
    pub enforce_csrf: bool,
    /// Failed-or-not login attempts allowed per client address within `login_throttle_period`.
    pub login_throttle_count: u32,
    pub login_throttle_period: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a request that waits for a worker (connection test) waits before answering.
    pub job_wait: Duration,
    /// Bearer token that lets a scraper read `/metrics` without an admin's credentials.
    pub metrics_token: Option<String>,
    /// Serve the web UI built into the binary (read from `web/dist` in debug builds). Off by
    /// default so that router tests answer the same whether or not a UI was built on disk; the
    /// binary turns it on.
    pub serve_web_ui: bool,
}

impl Default for ApiSettings {
    fn default() -> ApiSettings {
        ApiSettings {
            session_cookie_name: "session".into(),
            cookies_secure: false,
            enforce_csrf: true,
            login_throttle_count: 50,
            login_throttle_period: Duration::from_secs(3600),
            max_body_bytes: 16 * 1024 * 1024,
            job_wait: Duration::from_secs(30),
            metrics_token: None,
            serve_web_ui: false,
        }
    }
}
