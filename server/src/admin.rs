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
    #[error("cannot read the password: {0}")]
    ReadPassword(std::io::Error),
    #[error("{0}")]
    Hash(#[from] password::HashError),
}

/// Runs the command; returns what to print on success.
pub async fn run(command: AdminCommand, config: &Config) -> Result<String, AdminError> {
    let store = Store::new(db::connect_and_migrate(&config.database_url).await?);
    let result = match command {
        AdminCommand::User(command) => user_command(&store, command).await,
        AdminCommand::Org(command) => org_command(&store, command).await,
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
