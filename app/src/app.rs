//! The HTML shell and the route table.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::legacy_app_passwords::LegacyAppPasswordsPage;
use crate::pages::not_found::NotFound;
use crate::pages::profile::OverviewPage;
use crate::pages::security_info::SecurityInfoPage;
use crate::pages::sign_in::SignInPage;
use crate::setup::SetupPage;

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <meta name="description" content="Manage how you sign in to your work or school account."/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <PageScript options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Where cargo-leptos writes the asset hashes: next to the server binary.
#[cfg(feature = "ssr")]
pub fn hash_file_path(options: &LeptosOptions) -> Option<std::path::PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())))
}

/// File names (without extension) of the JavaScript glue and the WebAssembly: with content
/// hashes when cargo-leptos wrote them, as Leptos names them. Read once: the file only changes
/// with the binary.
#[cfg(feature = "ssr")]
fn asset_names(options: &LeptosOptions) -> &'static (String, String) {
    static NAMES: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut js = options.output_name.to_string();
        let mut wasm = options.output_name.to_string();
        if options.hash_files {
            let hashes = hash_file_path(options)
                .and_then(|file| std::fs::read_to_string(file).ok())
                .unwrap_or_default();
            for (kind, hash) in hashes.lines().filter_map(|line| line.split_once(':')) {
                match kind.trim() {
                    "js" => js = format!("{js}.{}", hash.trim()),
                    "wasm" => wasm = format!("{wasm}.{}", hash.trim()),
                    _ => {}
                }
            }
        }
        (js, wasm)
    })
}

/// The page script (`loader.js`): navigation without reloads, and the islands' WebAssembly,
/// loaded after `load` when the browser is idle, with no preload hints. Every control works
/// before it arrives (links and forms), so the page's own content comes first on a slow link.
/// (Leptos' `HydrationScripts` preloads the WebAssembly from the `<head>`, which makes the
/// largest contentful paint wait for it on slow mobile links.)
#[component]
fn PageScript(options: LeptosOptions) -> impl IntoView {
    // Islands mode: the server renders no hydration markers outside the islands.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    #[cfg(feature = "ssr")]
    let (js, wasm) = asset_names(&options);
    #[cfg(not(feature = "ssr"))]
    let (js, wasm) = &(String::new(), String::new());
    let pkg = options.site_pkg_dir.to_string();
    let script = format!(
        "{}({:?}, {:?});",
        include_str!("loader.js").trim_end(),
        format!("/{pkg}/{js}.js"),
        format!("/{pkg}/{wasm}.wasm"),
    );
    view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| format!("{page} - Latchkey")/>
        <Router>
            <Routes fallback=NotFound>
                // In order: the page arrives complete (no streamed fragments for a script to
                // place); the data behind these pages is a few indexed queries.
                <Route path=path!("/") view=OverviewPage ssr=SsrMode::InOrder/>
                <Route path=path!("/security-info") view=SecurityInfoPage ssr=SsrMode::InOrder/>
                <Route path=path!("/app-passwords") view=LegacyAppPasswordsPage ssr=SsrMode::InOrder/>
                <Route path=path!("/signin") view=SignInPage/>
                // Async: the 404 status for a bad token must be known before the headers go out.
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
