//! Microsoft Teams: an incoming webhook receiving a MessageCard built from a template.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::deliver;
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind =
    Kind { type_name: "microsoft_teams_webhook", name: "Microsoft Teams Webhook", icon: "fa-bolt", schema, open };

/// The default card: the alert's name and links as facts.
fn default_template() -> String {
    json!({
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": "0076D7",
        "summary": "A Redash Alert was Triggered",
        "sections": [{
            "activityTitle": "A Redash Alert was Triggered",
            "facts": [
                {"name": "Alert Name", "value": "{alert_name}"},
                {"name": "Alert URL", "value": "{alert_url}"},
                {"name": "Query", "value": "{query_text}"},
                {"name": "Query URL", "value": "{query_url}"},
            ],
            "markdown": true,
        }],
    })
    .to_string()
}

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "url": {"type": "string", "title": "Microsoft Teams Webhook URL"},
            "message_template": {"type": "string", "default": default_template(), "title": "Message Template"},
        },
        "required": ["url"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(MicrosoftTeams {
        url: required(options, "url")?,
        template: text(options, "message_template").unwrap_or_else(default_template),
    }))
}

struct MicrosoftTeams {
    url: String,
    template: String,
}

/// `text` as the inside of a JSON string literal.
fn json_escaped(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

impl MicrosoftTeams {
    /// The template with `{alert_name}`, `{alert_url}`, `{query_text}` and `{query_url}` filled
    /// in; other braces stay as they are. Redash compat: values are JSON-escaped, so query text
    /// with quotes or line breaks keeps the card valid JSON (Redash inserts it raw).
    fn body(&self, note: &Notification) -> String {
        self.template
            .replace("{alert_name}", &json_escaped(&note.alert_name))
            .replace("{alert_url}", &json_escaped(&note.alert_url()))
            .replace("{query_text}", &json_escaped(&note.query_text))
            .replace("{query_url}", &json_escaped(&note.query_url()))
    }
}

#[async_trait]
impl Destination for MicrosoftTeams {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let request = outbound
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(self.body(note));
        deliver("Microsoft Teams", request).await
    }
}
