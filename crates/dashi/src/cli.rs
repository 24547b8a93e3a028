//! The command line: subcommands and the flags that override settings.
//!
//! Flags that set a setting are passed to `dashi-config` as text, so a bad value is reported by
//! the same parser as a bad environment variable, naming the flag (`--bind: invalid socket
//! address "x"`). `dashi --help` ends with every setting, its aliases and its default.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use dashi_config::Sources;

/// Dashi: SQL queries, dashboards and alerts, with Redash's API.
#[derive(Debug, Parser)]
#[command(name = "dashi", version)]
pub(crate) struct Cli {
    /// TOML file with settings (keys are the variable names without DASHI_, in lower case).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Folder for the embedded database, the lock file and the generated secret (DASHI_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// Address the HTTP server listens on (DASHI_BIND).
    #[arg(long, global = true, value_name = "IP:PORT")]
    pub bind: Option<String>,
    /// Metadata database URL (DASHI_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log level: error, warn, info, debug or trace (DASHI_LOG_LEVEL).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log format: text or json (DASHI_LOG_FORMAT).
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Every role in one process on the embedded default (what plain `dashi` runs).
    All,
    /// The HTTP API and web UI.
    Server,
    /// Runs jobs from the given queues.
    Worker {
        /// Queues to take jobs from: all, or a comma-separated list of adhoc, scheduled,
        /// notifications, maintenance, schemas (Redash's names work too) (DASHI_WORKER_QUEUES).
        #[arg(long, value_name = "LIST")]
        queues: Option<String>,
        /// Jobs run at once (DASHI_WORKER_CONCURRENCY; default: CPU cores).
        #[arg(long, value_name = "N")]
        concurrency: Option<String>,
    },
    /// Schedules refreshes and housekeeping; one of several leads.
    Scheduler,
    /// Applies pending schema migrations; safe to run from several processes at once.
    Migrate,
    /// Shows running processes, the scheduler leader and whether the database answers.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Prints every setting with its names, default and current value (secrets masked).
    Settings {
        /// Print the README's Markdown table instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Creates a user in an organization.
    CreateUser(CreateUser),
    /// Sets a user's password and signs them out everywhere.
    ResetPassword(ResetPassword),
}

#[derive(Debug, Args)]
pub(crate) struct CreateUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// The password (visible to other local users in the process list; prefer --password-stdin).
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Add the user to the admin group.
    #[arg(long)]
    pub admin: bool,
    /// Slug of the organization.
    #[arg(long, default_value = "default")]
    pub org: String,
}

#[derive(Debug, Args)]
pub(crate) struct ResetPassword {
    #[arg(long)]
    pub email: String,
    /// The new password (visible in the process list; prefer --password-stdin). With neither
    /// option a random password is generated and printed.
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the new password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Slug of the organization.
    #[arg(long, default_value = "default")]
    pub org: String,
}

/// Parses the command line, exiting with clap's message on bad usage.
pub(crate) fn parse() -> Cli {
    let command = Cli::command()
        .after_help("Run `dashi --help` for every setting and its default, `dashi settings` for current values.")
        .after_long_help(dashi_config::help_text());
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

impl Cli {
    /// The process environment, the config file and the flags, for `Settings::load`.
    pub(crate) fn sources(&self) -> Sources {
        let mut sources = Sources::from_process();
        if let Some(path) = &self.config {
            sources = sources.with_config_file(path);
        }
        let flags = [
            ("data_dir", "--data-dir", &self.data_dir),
            ("bind", "--bind", &self.bind),
            ("database_url", "--database-url", &self.database_url),
            ("log_level", "--log-level", &self.log_level),
            ("log_format", "--log-format", &self.log_format),
        ];
        for (key, name, value) in flags {
            if let Some(value) = value {
                sources = sources.with_flag(key, name, value);
            }
        }
        if let Some(Command::Worker { queues, concurrency }) = &self.command {
            if let Some(queues) = queues {
                sources = sources.with_flag("worker_queues", "--queues", queues);
            }
            if let Some(concurrency) = concurrency {
                sources = sources.with_flag("worker_concurrency", "--concurrency", concurrency);
            }
        }
        sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn worker_flags_become_settings() {
        let cli = Cli::try_parse_from(["dashi", "--bind", "127.0.0.1:1", "worker", "--queues", "queries"])
            .expect("valid command line");
        let settings = dashi_config::Settings::load(&cli.sources()).expect("valid settings");
        assert_eq!(settings.worker_queues, vec![dashi_core::Queue::Adhoc]);
        assert_eq!(settings.bind.port(), 1);
    }
}
