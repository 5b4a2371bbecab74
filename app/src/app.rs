//! The HTML shell and the router (its paths are `crate::routes::Page`s).

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, StaticSegment, lazy_route};

use crate::components::links::GetFormsNavigate;
use crate::pages::activity::RecentActivityPage;
use crate::pages::admin::AdminPage;
use crate::pages::admin_audit::AuditLogPage;
use crate::pages::legacy_app_passwords::LegacyAppPasswordsPage;
use crate::pages::not_found::NotFound;
use crate::pages::profile::{OverviewPage, ProfileLayout};
use crate::pages::security_info::SecurityInfoPage;
use crate::pages::sign_in::SignInPage;
use crate::password_link::SetPasswordPage;
use crate::routes::Page;
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
                <Stylesheet options=options.clone()/>
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

/// The asset names, once known.
#[cfg(feature = "ssr")]
static ASSET_NAMES: std::sync::OnceLock<AssetNames> = std::sync::OnceLock::new();

/// Gives the asset names the server found among the files built into its binary. Called once
/// at start-up, before any page is rendered; without it they are read from `hash.txt`.
#[cfg(feature = "ssr")]
pub fn set_asset_names(names: AssetNames) {
    let _ = ASSET_NAMES.set(names);
}

/// File names (without extension) of the JavaScript glue, the WebAssembly and the CSS: with
/// content hashes when cargo-leptos wrote them, as Leptos names them. Read once: the file only
/// changes with the binary. (Leptos' `HashedStylesheet` reads it again for every page.)
#[cfg(feature = "ssr")]
fn asset_names(options: &LeptosOptions) -> &'static AssetNames {
    ASSET_NAMES.get_or_init(|| {
        let name = options.output_name.to_string();
        let mut names = AssetNames {
            js: name.clone(),
            wasm: name.clone(),
            css: name,
        };
        if options.hash_files {
            let hashes = hash_file_path(options)
                .and_then(|file| std::fs::read_to_string(file).ok())
                .unwrap_or_default();
            for (kind, hash) in hashes.lines().filter_map(|line| line.split_once(':')) {
                let file = match kind.trim() {
                    "js" => &mut names.js,
                    "wasm" => &mut names.wasm,
                    "css" => &mut names.css,
                    _ => continue,
                };
                file.push('.');
                file.push_str(hash.trim());
            }
        }
        names
    })
}

/// The main assets' file names under `/pkg/`, without their extensions.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetNames {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

/// The app's stylesheet (`id="leptos"`: `cargo leptos watch` reloads it by that id).
#[component]
fn Stylesheet(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let css = &asset_names(&options).css;
    #[cfg(not(feature = "ssr"))]
    let css = &String::new();
    let href = format!("/{}/{css}.css", options.site_pkg_dir);
    view! { <link rel="stylesheet" id="leptos" href=href/> }
}

/// The page script: after `load`, when the browser is idle, imports the WebAssembly and hydrates
/// the app. No preload hints: every link and form works before it arrives, so the page's own
/// content comes first on a slow link. (Leptos' `HydrationScripts` adds preload hints, which
/// make the largest contentful paint wait for the WebAssembly on slow mobile links.) A page
/// that answers a plain form post (`crate::form_post`) is not hydrated: its answer is not part
/// of the state the WebAssembly would rebuild.
#[component]
fn PageScript(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let AssetNames { js, wasm, .. } = asset_names(&options);
    #[cfg(not(feature = "ssr"))]
    let (js, wasm) = &(String::new(), String::new());
    let pkg = options.site_pkg_dir.to_string();
    let script = format!(
        "{}({:?},{:?});",
        HYDRATE_WHEN_IDLE,
        format!("/{pkg}/{js}.js"),
        format!("/{pkg}/{wasm}.wasm"),
    );
    crate::form_post::answer()
        .is_none()
        .then(|| view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> })
}

/// Imports the JavaScript glue and the WebAssembly once the page has loaded and the browser is
/// idle (at most 2 s later), then hydrates.
const HYDRATE_WHEN_IDLE: &str = "((js,wasm)=>{const go=()=>import(js).then(m=>m.default({module_or_path:wasm}).then(()=>m.hydrate()));const idle=()=>'requestIdleCallback' in window?requestIdleCallback(go,{timeout:2000}):setTimeout(go,1);document.readyState==='complete'?idle():addEventListener('load',idle,{once:true});})";

/// After a client-side navigation to another page, moves focus to its heading and announces
/// its title, as a page load would for screen-reader users. The heading shown last is marked
/// (`data-announced`), so a page that is still loading its chunk, whose old heading is still
/// there, is waited for.
#[component]
fn PageAnnouncer() -> impl IntoView {
    let announcement = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        Effect::new(move |previous: Option<String>| {
            let path = location.pathname.get();
            match previous {
                None => {
                    mark_heading();
                }
                Some(previous) if previous != path => announce_when_drawn(announcement, 600),
                Some(_) => {}
            }
            path
        });
    }
    view! { <p class="visually-hidden" aria-live="polite" aria-atomic="true">{move || announcement.get()}</p> }
}

