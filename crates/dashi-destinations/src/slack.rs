//! Slack: an incoming webhook receiving one attachment (Slack's legacy attachment format, as
//! Redash sends it).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "slack", name: "Slack", icon: "fa-slack", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"url": {"type": "string", "title": "Slack Webhook URL"}},
        "secret": ["url"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(Slack { url: required(options, "url")? }))
}

struct Slack {
    url: String,
}

/// Slack's attachment payload: red when triggered, green otherwise.
pub(crate) fn payload(note: &Notification) -> Value {
    let mut fields = vec![
        json!({"title": "Query", "type": "mrkdwn", "value": note.query_url()}),
        json!({"title": "Alert", "type": "mrkdwn", "value": note.alert_url()}),
    ];
    if let Some(body) = &note.custom_body {
        fields.push(json!({"title": "Description", "value": body}));
    }
    let color = if note.is_triggered() { "#c0392b" } else { "#27ae60" };
    json!({"attachments": [{"text": note.headline(), "color": color, "fields": fields}]})
}

#[async_trait]
impl Destination for Slack {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        deliver("Slack", post_json(outbound, &self.url, &payload(note))).await
    }
}
