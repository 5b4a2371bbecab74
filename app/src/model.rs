//! The typed values server functions answer with and take, shared by browser and server
//! (the `Backend` trait speaks them too). Times and wordings are made by the server.

use serde::{Deserialize, Serialize};

// Signing in and the account's methods.

/// The signed-in person, as pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub display_name: String,
    pub username: String,
    pub organization: String,
    pub is_admin: bool,
}

/// Everything the Security info list shows. Times are already worded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityInfo {
    /// Signed in (or confirmed it's them) within the last 10 minutes: changing a sign-in
    /// factor needs no prompt.
    pub recently_signed_in: bool,
    pub password_changed: String,
    /// The person's authenticator apps, oldest first.
    pub authenticators: Vec<AuthenticatorItem>,
    /// "Authenticator app", "Passkey or security key", or "Password" without a second factor.
    pub default_method: String,
    /// The kinds of second factor the person has, the default first: what "Change" offers.
    pub second_factors: Vec<SecondFactor>,
    /// Security info's preview notice is shown until the person dismisses it.
    pub show_preview_notice: bool,
    /// The organization requires two-step verification and the person has none yet.
    pub two_step_required: bool,
    /// The person has a second factor: a confirmed authenticator app or a passkey.
    pub has_two_step: bool,
    /// The person's second factor is a passkey: they have one and no authenticator app (the
    /// server reads passkeys for Security info only then; the page's list has them all).
    pub passkey_only: bool,
    /// The person's recovery codes; `None` while they have no second factor (codes stand in
    /// for one, so they are not offered).
    pub recovery_codes: Option<RecoveryCodesLeft>,
}

/// One of the person's authenticator apps as Security info lists it. Times are worded by the
/// server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorItem {
    pub id: i32,
    /// The name the person gave it ("Authenticator app" unless they chose one).
    pub name: String,
    /// "12 Mar 2027".
    pub added: String,
    /// "3 minutes ago"; `None` when no code of it was used since it was added.
    pub last_used: Option<String>,
}

/// A kind of second factor: what sign-in asks for after the password. The person chooses which
/// comes first ("Default sign-in method").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    AuthenticatorApp,
    Passkey,
}

impl SecondFactor {
    /// Its name on Security info.
    pub fn label(self) -> &'static str {
        match self {
            Self::AuthenticatorApp => "Authenticator app",
            Self::Passkey => "Passkey or security key",
        }
    }

    /// Its value in a form (as serde reads it back).
    pub fn form_value(self) -> &'static str {
        match self {
            Self::AuthenticatorApp => "authenticator_app",
            Self::Passkey => "passkey",
        }
    }
}

/// A way to finish a sign-in after the password: the person's second factors, then their
/// recovery codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondStepWay {
    AuthenticatorApp,
    Passkey,
    RecoveryCode,
}

impl From<SecondFactor> for SecondStepWay {
    fn from(factor: SecondFactor) -> Self {
        match factor {
            SecondFactor::AuthenticatorApp => Self::AuthenticatorApp,
            SecondFactor::Passkey => Self::Passkey,
        }
    }
}

/// How many of the person's recovery codes are left, for Security info's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesLeft {
    pub left: u32,
    /// How many the set had (10); 0 when the person has none yet.
    pub issued: u32,
    /// So few are left that it is time for new ones (the server's rule).
    pub few_left: bool,
}

/// A new set of recovery codes: the only time they leave the server. `Debug` hides them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecoveryCodes {
    /// "7kx2m-qp4rz-a9fh3", ...
    pub codes: Vec<String>,
    /// The sign-in name they are for.
    pub account: String,
    /// The organization's name.
    pub organization: String,
    /// When they were made, as people read it.
    pub created: String,
}

