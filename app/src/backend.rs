//! The interface between server functions and the server crate (ssr only). A server function
//! is one [`call`]: it gets the `Arc<dyn Backend>` the server provided and the request's
//! [`RequestContext`], calls one method, and finishes its answer by saying what a plain form
//! post gets ([`Next`]: back, on to a page, or the page showing the answer); all rules and
//! storage live behind the backend, in `server`.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::Uri;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::form_post::FormPostAnswer;
use crate::model::{
    ActivityPage, AppPasswordChoices, AppPasswordItem, AppPasswordKind, AppPasswordOverview,
    AuditPage, AuditQuery, AuthenticatorEnrollment, CreatedAppPassword, CurrentUser, IdentityCheck,
    NewPersonValues, NewRecoveryCodes, OrganizationSettings, PasswordLink, PasswordLinkFor,
    PeoplePage, PersonAction, PersonSummary, PolicySetting, SecondFactor, SecondStepWay,
    SecurityInfo, SetupForm, SignInStep,
};
use crate::plain_post::is_form_post;
use crate::routes::{AdminQuery, AppPasswordDialog, Page, SecurityInfoQuery, parse_query};

/// What the server's middleware records about each request.
#[derive(Clone, Default)]
pub struct RequestContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session cookie's value, if the browser sent one.
    pub session_token: Option<String>,
    /// The known-device cookie's value (every one the browser sent, as one), if any: it lets
    /// the person's own browsers sign in past their account's limit (`server::domain::known_device`).
    pub known_device: Option<String>,
    /// What the backend has already read during this request (see [`RequestMemo`]).
    pub memo: RequestMemo,
}

/// Values the backend reads once per page request and shares between the sign-in gate and the
/// server functions the page calls while it renders (the session behind the cookie, with the
/// organization's policy and counts of the person's methods read in the same query): one read
/// instead of one per caller. Only requests that change nothing (GET) get one; clones share it,
/// so it lives as long as the request. Without one ([`RequestMemo::off`], the default) every
/// read is fresh.
#[derive(Clone, Default)]
pub struct RequestMemo(Option<Arc<std::sync::Mutex<MemoSlots>>>);

type MemoSlots = Vec<(&'static str, Arc<dyn std::any::Any + Send + Sync>)>;

impl RequestMemo {
    /// A memo for a request that changes nothing.
    pub fn for_reading() -> Self {
        Self(Some(Arc::default()))
    }

    /// No memo: every read goes to the database.
    pub fn off() -> Self {
        Self(None)
    }

    /// The value remembered under `key`, if any and of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, key: &'static str) -> Option<T> {
        let slots = self.0.as_ref()?.lock().ok()?;
        slots
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, value)| value.downcast_ref::<T>().cloned())
    }

    /// Remembers `value` under `key` for the rest of the request (no-op without a memo).
    pub fn put<T: Clone + Send + Sync + 'static>(&self, key: &'static str, value: T) {
        if let Some(mut slots) = self.0.as_ref().and_then(|slots| slots.lock().ok()) {
            slots.retain(|(k, _)| *k != key);
            slots.push((key, Arc::new(value)));
        }
    }

    /// The value remembered under `key`, or what `read` gives, remembered for the rest of the
    /// request when it succeeds.
    pub async fn get_or_read<T, E>(
        &self,
        key: &'static str,
        read: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
    {
        if let Some(remembered) = self.get(key) {
            return Ok(remembered);
        }
        let value = read.await?;
        self.put(key, value.clone());
        Ok(value)
    }
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("ip", &self.ip)
            .field("user_agent", &self.user_agent)
            .field("has_session", &self.session_token.is_some())
            .field("has_known_device", &self.known_device.is_some())
            .finish()
    }
}

/// `Set-Cookie` header values: the first (the session cookie; `Deref` gives it) and those
/// sent with it (the known-device cookie of a complete sign-in). They carry tokens, so `Debug`
/// hides the values (sign-in results are printed in tests and could be logged).
#[derive(Clone, PartialEq, Eq)]
pub struct SetCookie {
    first: String,
    more: Vec<String>,
}

impl SetCookie {
    pub fn new(value: String) -> Self {
        Self {
            first: value,
            more: Vec::new(),
        }
    }

    /// These cookies and then `other`'s, sent together.
    pub fn and(mut self, other: SetCookie) -> Self {
        self.more.push(other.first);
        self.more.extend(other.more);
        self
    }

    /// Every header value, in order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.first.as_str()).chain(self.more.iter().map(String::as_str))
    }
}

