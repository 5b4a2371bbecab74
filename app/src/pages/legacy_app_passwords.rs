//! The legacy "Manage app passwords" page (Additional security verification > app passwords),
//! used when the organization turns the Security info experience off. Same server functions,
//! same rules and the same create steps as Security info, and the same pre-WebAssembly forms.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::app_passwords::{AppPasswordItem, DeleteAppPassword, FormOutcome, get_app_passwords};
use crate::components::modal::Modal;
use crate::pages::app_password_flow::{
    ActionLink, AppPasswordSteps, DeleteAppPasswordDialog, DeleteAppPasswordLink, InitialDialogs,
};
use crate::pages::profile::ProfileLayout;

const PAGE: &str = "/app-passwords";

#[component]
pub fn LegacyAppPasswordsPage() -> impl IntoView {
    let initial = InitialDialogs::read();
    let refresh = RwSignal::new(0u32);
    let delete = ServerAction::<DeleteAppPassword>::new();
    let apps = Resource::new(
        move || (refresh.get(), delete.version().get()),
        |_| get_app_passwords(),
    );
    let create_open = RwSignal::new(initial.create);
    let delete_open = RwSignal::new(initial.delete.is_some());
    let delete_target = RwSignal::new(initial.delete.clone());
    let outcome = StoredValue::new(initial.outcome.clone());
    let request_delete = Callback::new(move |item: AppPasswordItem| {
        delete_target.set(Some(item));
        delete_open.set(true);
    });
    let finish = Callback::new(move |()| create_open.set(false));
    // Closing the create dialog in any way behaves like Done: the list reloads.
    Effect::new(move |previous: Option<bool>| {
        let open = create_open.get();
        if previous == Some(true) && !open {
            refresh.update(|n| *n += 1);
            // A form post's outcome belongs to the first opening only.
            outcome.set_value(None);
        }
        open
    });

    view! {
        <leptos_meta::Title text="Manage app passwords"/>
        <ProfileLayout>
            <p class="breadcrumb">"Additional security verification"</p>
            <h1>"app passwords"</h1>
            <p class="muted">
                "Some apps, like Outlook 2010, can't do two-step verification. Create an app password for each such app and "
                "enter it in the app instead of your account password."
            </p>
            {match &initial.outcome {
                Some(FormOutcome::DeleteFailed { error }) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }),
                _ => None,
            }}
            <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || Suspend::new(async move {
                    match apps.await {
                        Ok(o) if o.security_info_experience => view! { <Redirect path="/security-info"/> }.into_any(),
                        Ok(o) => {
                            let blocked_reason = if !o.allowed {
                                Some("Your organization doesn't allow app passwords.")
                            } else if !o.has_two_step {
                                Some("App passwords need two-step verification: add an authenticator app on Security info first.")
                            } else {
                                None
                            };
                            view! {
                                <div class="toolbar">
                                    {match blocked_reason {
                                        None => view! {
                                            <ActionLink href=format!("{PAGE}?add=app_password") class="button primary"
                                                action=Callback::new(move |()| create_open.set(true))>"Create"</ActionLink>
                                        }.into_any(),
                                        Some(_) => view! { <button type="button" class="button primary" disabled=true>"Create"</button> }.into_any(),
                                    }}
                                    <span class="muted">{format!("{} of {} in use", o.items.len(), o.limit)}</span>
                                </div>
                                {blocked_reason.map(|reason| view! { <p class="hint">{reason}</p> })}
                                <table class="legacy-table">
                                    <caption class="visually-hidden">"Your app passwords"</caption>
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {o.items.into_iter().map(|item| {
                                            view! {
                                                <tr>
                                                    <td>{item.name.clone()}</td>
                                                    <td>{item.created.clone()}</td>
                                                    <td>{item.last_used.clone()}</td>
                                                    <td>
                                                        <DeleteAppPasswordLink page=PAGE item=item.clone() request_delete=request_delete/>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }
                        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <Modal open=create_open id="create-app-password" title="Create app password".to_owned()>
                <Transition fallback=|| view! { <p class="muted">"Loading..."</p> }>
                    {move || Suspend::new(async move {
                        let overview = apps.await.ok();
                        view! {
                            <AppPasswordSteps
                                overview=overview
                                initial=outcome.get_value()
                                page=PAGE
                                done=finish
                                request_delete=request_delete
                            />
                        }
                    })}
                </Transition>
            </Modal>
            <DeleteAppPasswordDialog open=delete_open target=delete_target delete=delete page=PAGE id="legacy-delete-app-password"/>
        </ProfileLayout>
    }
}
