//! The value types of settings and their parsers.
//!
//! Every parser takes the raw text of one setting (from the environment, the TOML file or a flag)
//! and either returns the typed value or a message that completes "`NAME`: …", so an operator
//! reads `DASHI_BIND: invalid socket address "x"`. [`Show`] renders a value back for
//! `dashi settings`, masking secrets and the passwords inside URLs.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use dashi_core::Queue;

/// A secret string (signing keys, passwords). `Debug` and `Display` print `***`; read it with
/// [`Secret::expose`] only where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A connection URL (database, Redis). It may carry a password, so `Debug` and `Display` mask it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceUrl(String);

impl ServiceUrl {
    /// The URL as given, password included; hand it only to a client library.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`, for logs and `dashi settings`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.password().is_some() => {
                // Setting a password fails only for URLs that cannot carry one, and this has one.
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => self.0.clone(),
        }
    }

    /// True for `postgres://` and `postgresql://` URLs.
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }
}

impl fmt::Debug for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// How verbose the logs are. Python's level names (Redash's `REDASH_LOG_LEVEL`) are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The shape of log lines: `text` for people, `json` (one object per line) for collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A throttle: at most `count` events per `period` (Redash's `50/hour` patterns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

/// The result of one parser: the value, or the message after "`NAME`: ".
pub(crate) type Parsed<T> = Result<T, String>;

pub(crate) fn text(raw: &str) -> Parsed<String> {
    Ok(raw.to_owned())
}

pub(crate) fn path(raw: &str) -> Parsed<PathBuf> {
    if raw.trim().is_empty() {
        return Err("must not be empty".into());
    }
    Ok(PathBuf::from(raw))
}

pub(crate) fn socket_address(raw: &str) -> Parsed<SocketAddr> {
    raw.trim()
        .parse()
        .map_err(|_| format!("invalid socket address {raw:?} (expected IP:PORT, e.g. 127.0.0.1:5000)"))
}

/// Redash's boolean spelling: `yes/true/on/1` and `no/false/off/0/none`, any case.
pub(crate) fn boolean(raw: &str) -> Parsed<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" | "none" => Ok(false),
        _ => Err(format!("invalid boolean {raw:?} (expected yes/true/on/1 or no/false/off/0/none)")),
    }
}

pub(crate) fn seconds(raw: &str) -> Parsed<Duration> {
    raw.trim()
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| format!("invalid number of seconds {raw:?}"))
}

fn number<T: std::str::FromStr>(raw: &str) -> Parsed<T> {
    raw.trim().parse::<T>().map_err(|_| format!("invalid number {raw:?}"))
}

pub(crate) fn port(raw: &str) -> Parsed<u16> {
    number(raw)
}

/// A count where 0 has a meaning of its own (usually "off").
pub(crate) fn whole_u64(raw: &str) -> Parsed<u64> {
    number(raw)
}

pub(crate) fn positive_u64(raw: &str) -> Parsed<u64> {
    match number::<u64>(raw)? {
        0 => Err("must be greater than 0".into()),
        value => Ok(value),
    }
}

pub(crate) fn positive_u32(raw: &str) -> Parsed<u32> {
    match number::<u32>(raw)? {
        0 => Err("must be greater than 0".into()),
        value => Ok(value),
    }
}

pub(crate) fn positive_usize(raw: &str) -> Parsed<usize> {
    match number::<usize>(raw)? {
        0 => Err("must be greater than 0".into()),
        value => Ok(value),
    }
}

/// A comma-separated list of positive integers (`60,300,600`).
pub(crate) fn number_list(raw: &str) -> Parsed<Vec<u64>> {
    let items = raw.split(',').map(str::trim).filter(|item| !item.is_empty());
    let list = items.map(positive_u64).collect::<Result<Vec<u64>, String>>()?;
    if list.is_empty() {
        return Err("must list at least one number".into());
    }
    Ok(list)
}