impl std::ops::Deref for SetCookie {
    type Target = str;
    fn deref(&self) -> &str {
        &self.first
    }
}

impl std::fmt::Debug for SetCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetCookie(")?;
        for (n, value) in self.values().enumerate() {
            let name = value.split('=').next().unwrap_or_default();
            let separator = if n == 0 { "" } else { ", " };
            write!(f, "{separator}{name}=..")?;
        }
        f.write_str(")")
    }
}

/// What server functions call, one trait per feature, all implemented by the server's use
/// cases (`server::use_cases`). Server functions take the whole [`Backend`].
#[async_trait]
pub trait SetupUseCases: Send + Sync + 'static {
    /// Whether `token` opens the first-time setup page now.
    async fn setup_link_valid(&self, token: &str) -> bool;
    /// Creates the organization and first administrator, then closes the setup link.
    async fn complete_setup(
        &self,
        form: SetupForm,
        context: RequestContext,
    ) -> Result<(), AppError>;
}

/// Signing in and out, and who is signed in.
#[async_trait]
pub trait SessionUseCases: Send + Sync + 'static {
    /// A safe place to go after sign-in: `next` if it is a path on this site, else "/".
    fn return_path(&self, next: &str) -> String;
    async fn current_user(&self, context: &RequestContext)
    -> Result<Option<CurrentUser>, AppError>;
    async fn sign_in(
        &self,
        context: &RequestContext,
        username: &str,
        password: &str,
    ) -> Result<(SignInStep, SetCookie), AppError>;
    async fn verify_sign_in_code(
        &self,
        context: &RequestContext,
        code: &str,
    ) -> Result<SetCookie, AppError>;
    /// The ways the sign-in waiting for its second step may finish, the person's default
    /// first; empty without such a sign-in.
    async fn second_step_ways(
        &self,
        context: &RequestContext,
    ) -> Result<Vec<SecondStepWay>, AppError>;
    async fn sign_out(&self, context: &RequestContext) -> Result<SetCookie, AppError>;
    /// Mails a sign-in link to `username` if its sign-ins are held back
    /// ([`AppError::SignInHeldBack`]) and mail is set up; answers the same whether or not the
    /// name exists or a mail goes.
    async fn mail_sign_in_link(
        &self,
        context: &RequestContext,
        username: &str,
    ) -> Result<(), AppError>;
    /// Uses a mailed sign-in link: this browser becomes one of its person's known devices.
    /// Answers with their sign-in name and the device cookie.
    async fn use_sign_in_link(
        &self,
        context: &RequestContext,
        token: &str,
    ) -> Result<(String, SetCookie), AppError>;
    async fn sign_out_everywhere(&self, context: &RequestContext) -> Result<SetCookie, AppError>;
    /// "Confirm it's you": the password (and code) again; the session then counts as freshly
    /// signed in for 10 minutes.
    async fn confirm_its_you(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<(), AppError>;
}

/// The account's sign-in methods on Security info: password and authenticator app; and what
/// happened to the account lately.
#[async_trait]
pub trait AccountUseCases: Send + Sync + 'static {
    /// A page of the person's recent activity, newest first, older than `before` when given.
    async fn recent_activity(
        &self,
        context: &RequestContext,
        before: Option<i32>,
    ) -> Result<ActivityPage, AppError>;
    /// Security info's preview notice stays dismissed for this person.
    async fn dismiss_preview_notice(&self, context: &RequestContext) -> Result<(), AppError>;
    async fn security_info(&self, context: &RequestContext) -> Result<SecurityInfo, AppError>;
    /// Starts adding an authenticator app. Needs a sign-in within 10 minutes, or the `check`
    /// (the password, and a code from an authenticator app the person has already).
    async fn begin_authenticator(
        &self,
        context: &RequestContext,
        check: &crate::model::IdentityCheck,
    ) -> Result<AuthenticatorEnrollment, AppError>;
    /// Confirms the authenticator app being added with a first code from it, named `name`
    /// (empty: "Authenticator app"); other sessions end.
    async fn confirm_authenticator(
        &self,
        context: &RequestContext,
        code: &str,
        name: &str,
    ) -> Result<(), AppError>;
    /// The authenticator app being added (not confirmed yet): its QR code, shown again after a
    /// wrong code or a reload.
    async fn pending_authenticator(
        &self,
        context: &RequestContext,
    ) -> Result<Option<AuthenticatorEnrollment>, AppError>;
    /// Deletes authenticator app `id`; other sessions end. Needs a sign-in within 10 minutes,
    /// or `password` and `code`.
    async fn delete_authenticator(
        &self,
        context: &RequestContext,
        id: i32,
        password: &str,
        code: &str,
    ) -> Result<(), AppError>;
    /// Renames authenticator app `id`.
    async fn rename_authenticator(
        &self,
        context: &RequestContext,
        id: i32,
        name: &str,
    ) -> Result<(), AppError>;
    /// Chooses the second factor sign-in asks for first; one the person has.
    async fn set_default_method(
        &self,
        context: &RequestContext,
        method: SecondFactor,
    ) -> Result<(), AppError>;
    /// Changes the password; other sessions end. After 10 minutes without a sign-in, `code`
    /// is needed too when the person has a second factor.
    async fn change_password(
        &self,
        context: &RequestContext,
        current: &str,
        new: &str,
        confirmation: &str,
        code: &str,
    ) -> Result<(), AppError>;
}

