//! Latchkey's user interface: routes, pages, the types shared by browser and server, and the
//! `#[server]` functions. Built twice: with `ssr` (linked into the `server` binary, where server
//! functions run against a [`backend::Backend`]) and with `hydrate` (the WebAssembly that
//! hydrates the server-rendered app and then runs it in the browser). The `hydrate` build must
//! stay small: no database, hashing or date crates here.

#![recursion_limit = "256"]

pub mod account;
pub mod admin;
pub mod app;
pub mod app_passwords;
pub mod apple_profile;
pub mod apple_profile_model;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod components;
pub mod error;
pub mod form_post;
pub mod model;
pub mod pages;
pub mod passkey_model;
pub mod passkeys;
pub mod password_link;
#[cfg(feature = "ssr")]
pub mod plain_post;
pub mod routes;
pub mod secret;
pub mod setup;
pub mod signed_in_browsers;

pub use app::{App, shell};

/// Entry point of the WebAssembly build (called by the page script when the browser is idle):
/// hydrates the whole app once the current page's chunks have arrived (sign-in and setup are
/// lazy routes, dialogs lazy functions), then sets the `hydrated` performance mark that the
/// load-time benchmark measures up to.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos_router::location::{BrowserUrl, LocationProvider};
    console_error_panic_hook::set_once();
    let Some(body) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.body())
    else {
        return;
    };
    // Leptos' executor is started by `hydrate_from_async`; this first task runs on the
    // browser's own microtask queue.
    wasm_bindgen_futures::spawn_local(async move {
        let url = BrowserUrl::current().ok();
        if let Some(url) = &url {
            // The page's chunk is fetched alongside the dialog's (the router waits for it).
            if let Some(page) = routes::Page::from_path(url.path()) {
                wasm_bindgen_futures::spawn_local(app::preload_page(page));
            }
            pages::preload_dialog_opened_by(url).await;
        }
        leptos::mount::hydrate_from_async(body, App).await.forget();
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("hydrated");
        }
        if let Some(url) = url {
            prefetch_when_idle(url.path(), url.search());
        }
    });
}

/// Once hydrated and the browser is idle, fetches the chunks of the next step only, not the
/// whole app: on the sign-in page, the page signing in leads to (`next`, else My Profile's
/// overview: in the main module, so nothing) and Security info's dialogs (where a sign-in that
/// needs a second factor first leads: a client-side navigation that loaded the dialog's chunk
/// only then did not draw it, in session 16); on the overview, Security info (in the main
/// module too); on a page with dialogs, the chunk of its dialogs (what its buttons open).
/// After the `hydrated` mark: none of it is on the way to the first interaction.
#[cfg(feature = "hydrate")]
pub(crate) fn prefetch_when_idle(path: &str, search: &str) {
    use routes::{Page, SignInQuery, parse_query};
    let next = match Page::from_path(path) {
        Some(Page::SignIn) => {
            let query: SignInQuery = parse_query(search);
            let next = query.next.unwrap_or_default();
            let path = next.split(['?', '#']).next().unwrap_or_default();
            Some(Page::from_path(path).unwrap_or(Page::Overview))
        }
        Some(Page::Overview) => Some(Page::SecurityInfo),
        _ => None,
    };
    let page_is_sign_in = Page::from_path(path) == Some(Page::SignIn);
    let path = path.to_owned();
    leptos::prelude::request_idle_callback(move || {
        let path = path.clone();
        leptos::task::spawn_local(async move {
            match next {
                Some(page) => {
                    app::preload_page(page).await;
                    if page_is_sign_in {
                        pages::prefetch_dialogs_for(Page::SecurityInfo.path()).await;
                    }
                }
                None => pages::prefetch_dialogs_for(&path).await,
            }
        });
    });
}
