//! Sign-in in the familiar steps: the sign-in name, then the password, then (when the person
//! has a second factor) their default sign-in method: an authenticator app's code
//! (`?step=code`) or a passkey (`?step=passkey`), with "Sign in another way" listing the
//! person's other ways (`get_second_step_ways`: their other kind of method, then a recovery
//! code, `?step=recovery_code`). The name step is a GET form (the name goes in the URL); the
//! password and code steps call the `sign_in` and `verify_sign_in_code` (or
//! `verify_sign_in_recovery_code`) server functions. A passkey may also sign in alone from the
//! first step ("Sign in with a passkey"; `pages::passkey_methods`).
//! A refusal comes back to the same step: as the action's answer, or (before the WebAssembly)
//! through Leptos' signed `__err` query, which `ServerAction` reads.
//!
//! While an attack from many places holds a name's sign-ins back (`AppError::SignInHeldBack`),
//! the password step offers a sign-in link by mail (`mail_sign_in_link`); the link opens this
//! page (`?link=TOKEN`), whose one button (`use_sign_in_link`: mail scanners open links but do
//! not press buttons) remembers the browser and leads back to the password step.
//!
//! Where mail is set up and the organization allows it, the password step offers "Forgot
//! password?" (`?step=forgot`): the person gives their sign-in name and a one-time link to set
//! a new password is mailed to it (`mail_password_link`; the same answer for every name).

use leptos::either::{Either, EitherOf7};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::account::{
    MailSignInLink, SignIn, UseSignInLink, VerifySignInCode, VerifySignInRecoveryCode,
    get_second_step_ways,
};
use crate::components::field::Field;
use crate::components::links::SubmitButton;
use crate::error::{AppError, Refusal};
use crate::model::SecondStepWay;
use crate::pages::passkey_methods::{PasskeySecondStepButton, PasskeySignInButton};
use crate::password_link::{MailPasswordLink, PASSWORD_LINK_MAILED, reset_by_mail_offered};
use crate::routes::{Page, SignInQuery};

