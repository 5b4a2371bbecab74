//! `latchkey admin ...`: user and policy administration from the command line, on the
//! configured database. Passwords come from a prompt (or one line of standard input when it is
//! not a terminal), never from the command line, where other users could see them.

use std::io::{BufRead, IsTerminal};

use chrono::Utc;
use clap::{Subcommand, ValueEnum};

use crate::db::Role;
use crate::db::{self, Actor, Store};
use crate::domain::policy::Setting;
use crate::domain::{ValidationError, account, counted, timefmt};
use crate::use_cases::administration::{Administration, AdministrationError, NewPerson, Revoke};

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
        /// As CSV (time, actor, user, kind, detail, address, client, count), for a spreadsheet.
        #[arg(long)]
        csv: bool,
    },
}

/// A day (midnight UTC) or an RFC 3339 moment.
fn parse_since(text: &str) -> Result<chrono::DateTime<Utc>, String> {
    crate::domain::timefmt::parse_day_or_moment(text).ok_or_else(|| {
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
        /// Print a one-time link (valid 24 hours) with which they set their own password,
        /// instead of asking for one.
        #[arg(long)]
        link: bool,
    },
    /// List all users.
    List,
    /// Stop a user from signing in (their sessions end).
    Disable { username: String },
    /// Let a disabled or blocked user sign in again.
    Enable { username: String },
    /// Set a new password (asked for, or read from standard input); all sessions end.
    ResetPassword {
        username: String,
        /// Print a one-time link (valid 24 hours) with which they set a new password
        /// themselves; their current one stops working at once.
        #[arg(long)]
        link: bool,
    },
    /// Make a user an administrator.
    MakeAdmin { username: String },
    /// Take the administrator role from a user (not from the last enabled administrator).
    RemoveAdmin { username: String },
    /// Remove every second factor of a user (authenticator apps, passkeys, recovery codes) so they can
    /// add a new one at their next sign-in; all their sessions end, and their app passwords
    /// are revoked or stop working, as reset-revokes-app-passwords says. Asks first.
    ResetMethods {
        username: String,
        /// Reset their password too, in the same change ("reset password and methods"): it
        /// stops working at once, and a one-time link (valid 24 hours) is printed with which
        /// they set a new one.
        #[arg(long)]
        password_link: bool,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Show the organization and its policy.
    Show,
    /// Change a policy setting.
    Set { setting: OrgSetting, value: OnOff },
    /// App passwords unused (since their last use, or their creation) for more than DAYS
    /// days stop working; "off" (the default) keeps them working however long unused.
    SetAppPasswordIdleDays {
        /// A number of days (1 to 3650), or "off".
        days: IdleDays,
    },
    /// Set where people's mail apps reach IMAP and SMTP (and CalDAV and CardDAV), from which
    /// Security info offers "Set up an iPhone, iPad or Mac"; --clear removes them.
    Mail(MailArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrgSetting {
    /// Whether people may create and use app passwords.
    AllowAppPasswords,
    /// Whether app passwords are managed on Security info (on) or the legacy page (off).
    SecurityInfoExperience,
    /// Whether everyone must keep a second factor (deleting the last one is refused).
    RequireTwoStep,
    /// Whether an administrator's password reset also revokes the person's app passwords
    /// (sessions always end).
    ResetRevokesAppPasswords,
    /// Whether sign-in offers "Forgot password?": a one-time link mailed to the sign-in name
    /// (needs --smtp-url and --mail-from; off by default).
    ResetPasswordByMail,
}

impl From<OrgSetting> for Setting {
    fn from(setting: OrgSetting) -> Self {
        match setting {
            OrgSetting::AllowAppPasswords => Setting::AllowAppPasswords,
            OrgSetting::SecurityInfoExperience => Setting::SecurityInfoExperience,
            OrgSetting::RequireTwoStep => Setting::RequireTwoStep,
            OrgSetting::ResetRevokesAppPasswords => Setting::ResetRevokesAppPasswords,
            OrgSetting::ResetPasswordByMail => Setting::ResetPasswordByMail,
        }
    }
}

/// A number of days, or "off", as typed after `set-app-password-idle-days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleDays(Option<u32>);

impl std::str::FromStr for IdleDays {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::domain::app_password::parse_idle_days(text)
            .map(Self)
            .map_err(|error| error.message)
    }
}

/// "off", or the number of days.
fn idle_days_text(days: Option<i32>) -> String {
    days.map_or_else(|| "off".to_owned(), |days| days.to_string())
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
    #[error(
        "no database at {0}: give the server's --database-url (LATCHKEY_DATABASE_URL; the systemd unit's is sqlite:///var/lib/latchkey/latchkey.db)"
    )]
    NoDatabase(String),
    #[error("{0} (see: latchkey admin user list)")]
    NoSuchUser(String),
    #[error("{message} (see: latchkey admin app-passwords list {user})")]
    NoSuchAppPassword { user: String, message: String },
    #[error("{0}")]
    Administration(AdministrationError),
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("cannot read the password: {0}")]
    ReadPassword(std::io::Error),
    #[error("nothing was changed: answer yes to go on, or pass --yes")]
    NotConfirmed,
    #[error("cannot read the answer: {0}")]
    ReadAnswer(std::io::Error),
}