/// Marks the page's heading as announced; returns it if it was not yet.
#[cfg(feature = "hydrate")]
fn mark_heading() -> Option<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    let heading = web_sys::window()?
        .document()?
        .query_selector("h1")
        .ok()??
        .dyn_into::<web_sys::HtmlElement>()
        .ok()?;
    if heading.has_attribute("data-announced") {
        return None;
    }
    let _ = heading.set_attribute("data-announced", "");
    Some(heading)
}

/// Once the new page's heading is drawn (checked each frame, for at most `frames`), focuses it
/// and announces the page's title.
#[cfg(feature = "hydrate")]
fn announce_when_drawn(announcement: RwSignal<String>, frames: u32) {
    request_animation_frame(move || match mark_heading() {
        Some(heading) => {
            let _ = heading.focus();
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                announcement.set(document.title());
            }
        }
        None if frames > 0 => announce_when_drawn(announcement, frames - 1),
        None => {}
    });
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| format!("{page} - Latchkey")/>
        <Router>
            <PageAnnouncer/>
            <GetFormsNavigate/>
            <Routes fallback=NotFound>
                // The signed-in pages, in My Profile's frame (top bar, navigation, the person
                // read once): it stays while the person moves between them. In order: the
                // page arrives complete (no streamed fragments for a script to place); the
                // data behind these pages is a few indexed queries. (The lazy pages are
                // rendered async: in order, a lazy page's content came after the `<head>`.)
                <ParentRoute path=StaticSegment("") view=ProfileLayout ssr=SsrMode::InOrder>
                    <Route path=Page::Overview view=OverviewPage/>
                    <Route path=Page::SecurityInfo view=SecurityInfoPage/>
                    <Route path=Page::LegacyAppPasswords view=LegacyAppPasswordsPage/>
                    <Route path=Page::Activity view={Lazy::<ActivityRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=Page::Admin view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=Page::AuditLog view={Lazy::<AuditLogRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
                <Route path=Page::SignIn view={Lazy::<SignInRoute>::new()} ssr=SsrMode::Async/>
                // Async: the 404 status for a bad token must be known before the headers go out.
                <Route path=Page::Setup view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async/>
                <Route path=Page::SetPassword view={Lazy::<SetPasswordRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

// The pages a signed-in person uses (My Profile, Security info, the legacy page) are in the
// main WebAssembly module: Security info, the heart of the app, hydrates from one file with
// no second round trip, and a person on the sign-in page needs them right after signing in.
// The pages a signed-in person never needs (sign-in, setup) are lazy routes: chunks of their
// own (`cargo leptos build --split`), fetched when such a page is hydrated or visited.
// (Every page lazy was measured again in session 16: the main module fell from 363 to 217 KB,
// but the code moved to chunks the pages share, so the sign-in page's first view stayed at
// 447 KB, Security info's grew to 576 KB and both hydrated after 7 s on the throttled phone;
// see BENCHMARKS.md.) Once hydrated, only the next step's chunk is fetched
// (`crate::prefetch_when_idle`).
// The pages keep their data in their own components, so `data()` has nothing to start.
macro_rules! lazy_page {
    ($(#[$doc:meta])* $route:ident => $page:ident) => {
        $(#[$doc])*
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }
            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    };
}

/// Fetches the chunk of `page`'s lazy route (and the chunks it shares with others), so that a
/// link or a sign-in leading there draws it without waiting. The pages in the main module have
/// nothing to fetch.
#[cfg(feature = "hydrate")]
pub async fn preload_page(page: Page) {
    match page {
        Page::Overview | Page::SecurityInfo | Page::LegacyAppPasswords => {}
        Page::Activity => ActivityRoute::preload().await,
        Page::Admin => AdminRoute::preload().await,
        Page::AuditLog => AuditLogRoute::preload().await,
        Page::SignIn => SignInRoute::preload().await,
        Page::Setup => SetupRoute::preload().await,
        Page::SetPassword => SetPasswordRoute::preload().await,
    }
}

lazy_page!(/** Sign in and its code step. */ SignInRoute => SignInPage);
lazy_page!(/** First-time setup. */ SetupRoute => SetupPage);
lazy_page!(/** Recent activity: read now and then, not needed for Security info. */ ActivityRoute => RecentActivityPage);
lazy_page!(/** The admin console: for administrators only. */ AdminRoute => AdminPage);
lazy_page!(/** The audit log of the admin console. */ AuditLogRoute => AuditLogPage);
lazy_page!(/** A one-time password link's page: opened once, by a signed-out person. */ SetPasswordRoute => SetPasswordPage);