/// A comma-separated list of words; blanks are dropped, so an empty value is an empty list.
pub(crate) fn word_list(raw: &str) -> Parsed<Vec<String>> {
    Ok(raw
        .split(',')
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect())
}

pub(crate) fn queue_list(raw: &str) -> Parsed<Vec<Queue>> {
    Queue::parse_list(raw).map_err(|error| error.to_string())
}

pub(crate) fn log_level(raw: &str) -> Parsed<LogLevel> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "error" | "critical" | "fatal" => Ok(LogLevel::Error),
        "warn" | "warning" => Ok(LogLevel::Warn),
        "info" => Ok(LogLevel::Info),
        "debug" => Ok(LogLevel::Debug),
        "trace" => Ok(LogLevel::Trace),
        _ => Err(format!("invalid log level {raw:?} (expected error, warn, info, debug or trace)")),
    }
}

pub(crate) fn log_format(raw: &str) -> Parsed<LogFormat> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("invalid log format {raw:?} (expected text or json)")),
    }
}

/// `N/unit` with unit second, minute, hour or day (plural and `per` accepted: `10 per minute`).
pub(crate) fn rate(raw: &str) -> Parsed<Rate> {
    let invalid = || format!("invalid rate {raw:?} (expected N/second, N/minute, N/hour or N/day)");
    let lowered = raw.trim().to_ascii_lowercase();
    let (count, unit) = lowered
        .split_once('/')
        .or_else(|| lowered.split_once(" per "))
        .ok_or_else(invalid)?;
    let count: u32 = count.trim().parse().map_err(|_| invalid())?;
    if count == 0 {
        return Err(invalid());
    }
    let period_secs = match unit.trim().trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return Err(invalid()),
    };
    Ok(Rate { count, period: Duration::from_secs(period_secs) })
}

/// A cookie name: an HTTP token (letters, digits and ``!#$%&'*+-.^_`|~``).
pub(crate) fn cookie_name(raw: &str) -> Parsed<String> {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if raw.is_empty() || !raw.chars().all(is_token_char) {
        return Err(format!("invalid cookie name {raw:?}"));
    }
    Ok(raw.to_owned())
}

pub(crate) fn secret(raw: &str) -> Parsed<Secret> {
    Ok(Secret(raw.to_owned()))
}

/// A metadata database URL: PostgreSQL or SQLite.
pub(crate) fn database_url(raw: &str) -> Parsed<ServiceUrl> {
    let raw = raw.trim();
    if raw.starts_with("sqlite:") {
        return Ok(ServiceUrl(raw.to_owned()));
    }
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return match url::Url::parse(raw) {
            Ok(_) => Ok(ServiceUrl(raw.to_owned())),
            Err(error) => Err(format!("invalid URL ({error})")),
        };
    }
    Err("unsupported database URL: use postgres://…, postgresql://… or sqlite:<path>".into())
}

/// A Redis URL: `redis://`, `rediss://` (TLS), or a unix socket (`redis+unix://`, `unix://`).
pub(crate) fn redis_url(raw: &str) -> Parsed<ServiceUrl> {
    let raw = raw.trim();
    let parsed = url::Url::parse(raw).map_err(|error| format!("invalid URL ({error})"))?;
    match parsed.scheme() {
        "redis" | "rediss" | "redis+unix" | "unix" => Ok(ServiceUrl(raw.to_owned())),
        scheme => Err(format!("unsupported scheme {scheme:?}: use redis:// or rediss://")),
    }
}