/// The `link` query values that are notices, not a mailed link's token.
const LINK_MAILED: &str = "mailed";
const LINK_USED: &str = "used";

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let sign_in = ServerAction::<SignIn>::new();
    let verify = ServerAction::<VerifySignInCode>::new();
    let verify_recovery = ServerAction::<VerifySignInRecoveryCode>::new();
    let mail_link = ServerAction::<MailSignInLink>::new();
    let use_link = ServerAction::<UseSignInLink>::new();
    let mail_password_link = ServerAction::<MailPasswordLink>::new();
    // Read once with the page (the route renders when it is known, so the link is there
    // without the WebAssembly too).
    let reset_by_mail = Resource::new(|| (), |()| reset_by_mail_offered());
    // The second step's ways, the person's default first; read again when the step changes
    // (a sign-in started meanwhile).
    let ways = Resource::new(
        move || param("step"),
        |step| async move {
            let second = [
                SignInQuery::CODE_STEP,
                SignInQuery::PASSKEY_STEP,
                SignInQuery::RECOVERY_CODE_STEP,
            ];
            if second.contains(&step.as_str()) {
                get_second_step_ways().await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let notice = move || match (
        param("setup").as_str(),
        param("signed_out").as_str(),
        param("password").as_str(),
        param("link").as_str(),
    ) {
        ("done", _, _, _) => {
            Some("Latchkey is set up. Sign in with the administrator account you just created.")
        }
        (_, "everywhere", _, _) => Some(
            "You signed out everywhere. Every browser will need to sign in again. Apps that use an app password keep working until you delete it on Security info.",
        ),
        (_, "1", _, _) => Some("You signed out."),
        (_, _, "set", _) => Some("Your password is set. Sign in with it."),
        (_, _, PASSWORD_LINK_MAILED, _) => Some(
            "If this sign-in name has a mail address here, a link to set a new password is on its way to it. It works once, within an hour.",
        ),
        (_, _, _, LINK_MAILED) => Some(
            "If this sign-in name has a mail address here, a sign-in link is on its way to it. Open the link in this browser within an hour, then sign in with your password.",
        ),
        (_, _, _, LINK_USED) => Some("This browser is remembered now. Sign in with your password."),
        _ => None,
    };
    let step = move || {
        let next = param("next");
        let username = param("username");
        let link = param("link");
        let step = param("step");
        if step == SignInQuery::CODE_STEP {
            EitherOf7::A(view! { <CodeStep next=next verify=verify ways=ways/> })
        } else if step == SignInQuery::PASSKEY_STEP {
            EitherOf7::G(view! { <PasskeyStep next=next ways=ways/> })
        } else if step == SignInQuery::RECOVERY_CODE_STEP {
            EitherOf7::E(view! { <RecoveryCodeStep next=next verify=verify_recovery ways=ways/> })
        } else if step == SignInQuery::FORGOT_STEP {
            EitherOf7::F(view! {
                <ForgotStep username=username offered=reset_by_mail mail=mail_password_link/>
            })
        } else if !link.is_empty() && link != LINK_MAILED && link != LINK_USED {
            EitherOf7::B(view! { <LinkStep token=link use_link=use_link/> })
        } else if username.trim().is_empty() {
            EitherOf7::C(view! { <UsernameStep next=next/> })
        } else {
            let link_mailed = link == LINK_MAILED;
            EitherOf7::D(view! {
                <PasswordStep username=username next=next sign_in=sign_in mail_link=mail_link
                    link_mailed=link_mailed reset_by_mail=reset_by_mail/>
            })
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
    let next_for_passkey = next.clone();
    view! {
        <h1 id="signin-heading" tabindex="-1">"Sign in"</h1>
        <form method="get" action=Page::SignIn.path() class="stack">
            <input type="hidden" name="next" value=next/>
            <div class="field">
                <label for="username">"Sign-in name"</label>
                <input
                    id="username"
                    name="username"
                    type="text"
                    inputmode="email"
                    autocapitalize="none"
                    spellcheck="false"
                    autocomplete="username"
                    placeholder="someone@example.org"
                    required
                    autofocus
                />
            </div>
            <button type="submit" class="button primary">"Next"</button>
        </form>
        <PasskeySignInButton next=next_for_passkey/>
    }
}

#[component]
fn PasswordStep(
    username: String,
    next: String,
    sign_in: ServerAction<SignIn>,
    mail_link: ServerAction<MailSignInLink>,
    /// A link was just asked for: not offered again.
    link_mailed: bool,
    /// Whether to offer "Forgot password?".
    reset_by_mail: Resource<Result<bool, AppError>>,
) -> impl IntoView {
    let back = SignInQuery::then_to(&next).link();
    let forgot = SignInQuery {
        step: Some(SignInQuery::FORGOT_STEP.to_owned()),
        username: Some(username.clone()),
        ..SignInQuery::default()
    }
    .link();
    // Held back by an attack from elsewhere, with mail set up: a link can let this browser in.
    let offer_link = move || {
        let held_back = matches!(
            sign_in.value().get(),
            Some(Err(AppError::SignInHeldBack {
                link_by_mail: true,
                ..
            }))
        );
        let link_refused = mail_link
            .value()
            .get()
            .is_some_and(|answer| answer.is_err());
        !link_mailed && (held_back || link_refused)
    };
    let link_form = {
        let (username, next) = (username.clone(), next.clone());
        move || {
            offer_link().then(|| {
                view! {
                    <MailLinkForm username=username.clone() next=next.clone() mail_link=mail_link/>
                }
            })
        }
    };
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
            <SubmitButton pending=sign_in.pending()>"Sign in"</SubmitButton>
        </ActionForm>
        <Suspense fallback=|| ()>
            {move || {
                let forgot = forgot.clone();
                Suspend::new(async move {
                    matches!(reset_by_mail.await, Ok(true))
                        .then(|| view! { <p><a href=forgot>"Forgot password?"</a></p> })
                })
            }}
        </Suspense>
        {link_form}
    }
}

/// "Forgot password?": the sign-in name, to which a one-time link is mailed. The answer is the
/// same whatever the name (then sign-in says a link is on its way if the name has a mail
/// address here).
#[component]
fn ForgotStep(
    username: String,
    offered: Resource<Result<bool, AppError>>,
    mail: ServerAction<MailPasswordLink>,
) -> impl IntoView {
    let back = SignInQuery {
        username: (!username.trim().is_empty()).then(|| username.clone()),
        ..SignInQuery::default()
    }
    .link();
    let field_error = Signal::derive(move || match mail.value().get() {
        Some(Err(error)) => error.message_for("username"),
        _ => None,
    });
    let general_error = move || match mail.value().get() {
        Some(Err(AppError::Invalid { .. })) | None | Some(Ok(())) => None,
        Some(Err(error)) => Some(error.to_string()),
    };
    let form = move || {
        let username = username.clone();
        Suspend::new(async move {
            match offered.await {
                Ok(true) => Either::Left(view! {
                    <p>
                        "Enter your sign-in name. If it has a mail address here, a link to set a new password is mailed to it. The link works once, within an hour; your next sign-in still asks for your second step."
                    </p>
                    <ActionForm action=mail attr:class="stack" attr:novalidate=true>
                        <Field
                            label="Sign-in name"
                            name="username"
                            id="forgot-username"
                            inputmode="email"
                            autocomplete="username"
                            autofocus=true
                            value=username
                            error=field_error
                        />
                        <p class="form-error" role="alert">{general_error}</p>
                        <SubmitButton pending=mail.pending()>"Email me a link"</SubmitButton>
                    </ActionForm>
                }),
                _ => Either::Right(view! {
                    <p role="alert">{crate::error::Refusal::ResetByMailOff.to_string()}</p>
                }),
            }
        })
    };
    view! {
        <a href=back class="back">
            <span aria-hidden="true">"← "</span>
            "Back to sign-in"
        </a>
        <h1 id="signin-heading" tabindex="-1">"Forgot password?"</h1>
        <Suspense fallback=|| ()>{form}</Suspense>
    }
}

/// "Email me a sign-in link", under a password step held back by an attack from elsewhere.
#[component]
fn MailLinkForm(
    username: String,
    next: String,
    mail_link: ServerAction<MailSignInLink>,
) -> impl IntoView {
    view! {
        <section class="notice info" aria-labelledby="mail-link-heading">
            <h2 id="mail-link-heading">"Sign in with this browser anyway"</h2>
            <p>
                "Browsers you have signed in with before are let in. To let this one in, get a sign-in link by mail and open it here."
            </p>
            <ActionForm action=mail_link attr:class="stack">
                <input type="hidden" name="username" value=username/>
                <input type="hidden" name="next" value=next/>
                <p class="form-error" role="alert">{refusal(mail_link.value())}</p>
                <button type="submit" class="button">"Email me a sign-in link"</button>
            </ActionForm>
        </section>
    }
}

/// The page a mailed sign-in link opens: one button remembers this browser for the link's
/// person (a mail scanner opening the link uses nothing up).
#[component]
fn LinkStep(token: String, use_link: ServerAction<UseSignInLink>) -> impl IntoView {
    let failed = move || refusal(use_link.value()).get();
    let body = move || {
        let token = token.clone();
        match failed() {
            // Used already, expired, or replaced by a newer link: only a new one helps.
            Some(reason) => Either::Left(view! {
                <p class="form-error" role="alert">{reason}</p>
                <p><a href=Page::SignIn.path()>"Go to sign-in"</a></p>
            }),
            None => Either::Right(view! {
                <p>
                    "Continue to let this browser past the hold on your sign-ins. Then sign in with your password."
                </p>
                <ActionForm action=use_link attr:class="stack">
                    <input type="hidden" name="token" value=token/>
                    <SubmitButton pending=use_link.pending()>"Continue"</SubmitButton>
                </ActionForm>
            }),
        }
    };
    view! {
        <h1 id="signin-heading" tabindex="-1">"Sign-in link"</h1>
        {body}
    }
}

/// Whether a second step's refusal means the pending sign-in is gone (expired or used up, or
/// the account was disabled meanwhile): only starting again helps.
fn must_start_again<T>(answer: Option<Result<T, AppError>>) -> bool {
    matches!(
        answer,
        Some(Err(AppError::Forbidden(
            Refusal::SignInExpired | Refusal::AccountDisabled
        )))
    )
}

/// The second step's ways, the person's default first (empty while unknown).
type Ways = Resource<Result<Vec<SecondStepWay>, AppError>>;

/// "Sign in another way": links to the second step's other ways. Until the person's ways are
/// known (or when they cannot be read) every way is offered; each step says what is wrong.
#[component]
fn OtherWays(current: SecondStepWay, next: String, ways: Ways) -> impl IntoView {
    let others = move || {
        let known = ways
            .get()
            .and_then(Result::ok)
            .filter(|ways| !ways.is_empty());
        let all = [
            SecondStepWay::AuthenticatorApp,
            SecondStepWay::Passkey,
            SecondStepWay::RecoveryCode,
        ];
        known
            .unwrap_or_else(|| all.to_vec())
            .into_iter()
            .filter(|way| *way != current)
            .collect::<Vec<_>>()
    };
    // Nothing else to offer (a passkey and no recovery codes): only the way out of a lost device.
    let section = move || {
        let others = others();
        let heading = if others.is_empty() {
            "Can't use it?"
        } else {
            "Sign in another way"
        };
        let links = (!others.is_empty()).then(|| {
            let links = others
                .into_iter()
                .map(|way| {
                    let href = SignInQuery::second_step_with(way, &next).link();
                    let text = match way {
                        SecondStepWay::AuthenticatorApp => "Use a code from your authenticator app",
                        SecondStepWay::Passkey => "Use a passkey or security key",
                        SecondStepWay::RecoveryCode => "Use a recovery code",
                    };
                    view! { <li><a href=href>{text}</a></li> }
                })
                .collect_view();
            view! { <ul class="link-list">{links}</ul> }
        });
        view! {
            <section class="other-ways" aria-labelledby="other-ways-heading">
                <h2 id="other-ways-heading" class="small-heading">{heading}</h2>
                {links}
                <p class="hint">
                    "Lost your phone or security key, and no recovery codes? Your organization's administrator can reset your sign-in methods: you then sign in with your password and add new ones."
                </p>
            </section>
        }
    };
    view! { <Transition fallback=|| ()>{section}</Transition> }
}

/// "Start again" after the pending sign-in is gone: the first step, still leading where the
/// person was going.
fn start_again_link(next: &str) -> String {
    if next.is_empty() {
        Page::SignIn.path().to_owned()
    } else {
        SignInQuery::then_to(next).link()
    }
}

#[component]
fn CodeStep(next: String, verify: ServerAction<VerifySignInCode>, ways: Ways) -> impl IntoView {
    let expired = move || must_start_again(verify.value().get());
    let other_ways_next = next.clone();
    let start_again = start_again_link(&next);
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
            {move || expired().then(|| view! { <a href=start_again.clone()>"Start again"</a> })}
            <SubmitButton pending=verify.pending()>"Verify"</SubmitButton>
        </ActionForm>
        <OtherWays current=SecondStepWay::AuthenticatorApp next=other_ways_next ways=ways/>
    }
}

/// The passkey as the second step: the browser's prompt, after "Use a passkey".
#[component]
fn PasskeyStep(next: String, ways: Ways) -> impl IntoView {
    let other_ways_next = next.clone();
    view! {
        <h1 id="signin-heading" tabindex="-1">"Use your passkey"</h1>
        <p class="muted">"Use the passkey or security key you added to this account."</p>
        <PasskeySecondStepButton next=next/>
        <OtherWays current=SecondStepWay::Passkey next=other_ways_next ways=ways/>
    }
}

/// "Use a recovery code": one of the codes the person saved, in place of the app's code.
#[component]
fn RecoveryCodeStep(
    next: String,
    verify: ServerAction<VerifySignInRecoveryCode>,
    ways: Ways,
) -> impl IntoView {
    let expired = move || must_start_again(verify.value().get());
    let other_ways_next = next.clone();
    let start_again = start_again_link(&next);
    view! {
        <h1 id="signin-heading" tabindex="-1">"Enter a recovery code"</h1>
        <p class="muted">"Enter one of the recovery codes you saved. Each code works once."</p>
        <ActionForm action=verify attr:class="stack">
            <input type="hidden" name="next" value=next/>
            <Field
                label="Recovery code"
                name="recovery_code"
                id="recovery-code"
                placeholder="xxxxx-xxxxx-xxxxx"
                autofocus=true
                error=refusal(verify.value())
            />
            {move || expired().then(|| view! { <a href=start_again.clone()>"Start again"</a> })}
            <SubmitButton pending=verify.pending()>"Verify"</SubmitButton>
        </ActionForm>
        <OtherWays current=SecondStepWay::RecoveryCode next=other_ways_next ways=ways/>
    }
}
