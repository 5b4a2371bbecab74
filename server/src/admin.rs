//! `latchkey admin ...`: user and policy administration from the command line, on the
//! configured database. Passwords come from a prompt (or one line of standard input when it is
//! not a terminal), never from the command line, where other users could see them.

use std::io::{BufRead, IsTerminal};

use chrono::Utc;
use clap::{Subcommand, ValueEnum};

use crate::config::Config;
use crate::db::{self, Actor, NewUser, Store, StoreError};
use crate::domain::{ValidationError, account, password};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Show or change the organization's policy.
    #[command(subcommand)]
    Org(OrgCommand),
    /// List or revoke a person's app passwords.
    #[command(subcommand)]
    AppPasswords(AppPasswordsCommand),
    /// Print the audit log, oldest first.
    Audit {
        /// Only this person's events.
        #[arg(long)]
        user: Option<String>,
        /// Only events from this day or moment on (2026-11-29 or 2026-11-29T08:00:00Z).
        #[arg(long, value_parser = parse_since)]
        since: Option<chrono::DateTime<Utc>>,
        /// As CSV (time, user, kind, detail, address, client), for a spreadsheet.
        #[arg(long)]
        csv: bool,
    },
}

/// A day (midnight UTC) or an RFC 3339 moment.
fn parse_since(text: &str) -> Result<chrono::DateTime<Utc>, String> {
    if let Ok(moment) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(moment.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .ok_or_else(|| {
            format!("{text:?} is not a day (2026-11-29) or a moment (2026-11-29T08:00:00Z)")
        })
}

#[derive(Debug, Subcommand)]
pub enum AppPasswordsCommand {
    /// List a person's app passwords: name, created, last used (when, from where, which app).
    List { username: String },
    /// Revoke one app password by its name, or all of them with --all; they stop signing in at
    /// once on every instance.
    Revoke {
        username: String,
        /// The app password's name (as listed; case does not matter).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Revoke every app password of the person.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is asked for (or read from standard input).
    Add {
        /// Sign-in name, e.g. someone@example.org.
        username: String,
        /// The person's name as shown in the portal.
        #[arg(long)]
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List all users.
    List,
    /// Stop a user from signing in (their sessions end).
    Disable { username: String },
    /// Let a disabled or blocked user sign in again.
    Enable { username: String },
    /// Set a new password (asked for, or read from standard input); all sessions end.
    ResetPassword { username: String },
    /// Make a user an administrator.
    MakeAdmin { username: String },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Show the organization and its policy.
    Show,
    /// Change a policy setting.
    Set { setting: OrgSetting, value: OnOff },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrgSetting {
    /// Whether people may create and use app passwords.
    AllowAppPasswords,
    /// Whether app passwords are managed on Security info (on) or the legacy page (off).
    SecurityInfoExperience,
    /// Whether everyone must keep a second factor (deleting the last one is refused).
    RequireTwoStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

fn on_off(value: bool) -> &'static str {
    if value { "on" } else { "off" }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Connect(#[from] db::ConnectError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("no user with the sign-in name {0:?} (see: latchkey admin user list)")]
    NoSuchUser(String),
    #[error(
        "{user} has no app password named {name:?} (see: latchkey admin app-passwords list {user})"
    )]
    NoSuchAppPassword { user: String, name: String },
    #[error("cannot read the password: {0}")]
    ReadPassword(std::io::Error),
    #[error("{0}")]
    Hash(#[from] password::HashError),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Runs the command; returns what to print on success.
pub async fn run(command: AdminCommand, config: &Config) -> Result<String, AdminError> {
    let store = Store::new(db::connect_and_migrate(&config.database_url).await?);
    let result = match command {
        AdminCommand::User(command) => user_command(&store, command).await,
        AdminCommand::Org(command) => org_command(&store, command).await,
        AdminCommand::AppPasswords(command) => app_passwords_command(&store, command).await,
        AdminCommand::Audit { user, since, csv } => {
            audit_command(&store, user.as_deref(), since, csv).await
        }
    };
    let _ = store.connection().clone().close().await;
    result
}

fn cli_actor() -> Actor {
    Actor {
        ip: None,
        user_agent: Some("latchkey admin (command line)".to_owned()),
    }
}

async fn find_user(
    store: &Store,
    username: &str,
) -> Result<crate::db::entities::user::Model, AdminError> {
    let key = account::Username::parse(username)?.key().to_owned();
    store
        .user_by_key(&key)
        .await?
        .ok_or_else(|| AdminError::NoSuchUser(username.to_owned()))
}

/// Reads a new password: twice at a terminal prompt, or one line from piped standard input.
fn read_new_password() -> Result<String, AdminError> {
    if std::io::stdin().is_terminal() {
        let first =
            rpassword::prompt_password("New password: ").map_err(AdminError::ReadPassword)?;
        let second = rpassword::prompt_password("Repeat it: ").map_err(AdminError::ReadPassword)?;
        account::check_new_password(&first, &second)?;
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(AdminError::ReadPassword)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        account::check_new_password(&password, &password)?;
        Ok(password)
    }
}

async fn user_command(store: &Store, command: UserCommand) -> Result<String, AdminError> {
    let now = Utc::now();
    match command {
        UserCommand::Add {
            username,
            name,
            admin,
        } => {
            let username = account::Username::parse(&username)?;
            let display_name = account::parse_display_name(&name)?;
            let password = read_new_password()?;
            let password_hash = password::hash_password_blocking(password).await?;
            let user = store
                .add_user(
                    NewUser {
                        username: username.as_str().to_owned(),
                        username_key: username.key().to_owned(),
                        display_name,
                        password_hash,
                        is_admin: admin,
                    },
                    now,
                )
                .await?;
            store
                .audit(
                    Some(user.id),
                    "user.added",
                    format!("role {}", user.role),
                    &cli_actor(),
                    now,
                )
                .await?;
            Ok(format!(
                "added {} ({}){}",
                user.username,
                user.display_name,
                if admin { " as an administrator" } else { "" }
            ))
        }
        UserCommand::List => {
            let users = store.users().await?;
            let mut out = format!(
                "{:<40} {:<30} {:<6} {}\n",
                "SIGN-IN NAME", "NAME", "ROLE", "STATUS"
            );
            for user in &users {
                let status = if user.is_enabled {
                    "enabled"
                } else {
                    "disabled"
                };
                out.push_str(&format!(
                    "{:<40} {:<30} {:<6} {}\n",
                    user.username, user.display_name, user.role, status
                ));
            }
            out.push_str(&format!(
                "{} user{}",
                users.len(),
                if users.len() == 1 { "" } else { "s" }
            ));
            Ok(out)
        }
        UserCommand::Disable { username } => {
            let user = find_user(store, &username).await?;
            store.set_enabled(user.id, false).await?;
            let ended = store.delete_sessions_of_user(user.id, None).await?;
            store
                .audit(Some(user.id), "user.disabled", "", &cli_actor(), now)
                .await?;
            Ok(format!(
                "disabled {}; {ended} session(s) ended",
                user.username
            ))
        }
        UserCommand::Enable { username } => {
            let user = find_user(store, &username).await?;
            store.set_enabled(user.id, true).await?;
            store
                .audit(Some(user.id), "user.enabled", "", &cli_actor(), now)
                .await?;
            Ok(format!("enabled {}", user.username))
        }
        UserCommand::ResetPassword { username } => {
            let user = find_user(store, &username).await?;
            let password = read_new_password()?;
            let hash = password::hash_password_blocking(password).await?;
            store.set_password(user.id, hash, now).await?;
            let ended = store.delete_sessions_of_user(user.id, None).await?;
            store
                .audit(
                    Some(user.id),
                    "password.reset",
                    "by an administrator",
                    &cli_actor(),
                    now,
                )
                .await?;
            Ok(format!(
                "password of {} reset; {ended} session(s) ended",
                user.username
            ))
        }
        UserCommand::MakeAdmin { username } => {
            let user = find_user(store, &username).await?;
            store.set_admin(user.id, true).await?;
            store
                .audit(Some(user.id), "user.made_admin", "", &cli_actor(), now)
                .await?;
            Ok(format!("{} is now an administrator", user.username))
        }
    }
}

async fn org_command(store: &Store, command: OrgCommand) -> Result<String, AdminError> {
    let org = match command {
        OrgCommand::Show => store.organization().await?.ok_or(StoreError::NotSetUp)?,
        OrgCommand::Set { setting, value } => {
            let value = value == OnOff::On;
            let org = match setting {
                OrgSetting::AllowAppPasswords => store.set_policy(Some(value), None).await?,
                OrgSetting::SecurityInfoExperience => store.set_policy(None, Some(value)).await?,
                OrgSetting::RequireTwoStep => store.set_require_two_step(value).await?,
            };
            store
                .audit(
                    None,
                    "policy.changed",
                    format!("{setting:?} = {}", on_off(value)),
                    &cli_actor(),
                    Utc::now(),
                )
                .await?;
            org
        }
    };
    Ok(format!(
        "organization:             {}\nallow-app-passwords:      {}\nsecurity-info-experience: {}\nrequire-two-step:         {}",
        org.name,
        on_off(org.allow_app_passwords),
        on_off(org.security_info_experience),
        on_off(org.require_two_step)
    ))
}

async fn app_passwords_command(
    store: &Store,
    command: AppPasswordsCommand,
) -> Result<String, AdminError> {
    match command {
        AppPasswordsCommand::List { username } => {
            let user = find_user(store, &username).await?;
            let apps = store.app_passwords_of(user.id).await?;
            let mut out = format!("{:<32} {:<17} {}\n", "NAME", "CREATED", "LAST USED");
            for app in &apps {
                let last_used = match app.last_used_at {
                    None => "never".to_owned(),
                    Some(at) => {
                        let mut text = at.format("%Y-%m-%d %H:%M UTC").to_string();
                        if let Some(ip) = &app.last_used_ip {
                            text.push_str(&format!(" from {ip}"));
                        }
                        if let Some(client) = &app.last_used_client {
                            text.push_str(&format!(" ({client})"));
                        }
                        text
                    }
                };
                out.push_str(&format!(
                    "{:<32} {:<17} {last_used}\n",
                    app.name,
                    app.created_at.format("%Y-%m-%d %H:%M")
                ));
            }
            out.push_str(&format!(
                "{} app password{} of {}",
                apps.len(),
                if apps.len() == 1 { "" } else { "s" },
                user.username
            ));
            Ok(out)
        }
        AppPasswordsCommand::Revoke {
            username,
            name,
            all,
        } => {
            let user = find_user(store, &username).await?;
            let apps = store.app_passwords_of(user.id).await?;
            let ids: Vec<i32> = match (&name, all) {
                (_, true) => apps.iter().map(|app| app.id).collect(),
                (Some(name), false) => {
                    let key = crate::domain::app_password::AppName::parse(name)?
                        .key()
                        .to_owned();
                    let found = apps.iter().find(|app| app.name_key == key).ok_or_else(|| {
                        AdminError::NoSuchAppPassword {
                            user: user.username.clone(),
                            name: name.clone(),
                        }
                    })?;
                    vec![found.id]
                }
                (None, false) => Vec::new(),
            };
            let revoked = store
                .revoke_app_passwords(user.id, &ids, &cli_actor(), Utc::now())
                .await?;
            let names: Vec<String> = revoked
                .iter()
                .map(|app| format!("{:?}", app.name))
                .collect();
            Ok(match revoked.len() {
                0 => format!("{} has no app passwords; nothing revoked", user.username),
                n => format!(
                    "revoked {n} app password{} of {}: {}",
                    if n == 1 { "" } else { "s" },
                    user.username,
                    names.join(", ")
                ),
            })
        }
    }
}

async fn audit_command(
    store: &Store,
    username: Option<&str>,
    since: Option<chrono::DateTime<Utc>>,
    as_csv: bool,
) -> Result<String, AdminError> {
    let user = match username {
        Some(name) => Some(find_user(store, name).await?),
        None => None,
    };
    let events = store
        .audit_events(user.as_ref().map(|u| u.id), since)
        .await?;
    let names: std::collections::HashMap<i32, String> = store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let rows = events.iter().map(|event| {
        [
            event.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            event
                .user_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| "-".to_owned()),
            event.kind.clone(),
            event.detail.clone(),
            event.ip.clone().unwrap_or_else(|| "-".to_owned()),
            event.user_agent.clone().unwrap_or_else(|| "-".to_owned()),
        ]
    });
    if as_csv {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["time", "user", "kind", "detail", "address", "client"])?;
        for row in rows {
            writer.write_record(&row)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|error| csv::Error::from(error.into_error()))?;
        return Ok(String::from_utf8_lossy(&bytes).trim_end().to_owned());
    }
    let mut out = String::new();
    for [time, user, kind, detail, ip, _] in rows {
        out.push_str(&format!(
            "{time}  {user:<32} {kind:<24} {ip:<16} {detail}\n"
        ));
    }
    out.push_str(&format!(
        "{} event{}",
        events.len(),
        if events.len() == 1 { "" } else { "s" }
    ));
    Ok(out)
}