impl std::fmt::Debug for NewRecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRecoveryCodes")
            .field("codes", &self.codes.len())
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl NewRecoveryCodes {
    /// The codes one a line, as copied.
    pub fn lines(&self) -> String {
        self.codes.join("\n")
    }

    /// The text file the person downloads (and may print).
    pub fn file_text(&self) -> String {
        format!(
            "Latchkey recovery codes\n\
             Organization: {organization}\n\
             Account: {account}\n\
             Made: {created}\n\n\
             Each code signs you in once, in place of a code from your authenticator app.\n\
             Getting new codes makes these stop working. Keep them somewhere safe.\n\n\
             {codes}\n",
            organization = self.organization,
            account = self.account,
            created = self.created,
            codes = self.lines(),
        )
    }

    /// A `data:` URL of [`Self::file_text`], for a download link that needs no script.
    pub fn download_href(&self) -> String {
        let text = self.file_text();
        let encoded =
            percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC);
        format!("data:text/plain;charset=utf-8,{encoded}")
    }

    /// The downloaded file's name.
    pub const FILE_NAME: &'static str = "latchkey-recovery-codes.txt";
}

/// One event of the person's recent activity, worded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub id: i32,
    /// "Signed in", "App password created", ...
    pub title: String,
    /// What it concerns ("Password and authenticator app", an app password's name).
    pub detail: Option<String>,
    /// "5 minutes ago".
    pub when: String,
    /// "Nov 25, 2026, 14:05 UTC".
    pub at: String,
    pub address: Option<String>,
    /// "Firefox on Linux", "IMAP".
    pub client: Option<String>,
    /// Worth a second look: a failed sign-in, a revocation, a new address.
    pub notable: bool,
    /// How many attempts it stands for: failed sign-ins are counted, one item per address
    /// in 15 minutes (then `title` says how many, and from where).
    pub count: u32,
    /// Someone else knows the person's password (they failed only the second step): the page
    /// offers to change it.
    pub suggests_password_change: bool,
}

/// A page of recent activity, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    /// Where the next (older) page starts, when there is one.
    pub older: Option<i32>,
}

/// What the "Authenticator app" step of Add method shows.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorEnrollment {
    /// The QR code, an SVG document rendered by the server.
    pub qr_svg: String,
    /// The secret in base32, in groups of four, for manual entry.
    pub secret: String,
    pub account: String,
    /// The `otpauth://` URL the QR code holds: a link that opens the app on the phone the
    /// page is on (a phone cannot scan its own screen).
    pub setup_url: String,
}

impl std::fmt::Debug for AuthenticatorEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticatorEnrollment")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// Where the sign-in flow continues after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInStep {
    SignedIn,
    /// The second step, starting with the person's default way.
    SecondStep(SecondStepWay),
    /// Signed in, but the organization requires two-step verification and the person has no
    /// authenticator app yet: they are asked to add one first.
    TwoStepRequired,
}

// App passwords.

/// What an app password may reach: which protocols the mail or calendar server in front may
/// accept it for (the rule itself is the server's, in `domain::app_password`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppPasswordKind {
    /// IMAP, POP3, sending (SMTP) and mail filters (Sieve).
    Mail,
    /// SMTP only: for a printer, a scanner or a script that sends mail.
    SendingOnly,
    /// CalDAV and CardDAV.
    CalendarsAndContacts,
    /// Every protocol, and a check whose proxy names none.
    #[default]
    Everything,
}

impl AppPasswordKind {
    /// Every kind, in the order the select offers them.
    pub const ALL: [AppPasswordKind; 4] = [
        AppPasswordKind::Everything,
        AppPasswordKind::Mail,
        AppPasswordKind::SendingOnly,
        AppPasswordKind::CalendarsAndContacts,
    ];