impl From<AdministrationError> for AdminError {
    fn from(error: AdministrationError) -> Self {
        match &error {
            AdministrationError::NoSuchUser(_) => Self::NoSuchUser(error.to_string()),
            AdministrationError::NoSuchAppPassword { user, .. } => Self::NoSuchAppPassword {
                user: user.clone(),
                message: error.to_string(),
            },
            _ => Self::Administration(error),
        }
    }
}

/// Runs the command on the database at `database_url`; returns what to print on success.
/// One-time links printed are on the site at `public_url`.
pub async fn run(
    command: AdminCommand,
    database_url: &str,
    public_url: &str,
) -> Result<String, AdminError> {
    // A missing SQLite file is a wrong --database-url, not a new database: an empty one made
    // here would only answer "not set up yet".
    if db::Backend::of_url(database_url) == Some(db::Backend::Sqlite) {
        let path = db::sqlite_path(database_url);
        // Only a file that is not there: one this user may not read is opening's to explain.
        if std::fs::metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
            return Err(AdminError::NoDatabase(path.to_owned()));
        }
    }
    let store = Store::new(db::connect_and_migrate(database_url).await?);
    let admin = Administration::new(store.clone(), Actor::command_line());
    let result = match command {
        AdminCommand::User(command) => user_command(&admin, command, public_url).await,
        AdminCommand::Org(command) => org_command(&admin, command).await,
        AdminCommand::AppPasswords(command) => app_passwords_command(&admin, command).await,
        AdminCommand::Audit { user, since, csv } => {
            audit_command(&admin, user.as_deref(), since, csv).await
        }
    };
    let _ = store.close().await;
    result
}

/// Reads a new password for `username`: twice at a terminal prompt, or one line from piped
/// standard input.
fn read_new_password(username: &str) -> Result<String, AdminError> {
    if std::io::stdin().is_terminal() {
        let first =
            rpassword::prompt_password("New password: ").map_err(AdminError::ReadPassword)?;
        let second = rpassword::prompt_password("Repeat it: ").map_err(AdminError::ReadPassword)?;
        account::check_new_password(&first, &second, username)?;
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(AdminError::ReadPassword)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        account::check_new_password(&password, &password, username)?;
        Ok(password)
    }
}

