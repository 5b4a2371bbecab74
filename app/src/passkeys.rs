//! Passkeys and security keys (WebAuthn): the server functions of each ceremony (the options
//! for the browser's prompt, then its answer) and of the list on Security info, and the
//! browser's side, `navigator.credentials.create()` / `.get()` through `web-sys`. Each
//! ceremony is a lazily loaded chunk (`#[lazy]`: [`add_passkey`], [`second_step_with_passkey`],
//! [`sign_in_with_passkey`], [`confirm_with_passkey`]): the main module does not carry them, they load when a passkey is
//! used. Options and answers are `webauthn-rs-proto`'s types, converted to and from the
//! browser's objects by its `wasm` feature. An answer travels as JSON text in a form field,
//! so every server function takes a plain form like the others.

use leptos::prelude::*;
use webauthn_rs_proto::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse,
};

use crate::error::AppError;
pub use crate::passkey_model::PasswordlessStart;
use crate::passkey_model::{PasskeyAvailability, PasskeyItem, PasskeyRefusal};
use crate::secret::Secret;

#[cfg(feature = "ssr")]
use crate::backend::{Next, call};
#[cfg(feature = "ssr")]
use crate::routes::Page;

/// The browser's answer read from its JSON text; an answer that is not one is not accepted.
#[cfg(feature = "ssr")]
fn answer_from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, AppError> {
    serde_json::from_str(json).map_err(|_| PasskeyRefusal::NotAccepted.into())
}

/// "Signed in?" first: a person without a session is told so before their answer is read, or
/// before a server without passkeys says so.
#[cfg(feature = "ssr")]
async fn require_signed_in(
    backend: &std::sync::Arc<dyn crate::backend::Backend>,
    context: &crate::backend::RequestContext,
) -> Result<(), AppError> {
    match backend.current_user(context).await? {
        Some(_) => Ok(()),
        None => Err(AppError::Unauthorized),
    }
}

/// Whether this server offers passkeys, and why not.
#[server(endpoint = "passkey_availability")]
pub async fn get_passkey_availability() -> Result<PasskeyAvailability, AppError> {
    call(|backend, _| async move { Ok(backend.passkey_availability()) })
        .await
        .answer()
}

/// The signed-in person's passkeys and security keys, oldest first.
#[server(endpoint = "passkeys")]
pub async fn get_passkeys() -> Result<Vec<PasskeyItem>, AppError> {
    call(|backend, context| async move { backend.passkeys(&context).await })
        .await
        .answer()
}

/// Starts adding a passkey named `name`: the options for the browser's prompt. After 10
/// minutes without a sign-in, `password` (and `code`) confirm it's the person first.
#[server(endpoint = "start_passkey_registration")]
pub async fn start_passkey_registration(
    name: String,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<CreationChallengeResponse, AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    call(|backend, context| async move {
        require_signed_in(&backend, &context).await?;
        backend
            .start_passkey_registration(&context, &name, &check)
            .await
    })
    .await
    .answer()
}

/// Finishes adding the passkey with the browser's answer (`credential`, its JSON text).
#[server(endpoint = "finish_passkey_registration")]
pub async fn finish_passkey_registration(credential: String) -> Result<PasskeyItem, AppError> {
    call(|backend, context| async move {
        require_signed_in(&backend, &context).await?;
        let credential: RegisterPublicKeyCredential = answer_from_json(&credential)?;
        backend
            .finish_passkey_registration(&context, &credential)
            .await
    })
    .await
    .on_success(|_| Next::FormPostTo(Page::SecurityInfo.path().to_owned()))
}

/// Renames one of the person's passkeys. A plain form post goes back to Security info.
#[server(endpoint = "rename_passkey")]
pub async fn rename_passkey(id: i32, name: String) -> Result<PasskeyItem, AppError> {
    let kept = crate::form_post::TypedForm::RenamePasskey {
        id,
        name: name.clone(),
    };
    call(|backend, context| async move { backend.rename_passkey(&context, id, &name).await })
        .await
        .show_on_page(|result| {
            Next::typed_again(result, Page::SecurityInfo.path().to_owned(), kept)
        })
}

