//! Security info's signed-in browsers, in its "Lost device?" section: each browser the person
//! is signed in on (browser and system, address, last active, "This browser"), with "Sign out".
//!
//! Client state: `list` (a `Resource` of `get_signed_in_browsers`, rendered on the server and
//! hydrated). "Sign out" is one `ActionForm` per row posting the row's id to `sign_out_browser`;
//! another browser's answer reads the list again, this browser's goes on to sign-in, as Sign out
//! does. Without the WebAssembly the same form posts and the server redirects back to Security
//! info (or to sign-in).

use leptos::either::Either;
use leptos::prelude::*;

use crate::error::AppError;
use crate::pages::answers::answers;
use crate::signed_in_browsers::{SignOutBrowser, SignedInBrowser, get_signed_in_browsers};

/// The list and its one call.
#[derive(Clone, Copy)]
pub struct Browsers {
    pub list: Resource<Result<Vec<SignedInBrowser>, AppError>>,
    sign_out: ServerAction<SignOutBrowser>,
}

impl Browsers {
    /// The list, read on the server while the page renders, and again after another browser
    /// was signed out here or when `others_ended` changes (the page's changes that end the
    /// person's other sessions). This browser's own sign-out goes on to sign-in instead.
    pub fn load(others_ended: impl Fn() -> usize + Send + Sync + 'static) -> Self {
        let sign_out = ServerAction::<SignOutBrowser>::new();
        let another_signed_out = answers(sign_out, |answer| matches!(answer, Ok(false)));
        Self {
            list: Resource::new(
                move || (another_signed_out.get(), others_ended()),
                |_| get_signed_in_browsers(),
            ),
            sign_out,
        }
    }
}

/// The list, and why a sign-out was refused (someone else's browser, or one already gone).
#[component]
pub fn SignedInBrowsers(browsers: Browsers) -> impl IntoView {
    let refusal = move || match browsers.sign_out.value().get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    };
    view! {
        <p class="muted">"You're signed in on these browsers. Sign out of any you don't recognise or no longer use."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
            {move || browsers.list.get().map(|answer| match answer {
                Ok(list) => Either::Left(view! {
                    <ul class="methods browsers" aria-label="Your signed-in browsers">
                        {list.into_iter().map(|browser| view! {
                            <BrowserRow browser=browser sign_out=browsers.sign_out/>
                        }).collect_view()}
                    </ul>
                }),
                Err(error) => Either::Right(view! {
                    <p class="form-error" role="alert">{error.to_string()}</p>
                }),
            })}
        </Transition>
        <p class="form-error" role="alert">{refusal}</p>
    }
}

#[component]
fn BrowserRow(browser: SignedInBrowser, sign_out: ServerAction<SignOutBrowser>) -> impl IntoView {
    let label = browser.sign_out_label();
    let address = browser.address.map(|address| format!("{address} · "));
    view! {
        <li class="method browser">
            <span class="method-name">
                {browser.browser}
                {browser.this_browser.then(|| view! { <span class="this-browser">"This browser"</span> })}
            </span>
            <span class="method-detail">
                {address} "Active " <time title=browser.last_active_at>{browser.last_active}</time>
                " · Signed in " {browser.signed_in}
            </span>
            <span class="row-actions">
                <ActionForm action=sign_out attr:class="inline-form">
                    <input type="hidden" name="id" value=browser.id.to_string()/>
                    <button type="submit" class="link" aria-label=label>"Sign out"</button>
                </ActionForm>
            </span>
        </li>
    }
}