/// Asks `question` on standard error and reads one line from standard input (a terminal or a
/// pipe); only "yes" (or "y", any case) goes on.
fn confirm(question: &str) -> Result<(), AdminError> {
    eprint!("{question}\nType yes to go on: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(AdminError::ReadAnswer)?;
    match line.trim().to_lowercase().as_str() {
        "yes" | "y" => Ok(()),
        _ => Err(AdminError::NotConfirmed),
    }
}

/// What resetting the methods of `person` does, asked before it is done.
fn reset_methods_question(
    person: &crate::db::entities::user::Model,
    org: &crate::db::entities::organization::Model,
) -> String {
    let mut question = format!(
        "Reset the sign-in methods of {} ({})? Their authenticator apps, passkeys and recovery \
         codes are removed and all their sessions end; their app passwords {}.",
        person.username,
        person.display_name,
        if org.reset_revokes_app_passwords {
            "are revoked (reset-revokes-app-passwords is on)"
        } else {
            "are kept but stop working until they add a method (reset-revokes-app-passwords is off)"
        }
    );
    if org.require_two_step {
        question.push_str(
            " The organization requires two-step verification: at their next sign-in they \
             will be asked to add a method",
        );
        question.push_str(if person.role == Role::Administrator {
            ", and they can't use the console until they do."
        } else {
            "."
        });
    }
    question
}

/// "2 sessions ended, 1 app password revoked".
fn what_a_reset_ended(sessions_ended: u64, app_passwords_revoked: u64) -> String {
    format!(
        "{}, {}",
        counted(sessions_ended, "session ended", "sessions ended"),
        counted(
            app_passwords_revoked,
            "app password revoked",
            "app passwords revoked"
        )
    )
}

async fn user_command(
    admin: &Administration,
    command: UserCommand,
    public_url: &str,
) -> Result<String, AdminError> {
    match command {
        UserCommand::Add {
            username,
            name,
            admin: is_admin,
            link: true,
        } => {
            let (user, link) = admin
                .add_person_with_link(&username, &name, is_admin)
                .await?;
            Ok(format!(
                "added {} ({}){}
give them this one-time link to set their password (valid until {}):
{}",
                user.username,
                user.display_name,
                if is_admin { " as an administrator" } else { "" },
                timefmt::moment(link.expires_at),
                link.url(public_url)
            ))
        }
        UserCommand::Add {
            username,
            name,
            admin: is_admin,
            link: false,
        } => {
            // Checked before the password is asked for.
            account::Username::parse(&username)?;
            account::parse_display_name(&name)?;
            let password = read_new_password(&username)?;
            let user = admin
                .add_person(NewPerson {
                    username,
                    display_name: name,
                    password,
                    is_admin,
                })
                .await?;
            Ok(format!(
                "added {} ({}){}",
                user.username,
                user.display_name,
                if is_admin { " as an administrator" } else { "" }
            ))
        }
        UserCommand::List => {
            let users = admin.people().await?;
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
                    user.username,
                    user.display_name,
                    user.role.name(),
                    status
                ));
            }
            out.push_str(&counted(users.len() as u64, "user", "users"));
            Ok(out)
        }
        UserCommand::Disable { username } => {
            let (user, ended) = admin.set_enabled(&username, false).await?;
            Ok(format!(
                "disabled {}; {}",
                user.username,
                counted(ended, "session ended", "sessions ended")
            ))
        }
        UserCommand::Enable { username } => {
            let (user, _) = admin.set_enabled(&username, true).await?;
            Ok(format!("enabled {}", user.username))
        }
        UserCommand::ResetPassword {
            username,
            link: true,
        } => {
            let (user, reset, link) = admin.reset_password_with_link(&username).await?;
            Ok(format!(
                "password of {} reset; {}
give them this one-time link to set a new password (valid until {}):
{}",
                user.username,
                what_a_reset_ended(reset.sessions_ended, reset.app_passwords_revoked),
                timefmt::moment(link.expires_at),
                link.url(public_url)
            ))
        }
        UserCommand::ResetPassword {
            username,
            link: false,
        } => {
            admin.person(&username).await?;
            let password = read_new_password(&username)?;
            let (user, reset) = admin.reset_password(&username, password).await?;
            Ok(format!(
                "password of {} reset; {}",
                user.username,
                what_a_reset_ended(reset.sessions_ended, reset.app_passwords_revoked)
            ))
        }
        UserCommand::MakeAdmin { username } => {
            let user = admin.set_administrator(&username, true).await?;
            Ok(format!("{} is now an administrator", user.username))
        }
        UserCommand::RemoveAdmin { username } => {
            let user = admin.set_administrator(&username, false).await?;
            Ok(format!("{} is no longer an administrator", user.username))
        }
        UserCommand::ResetMethods {
            username,
            password_link,
            yes,
        } => {
            let person = admin.person(&username).await?;
            let org = admin.organization().await?;
            if !yes {
                let mut question = reset_methods_question(&person, &org);
                if password_link {
                    question.push_str(
                        " Their password is reset too: it stops working at once, and you get a \
                         one-time link with which they set a new one.",
                    );
                }
                confirm(&question)?;
            }
            // The command line is no person: the console's "your own methods" rule is not its.
            let mut out = if password_link {
                let (user, reset, link) = admin.reset_password_and_methods(&username, None).await?;
                format!(
                    "password and sign-in methods of {} reset: {}
give them this one-time link to set a new password (valid until {}):
{}",
                    user.username,
                    reset.detail(),
                    timefmt::moment(link.expires_at),
                    link.url(public_url)
                )
            } else {
                let (user, reset) = admin.reset_methods(&username, None).await?;
                format!(
                    "sign-in methods of {} reset: {}",
                    user.username,
                    reset.detail()
                )
            };
            if org.require_two_step {
                out.push_str("\nat their next sign-in they will be asked to add a method");
            }
            Ok(out)
        }
    }
}