/// Recovery codes: a new set on Security info, and one used at sign-in's code step.
#[async_trait]
pub trait RecoveryCodeUseCases: Send + Sync + 'static {
    /// A new set of recovery codes in place of the person's earlier ones, answered this once.
    /// Only for a person with a second factor; needs a sign-in within 10 minutes, or `check`.
    async fn new_recovery_codes(
        &self,
        context: &RequestContext,
        check: &IdentityCheck,
    ) -> Result<NewRecoveryCodes, AppError>;
    /// Completes a sign-in waiting for its second step with one of the person's unused
    /// recovery codes, as a code from the authenticator app would; the code never works again.
    async fn verify_sign_in_recovery_code(
        &self,
        context: &RequestContext,
        code: &str,
    ) -> Result<SetCookie, AppError>;
}

/// A person's app passwords.
#[async_trait]
pub trait AppPasswordUseCases: Send + Sync + 'static {
    async fn app_passwords(
        &self,
        context: &RequestContext,
    ) -> Result<AppPasswordOverview, AppError>;
    /// Creates an app password that may reach everything. After 10 minutes without a sign-in,
    /// `password` (and `code` when the person has an authenticator app) confirm it's them in
    /// the same request.
    async fn create_app_password(
        &self,
        context: &RequestContext,
        name: &str,
        password: &str,
        code: &str,
    ) -> Result<CreatedAppPassword, AppError> {
        let choices = AppPasswordChoices::default();
        self.create_app_password_with(context, name, password, code, &choices)
            .await
    }
    /// [`Self::create_app_password`] with what the person chose besides the name (its kind).
    async fn create_app_password_with(
        &self,
        context: &RequestContext,
        name: &str,
        password: &str,
        code: &str,
        choices: &AppPasswordChoices,
    ) -> Result<CreatedAppPassword, AppError>;
    /// Changes what the app password `id` may reach; answers with its row as the list shows
    /// it. Mails nothing: the person is signed in and changing their own app.
    async fn change_app_password_kind(
        &self,
        context: &RequestContext,
        id: i32,
        kind: AppPasswordKind,
    ) -> Result<AppPasswordItem, AppError>;
    async fn delete_app_password(&self, context: &RequestContext, id: i32) -> Result<(), AppError>;
    /// "Signed in from IMAP just now" once the app password `id` has been used, else `None`.
    async fn app_password_first_sign_in(
        &self,
        context: &RequestContext,
        id: i32,
    ) -> Result<Option<String>, AppError>;
    /// Renames the app password `id`; answers with its row as the list shows it.
    async fn rename_app_password(
        &self,
        context: &RequestContext,
        id: i32,
        name: &str,
    ) -> Result<AppPasswordItem, AppError>;
    /// Deletes every app password of the person, if there are still `expected` of them (the
    /// count their confirmation named); answers with how many were deleted.
    async fn delete_all_app_passwords(
        &self,
        context: &RequestContext,
        expected: u32,
    ) -> Result<u32, AppError>;
}

