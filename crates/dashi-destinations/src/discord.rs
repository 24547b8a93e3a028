//! Discord: a channel webhook with one embed coloured by state.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "discord", name: "Discord", icon: "fa-discord", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"url": {"type": "string", "title": "Discord Webhook URL"}},
        "secret": ["url"],
        "required": ["url"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(Discord { url: required(options, "url")? }))
}

struct Discord {
    url: String,
}

/// Embed colours as Discord wants them (decimal RGB): green, red, yellow. Redash compat: Redash
/// sends them as strings of digits; Discord documents an integer, which is what we send.
fn color(state: &str) -> i64 {
    match state {
        "ok" => 2_600_544,
        "triggered" => 12_597_547,
        _ => 16_776_960,
    }
}

pub(crate) fn payload(note: &Notification) -> Value {
    let mut fields = vec![
        json!({"name": "Query", "value": note.query_url(), "inline": true}),
        json!({"name": "Alert", "value": note.alert_url(), "inline": true}),
    ];
    if let Some(body) = &note.custom_body {
        fields.push(json!({"name": "Description", "value": body}));
    }
    json!({"content": note.headline(), "embeds": [{"color": color(&note.state), "fields": fields}]})
}

#[async_trait]
impl Destination for Discord {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        deliver("Discord", post_json(outbound, &self.url, &payload(note))).await
    }
}