async fn org_command(admin: &Administration, command: OrgCommand) -> Result<String, AdminError> {
    let org = match command {
        OrgCommand::Show => admin.organization().await?,
        OrgCommand::Set { setting, value } => {
            admin.set_policy(setting.into(), value == OnOff::On).await?
        }
        OrgCommand::SetAppPasswordIdleDays { days } => {
            admin.set_app_password_idle_days(days.0).await?
        }
        OrgCommand::Mail(args) => {
            admin.set_mail_settings(&args.typed()).await?;
            admin.organization().await?
        }
    };
    Ok(format!(
        "organization:                {}\nallow-app-passwords:         {}\nsecurity-info-experience:    {}\nrequire-two-step:            {}\nreset-revokes-app-passwords: {}\nreset-password-by-mail:      {}\napp-password-idle-days:      {}",
        org.name,
        on_off(org.allow_app_passwords),
        on_off(org.security_info_experience),
        on_off(org.require_two_step),
        on_off(org.reset_revokes_app_passwords),
        on_off(org.reset_password_by_mail),
        idle_days_text(org.app_password_idle_days),
    ) + &mail_settings_text(&org))
}

async fn app_passwords_command(
    admin: &Administration,
    command: AppPasswordsCommand,
) -> Result<String, AdminError> {
    match command {
        AppPasswordsCommand::List { username } => {
            let (user, apps) = admin.app_passwords_of(&username).await?;
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
                "{} of {}",
                counted(apps.len() as u64, "app password", "app passwords"),
                user.username
            ));
            Ok(out)
        }
        AppPasswordsCommand::Revoke {
            username,
            name,
            all,
        } => {
            let which = match (&name, all) {
                (Some(name), false) => Revoke::Named(name),
                _ => Revoke::All,
            };
            let (user, revoked) = admin.revoke_app_passwords(&username, which).await?;
            let names: Vec<String> = revoked
                .iter()
                .map(|app| format!("{:?}", app.name))
                .collect();
            Ok(match revoked.len() {
                0 => format!("{} has no app passwords; nothing revoked", user.username),
                n => format!(
                    "revoked {} of {}: {}",
                    counted(n as u64, "app password", "app passwords"),
                    user.username,
                    names.join(", ")
                ),
            })
        }
    }
}