/// What administrators do in the admin console; every method refuses anyone else
/// (`Refusal::NotAdministrator`, or `Unauthorized` when signed out). Every change needs a
/// sign-in within 10 minutes, or `check` (`ReverifyRequired` otherwise).
#[async_trait]
pub trait AdministrationUseCases: Send + Sync + 'static {
    async fn organization_settings(
        &self,
        context: &RequestContext,
    ) -> Result<OrganizationSettings, AppError>;
    async fn set_organization_setting(
        &self,
        context: &RequestContext,
        setting: PolicySetting,
        on: bool,
        check: &IdentityCheck,
    ) -> Result<OrganizationSettings, AppError>;
    /// Sets "app passwords unused for `days` days stop working" (`days` as typed: a number, or
    /// empty or "off" to turn it off).
    async fn set_app_password_idle_days(
        &self,
        context: &RequestContext,
        days: &str,
        check: &IdentityCheck,
    ) -> Result<OrganizationSettings, AppError>;
    /// People whose sign-in name or name starts with `query`, a page at a time.
    async fn people(
        &self,
        context: &RequestContext,
        query: &str,
        after: Option<String>,
    ) -> Result<PeoplePage, AppError>;
    /// A page of the audit log matching `query`, newest first, older than `before`.
    async fn audit_log(
        &self,
        context: &RequestContext,
        query: &AuditQuery,
        before: Option<i32>,
    ) -> Result<AuditPage, AppError>;
    /// The app passwords of the person `username`, with their last use.
    async fn app_passwords_of_person(
        &self,
        context: &RequestContext,
        username: &str,
    ) -> Result<Vec<AppPasswordItem>, AppError>;
    /// Revokes the person's app password `id`; answers with those left.
    async fn revoke_app_password_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        id: i32,
        check: &IdentityCheck,
    ) -> Result<Vec<AppPasswordItem>, AppError>;
    /// Does `action` to the person `username`; answers with them as they are now.
    async fn act_on_person(
        &self,
        context: &RequestContext,
        username: &str,
        action: PersonAction,
        check: &IdentityCheck,
    ) -> Result<PersonSummary, AppError>;
    /// Removes every second factor of the person `username` (their sessions end; their app
    /// passwords are revoked, or stop until they add a method, as the organization's reset
    /// setting says); answers with them as they are now. Administrators resetting their own
    /// methods where that closes the console to them (or to everyone) must have `understood`
    /// all that follows ([`crate::error::Refusal::ConfirmOwnMethodsReset`] otherwise).
    async fn reset_methods_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        understood: Option<crate::error::OwnMethodsReset>,
        check: &IdentityCheck,
    ) -> Result<PersonSummary, AppError>;
    /// Adds a person, who sets their password with the one-time link answered.
    async fn add_person(
        &self,
        context: &RequestContext,
        person: NewPersonValues,
        check: &IdentityCheck,
    ) -> Result<PasswordLink, AppError>;
    /// Resets the person's password (sessions end; app passwords as the organization says);
    /// they set a new one with the one-time link answered.
    async fn reset_password_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        check: &IdentityCheck,
    ) -> Result<PasswordLink, AppError>;
    /// "Reset password and methods": the person's sign-in methods reset and their password
    /// too, in one transaction; the one-time link answered (administrators resetting their own
    /// say first that they understand what follows, as for the methods alone).
    async fn reset_password_and_methods_of_person(
        &self,
        context: &RequestContext,
        username: &str,
        understood: Option<crate::error::OwnMethodsReset>,
        check: &IdentityCheck,
    ) -> Result<PasswordLink, AppError>;
}

/// The organization's mail settings and the Apple configuration profile of a new app
/// password (`crate::apple_profile`, `crate::apple_profile_model`).
#[async_trait]
pub trait AppleProfileUseCases: Send + Sync + 'static {
    /// The mail settings, for administrators only.
    async fn mail_settings(
        &self,
        context: &RequestContext,
    ) -> Result<crate::apple_profile_model::MailSettingsForm, AppError>;
    /// Sets the mail settings (all empty: none), for administrators with a recent sign-in
    /// or `check`; answers with them as kept.
    async fn set_mail_settings(
        &self,
        context: &RequestContext,
        typed: crate::apple_profile_model::MailSettingsForm,
        check: &IdentityCheck,
    ) -> Result<crate::apple_profile_model::MailSettingsForm, AppError>;
    /// A single-use link (and its QR code) to the profile of the person's app password `id`,
    /// which `password` must be; `None` without mail settings.
    async fn apple_profile_offer(
        &self,
        context: &RequestContext,
        id: i32,
        password: &str,
    ) -> Result<Option<crate::apple_profile_model::AppleProfileOffer>, AppError>;
}

