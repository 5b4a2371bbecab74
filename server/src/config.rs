//! Command line and environment configuration (clap): every setting is a flag with a
//! `LATCHKEY_*` environment variable, listed by `latchkey --help`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: self-hosted account security portal"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default when no command is given).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Copy the SQLite database, while the server runs, to FILE and its secret key to FILE.key.
    Backup(crate::cli::backup_commands::BackupArgs),
    /// Put a backup and its key back where --database-url and --secret-key-file say (both
    /// must not exist yet; Latchkey stopped).
    Restore(crate::cli::backup_commands::RestoreArgs),
    /// Administer users and the organization's policy.
    #[command(subcommand)]
    Admin(crate::cli::admin_commands::AdminCommand),
    /// Check a mail login for Dovecot 2.3 (checkpassword interface) by asking the
    /// running server; credentials are read from file descriptor 3.
    Checkpassword(crate::cli::checkpassword::CheckpasswordArgs),
}

#[derive(Clone, clap::Args)]
pub struct Config {
    /// Database to use: sqlite://PATH (created when missing) or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "LATCHKEY_DATABASE_URL",
        default_value = "sqlite://data/latchkey.db",
        global = true
    )]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "LATCHKEY_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub addr: SocketAddr,

    /// The URL people use to reach Latchkey (for links in the log and, when https, secure cookies).
    /// Defaults to http://ADDR.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// File holding the server's secret key; generated (mode 0600) on first start.
    /// Keep it with your backups, but never in the database.
    #[arg(
        long,
        env = "LATCHKEY_SECRET_KEY_FILE",
        default_value = "data/secret.key",
        global = true
    )]
    pub secret_key_file: PathBuf,

    /// Sign people out after this many minutes without activity.
    #[arg(long, env = "LATCHKEY_SESSION_IDLE_MINUTES", default_value_t = 480, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub session_idle_minutes: u32,

    /// Sign people out this many hours after they signed in, however active.
    #[arg(long, env = "LATCHKEY_SESSION_LIFETIME_HOURS", default_value_t = 168, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub session_lifetime_hours: u32,

    /// Delete audit events older than this many days (0 keeps them forever).
    #[arg(
        long,
        env = "LATCHKEY_AUDIT_RETENTION_DAYS",
        default_value_t = 400,
        global = true
    )]
    pub audit_retention_days: u32,

    /// Verified app passwords kept in memory so that repeat sign-ins of mail clients cost no
    /// argon2 (a few hundred bytes each; 0 turns the cache off).
    #[arg(long, env = "LATCHKEY_APP_PASSWORD_CACHE_SIZE", default_value_t = crate::use_cases::app_password_check::DEFAULT_CACHE_CAPACITY, global = true)]
    pub app_password_cache_size: u64,

    /// Addresses of reverse proxies (nginx, Dovecot via `latchkey checkpassword`) whose
    /// `X-Forwarded-For` header names the real client, comma-separated.
    #[arg(
        long,
        env = "LATCHKEY_TRUSTED_PROXIES",
        value_delimiter = ',',
        default_value = "127.0.0.1,::1",
        global = true
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Send mail alerts (a new app password, one used from a new address, a changed sign-in
    /// factor) through this SMTP server: smtp://HOST:PORT, smtp://USER:PASS@HOST:587?tls=required
    /// or smtps://HOST. Needs --mail-from.
    #[arg(long, env = "LATCHKEY_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,

    /// The sender of mail alerts, e.g. "Latchkey <security@example.org>".
    #[arg(long, env = "LATCHKEY_MAIL_FROM", global = true)]
    pub mail_from: Option<String>,

    /// The IMAP server (IP:PORT; nginx takes no host names here) that nginx's mail proxy hands
    /// a client to once `/auth/nginx-mail` accepts its app password. Without it, IMAP logins
    /// through nginx are refused.
    #[arg(long, env = "LATCHKEY_NGINX_MAIL_IMAP_UPSTREAM", global = true)]
    pub nginx_mail_imap_upstream: Option<SocketAddr>,

    /// The POP3 server (IP:PORT) behind nginx's mail proxy, as --nginx-mail-imap-upstream.
    #[arg(long, env = "LATCHKEY_NGINX_MAIL_POP3_UPSTREAM", global = true)]
    pub nginx_mail_pop3_upstream: Option<SocketAddr>,

    /// The SMTP submission server (IP:PORT) behind nginx's mail proxy, as
    /// --nginx-mail-imap-upstream.
    #[arg(long, env = "LATCHKEY_NGINX_MAIL_SMTP_UPSTREAM", global = true)]
    pub nginx_mail_smtp_upstream: Option<SocketAddr>,

    /// Serve Prometheus metrics at http://ADDR/metrics, on a listener of its own (off unless
    /// set; keep it on a private address: it is not the public site's port).
    #[arg(long, env = "LATCHKEY_METRICS_ADDR", global = true)]
    pub metrics_addr: Option<SocketAddr>,

    /// Serve the site's files (WebAssembly, scripts, styles, favicon) from this folder (a
    /// `target/site` built by cargo-leptos for this same binary) instead of the copies built
    /// into a release binary.
    #[arg(long, env = "LATCHKEY_SITE_DIR", global = true)]
    pub site_dir: Option<PathBuf>,

    /// Log filter, e.g. "info", "debug" or "latchkey=debug,tower_http=info".
    #[arg(long, env = "LATCHKEY_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "LATCHKEY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// The database and SMTP URLs may hold passwords: printed with them masked.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &crate::db::redact(&self.database_url))
            .field("addr", &self.addr)
            .field("public_url", &self.public_url)
            .field("secret_key_file", &self.secret_key_file)
            .field("smtp_url", &self.smtp_url.as_deref().map(crate::db::redact))
            .field("mail_from", &self.mail_from)
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// Session lifetimes and cookie flags for the backend.
    pub fn backend_settings(&self) -> crate::use_cases::BackendSettings {
        crate::use_cases::BackendSettings {
            public_url: self.public_url(),
            session_policy: crate::domain::session::SessionPolicy {
                idle: chrono::Duration::minutes(i64::from(self.session_idle_minutes)),
                absolute: chrono::Duration::hours(i64::from(self.session_lifetime_hours)),
            },
            secure_cookies: self.public_url().starts_with("https://"),
            app_password_checks: crate::use_cases::app_password_check::CheckerSettings {
                cache_capacity: self.app_password_cache_size,
                ..Default::default()
            },
            mail_configured: self.smtp_url.is_some() && self.mail_from.is_some(),
        }
    }

    /// How long audit events are kept, if not forever.
    pub fn audit_retention(&self) -> Option<chrono::Duration> {
        (self.audit_retention_days > 0)
            .then(|| chrono::Duration::days(i64::from(self.audit_retention_days)))
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_a_ready_to_use_sqlite_setup() -> Result<(), clap::Error> {
        let cli = Cli::try_parse_from(["latchkey"])?;
        assert_eq!(cli.config.database_url, "sqlite://data/latchkey.db");
        assert_eq!(cli.config.public_url(), "http://127.0.0.1:3000");
        assert!(cli.command.is_none());
        assert_eq!(cli.config.metrics_addr, None, "metrics are off by default");
        Ok(())
    }

    #[test]
    fn flags_override_and_bad_values_are_refused() -> Result<(), clap::Error> {
        let cli = Cli::try_parse_from([
            "latchkey",
            "--addr",
            "0.0.0.0:8080",
            "--public-url",
            "https://id.example.org/",
            "--metrics-addr",
            "127.0.0.1:9464",
            "serve",
        ])?;
        assert_eq!(cli.config.addr.port(), 8080);
        assert_eq!(
            cli.config.metrics_addr,
            Some(SocketAddr::from(([127, 0, 0, 1], 9464)))
        );
        assert_eq!(cli.config.public_url(), "https://id.example.org");
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert!(Cli::try_parse_from(["latchkey", "--addr", "not-an-address"]).is_err());
        Ok(())
    }

    #[test]
    fn every_setting_is_also_taken_after_the_command() -> Result<(), clap::Error> {
        // A subcommand's own flag of the same name as a global one would be a conflict.
        <Cli as clap::CommandFactory>::command().debug_assert();
        // As the README writes them: `latchkey serve --nginx-mail-imap-upstream ...`.
        let cli = Cli::try_parse_from([
            "latchkey",
            "serve",
            "--nginx-mail-imap-upstream",
            "127.0.0.1:143",
            "--session-idle-minutes",
            "30",
            "--smtp-url",
            "smtp://127.0.0.1:25",
            "--metrics-addr",
            "127.0.0.1:9464",
        ])?;
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert_eq!(
            cli.config.nginx_mail_imap_upstream,
            Some(SocketAddr::from(([127, 0, 0, 1], 143)))
        );
        assert_eq!(cli.config.session_idle_minutes, 30);
        assert_eq!(cli.config.smtp_url.as_deref(), Some("smtp://127.0.0.1:25"));
        assert!(cli.config.metrics_addr.is_some());
        Ok(())
    }
}
