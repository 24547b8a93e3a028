//! The [`Destination`] trait, what is known about a type before it is configured ([`Kind`]),
//! and the list of every type.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::{Error, Notification, Outbound};

/// A configured destination: formats a notification for its service and delivers it.
#[async_trait]
pub trait Destination: Send + Sync {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error>;
}

/// Reads a type's options into a configured destination.
pub type Open = fn(&Map<String, Value>) -> Result<Box<dyn Destination>, Error>;

/// A destination type.
pub struct Kind {
    /// Stored in `notification_destinations.type`; Redash's name, never renamed.
    pub type_name: &'static str,
    /// Shown to people (Redash's `name`).
    pub name: &'static str,
    /// Redash's icon class.
    pub icon: &'static str,
    /// Redash's configuration schema: `properties`, `required`, `secret`, `extra_options`.
    pub schema: fn() -> Value,
    /// Reads options into a destination; fails on missing required ones.
    pub open: Open,
}

impl Kind {
    fn names(&self, key: &str) -> Vec<String> {
        match (self.schema)().get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            // Redash compat: Mattermost declares `"secret": "url"`, a bare string.
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    }

    /// Options whose values are masked in every response.
    pub fn secret_fields(&self) -> Vec<String> {
        self.names("secret")
    }

    pub fn required_fields(&self) -> Vec<String> {
        self.names("required")
    }
}

/// Every destination type, in Redash's registration order.
pub static KINDS: &[Kind] = &[
    crate::email::KIND,
    crate::slack::KIND,
    crate::webhook::KIND,
    crate::mattermost::KIND,
    crate::chatwork::KIND,
    crate::pagerduty::KIND,
    crate::google_chat::KIND,
    crate::microsoft_teams::KIND,
    crate::asana::KIND,
    crate::webex::KIND,
    crate::discord::KIND,
    crate::datadog::KIND,
];

/// The type named `type_name`.
pub fn kind(type_name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.type_name == type_name)
}

/// A non-empty string option.
pub(crate) fn text(options: &Map<String, Value>, key: &str) -> Option<String> {
    options.get(key).and_then(Value::as_str).filter(|value| !value.trim().is_empty()).map(str::to_owned)
}

/// A required string option.
pub(crate) fn required(options: &Map<String, Value>, key: &str) -> Result<String, Error> {
    text(options, key).ok_or_else(|| Error::Options(format!("option \"{key}\" is required")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_redash_twelve_types_once_each() {
        let mut names: Vec<&str> = KINDS.iter().map(|kind| kind.type_name).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "asana",
                "chatwork",
                "datadog",
                "discord",
                "email",
                "hangouts_chat",
                "mattermost",
                "microsoft_teams_webhook",
                "pagerduty",
                "slack",
                "webex",
                "webhook"
            ]
        );
    }

    #[test]
    fn every_required_and_secret_option_is_a_declared_property() {
        for kind in KINDS {
            let schema = (kind.schema)();
            let properties = schema["properties"].as_object().expect("properties");
            for name in kind.required_fields().iter().chain(&kind.secret_fields()) {
                assert!(properties.contains_key(name), "{}: {name} is not a property", kind.type_name);
            }
            assert!((kind.open)(&Map::new()).is_err() || kind.required_fields().is_empty(), "{}", kind.type_name);
        }
    }
}
