//! Sign-in in the familiar steps: the sign-in name, then the password, then (when the person
//! has an authenticator app) its code. The name step is a GET form (the name goes in the URL);
//! the password and code steps call the `sign_in` and `verify_sign_in_code` server functions.
//! A refusal comes back to the same step: as the action's answer, or (before the WebAssembly)
//! through Leptos' signed `__err` query, which `ServerAction` reads.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::account::{SignIn, VerifySignInCode, urlencode};
use crate::components::field::Field;
use crate::error::{AppError, Refusal};

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let sign_in = ServerAction::<SignIn>::new();
    let verify = ServerAction::<VerifySignInCode>::new();
    let notice = move || match (
        param("setup").as_str(),
        param("signed_out").as_str(),
        param("password").as_str(),
    ) {
        ("done", _, _) => {
            Some("Latchkey is set up. Sign in with the administrator account you just created.")
        }
        (_, "everywhere", _) => {
            Some("You signed out everywhere. Every device will need to sign in again.")
        }
        (_, "1", _) => Some("You signed out."),
        (_, _, "set") => Some("Your password is set. Sign in with it."),
        _ => None,
    };
    let step = move || {
        let next = param("next");
        let username = param("username");
        if param("step") == "code" {
            EitherOf3::A(view! { <CodeStep next=next verify=verify/> })
        } else if username.trim().is_empty() {
            EitherOf3::B(view! { <UsernameStep next=next/> })
        } else {
            EitherOf3::C(view! { <PasswordStep username=username next=next sign_in=sign_in/> })
        }
    };

    view! {
        <leptos_meta::Title text="Sign in"/>
        <main class="centered-page">
            <section class="card" aria-labelledby="signin-heading">
                <p class="brand">"Latchkey"</p>
                {move || notice().map(|text| view! { <p class="notice success" role="status">{text}</p> })}
                {step}
            </section>
        </main>
    }
}

/// The message of a refused call, if the last call was refused.
fn refusal<T: Send + Sync + 'static>(
    value: impl Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || match value.get() {
        Some(Err(error)) => Some(error.to_string()),
        _ => None,
    })
}

#[component]
fn UsernameStep(next: String) -> impl IntoView {
    view! {
        <h1 id="signin-heading" tabindex="-1">"Sign in"</h1>
        <Form method="get" action="/signin" attr:class="stack">
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
        </Form>
    }
}

#[component]
fn PasswordStep(username: String, next: String, sign_in: ServerAction<SignIn>) -> impl IntoView {
    let back = format!("/signin?next={}", urlencode(&next));
    view! {
        <a href=back class="back">
            <span aria-hidden="true">"← "</span>
            <span class="visually-hidden">"Use another account: "</span>
            {username.clone()}
        </a>
        <h1 id="signin-heading" tabindex="-1">"Enter password"</h1>
        <ActionForm action=sign_in attr:class="stack">
            <input type="hidden" name="username" value=username/>
            <input type="hidden" name="next" value=next/>
            <Field
                label="Password"
                name="password"
                id="password"
                input_type="password"
                autocomplete="current-password"
                autofocus=true
                error=refusal(sign_in.value())
            />
            <button type="submit" class="button primary">"Sign in"</button>
        </ActionForm>
    }
}

#[component]
fn CodeStep(next: String, verify: ServerAction<VerifySignInCode>) -> impl IntoView {
    // The pending sign-in expired or was used up, or the account was disabled meanwhile: only
    // starting again helps.
    let expired = move || {
        matches!(
            verify.value().get(),
            Some(Err(AppError::Forbidden(
                Refusal::SignInExpired | Refusal::AccountDisabled
            )))
        )
    };
    view! {
        <h1 id="signin-heading" tabindex="-1">"Enter code"</h1>
        <p class="muted">"Enter the 6-digit code shown in your authenticator app."</p>
        <ActionForm action=verify attr:class="stack">
            <input type="hidden" name="next" value=next/>
            <Field
                label="Code"
                name="code"
                id="code"
                autocomplete="one-time-code"
                inputmode="numeric"
                autofocus=true
                error=refusal(verify.value())
            />
            {move || expired().then(|| view! { <a href="/signin">"Start again"</a> })}
            <button type="submit" class="button primary">"Verify"</button>
        </ActionForm>
    }
}
