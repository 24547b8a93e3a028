//! PagerDuty: Events API v2, triggering on `triggered` and resolving on `ok` under one dedup
//! key per alert and query; an `unknown` state sends nothing (as in Redash).

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_json};
use crate::kind::{Destination, Kind, required, text};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind =
    Kind { type_name: "pagerduty", name: "PagerDuty", icon: "creative-commons-pd-alt", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "integration_key": {"type": "string", "title": "PagerDuty Service Integration Key"},
            "description": {"type": "string", "title": "Description for the event, defaults to alert name"},
        },
        "secret": ["integration_key"],
        "required": ["integration_key"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(PagerDuty {
        integration_key: required(options, "integration_key")?,
        description: text(options, "description"),
    }))
}

struct PagerDuty {
    integration_key: String,
    description: Option<String>,
}

impl PagerDuty {
    /// The event, or `None` for a state PagerDuty has no action for.
    fn event(&self, note: &Notification) -> Option<Value> {
        let action = match note.state.as_str() {
            "triggered" => "trigger",
            "ok" => "resolve",
            _ => return None,
        };
        let summary = note
            .custom_subject
            .clone()
            .or_else(|| self.description.clone())
            .unwrap_or_else(|| format!("Alert: {}", note.alert_name));
        let key = format!("{}_{}", note.alert_id, note.query_id);
        let mut payload = json!({"summary": summary, "severity": "error", "source": "redash"});
        if let Some(body) = &note.custom_body {
            payload["custom_details"] = body.clone().into();
        }
        Some(json!({
            "routing_key": self.integration_key,
            "incident_key": key,
            "dedup_key": key,
            "payload": payload,
            "event_action": action,
        }))
    }
}

#[async_trait]
impl Destination for PagerDuty {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let Some(event) = self.event(note) else { return Ok(()) };
        let url = format!("{}/v2/enqueue", outbound.endpoints.pagerduty);
        deliver("PagerDuty", post_json(outbound, &url, &event)).await
    }
}
