//! `latchkey`: parses the command line, runs the chosen command, and turns any error into one
//! clear line on stderr with a non-zero exit code.

use std::process::ExitCode;

use clap::Parser;
use server::config::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    server::telemetry::init(&cli.config);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(cli.config).await,
        Command::Migrate => server::migrate(&cli.config).await,
        Command::Admin(command) => match server::admin::run(command, &cli.config).await {
            Ok(output) => {
                println!("{output}");
                Ok(())
            }
            Err(error) => {
                eprintln!("latchkey: {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("latchkey: error: {error}");
            ExitCode::FAILURE
        }
    }
}