/// The page a one-time password link opens, for anyone holding the link.
#[async_trait]
pub trait PasswordLinkUseCases: Send + Sync + 'static {
    /// Whom the link is for, while it works (`NotFound` otherwise).
    async fn password_link(&self, token: &str) -> Result<PasswordLinkFor, AppError>;
    /// Sets the person's password and uses the link up; answers with their sign-in name.
    async fn set_password_with_link(
        &self,
        token: &str,
        password: &str,
        confirmation: &str,
        context: &RequestContext,
    ) -> Result<String, AppError>;
    /// Whether sign-in offers "Forgot password?": mail is set up and the organization turned
    /// it on.
    async fn reset_by_mail_offered(&self) -> Result<bool, AppError>;
    /// "Forgot password?": mails a one-time link to `username` when it is a person's mail
    /// address (at most once per window); the same answer, in about the same time, for every
    /// name.
    async fn mail_password_link(
        &self,
        context: &RequestContext,
        username: &str,
    ) -> Result<(), AppError>;
}

/// What signing out one browser from Security info's list did.
pub enum BrowserSignedOut {
    /// It was this browser: signed out as Sign out does; the cookie clears the session's.
    ThisBrowser(SetCookie),
    /// Another of the person's browsers: its session has ended, for every instance at once.
    Another,
}

/// The person's signed-in browsers on Security info, each of which they may sign out.
#[async_trait]
pub trait SignedInBrowserUseCases: Send + Sync + 'static {
    /// The person's signed-in browsers: this one first, then the most recently active.
    async fn signed_in_browsers(
        &self,
        context: &RequestContext,
    ) -> Result<Vec<crate::model::SignedInBrowser>, AppError>;
    /// Signs out the person's browser `id` (a [`crate::model::SignedInBrowser`]'s
    /// id), with its audit event; any other id is `NotFound`.
    async fn sign_out_browser(
        &self,
        context: &RequestContext,
        id: i32,
    ) -> Result<BrowserSignedOut, AppError>;
}

/// Passkeys and security keys (WebAuthn): adding, listing, renaming and deleting them, and
/// using one as the second step, alone (passwordless) or to confirm it's the person. Each
/// ceremony is two calls: the options for the browser's prompt, then its answer.
#[async_trait]
pub trait PasskeyUseCases: Send + Sync + 'static {
    /// Whether this server offers passkeys (not when its public URL cannot be a relying party).
    fn passkey_availability(&self) -> crate::passkey_model::PasskeyAvailability;
    /// The signed-in person's passkeys, oldest first.
    async fn passkeys(
        &self,
        context: &RequestContext,
    ) -> Result<Vec<crate::passkey_model::PasskeyItem>, AppError>;
    /// Starts adding a passkey named `name`; after 10 minutes without a sign-in, the password
    /// (and code) confirm it's the person.
    async fn start_passkey_registration(
        &self,
        context: &RequestContext,
        name: &str,
        check: &IdentityCheck,
    ) -> Result<webauthn_rs_proto::CreationChallengeResponse, AppError>;
    /// Finishes adding the passkey this session started with the browser's answer.
    async fn finish_passkey_registration(
        &self,
        context: &RequestContext,
        credential: &webauthn_rs_proto::RegisterPublicKeyCredential,
    ) -> Result<crate::passkey_model::PasskeyItem, AppError>;
    async fn rename_passkey(
        &self,
        context: &RequestContext,
        id: i32,
        name: &str,
    ) -> Result<crate::passkey_model::PasskeyItem, AppError>;
    /// Deletes one of the person's passkeys, with the factor-change rules of the
    /// authenticator app (recent sign-in or `check`).
    async fn delete_passkey(
        &self,
        context: &RequestContext,
        id: i32,
        check: &IdentityCheck,
    ) -> Result<(), AppError>;
    /// The options for the second step of the sign-in waiting for it, with a passkey.
    async fn start_passkey_second_step(
        &self,
        context: &RequestContext,
    ) -> Result<webauthn_rs_proto::RequestChallengeResponse, AppError>;
    /// Completes the sign-in waiting for its second step with the browser's answer.
    async fn finish_passkey_second_step(
        &self,
        context: &RequestContext,
        credential: &webauthn_rs_proto::PublicKeyCredential,
    ) -> Result<SetCookie, AppError>;
    /// The options for a passwordless sign-in, and the token binding it to this page.
    async fn start_passkey_sign_in(
        &self,
        context: &RequestContext,
    ) -> Result<crate::passkey_model::PasswordlessStart, AppError>;
    /// Signs in with a discoverable credential's answer and the ceremony's token.
    async fn finish_passkey_sign_in(
        &self,
        context: &RequestContext,
        ceremony: &str,
        credential: &webauthn_rs_proto::PublicKeyCredential,
    ) -> Result<SetCookie, AppError>;
    /// The options for "confirm it's you" with a passkey.
    async fn start_passkey_confirmation(
        &self,
        context: &RequestContext,
    ) -> Result<webauthn_rs_proto::RequestChallengeResponse, AppError>;
    /// Confirms it's the person with the browser's answer: the session counts as freshly
    /// signed in.
    async fn finish_passkey_confirmation(
        &self,
        context: &RequestContext,
        credential: &webauthn_rs_proto::PublicKeyCredential,
    ) -> Result<(), AppError>;
}