    /// As people read it, in the select and the list.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mail => "Mail (IMAP, POP3, sending)",
            Self::SendingOnly => "Sending mail only (SMTP)",
            Self::CalendarsAndContacts => "Calendars and contacts (CalDAV, CardDAV)",
            Self::Everything => "Everything",
        }
    }

    /// As stored in `app_passwords.kind` and sent by forms (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::SendingOnly => "sending_only",
            Self::CalendarsAndContacts => "calendars_and_contacts",
            Self::Everything => "everything",
        }
    }

    /// Reads a stored or posted value; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// When a new app password stops working, as chosen in the create steps ("Expires").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AppPasswordLifetime {
    #[default]
    #[serde(rename = "never")]
    Never,
    #[serde(rename = "30")]
    Days30,
    #[serde(rename = "90")]
    Days90,
    #[serde(rename = "365")]
    Days365,
}

// Its value in a form (`expires=30`) is its serde name, as the server function reads it.
serde_plain::derive_display_from_serialize!(AppPasswordLifetime);
serde_plain::derive_fromstr_from_deserialize!(AppPasswordLifetime);

impl AppPasswordLifetime {
    /// Every choice, in the order the select offers them.
    pub const ALL: [Self; 4] = [Self::Never, Self::Days30, Self::Days90, Self::Days365];

    pub fn label(self) -> &'static str {
        match self {
            Self::Never => "Never",
            Self::Days30 => "In 30 days",
            Self::Days90 => "In 90 days",
            Self::Days365 => "In 365 days",
        }
    }

    /// How many days it lasts; `None` for never.
    pub fn days(self) -> Option<u32> {
        match self {
            Self::Never => None,
            Self::Days30 => Some(30),
            Self::Days90 => Some(90),
            Self::Days365 => Some(365),
        }
    }
}

/// What the person chose for a new app password besides its name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordChoices {
    #[serde(default)]
    pub kind: AppPasswordKind,
    /// When it stops working (never unless chosen).
    #[serde(default)]
    pub expires: AppPasswordLifetime,
}

/// One app password as the list shows it. Times are worded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordItem {
    pub id: i32,
    pub name: String,
    /// What it may reach.
    #[serde(default)]
    pub kind: AppPasswordKind,
    pub created: String,
    /// "Never used", or when and from where it was last used.
    pub last_used: String,
    /// "Expires in 5 days", "Expires on Jan 5, 2027" or "Expired"; `None` when it never
    /// expires.
    #[serde(default)]
    pub expiry: Option<String>,
    /// Past its expiry: it no longer signs in (it can still be deleted).
    #[serde(default)]
    pub expired: bool,
}

/// The person's app passwords and what they may do with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordOverview {
    pub items: Vec<AppPasswordItem>,
    pub limit: u32,
    /// The organization allows app passwords.
    pub allowed: bool,
    /// The person has two-step verification (an authenticator app).
    pub has_two_step: bool,
    /// App passwords are managed on Security info (true) or on the legacy page (false).
    pub security_info_experience: bool,
}

impl AppPasswordOverview {
    /// Whether "App password" is offered in Add method / Create.
    pub fn can_create(&self) -> bool {
        self.allowed && self.has_two_step
    }

    pub fn at_limit(&self) -> bool {
        self.items.len() >= self.limit as usize
    }

    /// The listed app password with this id, if it is one of the person's.
    pub fn item(&self, id: i32) -> Option<AppPasswordItem> {
        self.items.iter().find(|item| item.id == id).cloned()
    }

    /// Adds a just-created app password to the list (once).
    pub fn add(&mut self, item: AppPasswordItem) {
        if self.item(item.id).is_none() {
            self.items.push(item);
        }
    }

    /// Puts a changed (renamed) app password's row in place of its old one.
    pub fn replace(&mut self, item: AppPasswordItem) {
        if let Some(row) = self.items.iter_mut().find(|row| row.id == item.id) {
            *row = item;
        }
    }

    /// Takes a deleted app password off the list.
    pub fn remove(&mut self, id: i32) {
        self.items.retain(|item| item.id != id);
    }
}

