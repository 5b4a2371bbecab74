//! Sign-in in the familiar steps: the sign-in name, then the password, then (when the person
//! has an authenticator app) its code. Each step is a plain form that works before the
//! WebAssembly loads; once hydrated, the same forms run without page reloads.

use leptos::prelude::*;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

use crate::account::{SignIn, VerifySignInCode, urlencode};
use crate::components::field::Field;
use crate::error::AppError;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let next = Signal::derive(move || param("next"));
    let username = Signal::derive(move || param("username"));
    // An error of a form posted before the WebAssembly loaded, named in the URL.
    let carried = Signal::derive(move || AppError::from_sign_in_code(&param("error")));
    let step = move || {
        if param("step") == "code" {
            "code"
        } else if username.get().trim().is_empty() {
            "username"
        } else {
            "password"
        }
    };
    let notice = move || match (param("setup").as_str(), param("signed_out").as_str()) {
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
                {move || notice().map(|text| view! { <p class="notice success" role="status">{text}</p> })}
                {move || match step() {
                    "username" => view! { <UsernameStep next=next/> }.into_any(),
                    "password" => view! { <PasswordStep username=username next=next carried=carried/> }.into_any(),
                    _ => view! { <CodeStep next=next carried=carried/> }.into_any(),
                }}
            </section>
        </main>
    }
}

#[component]
fn UsernameStep(next: Signal<String>) -> impl IntoView {
    view! {
        <h1 id="signin-heading">"Sign in"</h1>
        <Form method="GET" action="/signin" attr:class="stack">
            <input type="hidden" name="next" value=next.get_untracked()/>
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
        </Form>
    }
}

#[component]
fn PasswordStep(
    username: Signal<String>,
    next: Signal<String>,
    carried: Signal<Option<AppError>>,
) -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = move || match action.value().get() {
        Some(result) => result.err().map(|e| e.to_string()),
        None => carried.get().map(|e| e.to_string()),
    };
    let back = move || format!("/signin?next={}", urlencode(&next.get()));
    view! {
        <A href=back attr:class="back">
            <span aria-hidden="true">"← "</span>
            <span class="visually-hidden">"Use another account: "</span>
            {move || username.get()}
        </A>
        <h1 id="signin-heading">"Enter password"</h1>
        <ActionForm action=action attr:class="stack">
            <input type="hidden" name="username" value=username.get_untracked()/>
            <input type="hidden" name="next" value=next.get_untracked()/>
            <Field
                label="Password"
                name="password"
                id="password"
                input_type="password"
                autocomplete="current-password"
                autofocus=true
                error=Signal::derive(error)
            />
            <button type="submit" class="button primary" disabled=move || action.pending().get()>
                {move || if action.pending().get() { "Signing in..." } else { "Sign in" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn CodeStep(next: Signal<String>, carried: Signal<Option<AppError>>) -> impl IntoView {
    let action = ServerAction::<VerifySignInCode>::new();
    let error = move || match action.value().get() {
        Some(result) => result.err(),
        None => carried.get(),
    };
    let code_error = move || error().map(|e| e.to_string());
    let expired = move || matches!(error(), Some(AppError::Forbidden(_)));
    view! {
        <h1 id="signin-heading">"Enter code"</h1>
        <p class="muted">"Enter the 6-digit code shown in your authenticator app."</p>
        <ActionForm action=action attr:class="stack">
            <input type="hidden" name="next" value=next.get_untracked()/>
            <Field
                label="Code"
                name="code"
                id="code"
                autocomplete="one-time-code"
                inputmode="numeric"
                autofocus=true
                error=Signal::derive(code_error)
            />
            <Show when=expired>
                <A href="/signin">"Start again"</A>
            </Show>
            <button type="submit" class="button primary" disabled=move || action.pending().get()>"Verify"</button>
        </ActionForm>
    }
}
