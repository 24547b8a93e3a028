//! Datadog: an event per state change, tagged with the alert and query ids.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "datadog", name: "Datadog", icon: "fa-datadog", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "api_key": {"type": "string", "title": "API Key"},
            "tags": {"type": "string", "title": "Tags"},
            "priority": {"type": "string", "default": "normal", "title": "Priority"},
            "source_type_name": {"type": "string", "default": "my_apps", "title": "Source Type Name"},
        },
        "secret": ["api_key"],
        "required": ["api_key"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(Datadog {
        api_key: required(options, "api_key")?,
        tags: text(options, "tags"),
        priority: text(options, "priority"),
        source_type_name: text(options, "source_type_name"),
    }))
}

struct Datadog {
    api_key: String,
    tags: Option<String>,
    priority: Option<String>,
    source_type_name: Option<String>,
}

impl Datadog {
    fn event(&self, note: &Notification) -> Value {
        let (alert_type, default_title) = if note.is_triggered() {
            ("error", format!("{} just triggered", note.alert_name))
        } else {
            ("success", format!("{} went back to normal", note.alert_name))
        };
        let title = note.custom_subject.clone().unwrap_or(default_title);
        let mut text =
            note.custom_body.clone().unwrap_or_else(|| format!("{} changed state to {}.", note.alert_name, note.state));
        text.push_str(&format!("\nQuery: {}\nAlert: {}", note.query_url(), note.alert_url()));
        let mut tags: Vec<String> =
            self.tags.as_deref().map(|tags| tags.split(',').map(str::to_owned).collect()).unwrap_or_default();
        tags.extend([
            "redash".to_owned(),
            format!("query_id:{}", note.query_id),
            format!("alert_id:{}", note.alert_id),
        ]);
        json!({
            "title": title,
            "text": text,
            "alert_type": alert_type,
            "priority": self.priority,
            "source_type_name": self.source_type_name,
            "aggregation_key": format!("redash:{}", note.alert_url()),
            "tags": tags,
        })
    }
}

#[async_trait]
impl Destination for Datadog {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let url = format!("{}/api/v1/events", outbound.endpoints.datadog);
        let request = post_json(outbound, &url, &self.event(note))
            .header(reqwest::header::ACCEPT, "application/json")
            .header("DD-API-KEY", &self.api_key);
        deliver("Datadog", request).await
    }
}
