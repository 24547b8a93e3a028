//! The audit log: admins read it (`GET /api/events`); the web UI reports page views and other
//! client-side actions into it (`POST /api/events`). Server-side actions record their own
//! events where they happen.

use chrono::Utc;
use dashi_store::{Event, NewEvent, Page, PageRequest};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::{App, Error, Result};

/// Where a reported event came from, as the API saw it.
#[derive(Debug, Clone, Default)]
pub struct EventOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl App {
    /// `GET /api/events`: admins; newest first.
    pub async fn list_events(&self, actor: &Actor, request: PageRequest) -> Result<Page<Event>> {
        actor.require_admin()?;
        Ok(dashi_store::list_events(&self.store, actor.org_id(), request).await?)
    }

    /// `POST /api/events`: records each reported event for the caller. `action` and
    /// `object_type` are required; everything else goes into the additional properties with the
    /// caller's name, address and browser, as Redash keeps them.
    pub async fn record_client_events(
        &self,
        actor: &Actor,
        events: &[Map<String, Value>],
        origin: &EventOrigin,
    ) -> Result<()> {
        let mut recorded = Vec::new();
        for event in events {
            let text =
                |key: &str| event.get(key).and_then(Value::as_str).map(str::to_owned).filter(|text| !text.is_empty());
            let action = text("action").ok_or_else(|| Error::invalid("Every event needs an action."))?;
            let object_type = text("object_type").ok_or_else(|| Error::invalid("Every event needs an object_type."))?;
            let object_id = match event.get("object_id") {
                Some(Value::String(id)) => Some(id.clone()),
                Some(Value::Number(id)) => Some(id.to_string()),
                _ => None,
            };
            let mut additional: Map<String, Value> = event
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "action" | "object_type" | "object_id" | "timestamp"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            additional.insert("user_name".into(), Value::String(actor.user.name.clone()));
            additional.insert("ip".into(), origin.ip.clone().map(Value::String).unwrap_or(Value::Null));
            additional.insert("user_agent".into(), origin.user_agent.clone().map(Value::String).unwrap_or(Value::Null));
            recorded.push(NewEvent {
                org_id: actor.org_id(),
                user_id: Some(actor.user_id()),
                action,
                object_type,
                object_id,
                additional_properties: Value::Object(additional),
                created_at: Utc::now(),
            });
        }
        // Checked all first, so a bad list writes nothing.
        for event in &recorded {
            dashi_store::record_event(&self.store, event).await?;
        }
        Ok(())
    }
}
