//! `latchkey`: parses the command line, runs the chosen command, and turns any error into one
//! clear line on stderr with a non-zero exit code.

use std::process::ExitCode;

use clap::Parser;
use server::cli::backup_commands;
use server::config::{Cli, Command};
use server::telemetry::LogOf;

/// mimalloc: per-thread heaps instead of glibc's contended arenas (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Checkpassword(args)) = &cli.command {
        // A process per mail login: no logging set-up, no database; the exit code speaks.
        return server::cli::checkpassword::run(args, cli.config.addr);
    }
    let log_of = match cli.command {
        None | Some(Command::Serve | Command::Migrate) => LogOf::Server,
        Some(_) => LogOf::Command,
    };
    server::telemetry::init(&cli.config, log_of);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(cli.config).await,
        Command::Migrate => server::migrate(&cli.config).await,
        Command::Checkpassword(args) => {
            return server::cli::checkpassword::run(&args, cli.config.addr);
        }
        Command::Admin(command) => {
            return report(
                server::cli::admin_commands::run(
                    command,
                    &cli.config.database_url,
                    &cli.config.public_url(),
                )
                .await,
            );
        }
        Command::Backup(args) => {
            return report(backup_commands::backup(&database_files(&cli.config), &args).await);
        }
        Command::Restore(args) => {
            return report(backup_commands::restore(&database_files(&cli.config), &args).await);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("latchkey: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints what a command did, or one line saying why it did not.
fn report(result: Result<String, impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("latchkey: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where the configuration puts the database and its key, for `backup` and `restore`.
fn database_files(config: &server::config::Config) -> backup_commands::DatabaseFiles<'_> {
    backup_commands::DatabaseFiles {
        database_url: &config.database_url,
        secret_key_file: &config.secret_key_file,
    }
}
