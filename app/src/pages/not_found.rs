//! The page for paths no route matches.

use leptos::prelude::*;

/// The 404 page. During server rendering it also sets the response status.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Page not found"/>
        <main class="centered-page">
            <section class="card" aria-labelledby="not-found-heading">
                <p class="brand">"Latchkey"</p>
                <h1 id="not-found-heading" tabindex="-1">"We can't find that page"</h1>
                <p class="muted">"The address may be mistyped, or the link may have expired or been used already."</p>
                <a class="button primary" href="/">"Go to My Profile"</a>
            </section>
        </main>
    }
}
