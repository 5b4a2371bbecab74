//! The route table: every page's path, who may open it, and its query as a typed value. The
//! router (`crate::app`), the server's sign-in gate, redirects, links and form actions all take
//! paths and queries from here, so no path is written twice. Server functions keep theirs in
//! `#[server(endpoint = ...)]` (read back as `<F as ServerFn>::PATH`).
//!
//! A query is a serde struct, read with `serde_urlencoded` (unknown keys, such as Leptos'
//! `__err`, are ignored, and a value that does not read counts as absent) and written with
//! [`query_string`], so a link to a dialog is exactly the URL its page reads.

use leptos_router::{PartialPathMatch, PathSegment, PossibleRouteMatch, StaticSegment};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::model::{AuditQuery, PersonAction};

/// Every page of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Page {
    /// My Profile's overview.
    Overview,
    SecurityInfo,
    /// "Manage app passwords", for organizations that turn the Security info experience off.
    LegacyAppPasswords,
    Activity,
    /// The admin console.
    Admin,
    AuditLog,
    SignIn,
    /// First-time setup (`?token=`).
    Setup,
    /// The page a one-time password link opens (`?token=`).
    SetPassword,
}

/// Who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// A signed-in person who has the second factor their organization requires.
    SignedIn,
    /// A signed-in person, even one who must still add that second factor: it is added there.
    SignedInBeforeTwoStep,
    /// A signed-in administrator; anyone else is sent to My Profile (the console's server
    /// functions refuse them too).
    Administrator,
}

impl Page {
    pub const ALL: [Self; 9] = [
        Self::Overview,
        Self::SecurityInfo,
        Self::LegacyAppPasswords,
        Self::Activity,
        Self::Admin,
        Self::AuditLog,
        Self::SignIn,
        Self::Setup,
        Self::SetPassword,
    ];

    pub const fn path(self) -> &'static str {
        match self {
            Self::Overview => "/",
            Self::SecurityInfo => "/security-info",
            Self::LegacyAppPasswords => "/app-passwords",
            Self::Activity => "/activity",
            Self::Admin => "/admin",
            Self::AuditLog => "/admin/audit",
            Self::SignIn => "/signin",
            Self::Setup => "/setup",
            Self::SetPassword => "/set-password",
        }
    }

    pub const fn access(self) -> Access {
        match self {
            Self::SecurityInfo => Access::SignedInBeforeTwoStep,
            Self::Overview | Self::LegacyAppPasswords | Self::Activity => Access::SignedIn,
            Self::Admin | Self::AuditLog => Access::Administrator,
            Self::SignIn | Self::Setup | Self::SetPassword => Access::Anyone,
        }
    }

    /// Whether only a signed-in person may open it (others are sent to sign in first).
    pub const fn needs_session(self) -> bool {
        !matches!(self.access(), Access::Anyone)
    }

    /// The page at `path` (a path only, without the query).
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|page| page.path() == path)
    }

    /// This page with `query` (its bare path when the query sets nothing).
    pub fn with(self, query: &impl Serialize) -> String {
        match query_string(query) {
            query if query.is_empty() => self.path().to_owned(),
            query => format!("{}?{query}", self.path()),
        }
    }

    /// The static segments of its path (none for `/`).
    fn segments(self) -> impl Iterator<Item = &'static str> {
        self.path().split('/').filter(|segment| !segment.is_empty())
    }
}

/// A page is its own route path in the router: its path's static segments, matched as
/// `leptos_router::path!` would match them.
impl PossibleRouteMatch for Page {
    fn optional(&self) -> bool {
        false
    }

    fn test<'a>(&self, path: &'a str) -> Option<PartialPathMatch<'a>> {
        let mut remaining = path;
        for segment in self.segments() {
            remaining = StaticSegment(segment).test(remaining)?.remaining();
        }
        let matched = path.get(..path.len() - remaining.len()).unwrap_or_default();
        Some(PartialPathMatch::new(remaining, Vec::new(), matched))
    }

    fn generate_path(&self, path: &mut Vec<PathSegment>) {
        for segment in self.segments() {
            StaticSegment(segment).generate_path(path);
        }
    }
}

/// The audit log as CSV: served by the server itself (not a page), for administrators, with
/// the audit log's filter as its query.
pub const AUDIT_LOG_CSV: &str = "/admin/audit.csv";

/// The password check for proxies in front of mail and calendar servers (nginx
/// `auth_request`, Dovecot's Lua passdb, `latchkey checkpassword`): Basic credentials.
pub const AUTH_BASIC: &str = "/auth/basic";

/// The password check for nginx's mail proxy (`auth_http`): nginx's `Auth-*` headers.
pub const AUTH_NGINX_MAIL: &str = "/auth/nginx-mail";

