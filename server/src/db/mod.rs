//! Storage: connecting to SQLite or PostgreSQL, migrations, entities, and the queries the
//! rest of the server uses. Nothing outside this module writes SQL or builds sea-orm queries.

mod app_password_expiry;
mod app_passwords;
mod apple_profiles;
mod attack_alerts;
mod audit;
mod authenticators;
mod backup;
pub mod entities;
mod factor_changes;
mod health;
mod method_resets;
pub mod migrations;
mod organization;
mod outbox;
mod passkeys;
mod password_links;
pub mod plans;
mod recovery_codes;
pub mod revocations;
pub mod seed;
mod sessions;
mod sign_in_links;
mod signed_in_browsers;
pub mod store;
mod throttles;
mod transaction_steps;
mod users;

use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

pub use app_password_expiry::ExpiryMark;
pub use app_passwords::{AppPasswordCandidate, NewAppPassword, Remover, Which};
pub use apple_profiles::{
    NewAppleProfileLink, ProfileDelivery, describe_mail_settings, mail_settings_of,
};
pub use audit::{AuditFilter, AuditNote};
pub use authenticators::AUTHENTICATOR_LIMIT;
pub use backup::Contents;
pub use entities::user::{Role, SecondFactorKind};
pub use factor_changes::AuthenticatorRemoval;
pub use health::{MailWaiting, MigrationState, PoolUse};
pub use method_resets::MethodsResetOutcome;
pub use organization::{NewAdmin, NewOrganization};
pub use passkeys::{CeremonyBinding, NewCeremony, NewPasskey, PasskeyRemoval};
pub use password_links::{NewPasswordLink, mailed_password_link_id};
pub use recovery_codes::RecoveryCodeCount;
pub use sessions::{NewSession, OwnerCounts, SessionWithOwner};
pub use sign_in_links::{NewSignInLink, mailed_link_id};
pub use signed_in_browsers::BrowserSession;
pub use store::{Actor, Store, StoreError};
pub use throttles::Claim;
pub use users::{NewUser, PasswordReset, PersonRow};

/// Connections to an SQLite file: enough for concurrent page reads on a small machine.
const SQLITE_POOL_SIZE: u32 = 4;

/// How long an SQLite writer waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH (e.g. sqlite://data/latchkey.db) or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: DbErr },
    #[error("cannot apply database migrations on {url}: {source}")]
    Migrate { url: String, source: DbErr },
    #[error(
        "the database {url} has migrations of a newer Latchkey version ({unknown}) but lacks this version's ({pending}): run the newer version, or restore a backup made before it"
    )]
    MixedVersions {
        url: String,
        pending: String,
        unknown: String,
    },
}

/// Which database a URL points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// The file path inside an `sqlite:` URL, without the query string.
pub fn sqlite_path(url: &str) -> &str {
    let rest = url.trim_start_matches("sqlite:");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    rest.split('?').next().unwrap_or(rest)
}

/// Opens the database, creating the SQLite file (and its directory) when missing, and
/// applies pending migrations. Safe to call on an up-to-date database, and on one a newer
/// version has migrated further (a rolling upgrade: an older instance that restarts must come
/// back), as long as it has all of this version's migrations.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, ConnectError> {
    let db = connect(url).await?;
    // No migration table yet (a new database) reads as an error: then migrate as usual.
    if let Ok(state) = Store::new(db.clone()).migration_state().await
        && !state.unknown.is_empty()
    {
        // sea-orm-migration refuses a database with migrations it does not know.
        if !state.pending.is_empty() {
            return Err(ConnectError::MixedVersions {
                url: redact(url),
                pending: state.pending.join(", "),
                unknown: state.unknown.join(", "),
            });
        }
        tracing::warn!(
            newer = %state.unknown.join(", "),
            "a newer Latchkey version has migrated the database; this one runs on it as it is"
        );
        return Ok(db);
    }
    migrations::Migrator::up(&db, None)
        .await
        .map_err(|source| ConnectError::Migrate {
            url: redact(url),
            source,
        })?;
    Ok(db)
}

/// Opens the database without migrating it.
pub async fn connect(url: &str) -> Result<DatabaseConnection, ConnectError> {
    let backend = Backend::of_url(url).ok_or_else(|| ConnectError::UnsupportedUrl(redact(url)))?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings a connection on every checkout by default: one more round trip (on
        // SQLite, one more hand-off to the connection's worker thread) per query. Only a
        // connection idle long enough to have been dropped by a server or proxy is checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    if backend == Backend::Sqlite {
        // sea-orm gives SQLite a pool of one connection unless told otherwise, so every query
        // of every request queued behind one worker thread. In WAL mode readers run side by
        // side; writers still take turns (write transactions are IMMEDIATE: see
        // `Store::begin_write`), waiting up to the busy timeout.
        options.max_connections(SQLITE_POOL_SIZE);
        let path = sqlite_path(url);
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| ConnectError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // WAL + synchronous=FULL: a committed delete (of an app password, say) survives a
        // power cut; the busy timeout lets concurrent writers queue instead of failing.
        options.map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true)
        });
    }
    let db = Database::connect(options)
        .await
        .map_err(|source| ConnectError::Open {
            url: redact(url),
            source,
        })?;
    // An SQLite file that is not a database only fails on first use: find out now.
    db.ping().await.map_err(|source| ConnectError::Open {
        url: redact(url),
        source,
    })?;
    Ok(db)
}

/// The URL with any password replaced, fit for logs and error messages: the one before `@`
/// and any query parameter naming one (`?password=`, `sslpassword=`, as sqlx accepts).
pub fn redact(url: &str) -> String {
    // The query starts after the credentials: a password may hold a `?`.
    let credentials_end = match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => at,
        (Some(scheme_end), _) => scheme_end + 3,
        _ => 0,
    };
    let (base, query) = match url[credentials_end..].find('?') {
        Some(start) => (
            &url[..credentials_end + start],
            Some(&url[credentials_end + start + 1..]),
        ),
        None => (url, None),
    };
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            match base[scheme_end + 3..at].split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme_end + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    let Some(query) = query else {
        return base;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.to_ascii_lowercase().ends_with("password") => {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file_path() {
        assert_eq!(
            sqlite_path("sqlite://data/latchkey.db?mode=rwc"),
            "data/latchkey.db"
        );
        assert_eq!(sqlite_path("sqlite:///var/lib/l.db"), "/var/lib/l.db");
        assert_eq!(sqlite_path("sqlite:x.db"), "x.db");
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(
            redact("postgres://u@h/db?password=secret&sslmode=require&sslpassword=key"),
            "postgres://u@h/db?password=***&sslmode=require&sslpassword=***"
        );
        assert_eq!(redact("postgres://u:pa?ss@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("sqlite://data/x.db?mode=rwc"),
            "sqlite://data/x.db?mode=rwc"
        );
    }

    #[test]
    fn recognises_backends() {
        assert_eq!(Backend::of_url("sqlite://x"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }
}
