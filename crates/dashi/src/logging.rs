//! Tracing setup: text for people, JSON lines for collectors, always on stderr so stdout stays
//! free for command output (`dashi status --json`).

use std::io::IsTerminal;

use dashi_config::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber at the configured level and format.
pub(crate) fn init(settings: &Settings) {
    let filter = EnvFilter::new(settings.log_level.as_str());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match settings.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
    }
}