/// Deletes one of the person's passkeys. After 10 minutes without a sign-in, the password and
/// a code are needed too. A plain form post goes back to Security info.
#[server(endpoint = "delete_passkey")]
pub async fn delete_passkey(
    id: i32,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<(), AppError> {
    let check = crate::model::IdentityCheck::from_fields(password, code);
    call(|backend, context| async move { backend.delete_passkey(&context, id, &check).await })
        .await
        .on_success(|()| Next::FormPostTo(Page::SecurityInfo.path().to_owned()))
}

/// The options for the second step of the sign-in waiting for it, with a passkey.
#[server(endpoint = "start_passkey_second_step")]
pub async fn start_passkey_second_step() -> Result<RequestChallengeResponse, AppError> {
    call(|backend, context| async move { backend.start_passkey_second_step(&context).await })
        .await
        .answer()
}

/// Completes the sign-in waiting for its second step with the browser's answer; then on to
/// `next`.
#[server(endpoint = "finish_passkey_second_step")]
pub async fn finish_passkey_second_step(
    credential: String,
    next: Option<String>,
) -> Result<(), AppError> {
    let next = next.unwrap_or_default();
    call(|backend, context| async move {
        let credential: PublicKeyCredential = answer_from_json(&credential)?;
        let cookie = backend
            .finish_passkey_second_step(&context, &credential)
            .await?;
        crate::account::ssr::set_cookie(&cookie)?;
        Ok(backend.return_path(&next))
    })
    .await
    .on_success(|after| Next::NavigateTo(after.clone()))
    .map(|_| ())
}

/// The options for a passwordless sign-in ("Sign in with a passkey") and its token.
#[server(endpoint = "start_passkey_sign_in")]
pub async fn start_passkey_sign_in() -> Result<PasswordlessStart, AppError> {
    call(|backend, context| async move { backend.start_passkey_sign_in(&context).await })
        .await
        .answer()
}

/// Signs in with a discoverable credential's answer and the ceremony's token; then on to
/// `next`.
#[server(endpoint = "finish_passkey_sign_in")]
pub async fn finish_passkey_sign_in(
    ceremony: Secret,
    credential: String,
    next: Option<String>,
) -> Result<(), AppError> {
    let next = next.unwrap_or_default();
    call(|backend, context| async move {
        let credential: PublicKeyCredential = answer_from_json(&credential)?;
        let cookie = backend
            .finish_passkey_sign_in(&context, ceremony.expose(), &credential)
            .await?;
        crate::account::ssr::set_cookie(&cookie)?;
        Ok(backend.return_path(&next))
    })
    .await
    .on_success(|after| Next::NavigateTo(after.clone()))
    .map(|_| ())
}

/// The options for "confirm it's you" with a passkey.
#[server(endpoint = "start_passkey_confirmation")]
pub async fn start_passkey_confirmation() -> Result<RequestChallengeResponse, AppError> {
    call(|backend, context| async move {
        require_signed_in(&backend, &context).await?;
        backend.start_passkey_confirmation(&context).await
    })
    .await
    .answer()
}

/// Confirms it's the person with the browser's answer: changes that need a recent sign-in
/// then need nothing more for 10 minutes.
#[server(endpoint = "finish_passkey_confirmation")]
pub async fn finish_passkey_confirmation(credential: String) -> Result<(), AppError> {
    call(|backend, context| async move {
        require_signed_in(&backend, &context).await?;
        let credential: PublicKeyCredential = answer_from_json(&credential)?;
        backend
            .finish_passkey_confirmation(&context, &credential)
            .await
    })
    .await
    .on_success(|()| Next::Back)
}

/// What the browser's prompt failed with, as the person reads it.
#[cfg(feature = "hydrate")]
fn prompt_refusal(error: &wasm_bindgen::JsValue) -> AppError {
    use wasm_bindgen::JsCast;
    let name = error
        .dyn_ref::<web_sys::DomException>()
        .map(web_sys::DomException::name);
    match name.as_deref() {
        // Closed, timed out, or refused; browsers do not tell these apart on purpose.
        Some("NotAllowedError" | "AbortError") => PasskeyRefusal::Cancelled.into(),
        // One of the person's keys already holds a credential (the excluded ones).
        Some("InvalidStateError") => PasskeyRefusal::AlreadyRegistered.into(),
        _ => PasskeyRefusal::NotSupported.into(),
    }
}

/// The browser's `navigator.credentials`, or why there is none.
#[cfg(feature = "hydrate")]
fn credentials() -> Result<web_sys::CredentialsContainer, AppError> {
    use wasm_bindgen::JsCast;
    let navigator = web_sys::window()
        .ok_or(AppError::from(PasskeyRefusal::NotSupported))?
        .navigator();
    // Missing outside a secure context: read it as a plain value before trusting its type.
    wasm_bindgen_futures::js_sys::Reflect::get(&navigator, &"credentials".into())
        .unwrap_or(wasm_bindgen::JsValue::UNDEFINED)
        .dyn_into::<web_sys::CredentialsContainer>()
        .map_err(|_| PasskeyRefusal::NotSupported.into())
}

/// The browser's answer as a `PublicKeyCredential`.
#[cfg(feature = "hydrate")]
async fn prompt(
    promise: wasm_bindgen_futures::js_sys::Promise,
) -> Result<web_sys::PublicKeyCredential, AppError> {
    use wasm_bindgen::JsCast;
    let answer = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| prompt_refusal(&e))?;
    answer
        .dyn_into::<web_sys::PublicKeyCredential>()
        .map_err(|_| PasskeyRefusal::NotSupported.into())
}