async fn audit_command(
    admin: &Administration,
    username: Option<&str>,
    since: Option<chrono::DateTime<Utc>>,
    as_csv: bool,
) -> Result<String, AdminError> {
    let log = admin.audit_log(username, since).await?;
    // What is absent is an empty cell in CSV (as in the console's export), "-" on screen.
    let absent = if as_csv { "" } else { "-" };
    let rows = log.events.iter().map(|event| {
        [
            event.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            log.actor_of(event).unwrap_or(absent).to_owned(),
            log.username_of(event).unwrap_or(absent).to_owned(),
            event.kind.clone(),
            event.detail.clone(),
            event.ip.as_deref().unwrap_or(absent).to_owned(),
            event.user_agent.as_deref().unwrap_or(absent).to_owned(),
            // Failed sign-ins and the like are counted: one row stands for this many.
            event.count.to_string(),
        ]
    });
    if as_csv {
        // The console's writer: no cell can become a spreadsheet formula.
        let header = [[
            "time", "actor", "user", "kind", "detail", "address", "client", "count",
        ]
        .map(str::to_owned)];
        let bytes = crate::domain::spreadsheet::csv_rows(header.into_iter().chain(rows));
        return Ok(String::from_utf8_lossy(&bytes).trim_end().to_owned());
    }
    let mut out = String::new();
    for [time, actor, user, kind, detail, ip, _, count] in rows {
        let by = if actor == "-" {
            String::new()
        } else {
            format!(" (by {actor})")
        };
        let times = if count == "1" {
            String::new()
        } else {
            format!(" ({count} times)")
        };
        out.push_str(&format!(
            "{time}  {user:<32} {kind:<24} {ip:<16} {detail}{times}{by}\n"
        ));
    }
    out.push_str(&counted(log.events.len() as u64, "event", "events"));
    Ok(out)
}

/// `latchkey admin org mail`: the settings, with the usual ports and TLS unless told.
#[derive(Debug, clap::Args)]
pub struct MailArgs {
    /// The IMAP server's host name, e.g. mail.example.org.
    #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
    imap_host: Option<String>,
    /// The IMAP port (1 to 65535).
    #[arg(long, default_value = "993")]
    imap_port: String,
    /// Whether IMAP uses TLS (TLS from the start or STARTTLS).
    #[arg(long, value_enum, default_value = "on")]
    imap_tls: OnOff,
    /// The SMTP server's host name, e.g. smtp.example.org.
    #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
    smtp_host: Option<String>,
    /// The SMTP port (1 to 65535).
    #[arg(long, default_value = "465")]
    smtp_port: String,
    /// Whether SMTP uses TLS (TLS from the start or STARTTLS).
    #[arg(long, value_enum, default_value = "on")]
    smtp_tls: OnOff,
    /// The CalDAV address (https), when the organization offers calendars.
    #[arg(long, conflicts_with = "clear")]
    caldav_url: Option<String>,
    /// The CardDAV address (https), when the organization offers contacts.
    #[arg(long, conflicts_with = "clear")]
    carddav_url: Option<String>,
    /// Remove the mail settings: the profile is no longer offered.
    #[arg(long)]
    clear: bool,
}

impl MailArgs {
    fn typed(&self) -> crate::domain::mail_settings::TypedMailSettings {
        if self.clear {
            return crate::domain::mail_settings::TypedMailSettings::of(None);
        }
        crate::domain::mail_settings::TypedMailSettings {
            imap_host: self.imap_host.clone().unwrap_or_default(),
            imap_port: self.imap_port.clone(),
            imap_tls: self.imap_tls == OnOff::On,
            smtp_host: self.smtp_host.clone().unwrap_or_default(),
            smtp_port: self.smtp_port.clone(),
            smtp_tls: self.smtp_tls == OnOff::On,
            caldav_url: self.caldav_url.clone().unwrap_or_default(),
            carddav_url: self.carddav_url.clone().unwrap_or_default(),
        }
    }
}

/// The mail settings' lines of `org show`.
fn mail_settings_text(org: &crate::db::entities::organization::Model) -> String {
    let Some(settings) = db::mail_settings_of(org) else {
        return "\nmail-settings:               none (see: latchkey admin org mail --help)"
            .to_owned();
    };
    let server = |server: &crate::domain::mail_settings::MailServer| {
        format!(
            "{}:{} (TLS {})",
            server.host,
            server.port,
            on_off(server.tls)
        )
    };
    format!(
        "\nmail-imap:                   {}\nmail-smtp:                   {}\nmail-caldav-url:             {}\nmail-carddav-url:            {}",
        server(&settings.imap),
        server(&settings.smtp),
        settings.caldav_url.as_deref().unwrap_or("none"),
        settings.carddav_url.as_deref().unwrap_or("none"),
    )
}