/// Every use case a server function may call.
pub trait Backend:
    SetupUseCases
    + SessionUseCases
    + AccountUseCases
    + RecoveryCodeUseCases
    + AppPasswordUseCases
    + AdministrationUseCases
    + PasswordLinkUseCases
    + SignedInBrowserUseCases
    + PasskeyUseCases
    + AppleProfileUseCases
{
}

impl<T> Backend for T where
    T: SetupUseCases
        + SessionUseCases
        + AccountUseCases
        + RecoveryCodeUseCases
        + AppPasswordUseCases
        + AdministrationUseCases
        + PasswordLinkUseCases
        + SignedInBrowserUseCases
        + PasskeyUseCases
        + AppleProfileUseCases
{
}

/// The traits to bring into scope to call the use cases.
pub mod prelude {
    pub use super::{
        AccountUseCases, AdministrationUseCases, AppPasswordUseCases, AppleProfileUseCases,
        Backend, PasskeyUseCases, PasswordLinkUseCases, RecoveryCodeUseCases, RequestContext,
        RequestMemo, SessionUseCases, SetupUseCases, SignedInBrowserUseCases,
    };
}

/// The backend provided by the server for this request.
pub fn backend() -> Result<Arc<dyn Backend>, AppError> {
    use_context::<Arc<dyn Backend>>().ok_or(AppError::Internal)
}

/// What the middleware recorded about the current request (empty when it did not run).
pub async fn request_context() -> RequestContext {
    leptos_axum::extract::<axum::Extension<RequestContext>>()
        .await
        .map(|e| e.0)
        .unwrap_or_default()
}

/// Runs a server function's work: `work` gets the backend and what the middleware recorded
/// about the request, and answers. What a plain form post (a page without its WebAssembly yet)
/// gets then is said by finishing the [`Called`] answer: [`Called::answer`] for a call that
/// changes nothing, [`Called::on_success`] or [`Called::show_on_page`] for a change.
pub async fn call<T, F, Fut>(work: F) -> Called<T>
where
    F: FnOnce(Arc<dyn Backend>, RequestContext) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = match backend() {
        Ok(backend) => work(backend, request_context().await).await,
        Err(error) => Err(error),
    };
    Called(result)
}

/// A server function's answer, until it says what a plain form post gets ([`Next`]). Only
/// an answer a plain form post may leave behind ([`Refetchable`]) can be finished without
/// showing it: [`Called::show_on_page`] is the only way out for the others.
#[must_use = "say what a plain form post gets: answer, on_success or show_on_page"]
pub struct Called<T>(Result<T, AppError>);

/// What a plain form post gets after a server function. The WebAssembly gets the answer (and
/// navigates too after [`Next::NavigateTo`]). No `Debug`: a page's query may hold a token.
// One per call, moved once: boxing the large answer would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Next {
    /// Back to the page it came from (Leptos' answer: the `Referer`, with a refusal in `__err`).
    Back,
    /// On to this page (path and query).
    FormPostTo(String),
    /// On to this page, and the WebAssembly navigates there too.
    NavigateTo(String),
    /// This page (path and query), rendered with `answer` in place of a redirect: for what is
    /// shown once (it cannot go in a URL) or must come back as typed (see `crate::form_post`).
    Show {
        page: String,
        answer: FormPostAnswer,
    },
}

impl Next {
    /// After a success, on to `page`; after a refusal of what was typed (a field, or the
    /// password asked for), `page` again with the form as `typed` and the reason: a plain
    /// redirect would lose what was typed. Any other refusal (signed out, not allowed, the
    /// thing gone) goes back as usual, to the page's own checks and messages.
    pub fn typed_again<T>(
        result: &Result<T, AppError>,
        page: String,
        typed: crate::form_post::TypedForm,
    ) -> Self {
        match result {
            Ok(_) => Self::FormPostTo(page),
            Err(error @ (AppError::Invalid { .. } | AppError::ReverifyRequired)) => Self::Show {
                page,
                answer: FormPostAnswer::Refused {
                    typed,
                    error: error.clone(),
                },
            },
            Err(_) => Self::Back,
        }
    }
}

