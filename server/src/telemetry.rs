//! Structured logging with `tracing`: human-readable text by default, JSON lines on request.

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Whose log lines these are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LogOf {
    /// The server and `latchkey migrate`: on standard output, for the service manager's journal.
    Server,
    /// A command whose standard output is its answer (a list, a CSV, a link): the lines go to
    /// standard error, and the migrations every start applies say nothing unless they fail.
    Command,
}

/// Installs the global subscriber. A bad filter falls back to "info" with a warning rather
/// than refusing to start.
pub fn init(config: &Config, of: LogOf) {
    let (mut filter, bad_filter) = match EnvFilter::try_new(&config.log) {
        Ok(filter) => (filter, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    if of == LogOf::Command
        && let Ok(quiet) = "sea_orm_migration=warn".parse()
    {
        filter = filter.add_directive(quiet);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match (config.log_format, of) {
        (LogFormat::Text, LogOf::Server) => builder.init(),
        (LogFormat::Json, LogOf::Server) => builder.json().init(),
        (LogFormat::Text, LogOf::Command) => builder.with_writer(std::io::stderr).init(),
        (LogFormat::Json, LogOf::Command) => builder.json().with_writer(std::io::stderr).init(),
    }
    if let Some(error) = bad_filter {
        tracing::warn!(filter = %config.log, %error, "invalid log filter; using \"info\"");
    }
}