#[cfg(feature = "hydrate")]
fn to_json(value: &impl serde::Serialize) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|_| AppError::Internal)
}

/// Asks the browser to make a passkey with `options` (`navigator.credentials.create()`): the
/// answer's JSON text for [`finish_passkey_registration`].
async fn browser_create(options: CreationChallengeResponse) -> Result<String, AppError> {
    #[cfg(feature = "hydrate")]
    {
        let options = web_sys::CredentialCreationOptions::from(options);
        let promise = credentials()?
            .create_with_options(&options)
            .map_err(|e| prompt_refusal(&e))?;
        let answer = RegisterPublicKeyCredential::from(prompt(promise).await?);
        to_json(&answer)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        // The server renders; only a browser has passkeys.
        let _ = options;
        Err(PasskeyRefusal::NotSupported.into())
    }
}

/// Asks the browser for a passkey's answer to `options` (`navigator.credentials.get()`): the
/// answer's JSON text for the `finish_passkey_*` calls.
async fn browser_get(options: RequestChallengeResponse) -> Result<String, AppError> {
    #[cfg(feature = "hydrate")]
    {
        let options = web_sys::CredentialRequestOptions::from(options);
        let promise = credentials()?
            .get_with_options(&options)
            .map_err(|e| prompt_refusal(&e))?;
        let answer = PublicKeyCredential::from(prompt(promise).await?);
        to_json(&answer)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(PasskeyRefusal::NotSupported.into())
    }
}

// The four ceremonies, each a lazily loaded chunk with everything it uses (the server calls,
// the WebAuthn types' reading and conversion, the browser's prompt): loaded on first use.

/// Adds a passkey named `name`: the options, the browser's prompt, its answer.
#[leptos::lazy]
pub async fn add_passkey(
    name: String,
    password: Option<Secret>,
    code: Option<Secret>,
) -> Result<PasskeyItem, AppError> {
    let options = start_passkey_registration(name, password, code).await?;
    let answer = browser_create(options).await?;
    finish_passkey_registration(answer).await
}

/// The second step of a sign-in with a passkey; the server sends the browser on to `next`.
#[leptos::lazy]
pub async fn second_step_with_passkey(next: String) -> Result<(), AppError> {
    let options = start_passkey_second_step().await?;
    let answer = browser_get(options).await?;
    finish_passkey_second_step(answer, Some(next)).await
}

/// "Confirm it's you" with a passkey: changes that need a recent sign-in then need nothing
/// more for 10 minutes.
#[leptos::lazy]
pub async fn confirm_with_passkey() -> Result<(), AppError> {
    let options = start_passkey_confirmation().await?;
    let answer = browser_get(options).await?;
    finish_passkey_confirmation(answer).await
}

/// A passwordless sign-in; the server sends the browser on to `next`.
#[leptos::lazy]
pub async fn sign_in_with_passkey(next: String) -> Result<(), AppError> {
    let start = start_passkey_sign_in().await?;
    let answer = browser_get(start.options).await?;
    finish_passkey_sign_in(Secret::new(start.ceremony), answer, Some(next)).await
}