/// A just-created app password: the only time its secret leaves the server. `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedAppPassword {
    pub id: i32,
    pub name: String,
    /// "abcd efgh ijkl mnop".
    pub password: String,
    /// Its row in the list, as the list shows it.
    pub item: AppPasswordItem,
    /// "Set up an iPhone, iPad or Mac", when the organization has mail settings: made with the
    /// password, in the same call, while the dialog shows it.
    pub apple_profile: Option<crate::apple_profile_model::AppleProfileOffer>,
}

impl std::fmt::Debug for CreatedAppPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedAppPassword")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

// First-time setup.

/// What the setup form sends to the server (the backend's input).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupForm {
    pub token: String,
    pub organization: String,
    /// Present ("on") when the checkbox is ticked.
    #[serde(default)]
    pub allow_app_passwords: Option<String>,
    pub display_name: String,
    pub username: String,
    pub password: String,
    pub confirm_password: String,
}

impl std::fmt::Debug for SetupForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupForm")
            .field("organization", &self.organization)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What was typed into the setup form but the passwords: shown again after a refusal.
/// `Debug` hides the setup link's token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupValues {
    /// The setup link's token (the page is `/setup?token=...`).
    pub token: String,
    pub organization: String,
    pub allow_app_passwords: bool,
    pub display_name: String,
    pub username: String,
}

impl std::fmt::Debug for SetupValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupValues")
            .field("token", &crate::secret::Redacted)
            .field("organization", &self.organization)
            .field("allow_app_passwords", &self.allow_app_passwords)
            .field("display_name", &self.display_name)
            .field("username", &self.username)
            .finish()
    }
}

// Administration.

/// One of the organization's on/off settings, as the admin console names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySetting {
    AllowAppPasswords,
    SecurityInfoExperience,
    RequireTwoStep,
    ResetRevokesAppPasswords,
    ResetPasswordByMail,
}

// Its value in a form (`setting=allow_app_passwords`) is its serde name, as the server
// function reads it.
serde_plain::derive_display_from_serialize!(PolicySetting);
serde_plain::derive_fromstr_from_deserialize!(PolicySetting);

impl PolicySetting {
    pub const ALL: [Self; 5] = [
        Self::AllowAppPasswords,
        Self::SecurityInfoExperience,
        Self::RequireTwoStep,
        Self::ResetRevokesAppPasswords,
        Self::ResetPasswordByMail,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::AllowAppPasswords => "App passwords",
            Self::SecurityInfoExperience => "New Security info experience",
            Self::RequireTwoStep => "Require two-step verification",
            Self::ResetRevokesAppPasswords => "Password resets revoke app passwords",
            Self::ResetPasswordByMail => "People may reset their password by mail",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::AllowAppPasswords => {
                "People with two-step verification may create app passwords for apps that can't use it (older mail clients, scripts)."
            }
            Self::SecurityInfoExperience => {
                "App passwords are managed on Security info. Off: on the separate \"Manage app passwords\" page."
            }
            Self::RequireTwoStep => {
                "Everyone must keep an authenticator app: deleting the last one is refused."
            }
            Self::ResetRevokesAppPasswords => {
                "When an administrator resets someone's password, their app passwords stop working too. Their sessions always end."
            }
            Self::ResetPasswordByMail => {
                "Sign-in offers \"Forgot password?\": a link to set a new password is mailed to the sign-in name, valid for an hour. The next sign-in still asks for the second step. Needs mail set up."
            }
        }
    }
}

/// The organization and its settings, for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationSettings {
    pub name: String,
    /// Each setting and whether it is on, in [`PolicySetting::ALL`] order.
    pub settings: Vec<(PolicySetting, bool)>,
    /// Whether the administrator reading them signed in (or confirmed it's them) within the
    /// last 10 minutes: changes in the console need that, or the password (and code) with them.
    pub recently_signed_in: bool,
    /// Whether the administrator has a second factor (then confirming asks for a code too).
    pub has_two_step: bool,
    /// Whether that second factor is a passkey only: confirming takes the passkey in place of
    /// a code.
    #[serde(default)]
    pub confirms_with_passkey: bool,
    /// App passwords unused for this many days stop working; `None`: off.
    #[serde(default)]
    pub app_password_idle_days: Option<u32>,
}

