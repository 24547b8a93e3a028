//! Webex: a bot posts one message (Markdown plus an Adaptive Card) to each listed person and
//! room.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "webex", name: "Webex", icon: "fa-webex", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "webex_bot_token": {"type": "string", "title": "Webex Bot Token"},
            "to_person_emails": {"type": "string", "title": "People (comma-separated)"},
            "to_room_ids": {"type": "string", "title": "Rooms (comma-separated)"},
        },
        "secret": ["webex_bot_token"],
        "required": ["webex_bot_token"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(Webex {
        token: required(options, "webex_bot_token")?,
        people: text(options, "to_person_emails"),
        rooms: text(options, "to_room_ids"),
    }))
}

struct Webex {
    token: String,
    people: Option<String>,
    rooms: Option<String>,
}

/// The message for every recipient, before the recipient field is added.
fn message(note: &Notification) -> Value {
    let subject = note.headline();
    let description = note.custom_body.clone().unwrap_or_default();
    let text_block = |text: String, subtle: bool| {
        if subtle {
            json!({"type": "TextBlock", "text": text, "isSubtle": true, "wrap": true})
        } else {
            json!({"type": "TextBlock", "text": text, "weight": "bolder", "size": "medium", "wrap": true})
        }
    };
    let body = vec![
        text_block(subject.clone(), false),
        text_block(description.clone(), true),
        text_block(format!("Click [here]({}) to check your query!", note.query_url()), true),
        text_block(format!("Click [here]({}) to check your alert!", note.alert_url()), true),
    ];
    json!({
        "markdown": format!("{subject}\n{description}"),
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.0",
                "body": body,
            },
        }],
    })
}

/// The non-blank entries of a comma-separated list.
fn entries(list: &Option<String>) -> impl Iterator<Item = &str> {
    list.as_deref().into_iter().flat_map(|list| list.split(',')).map(str::trim).filter(|entry| !entry.is_empty())
}

#[async_trait]
impl Destination for Webex {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let url = format!("{}/messages", outbound.endpoints.webex);
        let template = message(note);
        let recipients = entries(&self.people)
            .map(|person| ("toPersonEmail", person))
            .chain(entries(&self.rooms).map(|room| ("roomId", room)));
        for (field, recipient) in recipients {
            let mut payload = template.clone();
            payload[field] = recipient.into();
            deliver("Webex", post_json(outbound, &url, &payload).bearer_auth(&self.token)).await?;
        }
        Ok(())
    }
}
