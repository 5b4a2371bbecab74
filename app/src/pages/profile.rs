//! My Profile: the overview and Security info pages, sharing a left navigation.

use leptos::prelude::*;
use leptos_router::components::A;

/// The frame of every My Profile page: header, left navigation, content.
#[component]
fn ProfileLayout(children: Children) -> impl IntoView {
    view! {
        <div class="portal">
            <header class="topbar">
                <a class="brand" href="/">"Latchkey"</a>
                <span class="topbar-title">"My Profile"</span>
            </header>
            <div class="portal-body">
                <nav class="sidenav" aria-label="My Profile">
                    <ul>
                        <li><A href="/" exact=true>"Overview"</A></li>
                        <li><A href="/security-info">"Security info"</A></li>
                    </ul>
                </nav>
                <main class="content" id="main">{children()}</main>
            </div>
        </div>
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    view! {
        <leptos_meta::Title text="My Profile"/>
        <ProfileLayout>
            <h1>"Overview"</h1>
            <div class="tiles">
                <section class="tile" aria-labelledby="tile-security">
                    <h2 id="tile-security">"Security info"</h2>
                    <p class="muted">"Keep your verification methods and security info up to date."</p>
                    <A href="/security-info" attr:class="tile-link">"Update info"<span aria-hidden="true">" ›"</span></A>
                </section>
            </div>
        </ProfileLayout>
    }
}

#[component]
pub fn SecurityInfoPage() -> impl IntoView {
    let banner_open = RwSignal::new(true);
    view! {
        <leptos_meta::Title text="Security info"/>
        <ProfileLayout>
            <Show when=move || banner_open.get()>
                <div class="banner" role="region" aria-label="Preview notice">
                    <p>
                        <strong>"This is a preview of the new Security info experience."</strong>
                        " Methods you add here work everywhere you sign in."
                    </p>
                    <button type="button" class="icon-button" aria-label="Dismiss notice" on:click=move |_| banner_open.set(false)>
                        "×"
                    </button>
                </div>
            </Show>
            <h1>"Security info"</h1>
            <p class="muted">"These are the methods you use to sign in to your account or reset your password."</p>
        </ProfileLayout>
    }
}
