//! Security info's signed-in browsers: the person's sessions, where and when each was last
//! active, and "Sign out" for each (thin server functions; the server names the browsers and
//! checks that a session is the person's own).

use leptos::prelude::*;

use crate::error::AppError;
pub use crate::model::SignedInBrowser;

#[cfg(feature = "ssr")]
use crate::backend::{BrowserSignedOut, Next, call};

impl SignedInBrowser {
    /// "Sign out Firefox on Windows, 203.0.113.7": the row's button, told apart from the
    /// others' by assistive technology.
    pub fn sign_out_label(&self) -> String {
        match &self.address {
            Some(address) => format!("Sign out {}, {address}", self.browser),
            None => format!("Sign out {}", self.browser),
        }
    }
}

/// The person's signed-in browsers: this one first, then the most recently active.
#[server(endpoint = "signed_in_browsers")]
pub async fn get_signed_in_browsers() -> Result<Vec<SignedInBrowser>, AppError> {
    call(|backend, context| async move { backend.signed_in_browsers(&context).await })
        .await
        .answer()
}

/// Signs out the person's browser `id`; answers whether it was this one. This browser is
/// signed out as Sign out does (on to the sign-in page); after another, a plain form post goes
/// back to Security info. Someone else's `id` is refused as not found.
#[server(endpoint = "sign_out_browser")]
pub async fn sign_out_browser(id: i32) -> Result<bool, AppError> {
    use crate::routes::Page;
    call(|backend, context| async move {
        match backend.sign_out_browser(&context, id).await? {
            BrowserSignedOut::ThisBrowser(cookie) => {
                crate::account::ssr::set_cookie(&cookie)?;
                Ok(true)
            }
            BrowserSignedOut::Another => Ok(false),
        }
    })
    .await
    .on_success(|this_browser| {
        if *this_browser {
            Next::NavigateTo(crate::account::signed_out("1"))
        } else {
            Next::FormPostTo(Page::SecurityInfo.path().to_owned())
        }
    })
}
