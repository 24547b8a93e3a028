//! Where raw setting values come from, and which one wins.
//!
//! Order, lowest to highest: the built-in default, the optional TOML file (`--config` or
//! `DASHI_CONFIG`), the environment (for each setting its `DASHI_*` name first, then its Redash
//! aliases in table order, so `DASHI_*` beats `REDASH_*`), and command-line flags. This module is
//! the only code in Dashi that reads the process environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::setting::Spec;

/// The environment variable naming the TOML file, when `--config` is not given.
pub const CONFIG_FILE_VAR: &str = "DASHI_CONFIG";

/// Where the value of a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl Origin {
    /// How an error message names the setting: `DASHI_BIND`, `--bind`, `bind (in dashi.toml)`.
    pub(crate) fn label(&self, spec: &Spec) -> String {
        match self {
            Origin::Default => spec.env[0].to_owned(),
            Origin::File(path) => format!("{} (in {})", spec.key, path.display()),
            Origin::Env(name) => (*name).to_owned(),
            Origin::Flag(flag) => (*flag).to_owned(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A value given on the command line for one setting.
#[derive(Debug, Clone)]
struct Flag {
    key: &'static str,
    name: &'static str,
    value: String,
}

/// The inputs of [`Settings::load`](crate::Settings::load): an environment, an optional TOML
/// file and command-line flags. Tests build one from an explicit map with [`Sources::from_env`]
/// instead of touching the process environment.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    env: BTreeMap<String, String>,
    config_file: Option<PathBuf>,
    flags: Vec<Flag>,
}

impl Sources {
    /// The environment of this process. Variables whose name is not UTF-8 are skipped; a value
    /// that is not UTF-8 keeps replacement characters, so its parser rejects it by name.
    pub fn from_process() -> Sources {
        let env = std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                Some((name, value.to_string_lossy().into_owned()))
            })
            .collect();
        Sources { env, ..Sources::default() }
    }

    /// An explicit environment, for tests and embedding.
    pub fn from_env<K: Into<String>, V: Into<String>>(env: impl IntoIterator<Item = (K, V)>) -> Sources {
        let env = env.into_iter().map(|(name, value)| (name.into(), value.into())).collect();
        Sources { env, ..Sources::default() }
    }

    /// Reads settings from this TOML file too (`--config`); it takes the place of `DASHI_CONFIG`.
    pub fn with_config_file(mut self, path: impl Into<PathBuf>) -> Sources {
        self.config_file = Some(path.into());
        self
    }

    /// A command-line value for the setting `key` (its TOML name, e.g. `bind`), given as `name`
    /// (e.g. `--bind`); flags beat every other source. Later calls for the same key win.
    pub fn with_flag(mut self, key: &'static str, name: &'static str, value: impl Into<String>) -> Sources {
        self.flags.push(Flag { key, name, value: value.into() });
        self
    }

    /// The TOML file to read: `--config`, else `DASHI_CONFIG`, else none.
    pub(crate) fn config_file(&self) -> Option<PathBuf> {
        self.config_file.clone().or_else(|| self.env_value(CONFIG_FILE_VAR).map(PathBuf::from))
    }

    /// A non-empty environment value. An empty variable counts as unset, as env files often carry
    /// blank placeholders (`REDASH_HOST=`).
    fn env_value(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str).filter(|value| !value.is_empty())
    }

    /// Flags naming a setting that does not exist: a bug in the caller, reported like bad input.
    pub(crate) fn unknown_flags(&self, specs: &[Spec]) -> Vec<String> {
        self.flags
            .iter()
            .filter(|flag| !specs.iter().any(|spec| spec.key == flag.key))
            .map(|flag| format!("{}: no setting named {:?}", flag.name, flag.key))
            .collect()
    }

    /// `DASHI_*` variables that name no setting, most likely typos; reported as warnings.
    pub(crate) fn unknown_env(&self, specs: &[Spec]) -> Vec<String> {
        self.env
            .keys()
            .filter(|name| name.starts_with("DASHI_"))
            .filter(|name| name.as_str() != CONFIG_FILE_VAR && !name.starts_with("DASHI_TEST_"))
            .filter(|name| !specs.iter().any(|spec| spec.env.contains(&name.as_str())))
            .map(|name| format!("{name} is not a Dashi setting and was ignored"))
            .collect()
    }

    /// The winning raw value of one setting and where it came from; `None` means the default.
    pub(crate) fn raw<'a>(&'a self, spec: &Spec, file: &'a FileValues) -> Option<(&'a str, Origin)> {
        if let Some(flag) = self.flags.iter().rev().find(|flag| flag.key == spec.key) {
            return Some((&flag.value, Origin::Flag(flag.name)));
        }
        for name in spec.env {
            if let Some(value) = self.env_value(name) {
                return Some((value, Origin::Env(name)));
            }
        }
        file.values.get(spec.key).map(|value| (value.as_str(), Origin::File(file.path.clone())))
    }
}

/// The settings in a TOML file, each value turned into the text its parser reads.
#[derive(Debug, Default)]
pub(crate) struct FileValues {
    path: PathBuf,
    values: BTreeMap<String, String>,
}

impl FileValues {
    /// Reads a flat TOML table of `key = value` (keys are the lower-case names without `DASHI_`).
    /// Arrays become comma-separated lists. Unknown keys are problems, to catch typos; the
    /// known keys are still returned so their values get checked too.
    pub(crate) fn read(path: &Path, specs: &[Spec], problems: &mut Vec<String>) -> FileValues {
        let shown = path.display();
        let table: toml::Table = match std::fs::read_to_string(path) {
            Err(error) => {
                problems.push(format!("config file {shown}: cannot read it ({error})"));
                return FileValues::default();
            }
            Ok(text) => match text.parse() {
                Ok(table) => table,
                Err(error) => {
                    problems.push(format!("config file {shown}: invalid TOML ({error})"));
                    return FileValues::default();
                }
            },
        };
        let mut values = BTreeMap::new();
        for (key, value) in table {
            if !specs.iter().any(|spec| spec.key == key) {
                problems.push(format!("config file {shown}: unknown setting {key:?}"));
                continue;
            }
            match toml_text(&value) {
                Some(text) => {
                    values.insert(key, text);
                }
                None => problems.push(format!(
                    "{key} (in {shown}): expected a string, number, boolean or array of those"
                )),
            }
        }
        FileValues { path: path.to_owned(), values }
    }
}

fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        toml::Value::Array(items) => {
            let parts = items.iter().map(toml_text).collect::<Option<Vec<String>>>()?;
            Some(parts.join(","))
        }
        toml::Value::Datetime(_) | toml::Value::Table(_) => None,
    }
}
