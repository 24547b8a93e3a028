//! `dashi`: the one binary. Every role and admin command is a subcommand; none is the all-in-one.
//!
//! Read [`cli`] first (the commands and flags), then [`role`] (how each role is wired from the
//! settings and stopped), then [`admin`] (one-shot commands). Settings are loaded once, here,
//! before anything else happens; a bad value ends the process with a message naming it.

mod admin;
mod cli;
mod health;
mod lock;
mod logging;
mod role;
mod shutdown;
mod wiring;

use std::process::ExitCode;

use cli::Command;
use dashi_config::Settings;

fn main() -> ExitCode {
    let cli = cli::parse();
    let settings = match Settings::load(&cli.sources()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("dashi: invalid settings:\n{error}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::All);
    // `dashi settings` prints and exits; it must work even when logging would be noisy.
    if let Command::Settings { markdown } = command {
        for warning in settings.warnings() {
            eprintln!("dashi: warning: {warning}");
        }
        return report(admin::print_settings(&settings, markdown));
    }
    logging::init(&settings);
    for warning in settings.warnings() {
        tracing::warn!(warning = %warning, "setting ignored");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dashi: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(command, settings));
    // Blocking tasks (password hashing, file locks) are short; don't wait on a stuck one forever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    report(outcome)
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::All => role::all(settings, shutdown::on_signals()?).await,
        Command::Server => role::server(settings, shutdown::on_signals()?).await,
        Command::Worker { .. } => role::worker(settings, shutdown::on_signals()?).await,
        Command::Scheduler => role::scheduler(settings, shutdown::on_signals()?).await,
        Command::Migrate => admin::migrate(&settings).await,
        Command::Status { json } => admin::status(&settings, json).await,
        Command::Settings { markdown } => admin::print_settings(&settings, markdown),
        Command::CreateUser(request) => admin::create_user(&settings, request).await,
        Command::ResetPassword(request) => admin::reset_password(&settings, request).await,
    }
}

/// Turns the outcome into the exit code; the error goes to stderr as plain text whatever the log
/// format, since it is the last thing an operator reads.
fn report(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // `dashi status | head` closes stdout early; that is the reader's choice, not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dashi: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
