//! Dashi's configuration: one [`Settings`] struct, loaded and validated once at start.
//!
//! Values are layered: built-in defaults, then an optional TOML file (`--config` or
//! `DASHI_CONFIG`), then the environment (`DASHI_*`, then Redash's names as aliases), then
//! command-line flags. Read [`setting`](Settings) first: its one table declares every setting
//! with its names, default and meaning, and drives the README table and `dashi --help`.
//! [`Sources`] is the only code in Dashi that reads the environment. Errors name the variable,
//! flag or file key a bad value came from: `DASHI_BIND: invalid socket address "x"`.
//!
//! The layering is written here rather than with figment: the Redash alias table needs "first
//! non-empty name wins" per setting, Redash's boolean spelling (`yes`/`on`/`none`) and error
//! messages that name the exact variable, none of which figment's env provider and serde errors
//! give without wrapping every field.

mod doc;
mod error;
mod secret;
mod setting;
mod source;
mod value;

pub use doc::{README_TABLE_END, README_TABLE_START, help_text, markdown_table};
pub use error::Error;
pub use secret::{SECRET_FILE_NAME, Secrets};
pub use setting::{SPECS, Settings, Spec};
pub use source::{CONFIG_FILE_VAR, Origin, Sources};
pub use value::{LogFormat, LogLevel, Rate, Secret, ServiceUrl};