/// An answer a plain form post may leave behind, as it does when it is redirected: the page
/// it goes to reads again whatever it shows. A one-time secret (a new app password, a
/// password link, new recovery codes) is not one: the call answering it must finish with
/// [`Called::show_on_page`], or it does not compile:
///
/// ```compile_fail,E0277
/// async fn create() -> Result<app::model::CreatedAppPassword, app::error::AppError> {
///     app::backend::call(|backend, context| async move {
///         backend.create_app_password(&context, "Mail", "", "").await
///     })
///     .await
///     .answer() // the new password would be lost to a plain form post
/// }
/// ```
///
/// ```
/// use app::backend::{Next, call};
/// async fn create() -> Result<app::model::CreatedAppPassword, app::error::AppError> {
///     call(|backend, context| async move {
///         backend.create_app_password(&context, "Mail", "", "").await
///     })
///     .await
///     .show_on_page(|_| Next::Back)
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "a plain form post cannot leave `{Self}` behind: finish the call with `show_on_page`",
    label = "the page must show this answer"
)]
pub trait Refetchable {}

macro_rules! refetchable {
    ($($answer:ty),* $(,)?) => {
        $(impl Refetchable for $answer {})*
    };
}

refetchable!(
    (),
    bool,
    i32,
    u32,
    String,
    crate::model::CurrentUser,
    crate::model::SecurityInfo,
    crate::model::ActivityPage,
    // Its secret is read again by the page it leads to (`pending_authenticator`).
    crate::model::AuthenticatorEnrollment,
    crate::model::AddMethodAnswer,
    crate::model::SignInStep,
    crate::model::SecondStepWay,
    crate::model::AppPasswordItem,
    crate::model::AppPasswordOverview,
    crate::model::OrganizationSettings,
    crate::model::PeoplePage,
    crate::model::PersonSummary,
    crate::model::AuditPage,
    crate::model::PasswordLinkFor,
    crate::model::SignedInBrowser,
    crate::passkey_model::PasskeyItem,
    crate::passkey_model::PasskeyAvailability,
    // Passkey ceremonies: only the WebAssembly asks (a plain form post cannot use a passkey),
    // and a new ceremony is started each time.
    crate::passkey_model::PasswordlessStart,
    webauthn_rs_proto::CreationChallengeResponse,
    webauthn_rs_proto::RequestChallengeResponse,
);
impl<T: Refetchable> Refetchable for Option<T> {}
impl<T: Refetchable> Refetchable for Vec<T> {}
impl<A: Refetchable, B: Refetchable> Refetchable for (A, B) {}

impl<T> Called<T> {
    /// The answer of a call that changes nothing (pages read it while they render).
    pub fn answer(self) -> Result<T, AppError>
    where
        T: Refetchable,
    {
        self.finish(Next::Back)
    }

    /// The answer; a plain form post goes where `next` says after a success, and back to its
    /// page with the reason after a refusal.
    pub fn on_success(self, next: impl FnOnce(&T) -> Next) -> Result<T, AppError>
    where
        T: Refetchable,
    {
        let next = match &self.0 {
            Ok(answer) => next(answer),
            Err(_) => Next::Back,
        };
        self.finish(next)
    }

    /// The answer; a plain form post gets what `next` says of it, usually the page showing it
    /// ([`Next::Show`]).
    pub fn show_on_page(
        self,
        next: impl FnOnce(&Result<T, AppError>) -> Next,
    ) -> Result<T, AppError> {
        let next = next(&self.0);
        self.finish(next)
    }

    fn finish(self, next: Next) -> Result<T, AppError> {
        let plain = is_form_post();
        match next {
            Next::Back => {}
            Next::FormPostTo(page) if plain => leptos_axum::redirect(&page),
            Next::FormPostTo(_) => {}
            Next::NavigateTo(page) => leptos_axum::redirect(&page),
            Next::Show { page, answer } if plain => crate::form_post::keep_for_page(page, answer),
            Next::Show { .. } => {}
        }
        respond(self.0)
    }
}

/// Gives a failed server function the HTTP status of its error (and `Retry-After` when
/// throttled or busy), so clients, proxies and logs see what happened. Plain form posts keep
/// Leptos' redirect back to the page (with the error in its `__err` query) instead.
fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    use axum::http::{HeaderValue, StatusCode, header};
    if let Err(error) = &result
        && !is_form_post()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        );
        if let Some(seconds) = error.retry_after_seconds() {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
    result
}

/// The page the request being answered came from (its `Referer`), if it names one.
pub fn referer() -> Option<Uri> {
    use axum::http::{header, request::Parts};
    use_context::<Parts>().and_then(|parts| {
        parts
            .headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Uri>().ok())
    })
}