/// The CSV export of the audit events that `filter` selects.
pub fn audit_log_csv(filter: &AuditQuery) -> String {
    match query_string(&AuditLogQuery::new(filter, None)) {
        query if query.is_empty() => AUDIT_LOG_CSV.to_owned(),
        query => format!("{AUDIT_LOG_CSV}?{query}"),
    }
}

/// What a query value keeps as it is: unreserved characters and `/` (so a return path reads
/// `next=/security-info`); everything else is percent-encoded.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// The set fields of `query` as `key=value&...`, in field order (`None`s left out).
pub fn query_string(query: &impl Serialize) -> String {
    query_pairs(query)
        .into_iter()
        .map(|(key, value)| format!("{}={}", encode(&key), encode(&value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The set fields of `query` as names and values (for a GET form's hidden inputs).
pub fn query_pairs(query: &impl Serialize) -> Vec<(String, String)> {
    // serde_urlencoded knows how to flatten a struct into pairs; its form encoding (`/` as
    // `%2F`) is then swapped for ours.
    serde_urlencoded::to_string(query)
        .ok()
        .and_then(|form| serde_urlencoded::from_str(&form).ok())
        .unwrap_or_default()
}

/// Percent-encodes a query value as [`QUERY_VALUE`] says.
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// Reads a query (with or without its `?`); one that does not read at all is empty.
pub fn parse_query<Q: DeserializeOwned + Default>(query: &str) -> Q {
    serde_urlencoded::from_str(query.strip_prefix('?').unwrap_or(query)).unwrap_or_default()
}

/// The current page's query as `Q`, following navigation.
pub fn use_page_query<Q>() -> leptos::prelude::Memo<Q>
where
    Q: DeserializeOwned + Default + PartialEq + Clone + Send + Sync + 'static,
{
    use leptos::prelude::With;
    let location = leptos_router::hooks::use_location();
    leptos::prelude::Memo::new(move |_| location.search.with(|search| parse_query(search)))
}

/// Reads an optional value; one that does not read (`?rename=x`) counts as absent instead of
/// making the whole query unreadable.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer).unwrap_or(None))
}

// Security info and the legacy app-password page.

/// Security info's query (the legacy page reads its app-password dialogs from it too): the
/// dialog open on the page, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SecurityInfoKeys", into = "SecurityInfoKeys")]
pub struct SecurityInfoQuery {
    pub dialog: Option<SecurityInfoDialog>,
}

/// The dialogs of Security info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityInfoDialog {
    /// `?add=method`: which method to add.
    AddMethod,
    /// `?add=authenticator`: the authenticator app's QR code and first code.
    AddAuthenticator,
    /// `?add=passkey`: a name, then the browser's prompt.
    AddPasskey,
    /// `?change=password`, and `&step=done` once changed.
    ChangePassword {
        done: bool,
    },
    /// `?change=default_method`: which second factor sign-in asks for first.
    DefaultMethod,
    /// `?remove=authenticator&id=ID`.
    DeleteAuthenticator {
        id: i32,
    },
    /// `?codes=new`: "Get new codes" (recovery codes), then the codes shown once.
    RecoveryCodes,
    AppPassword(AppPasswordDialog),
}

/// The app-password dialogs, on Security info and on the legacy page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppPasswordDialog {
    /// `?add=app_password`: the create steps.
    Create,
    /// `?delete=ID`, with `&then=create` when asked from the create steps' limit prompt.
    Delete { id: i32, then_create: bool },
    /// `?rename=ID`.
    Rename { id: i32 },
    /// `?delete=all`.
    DeleteAll,
}

impl SecurityInfoDialog {
    /// `page` with this dialog open.
    pub fn on(self, page: Page) -> String {
        page.with(&SecurityInfoQuery { dialog: Some(self) })
    }
}

impl AppPasswordDialog {
    /// `page` (Security info or the legacy page) with this dialog open.
    pub fn on(self, page: Page) -> String {
        SecurityInfoDialog::AppPassword(self).on(page)
    }
}

impl SecurityInfoQuery {
    /// The app-password dialog open, if the open dialog is one.
    pub fn app_password_dialog(&self) -> Option<AppPasswordDialog> {
        match self.dialog {
            Some(SecurityInfoDialog::AppPassword(dialog)) => Some(dialog),
            _ => None,
        }
    }
}

/// Security info's query keys as they are in the URL.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct SecurityInfoKeys {
    #[serde(deserialize_with = "lenient")]
    add: Option<Adding>,
    #[serde(deserialize_with = "lenient")]
    change: Option<Changing>,
    #[serde(deserialize_with = "lenient")]
    step: Option<Step>,
    #[serde(deserialize_with = "lenient")]
    remove: Option<Removing>,
    #[serde(deserialize_with = "lenient")]
    id: Option<i32>,
    #[serde(deserialize_with = "lenient")]
    rename: Option<i32>,
    #[serde(deserialize_with = "lenient")]
    delete: Option<Deleting>,
    #[serde(deserialize_with = "lenient")]
    then: Option<Then>,
    #[serde(deserialize_with = "lenient")]
    codes: Option<Codes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Adding {
    Method,
    Authenticator,
    Passkey,
    AppPassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Changing {
    Password,
    DefaultMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Removing {
    Authenticator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Then {
    Create,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Codes {
    New,
}

/// `delete=all` or `delete=ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
enum Deleting {
    All,
    One(i32),
}

const DELETE_ALL: &str = "all";

impl TryFrom<String> for Deleting {
    type Error = std::num::ParseIntError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value == DELETE_ALL {
            Ok(Self::All)
        } else {
            value.parse().map(Self::One)
        }
    }
}

impl From<Deleting> for String {
    fn from(deleting: Deleting) -> Self {
        match deleting {
            Deleting::All => DELETE_ALL.to_owned(),
            Deleting::One(id) => id.to_string(),
        }
    }
}

impl From<SecurityInfoKeys> for SecurityInfoQuery {
    fn from(keys: SecurityInfoKeys) -> Self {
        // The app-password dialogs first, in this order; then Security info's own.
        let app_password = match (keys.delete, keys.rename, keys.add) {
            (Some(Deleting::One(id)), _, _) => Some(AppPasswordDialog::Delete {
                id,
                then_create: keys.then == Some(Then::Create),
            }),
            (Some(Deleting::All), _, _) => Some(AppPasswordDialog::DeleteAll),
            (None, Some(id), _) => Some(AppPasswordDialog::Rename { id }),
            (None, None, Some(Adding::AppPassword)) => Some(AppPasswordDialog::Create),
            _ => None,
        };
        let own = match (keys.add, keys.change, keys.remove) {
            (Some(Adding::Method), _, _) => Some(SecurityInfoDialog::AddMethod),
            (Some(Adding::Authenticator), _, _) => Some(SecurityInfoDialog::AddAuthenticator),
            (Some(Adding::Passkey), _, _) => Some(SecurityInfoDialog::AddPasskey),
            (_, Some(Changing::Password), _) => Some(SecurityInfoDialog::ChangePassword {
                done: keys.step == Some(Step::Done),
            }),
            (_, Some(Changing::DefaultMethod), _) => Some(SecurityInfoDialog::DefaultMethod),
            (_, _, Some(Removing::Authenticator)) => keys
                .id
                .map(|id| SecurityInfoDialog::DeleteAuthenticator { id }),
            _ => keys
                .codes
                .map(|Codes::New| SecurityInfoDialog::RecoveryCodes),
        };
        Self {
            dialog: app_password.map(SecurityInfoDialog::AppPassword).or(own),
        }
    }
}

impl From<SecurityInfoQuery> for SecurityInfoKeys {
    fn from(query: SecurityInfoQuery) -> Self {
        let mut keys = Self::default();
        match query.dialog {
            None => {}
            Some(SecurityInfoDialog::AddMethod) => keys.add = Some(Adding::Method),
            Some(SecurityInfoDialog::AddAuthenticator) => keys.add = Some(Adding::Authenticator),
            Some(SecurityInfoDialog::AddPasskey) => keys.add = Some(Adding::Passkey),
            Some(SecurityInfoDialog::ChangePassword { done }) => {
                keys.change = Some(Changing::Password);
                keys.step = done.then_some(Step::Done);
            }
            Some(SecurityInfoDialog::DefaultMethod) => keys.change = Some(Changing::DefaultMethod),
            Some(SecurityInfoDialog::DeleteAuthenticator { id }) => {
                keys.remove = Some(Removing::Authenticator);
                keys.id = Some(id);
            }
            Some(SecurityInfoDialog::RecoveryCodes) => keys.codes = Some(Codes::New),
            Some(SecurityInfoDialog::AppPassword(dialog)) => match dialog {
                AppPasswordDialog::Create => keys.add = Some(Adding::AppPassword),
                AppPasswordDialog::Delete { id, then_create } => {
                    keys.delete = Some(Deleting::One(id));
                    keys.then = then_create.then_some(Then::Create);
                }
                AppPasswordDialog::Rename { id } => keys.rename = Some(id),
                AppPasswordDialog::DeleteAll => keys.delete = Some(Deleting::All),
            },
        }
        keys
    }
}

// The admin console.

/// The admin console's query: the search (`?q=`), the page of it (`?after=`) and the dialog
/// open, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "AdminKeys", into = "AdminKeys")]
pub struct AdminQuery {
    /// The start of a sign-in name or name (everyone when empty).
    pub search: String,
    /// The sign-in name the page starts after.
    pub after: Option<String>,
    pub dialog: Option<AdminDialog>,
}

/// The dialogs of the admin console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminDialog {
    /// `?confirm=ACTION:USERNAME`: an action that is asked again before it is done.
    Confirm {
        action: PersonAction,
        username: String,
    },
    /// `?apps=USERNAME`: the person's app passwords.
    AppPasswordsOf { username: String },
    /// `?reset=USERNAME`: resetting the person's password.
    ResetPassword { username: String },
    /// `?add=person`.
    AddPerson,
}

impl AdminQuery {
    /// The console at a search and page, without a dialog.
    pub fn search(search: &str, after: Option<&str>) -> Self {
        Self {
            search: search.to_owned(),
            after: after.map(str::to_owned),
            dialog: None,
        }
    }

    /// The same search and page, with `dialog` open (or none).
    pub fn with_dialog(&self, dialog: Option<AdminDialog>) -> Self {
        Self {
            dialog,
            ..self.clone()
        }
    }

    /// The console at this query.
    pub fn link(&self) -> String {
        Page::Admin.with(self)
    }
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct AdminKeys {
    q: Option<String>,
    after: Option<String>,
    #[serde(deserialize_with = "lenient")]
    confirm: Option<Confirmation>,
    apps: Option<String>,
    reset: Option<String>,
    #[serde(deserialize_with = "lenient")]
    add: Option<AdminAdding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AdminAdding {
    Person,
}

/// `ACTION:USERNAME`, for an action that needs confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
struct Confirmation {
    action: PersonAction,
    username: String,
}

/// Why a `confirm=` value names nothing to confirm.
#[derive(Debug, thiserror::Error)]
#[error("not an action to confirm and a sign-in name")]
struct NotAConfirmation;

impl TryFrom<String> for Confirmation {
    type Error = NotAConfirmation;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let (action, username) = value.split_once(':').ok_or(NotAConfirmation)?;
        let action: PersonAction = action.parse().map_err(|_| NotAConfirmation)?;
        if !action.needs_confirmation() {
            return Err(NotAConfirmation);
        }
        Ok(Self {
            action,
            username: username.to_owned(),
        })
    }
}

impl From<Confirmation> for String {
    fn from(confirmation: Confirmation) -> Self {
        format!("{}:{}", confirmation.action, confirmation.username)
    }
}

impl From<AdminKeys> for AdminQuery {
    fn from(keys: AdminKeys) -> Self {
        let dialog = if let Some(Confirmation { action, username }) = keys.confirm {
            Some(AdminDialog::Confirm { action, username })
        } else if let Some(username) = keys.apps {
            Some(AdminDialog::AppPasswordsOf { username })
        } else if let Some(username) = keys.reset {
            Some(AdminDialog::ResetPassword { username })
        } else {
            keys.add.map(|AdminAdding::Person| AdminDialog::AddPerson)
        };
        Self {
            search: keys.q.unwrap_or_default(),
            after: keys.after,
            dialog,
        }
    }
}

impl From<AdminQuery> for AdminKeys {
    fn from(query: AdminQuery) -> Self {
        let mut keys = Self {
            q: Some(query.search).filter(|search| !search.is_empty()),
            after: query.after,
            ..Self::default()
        };
        match query.dialog {
            None => {}
            Some(AdminDialog::Confirm { action, username }) => {
                keys.confirm = Some(Confirmation { action, username })
            }
            Some(AdminDialog::AppPasswordsOf { username }) => keys.apps = Some(username),
            Some(AdminDialog::ResetPassword { username }) => keys.reset = Some(username),
            Some(AdminDialog::AddPerson) => keys.add = Some(AdminAdding::Person),
        }
        keys
    }
}

// The other pages' queries.

/// The audit log's query: its filter (each part may be empty) and the event its page starts
/// before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditLogQuery {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub person: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    #[serde(deserialize_with = "lenient")]
    pub before: Option<i32>,
}

impl AuditLogQuery {
    /// The page of events `filter` selects (its parts trimmed) older than `before`.
    pub fn new(filter: &AuditQuery, before: Option<i32>) -> Self {
        Self {
            person: filter.person.trim().to_owned(),
            kind: filter.kind.trim().to_owned(),
            from: filter.from.trim().to_owned(),
            to: filter.to.trim().to_owned(),
            before,
        }
    }

    pub fn filter(&self) -> AuditQuery {
        AuditQuery {
            person: self.person.clone(),
            kind: self.kind.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

/// Recent activity's query: the event its page starts before (the newest page without).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityQuery {
    #[serde(deserialize_with = "lenient")]
    pub before: Option<i32>,
}

/// The query of the pages a link's token opens: setup and Set your password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    pub token: String,
}

/// The sign-in page's query: the step, where to go after, and a notice to show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignInQuery {
    /// `done`: setup has just finished.
    pub setup: Option<String>,
    /// `1` (this browser) or `everywhere`.
    pub signed_out: Option<String>,
    /// `set`: the password was just set with a one-time link; `mailed`: one was asked for
    /// ("Forgot password?").
    pub password: Option<String>,
    pub username: Option<String>,
    /// [`SignInQuery::CODE_STEP`]: the authenticator app's code;
    /// [`SignInQuery::PASSKEY_STEP`]: a passkey;
    /// [`SignInQuery::RECOVERY_CODE_STEP`]: a recovery code in their place;
    /// [`SignInQuery::FORGOT_STEP`]: "Forgot password?".
    pub step: Option<String>,
    /// Where to go once signed in (a path on this site).
    pub next: Option<String>,
    /// `mailed`, `used`, or a mailed sign-in link's token.
    pub link: Option<String>,
}

impl SignInQuery {
    /// The step asking for the authenticator app's code.
    pub const CODE_STEP: &str = "code";
    /// The step asking for a passkey.
    pub const PASSKEY_STEP: &str = "passkey";
    /// The step asking for a recovery code instead ("Use a recovery code").
    pub const RECOVERY_CODE_STEP: &str = "recovery_code";
    /// "Forgot password?": the sign-in name, to mail a link to set a new password.
    pub const FORGOT_STEP: &str = "forgot";

    /// The second step `step` ([`Self::CODE_STEP`] or [`Self::RECOVERY_CODE_STEP`]), then on to
    /// `next`.
    pub fn second_step(step: &str, next: &str) -> Self {
        Self {
            step: Some(step.to_owned()),
            next: Some(next.to_owned()),
            ..Self::default()
        }
    }

    /// The second step that asks for `way`, then on to `next`.
    pub fn second_step_with(way: crate::model::SecondStepWay, next: &str) -> Self {
        Self::second_step(Self::step_of(way), next)
    }

    /// The `step` value of the page asking for `way`.
    pub fn step_of(way: crate::model::SecondStepWay) -> &'static str {
        use crate::model::SecondStepWay;
        match way {
            SecondStepWay::AuthenticatorApp => Self::CODE_STEP,
            SecondStepWay::Passkey => Self::PASSKEY_STEP,
            SecondStepWay::RecoveryCode => Self::RECOVERY_CODE_STEP,
        }
    }

    /// Sign-in, then on to `next`.
    pub fn then_to(next: &str) -> Self {
        Self {
            next: Some(next.to_owned()),
            ..Self::default()
        }
    }

    /// The sign-in page at this query.
    pub fn link(&self) -> String {
        Page::SignIn.with(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the query of `url` as `Q`.
    fn read<Q: DeserializeOwned + Default>(url: &str) -> Q {
        parse_query(url.split_once('?').map_or("", |(_, query)| query))
    }

    fn dialog(url: &str) -> Option<SecurityInfoDialog> {
        read::<SecurityInfoQuery>(url).dialog
    }

    #[test]
    fn every_page_has_one_path_of_its_own() {
        for page in Page::ALL {
            assert_eq!(Page::from_path(page.path()), Some(page), "{page:?}");
            assert!(page.path().starts_with('/'), "{page:?}");
        }
        let mut paths: Vec<_> = Page::ALL.iter().map(|page| page.path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), Page::ALL.len(), "two pages share a path");
        assert_eq!(Page::from_path("/security-info/"), None);
        assert_eq!(Page::from_path("/nowhere"), None);
    }

    #[test]
    fn only_sign_in_setup_and_password_links_are_open_to_anyone() {
        let open: Vec<_> = Page::ALL
            .into_iter()
            .filter(|page| !page.needs_session())
            .collect();
        assert_eq!(open, [Page::SignIn, Page::Setup, Page::SetPassword]);
        let before_two_step: Vec<_> = Page::ALL
            .into_iter()
            .filter(|page| page.access() == Access::SignedInBeforeTwoStep)
            .collect();
        assert_eq!(before_two_step, [Page::SecurityInfo]);
        let administrators_only: Vec<_> = Page::ALL
            .into_iter()
            .filter(|page| page.access() == Access::Administrator)
            .collect();
        assert_eq!(administrators_only, [Page::Admin, Page::AuditLog]);
    }

    #[test]
    fn each_page_is_the_route_of_its_own_path_only() {
        for page in Page::ALL {
            for other in Page::ALL {
                let matched = page.test(other.path());
                let whole = matched
                    .as_ref()
                    .is_some_and(|m| m.remaining().is_empty() || m.remaining() == "/");
                assert_eq!(whole, page == other, "{page:?} on {}", other.path());
            }
            let mut segments = Vec::new();
            page.generate_path(&mut segments);
            let generated: String = segments
                .iter()
                .map(|segment| match segment {
                    PathSegment::Static(text) => format!("/{text}"),
                    other => format!("{other:?}"),
                })
                .collect();
            let generated = if generated.is_empty() {
                "/".to_owned()
            } else {
                generated
            };
            assert_eq!(generated, page.path());
        }
        // The rest of a longer path is left to a child route, as `path!` leaves it.
        let matched = Page::Admin.test("/admin/audit");
        assert_eq!(matched.map(|m| m.remaining()), Some("/audit"));
        assert!(Page::Admin.test("/administration").is_none());
    }

    #[test]
    fn security_info_dialogs_read_from_the_urls_people_open() {
        use AppPasswordDialog::*;
        use SecurityInfoDialog::*;
        let cases = [
            ("/security-info", None),
            ("/security-info?add=method", Some(AddMethod)),
            ("/security-info?add=authenticator", Some(AddAuthenticator)),
            ("/security-info?add=app_password", Some(AppPassword(Create))),
            (
                "/security-info?change=password",
                Some(ChangePassword { done: false }),
            ),
            (
                "/security-info?change=password&step=done",
                Some(ChangePassword { done: true }),
            ),
            (
                "/security-info?remove=authenticator&id=4",
                Some(DeleteAuthenticator { id: 4 }),
            ),
            // Which app to delete is part of the link.
            ("/security-info?remove=authenticator", None),
            ("/security-info?add=passkey", Some(AddPasskey)),
            ("/security-info?change=default_method", Some(DefaultMethod)),
            ("/security-info?codes=new", Some(RecoveryCodes)),
            ("/security-info?codes=old", None),
            (
                "/security-info?rename=7",
                Some(AppPassword(Rename { id: 7 })),
            ),
            ("/security-info?delete=all", Some(AppPassword(DeleteAll))),
            (
                "/security-info?delete=7",
                Some(AppPassword(Delete {
                    id: 7,
                    then_create: false,
                })),
            ),
            (
                "/security-info?delete=7&then=create",
                Some(AppPassword(Delete {
                    id: 7,
                    then_create: true,
                })),
            ),
            // A refused plain form post's signed error stays beside the dialog.
            (
                "/security-info?add=method&__path=%2Fapi%2Fadd_method&__err=x&__sig=1.ab",
                Some(AddMethod),
            ),
            // The app-password dialogs come first.
            (
                "/security-info?add=method&rename=3",
                Some(AppPassword(Rename { id: 3 })),
            ),
            // What does not read opens nothing, and spoils nothing else.
            ("/security-info?rename=x", None),
            ("/security-info?delete=x&add=method", Some(AddMethod)),
            ("/security-info?add=nothing", None),
            ("/security-info?remove=password", None),
        ];
        for (url, expected) in cases {
            assert_eq!(dialog(url), expected, "{url}");
        }
    }

    #[test]
    fn every_security_info_dialog_link_opens_that_dialog() {
        use AppPasswordDialog::*;
        use SecurityInfoDialog::*;
        let dialogs = [
            AddMethod,
            AddAuthenticator,
            ChangePassword { done: false },
            ChangePassword { done: true },
            DeleteAuthenticator { id: 3 },
            AddPasskey,
            DefaultMethod,
            RecoveryCodes,
            AppPassword(Create),
            AppPassword(Delete {
                id: 12,
                then_create: false,
            }),
            AppPassword(Delete {
                id: 12,
                then_create: true,
            }),
            AppPassword(Rename { id: 12 }),
            AppPassword(DeleteAll),
        ];
        for page in [Page::SecurityInfo, Page::LegacyAppPasswords] {
            for opened in dialogs {
                let link = opened.on(page);
                assert!(link.starts_with(page.path()), "{link}");
                assert_eq!(dialog(&link), Some(opened), "{link}");
            }
        }
        assert_eq!(
            AppPassword(Delete {
                id: 7,
                then_create: true
            })
            .on(Page::SecurityInfo),
            "/security-info?delete=7&then=create"
        );
        assert_eq!(
            Create.on(Page::LegacyAppPasswords),
            "/app-passwords?add=app_password"
        );
        assert_eq!(
            Page::SecurityInfo.with(&SecurityInfoQuery::default()),
            "/security-info"
        );
    }

    #[test]
    fn admin_dialogs_read_from_the_urls_people_open() {
        let admin = |url: &str| read::<AdminQuery>(url);
        assert_eq!(admin("/admin"), AdminQuery::default());
        let ada = "ada@contoso.example".to_owned();
        for url in [
            "/admin?confirm=disable%3Aada%40contoso.example",
            "/admin?confirm=disable:ada@contoso.example",
        ] {
            assert_eq!(
                admin(url).dialog,
                Some(AdminDialog::Confirm {
                    action: PersonAction::Disable,
                    username: ada.clone()
                }),
                "{url}"
            );
        }
        assert_eq!(
            admin("/admin?confirm=revoke_app_passwords:ada@contoso.example").dialog,
            Some(AdminDialog::Confirm {
                action: PersonAction::RevokeAppPasswords,
                username: ada.clone()
            })
        );
        assert_eq!(
            admin("/admin?confirm=reset_methods:ada@contoso.example").dialog,
            Some(AdminDialog::Confirm {
                action: PersonAction::ResetMethods,
                username: ada.clone()
            })
        );
        // Only what must be asked first is asked; nonsense opens nothing and keeps the search.
        assert_eq!(admin("/admin?confirm=enable:ada").dialog, None);
        assert_eq!(
            admin("/admin?confirm=make_administrator:ada").dialog,
            Some(AdminDialog::Confirm {
                action: PersonAction::MakeAdministrator,
                username: "ada".to_owned()
            })
        );
        let spoiled = admin("/admin?q=ad&confirm=explode:ada");
        assert_eq!((spoiled.search.as_str(), spoiled.dialog), ("ad", None));
        assert_eq!(admin("/admin?confirm=disable").dialog, None);

        assert_eq!(
            admin("/admin?q=ada&after=bob%40contoso.example&apps=ada%40contoso.example"),
            AdminQuery {
                search: "ada".to_owned(),
                after: Some("bob@contoso.example".to_owned()),
                dialog: Some(AdminDialog::AppPasswordsOf {
                    username: ada.clone()
                }),
            }
        );
        assert_eq!(
            admin("/admin?reset=ada%40contoso.example").dialog,
            Some(AdminDialog::ResetPassword {
                username: ada.clone()
            })
        );
        assert_eq!(
            admin("/admin?add=person").dialog,
            Some(AdminDialog::AddPerson)
        );
        assert_eq!(admin("/admin?add=people").dialog, None);
        assert_eq!(admin("/admin?q=GRA").search, "GRA");
        assert_eq!(admin("/admin?q=grace+hopper").search, "grace hopper");
    }

    #[test]
    fn admin_links_keep_the_search_and_open_one_dialog() {
        let here = AdminQuery::search("GRA", None);
        assert_eq!(here.link(), "/admin?q=GRA");
        assert_eq!(AdminQuery::default().link(), "/admin");
        assert_eq!(
            AdminQuery::search("", Some("bob@contoso.example")).link(),
            "/admin?after=bob%40contoso.example"
        );
        assert_eq!(
            here.with_dialog(Some(AdminDialog::AddPerson)).link(),
            "/admin?q=GRA&add=person"
        );
        let ada = "ada@contoso.example".to_owned();
        assert_eq!(
            AdminQuery::default()
                .with_dialog(Some(AdminDialog::Confirm {
                    action: PersonAction::Disable,
                    username: ada.clone()
                }))
                .link(),
            "/admin?confirm=disable%3Aada%40contoso.example"
        );
        assert_eq!(
            here.with_dialog(Some(AdminDialog::ResetPassword {
                username: ada.clone()
            }))
            .link(),
            "/admin?q=GRA&reset=ada%40contoso.example"
        );
        assert_eq!(
            AdminQuery::search("grace hopper", Some("g"))
                .with_dialog(Some(AdminDialog::AppPasswordsOf { username: ada }))
                .link(),
            "/admin?q=grace%20hopper&after=g&apps=ada%40contoso.example"
        );
        // Every link reads back as what made it.
        for dialog in [
            None,
            Some(AdminDialog::AddPerson),
            Some(AdminDialog::ResetPassword {
                username: "a+b@c.d".to_owned(),
            }),
            Some(AdminDialog::Confirm {
                action: PersonAction::RevokeAppPasswords,
                username: "x:y@c.d".to_owned(),
            }),
        ] {
            let query = AdminQuery::search("a b&c", Some("d/e")).with_dialog(dialog);
            assert_eq!(read::<AdminQuery>(&query.link()), query);
        }
    }

    #[test]
    fn person_actions_are_their_serde_names_in_forms_and_urls() {
        let names = [
            (PersonAction::Disable, "disable"),
            (PersonAction::Enable, "enable"),
            (PersonAction::MakeAdministrator, "make_administrator"),
            (PersonAction::RemoveAdministrator, "remove_administrator"),
            (PersonAction::SignOutEverywhere, "sign_out_everywhere"),
            (PersonAction::RevokeAppPasswords, "revoke_app_passwords"),
        ];
        for (action, name) in names {
            assert_eq!(action.to_string(), name);
            assert_eq!(name.parse::<PersonAction>().ok(), Some(action));
        }
        assert!("Disable".parse::<PersonAction>().is_err());
    }

    #[test]
    fn add_method_reads_what_the_chooser_sends() {
        use crate::model::MethodToAdd;
        assert_eq!(MethodToAdd::Authenticator.to_string(), "authenticator");
        assert_eq!(MethodToAdd::AppPassword.to_string(), "app_password");
        let chosen = |value: &str| serde_plain::from_str::<MethodToAdd>(value).ok();
        assert_eq!(chosen("app_password"), Some(MethodToAdd::AppPassword));
        // "Choose a method" (empty) and anything else are no choice, refused in words.
        assert_eq!(chosen(""), Some(MethodToAdd::Unchosen));
        assert_eq!(chosen("fingerprint"), Some(MethodToAdd::Unchosen));
    }

    #[test]
    fn sign_in_links_keep_return_paths_readable() {
        assert_eq!(
            SignInQuery::then_to("/security-info").link(),
            "/signin?next=/security-info"
        );
        assert_eq!(
            SignInQuery::then_to("/admin?q=a b&confirm=disable:x").link(),
            "/signin?next=/admin%3Fq%3Da%20b%26confirm%3Ddisable%3Ax"
        );
        let set = SignInQuery {
            password: Some("set".to_owned()),
            username: Some("grace@contoso.example".to_owned()),
            ..SignInQuery::default()
        };
        assert_eq!(
            set.link(),
            "/signin?password=set&username=grace%40contoso.example"
        );
        let code = SignInQuery {
            step: Some("code".to_owned()),
            next: Some(String::new()),
            ..SignInQuery::default()
        };
        assert_eq!(code.link(), "/signin?step=code&next=");
        assert_eq!(
            SignInQuery::second_step(SignInQuery::RECOVERY_CODE_STEP, "/security-info").link(),
            "/signin?step=recovery_code&next=/security-info"
        );
        assert_eq!(SignInQuery::default().link(), "/signin");
        assert_eq!(read::<SignInQuery>(&set.link()), set);
    }

    #[test]
    fn the_audit_log_query_reads_and_writes_its_filter() {
        let query: AuditLogQuery =
            read("/admin/audit?person=ada%40contoso.example&kind=sign_in.failed&before=40");
        assert_eq!(query.person, "ada@contoso.example");
        assert_eq!(query.before, Some(40));
        assert_eq!(
            Page::AuditLog.with(&query),
            "/admin/audit?person=ada%40contoso.example&kind=sign_in.failed&before=40"
        );
        let spoiled: AuditLogQuery = read("/admin/audit?kind=x&before=soon");
        assert_eq!((spoiled.kind.as_str(), spoiled.before), ("x", None));
        let typed = AuditQuery {
            person: " ada ".to_owned(),
            kind: String::new(),
            from: "2026-11-01".to_owned(),
            to: "  ".to_owned(),
        };
        assert_eq!(
            audit_log_csv(&typed),
            "/admin/audit.csv?person=ada&from=2026-11-01"
        );
        assert_eq!(audit_log_csv(&AuditQuery::default()), "/admin/audit.csv");
        let activity: ActivityQuery = read("/activity?before=12");
        assert_eq!(activity.before, Some(12));
        assert_eq!(Page::Activity.with(&activity), "/activity?before=12");
        assert_eq!(Page::Activity.with(&ActivityQuery::default()), "/activity");
    }

    #[test]
    fn values_are_percent_encoded_but_slashes() {
        let token = TokenQuery {
            token: "a b/c?d&e=f~g_h.i-j@k:l+m%".to_owned(),
        };
        assert_eq!(
            query_string(&token),
            "token=a%20b/c%3Fd%26e%3Df~g_h.i-j%40k%3Al%2Bm%25"
        );
        assert_eq!(read::<TokenQuery>(&Page::Setup.with(&token)), token);
        let link = TokenQuery {
            token: "ab12".to_owned(),
        };
        assert_eq!(Page::SetPassword.with(&link), "/set-password?token=ab12");
        assert_eq!(
            query_pairs(&token),
            [("token".to_owned(), token.token.clone())]
        );
    }
}
