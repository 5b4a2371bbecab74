//! The answer of a plain form post (a browser without the WebAssembly yet) that must be shown in
//! the POST response itself instead of after a redirect: the new app password and a one-time
//! password link (shown once, so they cannot go in a URL), and a refused first-time setup or
//! new person (so what was typed comes back).
//!
//! Every other form post answers with a redirect: Leptos sends the browser back to the page
//! (its `Referer`), with a failure in the `__err` query that `ServerAction` reads.
//!
//! How it flows: for those server functions, the server puts an empty [`FormPostSlot`] in
//! the request; the server function, seeing a form post, keeps its typed answer there
//! ([`keep_for_page`]); the server then renders the page with the answer in the request
//! ([`answer`]), without the page script (the answer is not part of the hydrated state).

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{CreatedAppPassword, NewPersonValues, PasswordLink};

/// The typed answer a page shows after a plain form post. It may hold a new app password, a
/// one-time link or a setup token, so `Debug` shows what was typed and how it ended, never
/// what was made.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormPostAnswer {
    /// What `create_app_password` did with the name typed.
    CreateAppPassword {
        name: String,
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
            Self::CreateAppPassword { name, result } => f
                .debug_struct("CreateAppPassword")
                .field("name", name)
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
        }
    }
}

/// Where a server function keeps its [`FormPostAnswer`] for the page (ssr only).
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct FormPostSlot(std::sync::Arc<std::sync::Mutex<Option<FormPostAnswer>>>);

#[cfg(feature = "ssr")]
impl FormPostSlot {
    /// The answer kept by the server function, if it kept one.
    pub fn take(&self) -> Option<FormPostAnswer> {
        self.0.lock().ok().and_then(|mut answer| answer.take())
    }

    fn keep(&self, answer: FormPostAnswer) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(answer);
        }
    }
}

/// In a server function answering a plain form post: keeps `answer` for the page the server
/// renders as the response. Does nothing for calls from the WebAssembly (they get the answer).
#[cfg(feature = "ssr")]
pub fn keep_for_page(answer: FormPostAnswer) {
    use axum::http::request::Parts;
    use leptos::prelude::use_context;
    if !crate::backend::is_form_post() {
        return;
    }
    if let Some(slot) =
        use_context::<Parts>().and_then(|parts| parts.extensions.get::<FormPostSlot>().cloned())
    {
        slot.keep(answer);
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
