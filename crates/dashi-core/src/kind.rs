//! What the server knows about a kind of data source without linking its driver: the type
//! name stored in `data_sources.type`, the display name and Redash's configuration schema.
//!
//! The binary builds the catalog from the runners crate and hands it to the server, which
//! must never run a query itself.

/// One kind of data source, as `GET /api/data_sources/types` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct KindInfo {
    /// Stored in `data_sources.type` (`pg`, `mysql`, …); never renamed.
    pub type_name: String,
    pub display_name: String,
    /// The editor mode: `sql`, `json`, `yaml`, …
    pub syntax: String,
    pub supports_auto_limit: bool,
    /// How the kind's driver writes bind placeholders; `None`: parameter values are rendered
    /// into the text, as Redash does for every kind.
    pub placeholders: Option<crate::Placeholders>,
    /// Redash's JSON-schema-like document: `type`, `properties`, `required`, `order`,
    /// `secret`, `extra_options`.
    pub configuration_schema: serde_json::Value,
}

impl KindInfo {
    /// Names of the options that are secret (masked as `--------` in every response).
    pub fn secret_fields(&self) -> Vec<String> {
        string_list(&self.configuration_schema, "secret")
    }

    /// Names of the options that must be present.
    pub fn required_fields(&self) -> Vec<String> {
        string_list(&self.configuration_schema, "required")
    }
}

fn string_list(schema: &serde_json::Value, key: &str) -> Vec<String> {
    schema
        .get(key)
        .and_then(serde_json::Value::as_array)
        .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_and_required_lists() {
        let kind = KindInfo {
            type_name: "pg".into(),
            display_name: "PostgreSQL".into(),
            syntax: "sql".into(),
            supports_auto_limit: true,
            placeholders: None,
            configuration_schema: json!({"required": ["dbname"], "secret": ["password"]}),
        };
        assert_eq!(kind.secret_fields(), ["password"]);
        assert_eq!(kind.required_fields(), ["dbname"]);
    }
}
