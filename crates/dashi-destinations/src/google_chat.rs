//! Google Chat (Redash's "Google Hangouts Chat"): a space webhook receiving one card.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind =
    Kind { type_name: "hangouts_chat", name: "Google Hangouts Chat", icon: "fa-bolt", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "url": {"type": "string", "title": "Webhook URL (get it from the room settings)"},
            "icon_url": {"type": "string", "title": "Icon URL (32x32 or multiple, png format)"},
        },
        "secret": ["url"],
        "required": ["url"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(GoogleChat { url: required(options, "url")?, icon_url: text(options, "icon_url") }))
}

struct GoogleChat {
    url: String,
    icon_url: Option<String>,
}

impl GoogleChat {
    fn card(&self, note: &Notification) -> Value {
        let status = match note.state.as_str() {
            "triggered" => "<b><font color=\"#c0392b\">Triggered</font></b>",
            "ok" => "<font color=\"#27ae60\">Went back to normal</font>",
            _ => "Unable to determine status. Check Query and Alert configuration.",
        };
        let mut header = json!({"title": note.custom_subject.clone().unwrap_or_else(|| note.alert_name.clone())});
        if let Some(icon) = &self.icon_url {
            header["imageUrl"] = icon.clone().into();
        }
        let mut widgets = vec![json!({"textParagraph": {"text": status}})];
        // A button without a host would be a link Google Chat rejects with a blank card.
        if !note.host.is_empty() {
            widgets.push(json!({"buttons": [{"textButton": {
                "text": "OPEN QUERY",
                "onClick": {"openLink": {"url": note.query_url()}},
            }}]}));
        }
        let mut sections = vec![json!({"widgets": widgets})];
        if let Some(body) = &note.custom_body {
            sections.push(json!({"widgets": [{"textParagraph": {"text": body}}]}));
        }
        json!({"cards": [{"header": header, "sections": sections}]})
    }
}

#[async_trait]
impl Destination for GoogleChat {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let request = post_json(outbound, &self.url, &self.card(note))
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=UTF-8");
        deliver("Google Chat", request).await
    }
}
