//! The one list of data-source kinds this build can run, and the driver-free catalog the server
//! gets from it. Adding a runner is adding its module and a line to [`KINDS`].

use dashi_core::{KindInfo, Placeholders};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::runner::{Runner, RunnerContext};
use crate::{clickhouse, mysql, postgres, query_results, sqlite, url};

/// What is known about a kind of data source before it is configured.
pub struct Kind {
    /// Stored in `data_sources.type` (`pg`); Redash's name, never renamed.
    pub type_name: &'static str,
    pub display_name: &'static str,
    /// The editor mode: `sql`, `yaml`.
    pub syntax: &'static str,
    /// Whether [`RunRequest::row_limit`](crate::RunRequest::row_limit) is applied.
    pub supports_auto_limit: bool,
    /// How the driver writes bind placeholders for [`RunRequest::params`](crate::RunRequest::params);
    /// `None` for kinds that take no binds.
    pub placeholders: Option<Placeholders>,
    /// Redash's configuration schema: `{type: "object", properties, required, order, secret,
    /// extra_options}`.
    pub options: fn() -> Value,
    /// Checks the options and builds a runner; connecting waits for the first run or test.
    /// Bad options are an [`Error::InvalidOption`](crate::Error::InvalidOption).
    pub open: Opener,
}

/// How a [`Kind`] builds a runner from a data source's options.
pub type Opener = fn(&Map<String, Value>, &RunnerContext) -> Result<Box<dyn Runner>>;

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind")
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

static KINDS: &[Kind] = &[
    postgres::POSTGRES,
    postgres::REDSHIFT,
    mysql::MYSQL,
    sqlite::SQLITE,
    #[cfg(feature = "duckdb")]
    crate::duckdb::DUCKDB,
    clickhouse::CLICKHOUSE,
    url::CSV,
    url::JSON,
    query_results::QUERY_RESULTS,
];

/// Every kind this build can run, in a fixed order.
pub fn kinds() -> &'static [Kind] {
    KINDS
}

/// The kind stored as `type_name` in `data_sources.type`, if this build has it.
pub fn kind(type_name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.type_name == type_name)
}

/// The kinds as plain data, for the server (which must not link drivers).
pub fn catalog() -> Vec<KindInfo> {
    KINDS
        .iter()
        .map(|kind| KindInfo {
            type_name: kind.type_name.to_owned(),
            display_name: kind.display_name.to_owned(),
            syntax: kind.syntax.to_owned(),
            supports_auto_limit: kind.supports_auto_limit,
            placeholders: kind.placeholders,
            configuration_schema: (kind.options)(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_unique_and_schemas_are_objects() {
        let mut names: Vec<&str> = kinds().iter().map(|kind| kind.type_name).collect();
        names.sort_unstable();
        let n_kinds = names.len();
        names.dedup();
        assert_eq!(names.len(), n_kinds, "duplicate type names");
        for info in catalog() {
            let schema = &info.configuration_schema;
            assert_eq!(schema["type"], "object", "{}", info.type_name);
            let properties = schema["properties"].as_object().expect("properties object");
            for list in ["required", "order", "secret", "extra_options"] {
                for name in schema
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = name.as_str().expect("option names are strings");
                    assert!(
                        properties.contains_key(name),
                        "{}: {list} names {name}",
                        info.type_name
                    );
                }
            }
        }
    }

    #[test]
    fn kind_finds_by_redash_type_name() {
        for name in [
            "pg",
            "redshift",
            "mysql",
            "sqlite",
            "clickhouse",
            "csv",
            "json",
            "results",
        ] {
            assert_eq!(kind(name).map(|kind| kind.type_name), Some(name));
        }
        assert!(kind("postgres").is_none());
    }
}