/// An external base URL (`https://dashi.example.com`), kept without a trailing slash.
pub(crate) fn base_url(raw: &str) -> Parsed<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let parsed = url::Url::parse(trimmed).map_err(|error| format!("invalid URL ({error})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(format!("invalid base URL {raw:?} (expected http://host or https://host)"));
    }
    Ok(trimmed.to_owned())
}

/// Wraps a parser for a setting whose empty value means "not set".
pub(crate) fn optional<T>(parse: fn(&str) -> Parsed<T>) -> impl Fn(&str) -> Parsed<Option<T>> {
    move |raw| if raw.trim().is_empty() { Ok(None) } else { parse(raw).map(Some) }
}

/// Renders a value for `dashi settings`; secrets come out masked.
pub(crate) trait Show {
    fn show(&self) -> String;
}

impl Show for String {
    fn show(&self) -> String {
        self.clone()
    }
}

impl Show for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl Show for SocketAddr {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Show for bool {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Show for Duration {
    fn show(&self) -> String {
        self.as_secs().to_string()
    }
}

macro_rules! show_by_display {
    ($($ty:ty),*) => {$(
        impl Show for $ty {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
show_by_display!(u16, u32, u64, usize, Secret, ServiceUrl);

impl Show for LogLevel {
    fn show(&self) -> String {
        self.as_str().into()
    }
}

impl Show for LogFormat {
    fn show(&self) -> String {
        match self {
            LogFormat::Text => "text".into(),
            LogFormat::Json => "json".into(),
        }
    }
}

impl Show for Rate {
    fn show(&self) -> String {
        let unit = match self.period.as_secs() {
            1 => "second",
            60 => "minute",
            3600 => "hour",
            _ => "day",
        };
        format!("{}/{unit}", self.count)
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> String {
        self.as_ref().map(Show::show).unwrap_or_default()
    }
}

impl Show for Vec<u64> {
    fn show(&self) -> String {
        self.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
    }
}

impl Show for Vec<String> {
    fn show(&self) -> String {
        self.join(",")
    }
}

impl Show for Vec<Queue> {
    fn show(&self) -> String {
        self.iter().map(|queue| queue.as_str()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_use_redash_spelling() {
        for raw in ["yes", "TRUE", "On", "1"] {
            assert_eq!(boolean(raw), Ok(true), "{raw}");
        }
        for raw in ["no", "False", "OFF", "0", "None"] {
            assert_eq!(boolean(raw), Ok(false), "{raw}");
        }
        assert!(boolean("maybe").is_err());
        assert!(boolean("").is_err());
    }

    #[test]
    fn rates_parse_every_unit() {
        let check = |raw: &str, count: u32, secs: u64| {
            assert_eq!(rate(raw), Ok(Rate { count, period: Duration::from_secs(secs) }), "{raw}");
        };
        check("50/hour", 50, 3600);
        check("10/second", 10, 1);
        check("5 / minute", 5, 60);
        check("3/days", 3, 86_400);
        check("10 per minute", 10, 60);
        for bad in ["50", "x/hour", "0/hour", "50/week", "/hour"] {
            assert!(rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_checked_and_masked() {
        let url = database_url("postgres://dashi:hunter2@db/dashi").expect("valid URL");
        assert!(url.is_postgres());
        assert_eq!(url.to_string(), "postgres://dashi:***@db/dashi");
        assert_eq!(format!("{url:?}"), "\"postgres://dashi:***@db/dashi\"");
        assert!(database_url("sqlite:./data/dashi.db").is_ok());
        assert!(database_url("mysql://db/x").is_err());
        assert!(redis_url("rediss://:pw@cache:6380/0").is_ok());
        assert!(redis_url("http://cache").is_err());
        assert_eq!(base_url("https://dashi.example.com/"), Ok("https://dashi.example.com".into()));
        assert!(base_url("dashi.example.com").is_err());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn lists_drop_blanks_and_reject_zero() {
        assert_eq!(number_list("60, 300,,600"), Ok(vec![60, 300, 600]));
        assert!(number_list("60,0").is_err());
        assert!(number_list("").is_err());
        assert_eq!(word_list(" QQ.com, ,example.org"), Ok(vec!["qq.com".into(), "example.org".into()]));
        assert_eq!(word_list(""), Ok(vec![]));
    }
}
