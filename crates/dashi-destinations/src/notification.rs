//! What one state change of one alert says, rendered before delivery and stored in the outbox.
//!
//! The outbox keeps it as JSON, so its fields are a storage format: add fields with defaults,
//! never rename.

use serde::{Deserialize, Serialize};

/// A rendered notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub alert_id: i64,
    pub alert_name: String,
    pub query_id: i64,
    pub query_name: String,
    pub query_text: String,
    /// The state the alert moved to: `ok`, `triggered` or `unknown`.
    pub state: String,
    /// The alert's `custom_subject` rendered (Mustache, HTML-escaped); `None` when unset or
    /// rendered empty (Redash treats both as "not set").
    #[serde(default)]
    pub custom_subject: Option<String>,
    /// The alert's `custom_body` (or legacy `template`), rendered likewise.
    #[serde(default)]
    pub custom_body: Option<String>,
    /// The default e-mail body ([`crate::DEFAULT_MAIL_BODY_TEMPLATE`]) rendered for this change.
    #[serde(default)]
    pub mail_body: String,
    /// The public base URL links start with (Redash's `host`); may be empty.
    #[serde(default)]
    pub host: String,
    /// Redash's short alert dict as it was at the change (what webhooks receive).
    #[serde(default)]
    pub alert: serde_json::Value,
    /// What caused the evaluation (Redash's execution metadata).
    #[serde(default)]
    pub metadata: serde_json::Value,
}

impl Notification {
    pub fn alert_url(&self) -> String {
        format!("{}/alerts/{}", self.host, self.alert_id)
    }

    pub fn query_url(&self) -> String {
        format!("{}/queries/{}", self.host, self.query_id)
    }

    pub fn is_triggered(&self) -> bool {
        self.state == "triggered"
    }

    /// The one-line text most chat services lead with: the custom subject when triggered (Redash
    /// uses it only then), else "<name> just triggered" / "<name> went back to normal".
    pub(crate) fn headline(&self) -> String {
        match (&self.custom_subject, self.is_triggered()) {
            (Some(subject), true) => subject.clone(),
            (None, true) => format!("{} just triggered", self.alert_name),
            (_, false) => format!("{} went back to normal", self.alert_name),
        }
    }
}
