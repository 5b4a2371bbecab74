//! The answer of a plain form post (a browser without the WebAssembly yet) that must be shown in
//! the POST response itself instead of after a redirect: the new app password, new recovery
//! codes and a one-time password link (shown once, so they cannot go in a URL), and a refused
//! form whose typed values would be lost to the redirect (first-time setup, a new person, the
//! console's mail settings, a rename): they come back with the reason.
//!
//! Every other form post answers with a redirect: Leptos sends the browser back to the page
//! (its `Referer`), with a failure in the `__err` query that `ServerAction` reads.
//!
//! How it flows: the server puts an empty [`FormPostSlot`] in every plain form post; a server
//! function whose answer the page must show ends with `crate::backend::Called::show_on_page`
//! (the type of its answer leaves it no other way), which keeps the page and the typed answer
//! there; the server then renders that page with the answer in the request ([`answer`]),
//! without the page script (the answer is not part of the hydrated state). Which functions do
//! this, and which page shows their answer, is the app's to say: the server lists none.

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{CreatedAppPassword, NewPersonValues, NewRecoveryCodes, PasswordLink};

/// The typed answer a page shows after a plain form post. It may hold a new app password, a
/// one-time link or a setup token, so `Debug` shows what was typed and how it ended, never
/// what was made.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormPostAnswer {
    /// What `create_app_password` did with the name typed and the kind chosen.
    CreateAppPassword {
        name: String,
        #[serde(default)]
        kind: crate::model::AppPasswordKind,
        #[serde(default)]
        expires: crate::model::AppPasswordLifetime,
        result: Result<CreatedAppPassword, AppError>,
    },
    /// First-time setup was refused: the form as typed (without the passwords) and why.
    Setup {
        form: crate::model::SetupValues,
        error: AppError,
    },
    /// What `add_person` did with the person as typed: their one-time link, or why not.
    AddPerson {
        typed: NewPersonValues,
        result: Result<PasswordLink, AppError>,
    },
    /// What `reset_password_of_person` did: the person's one-time link, or why not.
    ResetPassword {
        username: String,
        result: Result<PasswordLink, AppError>,
    },
    /// What `new_recovery_codes` did: the new codes, shown once, or why not.
    NewRecoveryCodes {
        result: Result<NewRecoveryCodes, AppError>,
    },
    /// A form refused: what was typed in it, and why.
    Refused { typed: TypedForm, error: AppError },
}

/// A form whose typed values come back with its refusal ([`FormPostAnswer::Refused`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypedForm {
    /// The console's "Mail app settings".
    MailSettings(crate::apple_profile_model::MailSettingsForm),
    /// The console's "App passwords unused for N days stop working".
    IdleDays(String),
    /// "Rename" of one authenticator app on Security info.
    RenameAuthenticator { id: i32, name: String },
    /// "Rename" of one passkey on Security info.
    RenamePasskey { id: i32, name: String },
}

impl std::fmt::Debug for FormPostAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        /// A result with what succeeded hidden: `Ok(<redacted>)` or the error.
        struct Outcome<'a, T>(&'a Result<T, AppError>);
        impl<T> std::fmt::Debug for Outcome<'_, T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.0 {
                    Ok(_) => f.debug_tuple("Ok").field(&crate::secret::Redacted).finish(),
                    Err(error) => f.debug_tuple("Err").field(error).finish(),
                }
            }
        }
        match self {
            Self::CreateAppPassword {
                name,
                kind,
                expires,
                result,
            } => f
                .debug_struct("CreateAppPassword")
                .field("name", name)
                .field("kind", kind)
                .field("expires", expires)
                .field("result", &Outcome(result))
                .finish(),
            Self::Setup { form, error } => f
                .debug_struct("Setup")
                .field("form", form)
                .field("error", error)
                .finish(),
            Self::AddPerson { typed, result } => f
                .debug_struct("AddPerson")
                .field("typed", typed)
                .field("result", &Outcome(result))
                .finish(),
            Self::ResetPassword { username, result } => f
                .debug_struct("ResetPassword")
                .field("username", username)
                .field("result", &Outcome(result))
                .finish(),
            Self::NewRecoveryCodes { result } => f
                .debug_struct("NewRecoveryCodes")
                .field("result", &Outcome(result))
                .finish(),
            Self::Refused { typed, error } => f
                .debug_struct("Refused")
                .field("typed", typed)
                .field("error", error)
                .finish(),
        }
    }
}

/// Where a server function keeps its [`FormPostAnswer`], and the page to show it on, for the
/// server to render (ssr only). The server gives every plain form post one.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct FormPostSlot(std::sync::Arc<std::sync::Mutex<Option<PageAnswer>>>);

/// A page (path and query) and the answer it shows. No `Debug`: the query may hold a setup
/// token.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct PageAnswer {
    pub page: String,
    pub answer: FormPostAnswer,
}

#[cfg(feature = "ssr")]
impl FormPostSlot {
    /// The page and answer kept by the server function, if it kept one.
    pub fn take(&self) -> Option<PageAnswer> {
        self.0.lock().ok().and_then(|mut answer| answer.take())
    }

    fn keep(&self, answer: PageAnswer) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(answer);
        }
    }
}

/// In a server function answering a plain form post: keeps `answer` for `page`, which the
/// server renders as the response (`crate::backend::Next::Show` says so).
#[cfg(feature = "ssr")]
pub(crate) fn keep_for_page(page: String, answer: FormPostAnswer) {
    use axum::http::request::Parts;
    use leptos::prelude::use_context;
    if let Some(slot) =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<FormPostSlot>().cloned())
    {
        slot.keep(PageAnswer { page, answer });
    }
}

/// The refused form this page answers, if it is the response to one: what was typed, and why.
pub fn refused() -> Option<(TypedForm, AppError)> {
    match answer()? {
        FormPostAnswer::Refused { typed, error } => Some((typed, error)),
        _ => None,
    }
}

/// The answer the page being rendered starts from, if it is the response to a form post.
pub fn answer() -> Option<FormPostAnswer> {
    #[cfg(feature = "ssr")]
    {
        use axum::http::request::Parts;
        use leptos::prelude::use_context;
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<FormPostAnswer>().cloned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}
