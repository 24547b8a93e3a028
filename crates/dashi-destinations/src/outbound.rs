//! What every delivery shares: one HTTP client, the SMTP settings and the addresses of the
//! services whose endpoint is fixed (ChatWork, Asana, Webex, Datadog, PagerDuty).

use std::sync::Arc;
use std::time::Duration;

use crate::Error;

/// How alert e-mail leaves (Redash's `MAIL_*` settings).
#[derive(Clone)]
pub struct MailSettings {
    pub server: String,
    pub port: u16,
    /// STARTTLS.
    pub use_tls: bool,
    /// Implicit TLS (SMTPS).
    pub use_ssl: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The From address.
    pub sender: String,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("server", &self.server)
            .field("port", &self.port)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// Base URLs of the services Redash posts to at a fixed address. Operators behind a proxy, a
/// Datadog site other than US1 (Redash's `DATADOG_HOST`) and tests point them elsewhere.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Messages go to `{chatwork}/rooms/<room_id>/messages`.
    pub chatwork: String,
    /// Tasks go to `{asana}/tasks`.
    pub asana: String,
    /// Messages go to `{webex}/messages`.
    pub webex: String,
    /// Events go to `{datadog}/api/v1/events`.
    pub datadog: String,
    /// Events API v2: `{pagerduty}/v2/enqueue`.
    pub pagerduty: String,
}

impl Default for Endpoints {
    fn default() -> Endpoints {
        Endpoints {
            chatwork: "https://api.chatwork.com/v2".into(),
            asana: "https://app.asana.com/api/1.0".into(),
            webex: "https://webexapis.com/v1".into(),
            datadog: "https://api.datadoghq.com".into(),
            pagerduty: "https://events.pagerduty.com".into(),
        }
    }
}

/// The shared parts of delivery. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Outbound {
    pub(crate) http: reqwest::Client,
    pub(crate) mail: Option<MailSettings>,
    pub(crate) endpoints: Endpoints,
}

/// Redash gives every service call 5 seconds.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

impl Outbound {
    /// Mail is off when `mail` is `None` (e-mail deliveries then fail without retry).
    pub fn new(mail: Option<MailSettings>, endpoints: Endpoints) -> Result<Outbound, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| Error::Options(format!("TLS setup: {error}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("dashi/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| Error::Options(format!("HTTP client: {error}")))?;
        Ok(Outbound { http, mail, endpoints })
    }
}
