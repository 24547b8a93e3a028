//! Reading a data source's options (Redash's JSON object) with errors that name the option.
//!
//! Redash's forms send numbers as JSON numbers, but imported data sources and API clients
//! often send them as strings ("5432"); both are accepted. Values are never echoed in errors:
//! they may be secrets.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A view over one data source's options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options<'a>(pub(crate) &'a Map<String, Value>);

impl Options<'_> {
    /// A string option; `None` when absent, null or empty.
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(Error::invalid_option(name, "must be a string")),
        }
    }

    pub(crate) fn required_text(&self, name: &str) -> Result<String> {
        self.text(name)?
            .ok_or_else(|| Error::invalid_option(name, "is required"))
    }

    /// A whole number in `0..=max`; `None` when absent, null or empty.
    pub(crate) fn number(&self, name: &str, max: u64) -> Result<Option<u64>> {
        let parsed = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => return Ok(None),
            Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
            Some(Value::Number(number)) => number.as_u64().or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            }),
            Some(_) => None,
        };
        match parsed {
            Some(value) if value <= max => Ok(Some(value)),
            _ => Err(Error::invalid_option(
                name,
                format!("must be a whole number from 0 to {max}"),
            )),
        }
    }

    /// A boolean; also accepts "true"/"false" strings. `None` when absent or null.
    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" => Ok(Some(false)),
                _ => Err(Error::invalid_option(name, "must be true or false")),
            },
            Some(_) => Err(Error::invalid_option(name, "must be true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_may_be_strings_and_are_range_checked() {
        let options = json!({"port": "5432", "n": 5433, "bad": "x", "big": 70000, "empty": ""});
        let options = Options(options.as_object().expect("object"));
        assert_eq!(options.number("port", 65535).expect("valid"), Some(5432));
        assert_eq!(options.number("n", 65535).expect("valid"), Some(5433));
        assert_eq!(options.number("missing", 65535).expect("valid"), None);
        assert_eq!(options.number("empty", 65535).expect("valid"), None);
        assert!(options.number("bad", 65535).is_err());
        assert!(options.number("big", 65535).is_err());
    }

    #[test]
    fn required_text_names_the_option() {
        let options = json!({"dbname": ""});
        let error = Options(options.as_object().expect("object")).required_text("dbname");
        assert_eq!(
            error.expect_err("empty").to_string(),
            "invalid option `dbname`: is required"
        );
    }
}
