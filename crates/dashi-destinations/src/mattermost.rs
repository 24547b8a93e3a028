//! Mattermost: an incoming webhook (Slack-compatible text plus optional attachment).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "mattermost", name: "Mattermost", icon: "fa-bolt", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "url": {"type": "string", "title": "Mattermost Webhook URL"},
            "username": {"type": "string", "title": "Username"},
            "icon_url": {"type": "string", "title": "Icon (URL)"},
            "channel": {"type": "string", "title": "Channel"},
        },
        "secret": ["url"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(Mattermost {
        url: required(options, "url")?,
        username: text(options, "username"),
        icon_url: text(options, "icon_url"),
        channel: text(options, "channel"),
    }))
}

struct Mattermost {
    url: String,
    username: Option<String>,
    icon_url: Option<String>,
    channel: Option<String>,
}

impl Mattermost {
    /// Unlike the other chat services, Redash's Mattermost uses the custom subject in every state.
    fn payload(&self, note: &Notification) -> Value {
        let text = match &note.custom_subject {
            Some(subject) => subject.clone(),
            None => format!("#### {}", note.headline()),
        };
        let mut payload = Map::new();
        payload.insert("text".into(), text.into());
        if let Some(body) = &note.custom_body {
            payload.insert("attachments".into(), json!([{"fields": [{"title": "Description", "value": body}]}]));
        }
        for (key, value) in [("username", &self.username), ("icon_url", &self.icon_url), ("channel", &self.channel)] {
            if let Some(value) = value {
                payload.insert(key.into(), value.clone().into());
            }
        }
        Value::Object(payload)
    }
}

#[async_trait]
impl Destination for Mattermost {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        deliver("Mattermost", post_json(outbound, &self.url, &self.payload(note))).await
    }
}