/// "Confirm it's you", sent with a change that needs a recent sign-in: the password, and a
/// code when the person has a second factor. Empty while the session is recent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityCheck {
    pub password: crate::secret::Secret,
    pub code: crate::secret::Secret,
}

impl IdentityCheck {
    /// From a form's optional `password` and `code` fields.
    pub fn from_fields(
        password: Option<crate::secret::Secret>,
        code: Option<crate::secret::Secret>,
    ) -> Self {
        Self {
            password: password.unwrap_or_default(),
            code: code.unwrap_or_default(),
        }
    }
}

impl OrganizationSettings {
    pub fn is_on(&self, setting: PolicySetting) -> bool {
        self.settings.iter().any(|(s, on)| *s == setting && *on)
    }
}

/// A person as the admin console lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSummary {
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub is_enabled: bool,
    pub has_two_step: bool,
    pub app_passwords: u32,
    /// The administrator reading the list (resetting their own methods signs them out).
    pub is_you: bool,
}

/// A one-time link with which a person sets their password (after a reset, or as a new
/// person), shown once to the administrator who made it. Its `url` holds the link's token, so
/// `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordLink {
    pub username: String,
    pub display_name: String,
    pub url: String,
    /// When it stops working, as people read it.
    pub expires: String,
    /// What the reset did (sessions ended, app passwords revoked); empty for a new person.
    pub detail: String,
}

impl std::fmt::Debug for PasswordLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordLink")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("url", &crate::secret::Redacted)
            .field("expires", &self.expires)
            .field("detail", &self.detail)
            .finish()
    }
}

/// A person as an administrator adds them, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPersonValues {
    pub username: String,
    pub display_name: String,
    pub administrator: bool,
}

/// Whom a password link is for, as its page greets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordLinkFor {
    pub username: String,
    pub display_name: String,
    /// A new person's first password (otherwise: after a reset).
    pub first_password: bool,
    /// Asked for by the person ("Forgot password?") and mailed to them.
    #[serde(default)]
    pub mailed: bool,
}

/// A page of people, by sign-in name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeoplePage {
    pub people: Vec<PersonSummary>,
    /// Where the next page starts (`after`), when there is one.
    pub next: Option<String>,
}

/// What an administrator does to one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonAction {
    Disable,
    Enable,
    MakeAdministrator,
    RemoveAdministrator,
    /// Ends every session of the person.
    SignOutEverywhere,
    /// Revokes every app password of the person.
    RevokeAppPasswords,
    /// Removes every second factor of the person (sessions end; app passwords as the
    /// organization's reset setting says): they add a method again at their next sign-in.
    ResetMethods,
}

// Its value in a form (`action=disable`) and in the console's URL (`?confirm=disable:NAME`) is
// its serde name, as the server function reads it.
serde_plain::derive_display_from_serialize!(PersonAction);
serde_plain::derive_fromstr_from_deserialize!(PersonAction);

impl PersonAction {
    pub fn label(self) -> &'static str {
        match self {
            Self::Disable => "Disable",
            Self::Enable => "Enable",
            Self::MakeAdministrator => "Make administrator",
            Self::RemoveAdministrator => "Remove administrator",
            Self::SignOutEverywhere => "Sign out everywhere",
            Self::RevokeAppPasswords => "Revoke all app passwords",
            Self::ResetMethods => "Reset methods",
        }
    }

    /// Asked again before it is done: it cannot be undone, locks the person out, or changes
    /// who administers (a slip of the finger on a phone must not hand out the console).
    pub fn needs_confirmation(self) -> bool {
        matches!(
            self,
            Self::Disable
                | Self::RevokeAppPasswords
                | Self::ResetMethods
                | Self::MakeAdministrator
                | Self::RemoveAdministrator
        )
    }

    /// The actions that apply to `person` now.
    pub fn for_person(person: &PersonSummary) -> Vec<Self> {
        let mut actions = vec![if person.is_enabled {
            Self::Disable
        } else {
            Self::Enable
        }];
        actions.push(if person.is_admin {
            Self::RemoveAdministrator
        } else {
            Self::MakeAdministrator
        });
        actions.push(Self::SignOutEverywhere);
        if person.app_passwords > 0 {
            actions.push(Self::RevokeAppPasswords);
        }
        if person.has_two_step {
            actions.push(Self::ResetMethods);
        }
        actions
    }
}

