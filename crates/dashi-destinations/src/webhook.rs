//! Webhook: the alert's state change as JSON to any URL, with optional HTTP Basic auth.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "webhook", name: "Webhook", icon: "fa-bolt", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"url": {"type": "string"}, "username": {"type": "string"}, "password": {"type": "string"}},
        "required": ["url"],
        "secret": ["password", "url"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(Webhook {
        url: required(options, "url")?,
        username: text(options, "username"),
        password: text(options, "password"),
    }))
}

struct Webhook {
    url: String,
    username: Option<String>,
    password: Option<String>,
}

/// Redash's webhook body: the short alert dict with `description` (custom body) and `title`
/// (custom subject) added, the base URL and the execution metadata.
pub(crate) fn payload(note: &Notification) -> Value {
    let mut alert = note.alert.as_object().cloned().unwrap_or_default();
    alert.insert("description".into(), note.custom_body.clone().unwrap_or_default().into());
    alert.insert("title".into(), note.custom_subject.clone().unwrap_or_default().into());
    json!({"event": "alert_state_change", "alert": alert, "url_base": note.host, "metadata": note.metadata})
}

#[async_trait]
impl Destination for Webhook {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let mut request = post_json(outbound, &self.url, &payload(note));
        if let Some(username) = &self.username {
            request = request.basic_auth(username, self.password.as_ref());
        }
        deliver("the webhook", request).await
    }
}
