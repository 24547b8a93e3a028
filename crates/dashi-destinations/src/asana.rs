//! Asana: one task per state change in a project, authorised by a personal access token.

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::http::{deliver, post_form};
use crate::kind::{Destination, Kind, required};
use crate::{Error, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "asana", name: "Asana", icon: "fa-asana", schema, open };

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "pat": {"type": "string", "title": "Asana Personal Access Token"},
            "project_id": {"type": "string", "title": "Asana Project ID"},
        },
        "secret": ["pat"],
        "required": ["pat", "project_id"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    Ok(Box::new(Asana { pat: required(options, "pat")?, project_id: required(options, "project_id")? }))
}

struct Asana {
    pat: String,
    project_id: String,
}

#[async_trait]
impl Destination for Asana {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let state = if note.is_triggered() { "TRIGGERED" } else { "RECOVERED" };
        let name = format!("[Redash Alert] {state}: {}", note.alert_name);
        let notes =
            format!("{} has {state}.\nQuery: {}\nAlert: {}", note.alert_name, note.query_url(), note.alert_url());
        let url = format!("{}/tasks", outbound.endpoints.asana);
        // Redash compat: Redash's form sends the project list as one repeated `projects` field.
        let request = post_form(outbound, &url, &[("name", &name), ("notes", &notes), ("projects", &self.project_id)])
            .bearer_auth(&self.pat);
        deliver("Asana", request).await
    }
}