/// Which audit events an administrator asks for, as typed (every part may be empty; days are
/// `YYYY-MM-DD`, `to` included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub person: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// One audit event as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i32,
    /// "Nov 25, 2026, 14:05 UTC".
    pub at: String,
    /// The sign-in name of the person it is about, if any.
    pub person: Option<String>,
    /// Who did it when it was not the person themselves: an administrator's sign-in name, or
    /// "command line".
    pub actor: Option<String>,
    pub kind: String,
    pub detail: String,
    pub address: Option<String>,
    pub client: Option<String>,
    /// How many times it happened: 1, or more for the counted events outsiders can cause
    /// (failed sign-ins, unknown names, paused app-password checks), one row per address in
    /// 15 minutes.
    pub count: u32,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next (older) page starts, when there is one.
    pub older: Option<i32>,
    /// Every kind of event recorded, for the filter.
    pub kinds: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_recovery_codes_download_as_a_text_file_and_hide_from_debug() {
        let codes = NewRecoveryCodes {
            codes: vec![
                "7kx2m-qp4rz-a9fh3".to_owned(),
                "bbbbb-ccccc-ddddd".to_owned(),
            ],
            account: "ada@contoso.example".to_owned(),
            organization: "Contoso & Co".to_owned(),
            created: "Dec 6, 2026, 10:00 UTC".to_owned(),
        };
        assert_eq!(codes.lines(), "7kx2m-qp4rz-a9fh3\nbbbbb-ccccc-ddddd");
        let text = codes.file_text();
        for part in [
            "Account: ada@contoso.example",
            "Contoso & Co",
            "7kx2m-qp4rz-a9fh3\nbbbbb",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let href = codes.download_href();
        let encoded = href
            .strip_prefix("data:text/plain;charset=utf-8,")
            .unwrap_or_default();
        // Nothing in the link can end it or start another part of the URL.
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'%'),
            "{encoded}"
        );
        let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
        assert_eq!(decoded, text);
        assert!(!format!("{codes:?}").contains("7kx2m"));
    }
}

/// The methods Add method offers (the chooser's `method`, by its serde name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodToAdd {
    Authenticator,
    /// A passkey or security key: its dialog asks for a name, then the browser's prompt.
    Passkey,
    AppPassword,
    /// Nothing chosen (the chooser's "Choose a method" is empty), or no method at all.
    #[serde(other)]
    Unchosen,
}

serde_plain::derive_display_from_serialize!(MethodToAdd);

/// What Add method leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddMethodAnswer {
    /// Adding an authenticator app has started: show its QR code and ask for a code.
    Authenticator(AuthenticatorEnrollment),
    /// The passkey dialog (a name, then the browser's prompt).
    Passkey,
    /// The app-password steps (their first step asks for the app's name).
    AppPassword,
}

/// One of the person's signed-in browsers, worded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInBrowser {
    /// What "Sign out" names: the session's row id, never its token or the token's hash.
    pub id: i32,
    /// "Firefox on Windows", or "Unknown browser".
    pub browser: String,
    /// The address it signed in from.
    pub address: Option<String>,
    /// "5 minutes ago".
    pub last_active: String,
    /// "Nov 25, 2026, 14:05 UTC".
    pub last_active_at: String,
    /// "Nov 25, 2026".
    pub signed_in: String,
    /// The browser asking.
    pub this_browser: bool,
}
