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
            pages::preload_dialog_opened_by(url).await;
        }
        leptos::mount::hydrate_from_async(body, App).await.forget();
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("hydrated");
        }
        prefetch_when_idle(url.map(|url| url.path().to_owned()).unwrap_or_default());
    });
}

/// Once hydrated and the browser is idle, fetches the chunks the next steps need: the sign-in
/// page (where signing out leads) and the dialogs of the page. After the `hydrated` mark: none
/// of it is on the way to the first interaction.
#[cfg(feature = "hydrate")]
fn prefetch_when_idle(path: String) {
    use leptos_router::LazyRoute;
    leptos::prelude::request_idle_callback(move || {
        let path = path.clone();
        leptos::task::spawn_local(async move {
            pages::prefetch_dialogs_for(&path).await;
            app::SignInRoute::preload().await;
        });
    });
}
