//! The legacy "Manage app passwords" page (Additional security verification > app passwords),
//! used when the organization turns the Security info experience off. Same server functions,
//! same rules and the same create steps as Security info, as forms posted to this page.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::app_passwords::{FormOutcome, get_app_passwords};
use crate::components::intent_form::ButtonLink;
use crate::components::modal::Modal;
use crate::pages::app_password_flow::{
    AppPasswordSteps, DeleteAppPasswordDialog, DeleteAppPasswordLink, OpenDialogs,
};
use crate::pages::profile::ProfileLayout;

const PAGE: &str = "/app-passwords";

#[component]
pub fn LegacyAppPasswordsPage() -> impl IntoView {
    let dialogs = OpenDialogs::read();
    let apps = Resource::new(|| (), |_| get_app_passwords());
    let delete_failed = match &dialogs.outcome {
        Some(FormOutcome::DeleteFailed { error }) => Some(error.to_string()),
        _ => None,
    };

    view! {
        <leptos_meta::Title text="Manage app passwords"/>
        <ProfileLayout>
            <p class="breadcrumb">"Additional security verification"</p>
            <h1>"app passwords"</h1>
            <p class="muted">
                "Some apps, like Outlook 2010, can't do two-step verification. Create an app password for each such app and "
                "enter it in the app instead of your account password."
            </p>
            {delete_failed.map(|error| view! { <p class="form-error" role="alert">{error}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading..."</p> }>
                {move || {
                    let dialogs = dialogs.clone();
                    Suspend::new(async move {
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
                                let create_dialog = (dialogs.create && blocked_reason.is_none()).then(|| {
                                    let overview = o.clone();
                                    view! {
                                        <Modal id="create-app-password" title="Create app password" close_href=PAGE>
                                            <AppPasswordSteps overview=Some(overview) outcome=dialogs.outcome.clone() page=PAGE/>
                                        </Modal>
                                    }
                                });
                                let delete_dialog = dialogs.delete.and_then(|id| o.item(id)).map(|target| view! {
                                    <DeleteAppPasswordDialog target=target page=PAGE id="legacy-delete-app-password"
                                        then_create=dialogs.delete_then_create/>
                                });
                                view! {
                                    <div class="toolbar">
                                        {match blocked_reason {
                                            None => view! {
                                                <ButtonLink href=format!("{PAGE}?add=app_password") class="button primary">"Create"</ButtonLink>
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
                                            {o.items.into_iter().map(|item| view! {
                                                <tr>
                                                    <td>{item.name.clone()}</td>
                                                    <td>{item.created.clone()}</td>
                                                    <td>{item.last_used.clone()}</td>
                                                    <td><DeleteAppPasswordLink page=PAGE item=item/></td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                    {create_dialog}
                                    {delete_dialog}
                                }.into_any()
                            }
                            Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </ProfileLayout>
    }
}