/// The admin console a plain form post came from (`referer`), with its search and page but
/// without its dialog; the console's first page when it came from elsewhere.
pub fn admin_console_of(referer: Option<&Uri>) -> AdminQuery {
    referer
        .filter(|referer| Page::from_path(referer.path()) == Some(Page::Admin))
        .map(|referer| parse_query::<AdminQuery>(referer.query().unwrap_or_default()))
        .map(|query| query.with_dialog(None))
        .unwrap_or_default()
}

/// The app-password page (Security info or the legacy page) `referer` is, if it is one.
pub fn app_password_page_of(referer: Option<&Uri>) -> Option<Page> {
    referer
        .and_then(|referer| Page::from_path(referer.path()))
        .filter(|page| matches!(page, Page::SecurityInfo | Page::LegacyAppPasswords))
}

/// Where a plain form post that changed the app-password list goes next: back to its page
/// (`referer`: Security info or the legacy page; Security info when unknown), at the create
/// steps when it was a deletion asked from their limit prompt.
pub fn after_app_password_change(referer: Option<&Uri>) -> String {
    let Some(page) = app_password_page_of(referer) else {
        return Page::SecurityInfo.path().to_owned();
    };
    let asked = referer
        .map(|referer| parse_query::<SecurityInfoQuery>(referer.query().unwrap_or_default()))
        .and_then(|query| query.app_password_dialog());
    match asked {
        Some(AppPasswordDialog::Delete {
            then_create: true, ..
        }) => AppPasswordDialog::Create.on(page),
        _ => page.path().to_owned(),
    }
}

/// The page whose create steps answer a plain form post to `create_app_password`: the one it
/// came from, or without a `Referer` that says, the one the organization uses.
pub async fn app_password_page_of_post() -> Page {
    if let Some(page) = app_password_page_of(referer().as_ref()) {
        return page;
    }
    if !is_form_post() {
        return Page::SecurityInfo;
    }
    let legacy = match backend() {
        Ok(backend) => backend
            .app_passwords(&request_context().await)
            .await
            .is_ok_and(|overview| !overview.security_info_experience),
        Err(_) => false,
    };
    if legacy {
        Page::LegacyAppPasswords
    } else {
        Page::SecurityInfo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Option<Uri> {
        text.parse().ok()
    }

    #[test]
    fn admin_form_posts_go_back_to_the_search_they_came_from() {
        let from = |referer: &str| admin_console_of(uri(referer).as_ref()).link();
        assert_eq!(
            from("http://127.0.0.1:3000/admin?q=alan&confirm=disable%3Aalan%40contoso.example"),
            "/admin?q=alan"
        );
        assert_eq!(
            from("http://127.0.0.1:3000/admin?q=a+b&after=x%40y&apps=x%40y&__err=zz"),
            "/admin?q=a%20b&after=x%40y"
        );
        assert_eq!(from("http://127.0.0.1:3000/admin"), "/admin");
        // From elsewhere, or with nothing to go by: the console's first page.
        assert_eq!(from("http://127.0.0.1:3000/security-info?q=alan"), "/admin");
        assert_eq!(admin_console_of(None).link(), "/admin");
    }

    #[test]
    fn app_password_form_posts_go_back_to_their_page() {
        let after = |referer: &str| after_app_password_change(uri(referer).as_ref());
        assert_eq!(after("http://h/security-info?rename=3"), "/security-info");
        assert_eq!(after("http://h/app-passwords?delete=all"), "/app-passwords");
        assert_eq!(after("http://h/app-passwords?delete=4"), "/app-passwords");
        // A deletion asked from the create steps' limit prompt leads back to them.
        assert_eq!(
            after("http://h/security-info?delete=4&then=create"),
            "/security-info?add=app_password"
        );
        assert_eq!(
            after("http://h/app-passwords?delete=4&then=create"),
            "/app-passwords?add=app_password"
        );
        // Unknown pages are not gone back to.
        assert_eq!(
            after("http://h/admin?delete=4&then=create"),
            "/security-info"
        );
        assert_eq!(after("http://h/elsewhere"), "/security-info");
        assert_eq!(after_app_password_change(None), "/security-info");
        assert_eq!(
            app_password_page_of(uri("/app-passwords?add=app_password").as_ref()),
            Some(Page::LegacyAppPasswords)
        );
        assert_eq!(app_password_page_of(uri("/admin").as_ref()), None);
    }
}
