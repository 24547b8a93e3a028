//! Redash's alert, subscription, destination and event dicts, and the bodies clients send.

use dashi_app::{AlertDetails, AlertInput, DestinationInput, DestinationKind, SubscriptionDetails, destination_kind};
use dashi_store::{Destination, Event};
use serde_json::{Map, Value, json};

use super::{optional_time, query_details_json, time, user_json};
use crate::error::ApiError;

/// The full alert dict: with `query` and `user`.
pub(crate) fn alert_json(details: &AlertDetails) -> Value {
    let alert = &details.alert;
    json!({
        "id": alert.id.0,
        "name": alert.name,
        "options": alert.options,
        "state": alert.state,
        "last_triggered_at": optional_time(alert.last_triggered_at),
        "updated_at": time(alert.updated_at),
        "created_at": time(alert.created_at),
        "rearm": alert.rearm,
        "query": query_details_json(&details.query),
        "user": details.owner.as_ref().map(|user| user_json(user, None, false)),
    })
}

fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object().ok_or_else(|| ApiError::bad_request("The request body must be a JSON object."))
}

/// `POST /api/alerts[/<id>]`: `name`, `query_id`, `options`, `rearm`.
pub(crate) fn alert_input(body: &Value) -> Result<AlertInput, ApiError> {
    let body = object(body)?;
    let name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(ApiError::bad_request("name must be a string.")),
    };
    let query_id = match body.get("query_id") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
                .ok_or_else(|| ApiError::bad_request("query_id must be a number."))?,
        ),
    };
    let options = match body.get("options") {
        None | Some(Value::Null) => None,
        Some(Value::Object(options)) => Some(options.clone()),
        Some(_) => return Err(ApiError::bad_request("options must be an object.")),
    };
    let rearm = match body.get("rearm") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(value) => {
            Some(Some(value.as_i64().ok_or_else(|| ApiError::bad_request("rearm must be a number of seconds."))?))
        }
    };
    Ok(AlertInput { name, query_id, options, rearm })
}

/// The short destination dict: `{id, name, type, icon}`.
pub(crate) fn destination_json(destination: &Destination) -> Value {
    json!({
        "id": destination.id.0,
        "name": destination.name,
        "type": destination.type_name,
        "icon": destination_kind(destination).map(|kind| kind.icon).unwrap_or("fa-bolt"),
    })
}

/// The admin's destination dict: the short one plus masked `options`.
pub(crate) fn full_destination_json(destination: &Destination, options: Map<String, Value>) -> Value {
    let mut dict = destination_json(destination);
    dict["options"] = Value::Object(options);
    dict
}

/// One entry of `GET /api/destinations/types`.
pub(crate) fn destination_kind_json(kind: &DestinationKind) -> Value {
    json!({"name": kind.name, "type": kind.type_name, "icon": kind.icon, "configuration_schema": (kind.schema)()})
}

/// `POST /api/destinations[/<id>]`: `name`, `type`, `options`.
pub(crate) fn destination_input(body: &Value) -> Result<DestinationInput, ApiError> {
    let body = object(body)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let options = match body.get("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(options)) => options.clone(),
        Some(_) => return Err(ApiError::bad_request("options must be an object.")),
    };
    Ok(DestinationInput { name: text("name"), type_name: text("type"), options })
}

/// `{id, user, alert_id, destination?}`.
pub(crate) fn subscription_json(details: &SubscriptionDetails) -> Value {
    let mut dict = json!({
        "id": details.subscription.id.0,
        "user": details.user.as_ref().map(|user| user_json(user, None, false)),
        "alert_id": details.subscription.alert_id.0,
    });
    if let Some(destination) = &details.destination {
        dict["destination"] = destination_json(destination);
    }
    dict
}

/// A browser's name from its user agent, roughly as Redash's event list shows it.
fn browser(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent else { return "Unknown".into() };
    for (marker, name) in
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Chrome/", "Chrome"), ("Firefox/", "Firefox"), ("Safari/", "Safari")]
    {
        if agent.contains(marker) {
            return name.into();
        }
    }
    agent.split('/').next().unwrap_or("Unknown").to_owned()
}

/// An event as `GET /api/events` lists it. Redash compat: `location` is always "Unknown" (no
/// GeoIP database is shipped).
pub(crate) fn event_json(event: &Event) -> Value {
    let properties = &event.additional_properties;
    let details = if event.action == "execute_query" && event.object_type == "data_source" {
        json!({"query": properties.get("query"), "data_source": event.object_id})
    } else if event.action == "view" && event.object_type == "page" {
        json!({"page": event.object_id})
    } else {
        json!({"object_id": event.object_id, "object_type": event.object_type})
    };
    let user_name =
        event.user_name.clone().or_else(|| properties.get("user_name").and_then(Value::as_str).map(str::to_owned));
    json!({
        "org_id": event.org_id.0,
        "user_id": event.user_id.map(|id| id.0),
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "created_at": time(event.created_at),
        "user_name": user_name,
        "browser": browser(properties.get("user_agent").and_then(Value::as_str)),
        "location": "Unknown",
        "details": details,
    })
}
