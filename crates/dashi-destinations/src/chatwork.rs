//! ChatWork: a message posted to a room with the API token in `X-ChatWorkToken`.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_form};
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "chatwork", name: "ChatWork", icon: "fa-comment", schema, open };

/// Redash's default; `{…}` names are replaced, and a literal `\n` (as typed in a form field)
/// becomes a line break.
const DEFAULT_TEMPLATE: &str = "{alert_name} changed state to {new_state}.\\n{alert_url}\\n{query_url}";

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "api_token": {"type": "string", "title": "API Token"},
            "room_id": {"type": "string", "title": "Room ID"},
            "message_template": {"type": "string", "default": DEFAULT_TEMPLATE, "title": "Message Template"},
        },
        "secret": ["api_token"],
        "required": ["message_template", "api_token", "room_id"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(ChatWork {
        api_token: required(options, "api_token")?,
        room_id: required(options, "room_id")?,
        template: text(options, "message_template").unwrap_or_else(|| DEFAULT_TEMPLATE.into()),
    }))
}

struct ChatWork {
    api_token: String,
    room_id: String,
    template: String,
}

impl ChatWork {
    /// The custom subject on its own line, then the custom body or the filled template.
    fn message(&self, note: &Notification) -> String {
        let mut message = note.custom_subject.as_ref().map(|subject| format!("{subject}\n")).unwrap_or_default();
        match &note.custom_body {
            Some(body) => message.push_str(body),
            None => message.push_str(
                &self
                    .template
                    .replace("\\n", "\n")
                    .replace("{alert_name}", &note.alert_name)
                    .replace("{new_state}", &note.state.to_uppercase())
                    .replace("{alert_url}", &note.alert_url())
                    .replace("{query_url}", &note.query_url()),
            ),
        }
        message
    }
}

#[async_trait]
impl Destination for ChatWork {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let url = format!("{}/rooms/{}/messages", outbound.endpoints.chatwork, self.room_id);
        let request =
            post_form(outbound, &url, &[("body", &self.message(note))]).header("X-ChatWorkToken", &self.api_token);
        deliver("ChatWork", request).await
    }
}
