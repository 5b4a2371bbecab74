//! Sign-in in the familiar steps: the sign-in name, then the password, then (when the person
//! has an authenticator app) its code. Each step is a plain form; a refused one comes back to
//! the same step with the error named in the URL (`AppError::sign_in_code`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::account::urlencode;
use crate::components::field::Field;
use crate::error::AppError;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let param = |name: &str| query.get(name).unwrap_or_default();
    let next = param("next");
    let username = param("username");
    // The error of the form just posted, named in the URL.
    let error = AppError::from_sign_in_code(&param("error"));
    let notice = match (param("setup").as_str(), param("signed_out").as_str()) {
        ("done", _) => {
            Some("Latchkey is set up. Sign in with the administrator account you just created.")
        }
        (_, "everywhere") => {
            Some("You signed out everywhere. Every device will need to sign in again.")
        }
        (_, "1") => Some("You signed out."),
        _ => None,
    };

    view! {
        <leptos_meta::Title text="Sign in"/>
        <main class="centered-page">
            <section class="card" aria-labelledby="signin-heading">
                <p class="brand">"Latchkey"</p>
                {notice.map(|text| view! { <p class="notice success" role="status">{text}</p> })}
                {if param("step") == "code" {
                    view! { <CodeStep next=next error=error/> }.into_any()
                } else if username.trim().is_empty() {
                    view! { <UsernameStep next=next/> }.into_any()
                } else {
                    view! { <PasswordStep username=username next=next error=error/> }.into_any()
                }}
            </section>
        </main>
    }
}

#[component]
fn UsernameStep(next: String) -> impl IntoView {
    view! {
        <h1 id="signin-heading">"Sign in"</h1>
        <form method="get" action="/signin" class="stack">
            <input type="hidden" name="next" value=next/>
            <div class="field">
                <label for="username">"Sign-in name"</label>
                <input
                    id="username"
                    name="username"
                    type="email"
                    autocomplete="username"
                    placeholder="someone@example.org"
                    required
                    autofocus
                />
            </div>
            <button type="submit" class="button primary">"Next"</button>
        </form>
    }
}

#[component]
fn PasswordStep(username: String, next: String, error: Option<AppError>) -> impl IntoView {
    let back = format!("/signin?next={}", urlencode(&next));
    view! {
        <a href=back class="back">
            <span aria-hidden="true">"← "</span>
            <span class="visually-hidden">"Use another account: "</span>
            {username.clone()}
        </a>
        <h1 id="signin-heading">"Enter password"</h1>
        <form method="post" action="/api/sign_in" class="stack">
            <input type="hidden" name="username" value=username/>
            <input type="hidden" name="next" value=next/>
            <Field
                label="Password"
                name="password"
                id="password"
                input_type="password"
                autocomplete="current-password"
                autofocus=true
                error=error.map(|e| e.to_string())
            />
            <button type="submit" class="button primary">"Sign in"</button>
        </form>
    }
}

#[component]
fn CodeStep(next: String, error: Option<AppError>) -> impl IntoView {
    // The pending sign-in expired or was used up: only starting again helps.
    let expired = matches!(error, Some(AppError::Forbidden(_)));
    view! {
        <h1 id="signin-heading">"Enter code"</h1>
        <p class="muted">"Enter the 6-digit code shown in your authenticator app."</p>
        <form method="post" action="/api/verify_sign_in_code" class="stack">
            <input type="hidden" name="next" value=next/>
            <Field
                label="Code"
                name="code"
                id="code"
                autocomplete="one-time-code"
                inputmode="numeric"
                autofocus=true
                error=error.map(|e| e.to_string())
            />
            {expired.then(|| view! { <a href="/signin">"Start again"</a> })}
            <button type="submit" class="button primary">"Verify"</button>
        </form>
    }
}
