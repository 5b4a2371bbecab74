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
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| format!("{page} - Latchkey")/>
        <Router>
            <Routes fallback=NotFound>
                // In order: the page arrives complete, so links and forms work before (or
                // without) the WebAssembly; the data behind these pages is a few indexed queries.
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
